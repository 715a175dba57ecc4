"""Tiled stylization: the network runs layer by layer in strips with the whole frame's instance-norm statistics,
so it computes the untiled image whatever the strip size; naive tiles (each its own statistics) seam.

A tiny random network keeps export fast; 12-32 px strips and tiles on a 70x101 image put many borders in it.
"""

from __future__ import annotations

import copy
import subprocess
import sys

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper

from brushwork import BrushworkError
from brushwork.infer.engine import activations, memory, tiling
from brushwork.infer.engine.program import peak_live_floats, widest_step
from brushwork.infer.engine.seams import seam_ratio
from brushwork.infer.engine.session import Stylizer
from brushwork.infer.engine.tiling import TiledStylizer, plan_axis
from brushwork.models.export import psnr
from brushwork.models.tiled import export_tiled, program, tiled_path
from brushwork.models.transformer_net import TransformerNet


@pytest.fixture(scope="module")
def tiny_net():
    torch.manual_seed(0)
    return TransformerNet(width=4, depth=2).eval()


@pytest.fixture(scope="module")
def model_path(tmp_path_factory, tiny_net):
    """`tiny.onnx` with its companion `tiny.tiled.onnx` (the main file itself is not needed here)."""
    path = tmp_path_factory.mktemp("tiled") / "tiny.onnx"
    export_tiled(tiny_net, path, {"producer": "brushwork", "arch": "tiny"})
    return path


def make_photo(height: int, width: int) -> np.ndarray:
    """A 'photo': smooth colour waves, a hard edge and mild noise (conftest's fixtures are per test)."""
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:height, 0:width] / width
    image = np.stack([np.sin(2 * np.pi * (rng.uniform(0.5, 3) * yy + rng.uniform(0.5, 3) * xx) + c)
                      for c in range(3)], -1) * 90 + 128
    image[:, :width // 3] += 40
    return np.clip(image + rng.normal(0, 4, image.shape), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def photo():
    return make_photo(70, 101)  # neither side a multiple of the stride


def torch_untiled(net, image: np.ndarray) -> np.ndarray:
    """The network on the whole image in torch, float RGB in [0, 255]."""
    with torch.no_grad():
        x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
        return (net(x).clamp(0, 1) * 255)[0].permute(1, 2, 0).numpy()


@pytest.mark.parametrize("tile", [512, 32, 12])
def test_strips_of_any_size_compute_the_untiled_network(tiny_net, model_path, photo, tile):
    """One strip per layer (512), several (32), one or two rows each (12): always the network, up to rounding."""
    stylizer = TiledStylizer(model_path, device="cpu", tile=tile)
    rows, _ = stylizer.layout(*photo.shape[:2])
    assert len(rows) == -(-photo.shape[0] // max(2, tile * tile // 104))  # 104: the width padded to the stride
    out = stylizer(photo)
    assert out.shape == photo.shape and out.dtype == np.uint8
    assert np.abs(out - torch_untiled(tiny_net, photo)).max() <= 0.51  # rounding only


def test_a_net_with_an_unbounded_output_too(tmp_path, photo):
    """Checkpoints from before the scaled tanh (output="linear"): the head is only clamped, as in the network."""
    torch.manual_seed(1)
    net = TransformerNet(width=4, depth=1, output="linear").eval()
    export_tiled(net, tmp_path / "linear.onnx", {"arch": "tiny"})
    out = TiledStylizer(tmp_path / "linear.onnx", device="cpu", tile=24)(photo)
    assert np.abs(out - torch_untiled(net, photo)).max() <= 0.51


def test_half_weights_store_the_convolutions_in_fp16_and_compute_the_rounded_network(tiny_net, tmp_path, photo):
    """Beside an fp16 export the tile graph keeps the convolutions' weights as fp16 (half the file) and computes,
    in float32, the network with exactly those rounded weights: not the unrounded one's image to the bit."""
    export_tiled(tiny_net, tmp_path / "half.onnx", {"arch": "tiny"}, half_weights=True)
    proto = onnx.load(str(tiled_path(tmp_path / "half.onnx")))
    kinds = {i.name: i.data_type for i in proto.graph.initializer}
    assert kinds["c0_w16"] == TensorProto.FLOAT16 and "c0_w" not in kinds
    assert all(kinds[n] != TensorProto.FLOAT for n in kinds if n.endswith(("_w16", "_b16")))
    assert {p.key: p.value for p in proto.metadata_props}["tiled_weights"] == "fp16"
    rounded = copy.deepcopy(tiny_net)
    with torch.no_grad():
        for conv in (m for m in rounded.modules() if isinstance(m, torch.nn.Conv2d)):
            conv.weight.copy_(conv.weight.half().float())
            conv.bias.copy_(conv.bias.half().float())
    out = TiledStylizer(tmp_path / "half.onnx", device="cpu", tile=24)(photo)
    assert np.abs(out - torch_untiled(rounded, photo)).max() <= 0.51
    full = tiled_path(tmp_path / "full.onnx")
    export_tiled(tiny_net, tmp_path / "full.onnx", {"arch": "tiny"})
    assert {p.key: p.value for p in onnx.load(str(full)).metadata_props}["tiled_weights"] == "fp32"


def test_activations_spilled_to_a_file_give_the_same_image(model_path, photo, tmp_path, monkeypatch):
    """A budget that holds the strips but not all the activations: some go to temporary files, gone after."""
    probe = TiledStylizer(model_path, device="cpu")
    h, w = 72, 104
    live, frames = peak_live_floats(probe.steps) * h * w * 4, 6 * h * w
    eight_rows = memory.WORK_BYTES_PER_FLOAT * widest_step(probe.steps) * 8 * w  # the least that strips need
    budget = int((memory.BASE_BYTES + frames + live + eight_rows) / memory.HEADROOM)
    stylizer = TiledStylizer(model_path, device="cpu", max_memory=budget, spill=tmp_path)
    plan = stylizer.plan(*photo.shape[:2])
    assert plan.spill and plan.strip_pixels < h * w
    roomy = TiledStylizer(model_path, device="cpu", max_memory=2**30)
    assert not roomy.plan(*photo.shape[:2]).spill
    files = []
    temporary_file = activations.tempfile.TemporaryFile
    monkeypatch.setattr(activations.tempfile, "TemporaryFile", lambda **kw: files.append(kw) or temporary_file(**kw))
    assert np.abs(stylizer(photo).astype(int) - roomy(photo)).max() <= 1
    assert stylizer.spilled_bytes > 0 and files and all(kw["dir"] == tmp_path for kw in files)
    assert list(tmp_path.iterdir()) == []


def test_small_tiles_exact_strips_are_seamless_and_naive_tiles_seam(tiny_net, model_path, photo):
    """The seam check itself: naive 32 px tiles (per-tile statistics, hard cuts) put 1.5x the untiled image's
    gradient energy on their borders; the exact run's 12 px strips stay within 5% of it."""
    reference = np.round(torch_untiled(tiny_net, photo)).astype(np.uint8)
    exact = TiledStylizer(model_path, device="cpu", tile=12)
    naive = TiledStylizer(model_path, device="cpu", tile=32, shared_stats=False)
    out_exact, out_naive = exact(photo), naive(photo)
    rows, cols = exact.layout(*photo.shape[:2])
    naive_rows, naive_cols = naive.layout(*photo.shape[:2])
    assert len(rows) >= 20 and len(naive_rows) * len(naive_cols) == 12
    assert psnr(out_exact, reference) > 50 and psnr(out_naive, reference) < 30
    assert abs(seam_ratio(out_exact, rows, cols) / seam_ratio(reference, rows, cols) - 1) < 0.05
    assert seam_ratio(out_naive, naive_rows, naive_cols) > 1.5 * seam_ratio(reference, naive_rows, naive_cols)


def test_plan_follows_the_budget(model_path):
    """A roomy budget keeps the activations in memory; a tight one spills them to a file, with shorter strips;
    too tight a one is an error that names the flag."""
    small = TiledStylizer(model_path, device="cpu", max_memory=230 * 2**20)
    large = TiledStylizer(model_path, device="cpu", max_memory=2 * 2**30)
    roomy, tight = large.plan(1080, 1920), small.plan(1080, 1920)
    assert not roomy.spill and roomy.strip_pixels == tiling.DEFAULT_TILE**2
    assert tight.spill and tight.strip_pixels < roomy.strip_pixels
    with pytest.raises(BrushworkError, match="--max-memory"):
        small.plan(4320, 7680)  # the 8K input and output frames alone take 190 MB


def test_plan_axis_covers_the_axis():
    spans = plan_axis(100, 32)
    assert [(s.start, s.stop) for s in spans] == [(0, 32), (32, 64), (64, 96), (96, 100)]


@pytest.mark.parametrize("kwargs, message", [
    ({"tile": 4}, "at least 8"),
    ({"tile": 64, "max_memory": 2**30}, "not both"),
    ({"max_memory": 50 * 2**20}, "--max-memory"),
])
def test_bad_settings_are_one_line_errors(model_path, photo, kwargs, message):
    with pytest.raises(BrushworkError, match=message) as info:
        TiledStylizer(model_path, device="cpu", **kwargs)(photo)
    assert "\n" not in str(info.value)


def test_missing_companion_file_says_how_to_export(tmp_path):
    model = tmp_path / "starry.onnx"
    model.write_bytes(b"not used")
    with pytest.raises(BrushworkError, match=r"starry\.tiled\.onnx.*brushwork export"):
        TiledStylizer(model, tile=256)


def test_an_older_companion_file_asks_for_a_re_export(tmp_path):
    x = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1])
    graph = helper.make_graph([helper.make_node("Identity", ["image"], ["y"])], "old", [x],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)], ir_version=10),
              tmp_path / "old.tiled.onnx")
    with pytest.raises(BrushworkError, match="re-export") as info:
        TiledStylizer(tmp_path / "old.onnx", tile=256)
    assert "\n" not in str(info.value)


def test_bad_frames_are_rejected_alike(model_path, make_invert_model, tmp_path):
    """Both stylizers check frames in one place (OnnxModel): the same error for the same mistake."""
    bad = (np.zeros((70, 100), np.uint8), np.zeros((70, 100, 3), np.float32))
    plain = Stylizer(make_invert_model(tmp_path / "invert.onnx"), device="cpu")
    for stylizer in (TiledStylizer(model_path, device="cpu", tile=96), plain):
        for frame in bad:
            with pytest.raises(ValueError, match="uint8"):
                stylizer(frame)
        with pytest.raises(ValueError, match="uint8"):
            stylizer.batch(np.zeros((2, 70, 100), np.uint8))
        with pytest.raises(BrushworkError, match="empty"):  # a user's empty picture: one line, as every input error
            stylizer(np.zeros((0, 100, 3), np.uint8))


@pytest.mark.parametrize("size", [(1, 1), (3, 97), (97, 3), (4, 100)])
def test_frames_smaller_than_the_network_are_padded_and_cropped_back(model_path, photo, size):
    """Below 8 px a side the network cannot run: the frame is mirrored up to 8 and the output cropped back."""
    stylizer = TiledStylizer(model_path, device="cpu", tile=16)  # 97 px: several strips
    h, w = size
    frame = np.ascontiguousarray(make_photo(100, 100)[:h, :w])
    out = stylizer(frame)
    assert out.shape == frame.shape and out.dtype == np.uint8
    mode = "edge" if min(h, w) == 1 else "reflect"
    padded = np.pad(frame, ((0, max(0, 8 - h)), (0, max(0, 8 - w)), (0, 0)), mode=mode)
    assert np.array_equal(out, stylizer(padded)[:h, :w])


def test_companion_metadata_and_names(model_path, tiny_net):
    stylizer = TiledStylizer(model_path, device="cpu", tile=96)
    assert stylizer.metadata["arch"] == "tiny" and stylizer.metadata["tiled_format"] == "2"
    steps, convs, norms = program(tiny_net)
    assert len(convs) == 3 + 2 * 2 + 2 + 1 and len(norms) == 1 + 2  # 11 instance norms in all
    assert [s["op"] for s in stylizer.steps] == [s["op"] for s in steps]
    assert peak_live_floats(stylizer.steps) == 4 + 8 / 4  # the first two layers' activations, per frame pixel
    assert tiled_path("a/starry.onnx").name == "starry.tiled.onnx"
    assert tiled_path("a/starry.tiled.onnx").name == "starry.tiled.onnx"


def test_tiling_runtime_does_not_import_torch():
    code = "import sys, brushwork.infer.engine.tiling; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_stylize_cli_with_tiles(model_path, photo, tmp_path):
    """`brushwork stylize IMAGE -o OUT --model M.onnx --tile N` runs the tile graph beside M.onnx."""
    from PIL import Image

    from brushwork.cli import main

    source, target = tmp_path / "in.png", tmp_path / "out.png"
    Image.fromarray(photo).save(source)
    assert main(["stylize", str(source), "-o", str(target), "--model", str(model_path), "--tile", "24",
                 "--device", "cpu"]) == 0
    expected = TiledStylizer(model_path, device="cpu", tile=24)(photo)
    np.testing.assert_array_equal(np.asarray(Image.open(target)), expected)


def test_batch_is_frame_by_frame(model_path, photo):
    """TiledStylizer follows the Stylizer protocol: `batch` (what videos and animations call) is each frame alone."""
    stylizer = TiledStylizer(model_path, device="cpu", tile=64)
    frames = np.stack([photo, np.ascontiguousarray(photo[::-1])])
    out = stylizer.batch(frames)
    assert out.shape == frames.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out[1], stylizer(frames[1]))
