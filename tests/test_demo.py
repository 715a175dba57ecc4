"""`brushwork demo`: every shipped style on the packaged sample photo and clip, with no file of the user's."""

from __future__ import annotations

import json

import av
import numpy as np
import pytest
from PIL import Image

from brushwork import styles
from brushwork.cli import main


@pytest.fixture
def shipped(tmp_path, make_invert_model, monkeypatch):
    """Two 'shipped styles' (tiny invert models) in a styles folder the registry is pointed at."""
    folder = tmp_path / "styles"
    folder.mkdir()
    for name in ("negative", "also_negative"):
        make_invert_model(folder / f"{name}.onnx")
    index = {"styles": [{"name": n, "file": f"{n}.onnx", "title": n} for n in ("negative", "also_negative")]}
    (folder / "index.json").write_text(json.dumps(index))
    monkeypatch.setattr(styles, "styles_folder", lambda: folder)
    return folder


def test_demo_writes_photo_clip_and_sheet_per_style(shipped, tmp_path):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    sample = np.asarray(Image.open(_samples() / "photo.jpg").convert("RGB")).astype(int)
    result = np.asarray(Image.open(out / "photo_negative.jpg")).astype(int)
    assert result.shape == sample.shape and np.abs(result - (255 - sample)).mean() < 4  # JPEG round trip only
    sheet = Image.open(out / "contact_sheet.jpg")
    assert sheet.width == 3 * sample.shape[1]  # photo + two styles in one row
    with av.open(str(_samples() / "clip.mp4")) as src, av.open(str(out / "clip_also_negative.mp4")) as dst:
        assert dst.streams.video[0].frames == src.streams.video[0].frames
        assert len(dst.streams.audio) == 1  # the sound is kept


def test_demo_clip_runs_the_student_on_a_cpu_and_the_photo_the_full_model(shipped, tmp_path, capsys,
                                                                           make_invert_model):
    """As `brushwork stylize` on a CPU: the clip through the style's student, the photo through its full model."""
    make_invert_model(shipped / "negative.fast.onnx")
    index = json.loads((shipped / "index.json").read_text())
    index["styles"][0]["student"] = "negative.fast.onnx"
    (shipped / "index.json").write_text(json.dumps(index))
    assert main(["demo", "--out", str(tmp_path / "demo"), "--style", "negative", "--device", "cpu"]) == 0
    assert "negative (negative.fast.onnx):" in capsys.readouterr().err
    assert (tmp_path / "demo" / "clip_negative.mp4").is_file() and (tmp_path / "demo" / "photo_negative.jpg").is_file()


def test_demo_refuses_to_overwrite_and_unknown_styles(shipped, tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--no-video", "--style", "negative"]) == 0
    assert main(["demo", "--out", str(out), "--no-video", "--style", "negative"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(["demo", "--out", str(out), "--style", "mona_lisa"]) == 2
    assert "known: also_negative, negative" in capsys.readouterr().err


def test_demo_without_styles_says_what_to_do(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(styles, "styles_folder", lambda: tmp_path)
    assert main(["demo", "--out", str(tmp_path / "demo")]) == 2
    assert "no styles ship" in capsys.readouterr().err


def _samples():
    from brushwork.infer.demo_command import SAMPLES

    return SAMPLES


def test_stylize_without_model_or_style_uses_the_first_shipped_style(shipped, tmp_path, capsys):
    src, out = tmp_path / "in.png", tmp_path / "out.png"
    Image.fromarray(np.full((9, 13, 3), 40, np.uint8)).save(src)
    assert main(["stylize", str(src), "-o", str(out)]) == 0
    assert (np.asarray(Image.open(out)) == 215).all()  # 'negative', the first in the index, inverted it


def test_stylize_without_model_when_no_style_ships(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(styles, "styles_folder", lambda: tmp_path)
    src = tmp_path / "in.png"
    Image.fromarray(np.full((9, 13, 3), 40, np.uint8)).save(src)
    assert main(["stylize", str(src), "-o", str(tmp_path / "out.png")]) == 2
    err = capsys.readouterr().err
    assert "give --model" in err and len(err.strip().splitlines()) == 1 and not (tmp_path / "out.png").exists()


def test_styles_lists_each_with_its_painting_and_the_default(shipped, capsys):
    index = json.loads((shipped / "index.json").read_text())
    index["styles"][0].update(title="The Negative", artist="A. Painter", year="1901")
    (shipped / "index.json").write_text(json.dumps(index))
    assert main(["styles"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["negative", "The", "Negative,", "A.", "Painter,", "1901", "(default)"]
    assert lines[1].strip() == "quality not measured"  # an index entry without scripts/ship_style.py's record
    assert lines[2].split() == ["also_negative", "also_negative"]


def test_styles_prints_the_measured_quality(shipped, capsys):
    """What scripts/ship_style.py records from `brushwork evaluate` is what a user reads in `brushwork styles`."""
    index = json.loads((shipped / "index.json").read_text())
    index["styles"][0]["quality"] = {"ratio_gatys100": 1.7, "ratio_gatys50": 1.62, "johnson_iterations": 40.0,
                                     "edge_roughness": 0.95, "photos": 5, "size": 256, "images": 60000,
                                     "hours": 8.5, "hardware": "2-core CPU",
                                     "limitations": "a smooth glow in flat skies"}
    (shipped / "index.json").write_text(json.dumps(index))
    assert main(["styles"]) == 0
    lines = [line.strip() for line in capsys.readouterr().out.splitlines()]
    assert lines[1] == "loss 1.70x Gatys@100 on 5 held-out photos at 256 px; edge roughness 0.95 (photos ~0.85)"
    assert lines[2].startswith("as good as neural-style's L-BFGS from noise after 40 iterations")
    assert lines[3] == "trained on 60,000 images in 8.5 h, 2-core CPU"
    assert lines[4] == "known limitation: a smooth glow in flat skies"
    assert lines[5].startswith("also_negative")  # a style without one has no such line
