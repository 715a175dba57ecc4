"""Students: `brushwork distill` / `train --teacher` fit a small network to a trained model's pictures,
and shipped styles pick their student on the CPU."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch

from brushwork import BrushworkError
from brushwork.cli import main
from brushwork.data.photos import scan_photos, validation_batch
from brushwork.infer.engine.session import Stylizer
from brushwork.models.checkpoint import load_checkpoint, model_from_checkpoint, save_checkpoint
from brushwork.models.transformer_net import build_transformer
from brushwork.styles import style_path
from brushwork.train.config import TrainConfig
from brushwork.train.distill import load_teacher
from brushwork.train.loop import fit


@pytest.fixture
def teacher(tmp_path):
    """A teacher as `brushwork train` leaves it (model.pt): a johnson-light whose weights are random but fixed."""
    torch.manual_seed(7)
    net = build_transformer("johnson-light")
    with torch.no_grad():  # no two norms alike, as after training (the ONNX export merges equal constants)
        for p in net.parameters():
            if p.ndim == 1:
                p.add_(0.05 * torch.randn_like(p))
    path = tmp_path / "teacher" / "model.pt"
    path.parent.mkdir()
    save_checkpoint(path, {"kind": "model", "arch": "johnson-light", "arch_kwargs": {"output": "tanh"}, "step": 9,
                           "model": net.state_dict(), "config": {}, "style": {"name": "stripes", "sha256": "ab"}})
    return path


def student_config(photo_dir, teacher, tmp_path, **kw) -> TrainConfig:
    options = {"teacher": str(teacher), "data": str(photo_dir), "out": str(tmp_path / "runs"), "arch": "johnson-fast",
               "image_size": 32, "batch_size": 4, "steps": 120, "lr": 3e-3, "warmup_steps": 5, "workers": 0,
               "log_every": 20, "sample_every": 1000, "ckpt_every": 1000}
    return TrainConfig(**{**options, **kw})


def l1_to_teacher(student, teacher_net, photos) -> float:
    x = validation_batch(photos, 48, count=8).float() / 255
    with torch.no_grad():
        return float((student(x) - teacher_net(x)).abs().mean())


def test_a_student_learns_its_teachers_pictures(photo_dir, teacher, tmp_path):
    teacher_net, _ = load_teacher(str(teacher))
    photos = scan_photos(photo_dir, quiet=True)
    torch.manual_seed(0)  # the student's initial weights, as the run draws them (seed 0)
    before = l1_to_teacher(build_transformer("johnson-fast").eval(), teacher_net, photos)
    result = fit(student_config(photo_dir, teacher, tmp_path))
    ckpt = load_checkpoint(result.model_path)
    after = l1_to_teacher(model_from_checkpoint(ckpt), teacher_net, photos)
    assert after < 0.6 * before, (before, after)  # on held-out crop sizes (48 px; trained on 32 px crops)
    assert ckpt["arch"] == "johnson-fast" and ckpt["style"] == {"name": "stripes", "sha256": "ab"}
    assert ckpt["teacher"]["sha256"] == hashlib.sha256(teacher.read_bytes()).hexdigest()
    assert ckpt["teacher"]["arch"] == "johnson-light" and ckpt["config"]["style"] is None


def test_distill_exports_the_student_and_reports_psnr(photo_dir, teacher, tmp_path, capsys):
    out = tmp_path / "fast.onnx"
    argv = ["distill", str(teacher.parent), "--data", str(photo_dir), "-o", str(out), "--out", str(tmp_path / "runs"),
            "--steps", "3", "--image-size", "32", "--batch-size", "2", "--workers", "0"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "student vs teacher on 8 photos" in printed and "PSNR mean" in printed
    meta = Stylizer(out, device="cpu").metadata
    assert meta["arch"] == "johnson-fast" and meta["style_name"] == "stripes"
    assert json.loads(meta["training_config"])["teacher"] == str(teacher.parent)
    assert out.with_name("fast.tiled.onnx").is_file()
    assert main(argv) == 2  # the output exists: refused before any training, not after
    assert "exists; pass --overwrite" in capsys.readouterr().err


def test_teacher_from_an_export_is_the_same_network(teacher, tmp_path):
    onnx_path = tmp_path / "teacher.onnx"
    assert main(["export", str(teacher), "-o", str(onnx_path), "--no-tiling"]) == 0
    from_ckpt, record = load_teacher(str(teacher))
    from_onnx, _ = load_teacher(str(onnx_path))
    x = torch.rand(1, 3, 40, 44, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        assert torch.equal(from_ckpt(x), from_onnx(x))
    assert record["step"] == 9 and record["arch_kwargs"] == {"output": "tanh"}
    assert all(not p.requires_grad for p in from_ckpt.parameters())


def test_teacher_errors_are_one_line(photo_dir, style_path, teacher, tmp_path):
    with pytest.raises(BrushworkError, match="drop --style"):
        TrainConfig(style=str(style_path), teacher=str(teacher), data=str(photo_dir))
    with pytest.raises(BrushworkError, match="--teacher nowhere.pt: no such file"):
        load_teacher("nowhere.pt")
    assert TrainConfig(teacher=str(teacher), data="d", arch="johnson-fast").name == "model_johnson-fast"


def test_quality_picks_the_student_on_the_cpu(tmp_path):
    for name in ("starry.onnx", "starry.fast.onnx", "plain.onnx"):
        (tmp_path / name).write_bytes(b"x")
    index = {"styles": [{"name": "starry", "file": "starry.onnx", "student": "starry.fast.onnx"},
                        {"name": "plain", "file": "plain.onnx"}]}
    (tmp_path / "index.json").write_text(json.dumps(index))
    pick = lambda name, **kw: style_path(name, tmp_path, **kw).name
    assert pick("starry", quality="auto", on_cpu=True) == "starry.fast.onnx"
    assert pick("starry", quality="auto", on_cpu=False) == "starry.onnx"
    assert pick("starry", quality="full", on_cpu=True) == "starry.onnx"
    assert pick("starry", quality="fast", on_cpu=False) == "starry.fast.onnx"
    assert pick("plain", quality="auto", on_cpu=True) == "plain.onnx"
    with pytest.raises(BrushworkError, match="ships no fast student"):
        pick("plain", quality="fast")


def test_quality_with_a_model_file_is_an_error(make_invert_model, tmp_path, capsys):
    model = make_invert_model(tmp_path / "m.onnx")
    from PIL import Image

    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(tmp_path / "in.png")
    assert main(["stylize", str(tmp_path / "in.png"), "-o", str(tmp_path / "out.png"), "--model", str(model),
                 "--quality", "fast"]) == 2
    assert "--quality chooses between a shipped style's models" in capsys.readouterr().err


def test_a_shipped_style_runs_its_student_on_the_cpu(make_invert_model, tmp_path, monkeypatch, capsys):
    from PIL import Image

    from brushwork import styles
    from brushwork.infer.engine import session

    folder = tmp_path / "styles"
    folder.mkdir()
    for name in ("starry.onnx", "starry.fast.onnx"):
        make_invert_model(folder / name)
    index = {"styles": [{"name": "starry", "file": "starry.onnx", "student": "starry.fast.onnx", "title": "Starry"}]}
    (folder / "index.json").write_text(json.dumps(index))
    monkeypatch.setattr(styles, "styles_folder", lambda: folder)
    Image.fromarray(np.full((16, 16, 3), 10, np.uint8)).save(tmp_path / "in.png")
    real_open = session.open_session

    class CudaSession:  # what onnxruntime gives where CUDA really works
        def __init__(self, inner):
            self.inner = inner

        def get_providers(self):
            return ["CUDAExecutionProvider", "CPUExecutionProvider"]

        def __getattr__(self, name):
            return getattr(self.inner, name)

    looks_like_gpu, gets_cuda = object(), object()
    for i, (extra, used) in enumerate(((["--device", "cpu"], "starry.fast.onnx"),  # on the CPU: none here)
                                       (["--quality", "full"], "starry.onnx"),
                                       (["--quality", "fast", "--device", "cpu"], "starry.fast.onnx"),
                                       # a CUDA provider and a driver, but onnxruntime falls back to the CPU
                                       ([looks_like_gpu], "starry.fast.onnx"),
                                       ([gets_cuda], "starry.onnx"))):
        if extra[0] in (looks_like_gpu, gets_cuda):
            monkeypatch.setattr(session, "runs_on_cpu", lambda device: False)
            if extra[0] is gets_cuda:
                monkeypatch.setattr(session, "open_session", lambda *a: CudaSession(real_open(*a)))
            extra = []
        out = tmp_path / f"out{i}.png"
        assert main(["stylize", str(tmp_path / "in.png"), "-o", str(out), "--style", "starry", *extra]) == 0
        assert f"model {folder / used} " in capsys.readouterr().err
        assert np.asarray(Image.open(out))[0, 0, 0] == 245  # the model ran
    assert main(["styles"]) == 0
    assert "[+ fast student for CPUs]" in capsys.readouterr().out
    assert main(["info", "starry", "--json"]) == 0
    assert set(json.loads(capsys.readouterr().out)) == {"starry.onnx", "starry.fast.onnx"}
    assert main(["bench", "starry", "--size", "32x24", "--batch-sizes", "1", "--seconds", "0.02", "--no-video",
                 "--device", "cpu"]) == 0
    rows = [line.split(" | ")[0] for line in capsys.readouterr().out.splitlines() if line.startswith("| starry")]
    assert rows == ["| starry.onnx", "| starry.fast.onnx"]


def test_bench_times_the_peer_beside_the_models(make_invert_model, tmp_path, capsys):
    """`bench MODEL --peer DIR`: the peer's network (a stand-in transformer_net.py here), timed in its own process."""
    peer = tmp_path / "neural_style"
    peer.mkdir()
    (peer / "transformer_net.py").write_text("import torch\n\n\nclass TransformerNet(torch.nn.Conv2d):\n"
                                             "    def __init__(self):\n        super().__init__(3, 3, 3, padding=1)\n")
    model = make_invert_model(tmp_path / "invert.onnx")
    argv = ["bench", str(model), "--size", "32x24", "--batch-sizes", "1", "--seconds", "0.02", "--no-video",
            "--device", "cpu", "--peer", str(peer)]
    assert main(argv) == 0
    printed = capsys.readouterr().out.splitlines()
    rows = [line.strip("| ").split(" | ") for line in printed if line.startswith("| 32x24")]
    assert [r[1] for r in rows] == ["peer (torch eager)", "invert.onnx"]
    assert float(rows[0][2]) > 0 and rows[0][3] == "1.00x" and float(rows[1][3].rstrip("x")) > 0
    assert main([*argv[:-1], str(tmp_path)]) == 2
    assert "no transformer_net.py there" in capsys.readouterr().err
