"""`brushwork export`: run-dir resolution, ONNX parity with torch on odd sizes, metadata, fp16, int8, bad input.

A small johnson-light variant (width 8, depth 2) keeps exports quick; the graph is the same as the full nets'.
"""

import os
import time

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from brushwork.cli import main
from brushwork.models.checkpoint import save_checkpoint
from brushwork.models.export import ExportWrapper, resolve_checkpoint
from brushwork.models.transformer_net import build_transformer

ARCH_KWARGS = {"width": 8, "depth": 2}


def save_model(path, *, seed=0, kind="model", step=100):
    torch.manual_seed(seed)
    net = build_transformer("johnson-light", **ARCH_KWARGS)
    with torch.no_grad():  # a random init is nearly flat after instance norm; spread the output a bit
        net.head[1].weight.mul_(4)
    save_checkpoint(path, {"kind": kind, "arch": "johnson-light", "arch_kwargs": ARCH_KWARGS, "model": net.state_dict(),
                           "config": {"style": "starry.jpg", "steps": step}, "step": step,
                           "style": {"name": "starry", "sha256": "ab" * 32}})
    return net.eval()


def export(*args):
    return main(["export", *map(str, args), "--no-tiling"])


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """(torch net, fp32 onnx path) exported once for the module through the CLI."""
    folder = tmp_path_factory.mktemp("export")
    net = save_model(folder / "model.pt")
    assert export(folder / "model.pt", "-o", folder / "m.onnx") == 0
    return net, folder / "m.onnx"


def run_onnx(path, image):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"image": image})[0]


def torch_reference(net, image):
    with torch.no_grad():
        return ExportWrapper(net)(torch.from_numpy(image)).numpy()


@pytest.mark.parametrize("shape", [(1, 37, 53, 3), (2, 41, 29, 3), (1, 64, 64, 3), (1, 9, 130, 3)])
def test_parity_on_odd_sizes(exported, shape):
    net, path = exported
    image = np.random.default_rng(sum(shape)).integers(0, 256, shape, dtype=np.uint8)
    out, ref = run_onnx(path, image), torch_reference(net, image)
    assert out.shape == image.shape and out.dtype == np.uint8
    assert np.abs(out.astype(int) - ref.astype(int)).max() <= 1
    assert out.std() > 1  # not a constant image: the comparison means something


def test_metadata_and_single_file(exported):
    _, path = exported
    model = onnx.load(str(path))
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["arch"] == "johnson-light" and meta["stride"] == "4" and meta["precision"] == "fp32"
    assert meta["style_name"] == "starry" and meta["style_sha256"] == "ab" * 32
    assert "uint8 NHWC" in meta["io"] and '"steps": 100' in meta["training_config"]
    assert meta["brushwork_version"]
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".")] == []  # no staging leftovers
    assert all(not t.HasField("data_location") or t.data_location == 0 for t in model.graph.initializer)


def test_run_dir_picks_model_then_newest_checkpoint(tmp_path):
    (tmp_path / "checkpoints").mkdir()
    for step in (90, 1000, 200):
        save_model(tmp_path / "checkpoints" / f"step_{step}.pt", kind="checkpoint", step=step)
    assert resolve_checkpoint(tmp_path).name == "step_1000.pt"  # numeric, not alphabetical
    save_model(tmp_path / "model.pt")
    assert resolve_checkpoint(tmp_path).name == "model.pt"
    # the run was extended after model.pt was written: the newer checkpoint wins
    newest = tmp_path / "checkpoints" / "step_1000.pt"
    os.utime(newest, (time.time() + 60, time.time() + 60))
    assert resolve_checkpoint(tmp_path).name == "step_1000.pt"


def test_fp16_keeps_instance_norm_in_fp32(exported, tmp_path, capsys):
    net, fp32_path = exported
    path = tmp_path / "m16.onnx"
    assert export(fp32_path.parent / "model.pt", "-o", path, "--fp16") == 0
    assert "parity fp16" in capsys.readouterr().out
    model = onnx.load(str(path))
    types = {t.name: t.data_type for t in model.graph.initializer}
    norms = [n for n in model.graph.node if n.op_type == "InstanceNormalization"]
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    assert norms and all(types[n.input[1]] == onnx.TensorProto.FLOAT for n in norms)
    assert all(types[n.input[1]] == onnx.TensorProto.FLOAT16 for n in convs)
    image = np.random.default_rng(5).integers(0, 256, (1, 45, 61, 3), dtype=np.uint8)
    diff = np.abs(run_onnx(path, image).astype(int) - torch_reference(net, image).astype(int))
    assert diff.mean() < 1.0


@pytest.mark.slow
def test_int8_quantizes_convs_and_reports_quality(exported, tmp_path, photo_dir, capsys):
    _, fp32_path = exported
    path = tmp_path / "m8.onnx"
    assert export(fp32_path.parent / "model.pt", "-o", path, "--int8", "--calibration", photo_dir) == 0
    assert "PSNR" in capsys.readouterr().out
    model = onnx.load(str(path))
    assert any(n.op_type == "QuantizeLinear" for n in model.graph.node)
    assert {p.key: p.value for p in model.metadata_props}["precision"] == "int8"
    image = np.random.default_rng(6).integers(0, 256, (1, 37, 41, 3), dtype=np.uint8)
    assert run_onnx(path, image).shape == image.shape


def test_bad_inputs_are_one_line(exported, tmp_path, capsys):
    _, fp32_path = exported
    pt = fp32_path.parent / "model.pt"
    cases = [
        ([tmp_path / "missing", "-o", tmp_path / "a.onnx"], "no such run directory"),
        ([pt, "-o", tmp_path / "a.txt"], ".onnx"),
        ([pt, "-o", fp32_path], "--overwrite"),
        ([pt, "-o", tmp_path / "a.onnx", "--int8"], "--calibration"),
        ([tmp_path, "-o", tmp_path / "a.onnx"], "no model.pt"),
        ([fp32_path, "-o", tmp_path / "a.onnx"], "exported ONNX model"),
    ]
    for args, message in cases:
        assert export(*args) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and "\n" not in err and "Traceback" not in err


def test_int8_equalization_keeps_the_function(exported, photo_dir):
    import copy

    from brushwork.models.export import check_parity
    from brushwork.models.quantize import calibration_images, conv_norm_pairs, equalize_for_int8

    net = copy.deepcopy(exported[0])
    for norm in net.modules():
        if isinstance(norm, torch.nn.InstanceNorm2d):
            norm.eps = 1e-12  # without eps the rescaling is exact; with it, channels of tiny spread shift a little
    images = calibration_images(photo_dir, size=(64, 48))
    equalized = equalize_for_int8(net, images)
    pairs = conv_norm_pairs(equalized)
    assert len(pairs) == 3 + 2 * ARCH_KWARGS["depth"] + 2  # every instance norm, once
    assert all(float(conv.bias.detach().abs().max()) == 0 for conv, _ in pairs)
    spreads = []
    hooks = [conv.register_forward_hook(lambda m, _, y: spreads.append(y.std(dim=(2, 3)).mean(0))) for conv, _ in pairs]
    with torch.no_grad():
        ExportWrapper(equalized)(torch.from_numpy(images[0].copy()))
    for hook in hooks:
        hook.remove()
    assert all(0.3 < float(s.min()) and float(s.max()) < 3 for s in spreads)  # channels share one range
    assert check_parity(equalized, None, reference=net).max() <= 1
