"""`brushwork stylize` on images and folders, `info`, `styles`, and every bad input (exit 2, one line).

The model is a tiny hand-built ONNX graph with the brushwork I/O convention that inverts colours, so the
expected output is known exactly and no torch is needed.
"""

import numpy as np
import pytest
from PIL import Image

from brushwork.cli import main
from brushwork.infer import Stylizer
from brushwork.infer.look.color import rgb_to_ycbcr


@pytest.fixture
def model(tmp_path, make_invert_model):
    return make_invert_model(tmp_path / "invert.onnx")


def photo(tmp_path, name="photo.png", size=(37, 53), seed=0):
    rng = np.random.default_rng(seed)
    array = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
    path = tmp_path / name
    Image.fromarray(array).save(path)
    return path, array


def stylize(*args):
    return main(["stylize", *map(str, args), "--quiet"])


def error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert err and "Traceback" not in "\n".join(err)
    return err[-1]


def test_stylizer_api_same_size_and_exact(model):
    stylizer = Stylizer(model, device="cpu")
    frame = np.random.default_rng(1).integers(0, 256, (31, 45, 3), dtype=np.uint8)
    assert np.array_equal(stylizer(frame), 255 - frame)
    assert stylizer.batch(np.stack([frame, frame])).shape == (2, 31, 45, 3)
    assert stylizer.provider == "CPUExecutionProvider"
    assert stylizer.metadata["style_name"] == "negative"


def test_image_keeps_size(tmp_path, model):
    src, array = photo(tmp_path)
    assert stylize(src, "-o", tmp_path / "out.png", "--model", model) == 0
    out = np.asarray(Image.open(tmp_path / "out.png"))
    assert out.shape == array.shape and np.array_equal(out, 255 - array)


def test_max_side_resizes(tmp_path, model):
    src, _ = photo(tmp_path, size=(40, 80))
    assert stylize(src, "-o", tmp_path / "out.png", "--model", model, "--max-side", "20") == 0
    assert Image.open(tmp_path / "out.png").size == (20, 10)


def test_folder_is_mirrored(tmp_path, model, photo_dir):
    out = tmp_path / "styled"
    assert stylize(photo_dir, "-o", out, "--model", model) == 0
    inputs = sorted(p.relative_to(photo_dir) for p in photo_dir.rglob("*.*"))
    outputs = sorted(p.relative_to(out) for p in out.rglob("*.*"))
    assert inputs == outputs and any(len(p.parts) > 1 for p in outputs)
    for rel in inputs:
        assert Image.open(out / rel).size == Image.open(photo_dir / rel).size


def test_preserve_color_luminance_keeps_chroma(tmp_path, model):
    src, array = photo(tmp_path, size=(48, 64), seed=3)
    assert stylize(src, "-o", tmp_path / "out.png", "--model", model, "--preserve-color", "luminance") == 0
    out = np.asarray(Image.open(tmp_path / "out.png"))
    inside = (slice(None), slice(None))
    y_in, y_out = rgb_to_ycbcr(array)[inside], rgb_to_ycbcr(out)[inside]
    # Clipping to 0..255 moves chroma of saturated pixels a little; the bulk must keep the input's chroma.
    assert np.median(np.abs(y_out[..., 1:] - y_in[..., 1:])) < 2.0
    plain = rgb_to_ycbcr(255 - array)
    assert np.median(np.abs(plain[..., 1:] - y_in[..., 1:])) > 10  # without the flag the chroma flips
    assert np.corrcoef(y_out[..., 0].ravel(), 255 - y_in[..., 0].ravel())[0, 1] > 0.95


def test_strength_zero_is_the_input(tmp_path, model):
    src, array = photo(tmp_path)
    assert stylize(src, "-o", tmp_path / "out.png", "--model", model, "--strength", "0") == 0
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out.png")), array)


def test_info_prints_metadata(model, capsys):
    assert main(["info", str(model)]) == 0
    out = capsys.readouterr().out
    assert "style_name" in out and "negative" in out and "uint8" in out


def test_info_on_a_tile_graph_names_its_model(tmp_path, make_invert_model, capsys):
    make_invert_model(tmp_path / "invert.tiled.onnx")
    assert main(["info", str(tmp_path / "invert.tiled.onnx")]) == 2
    err = capsys.readouterr().err.strip()
    assert "the tile graph of invert.onnx" in err and err.endswith(f"brushwork info {tmp_path / 'invert.onnx'}")
    assert len(err.splitlines()) == 1


def test_styles_says_none_ship(capsys, tmp_path, monkeypatch):
    from brushwork import styles

    monkeypatch.setattr(styles, "styles_folder", lambda: tmp_path)  # an install without the shipped styles
    assert main(["styles"]) == 0
    assert "no styles ship" in capsys.readouterr().out


def test_unknown_style_is_one_line(tmp_path, capsys):
    src, _ = photo(tmp_path)
    assert stylize(src, "-o", tmp_path / "o.png", "--style", "no_such_painting") == 2
    assert "--style no_such_painting: " in error_line(capsys)  # unknown, or none ship: one line either way


def test_checkpoint_instead_of_onnx_names_export(tmp_path, capsys):
    src, _ = photo(tmp_path)
    (tmp_path / "model.pt").write_bytes(b"not really")
    assert stylize(src, "-o", tmp_path / "o.png", "--model", tmp_path / "model.pt") == 2
    assert "brushwork export" in error_line(capsys)


def test_corrupt_onnx(tmp_path, capsys):
    src, _ = photo(tmp_path)
    (tmp_path / "bad.onnx").write_bytes(b"\x08\x07garbage" * 10)
    assert stylize(src, "-o", tmp_path / "o.png", "--model", tmp_path / "bad.onnx") == 2
    assert "not a loadable ONNX model" in error_line(capsys)


def test_foreign_onnx_wrong_inputs(tmp_path, capsys, make_invert_model):
    from onnx import TensorProto

    src, _ = photo(tmp_path)
    foreign = make_invert_model(tmp_path / "foreign.onnx", input_type=TensorProto.FLOAT)
    assert stylize(src, "-o", tmp_path / "o.png", "--model", foreign) == 2
    assert "not a brushwork model" in error_line(capsys)


@pytest.mark.parametrize("name,content", [("notes.txt", b"hello"), ("fake.jpg", b"no jpeg here")])
def test_not_an_image(tmp_path, model, capsys, name, content):
    (tmp_path / name).write_bytes(content)
    assert stylize(tmp_path / name, "-o", tmp_path / "o.png", "--model", model) == 2
    assert name in error_line(capsys)
    assert not (tmp_path / "o.png").exists()


def test_existing_output_needs_overwrite(tmp_path, model, capsys):
    src, _ = photo(tmp_path)
    (tmp_path / "o.png").write_bytes(b"keep me")
    assert stylize(src, "-o", tmp_path / "o.png", "--model", model) == 2
    assert "--overwrite" in error_line(capsys)
    assert (tmp_path / "o.png").read_bytes() == b"keep me"
    assert stylize(src, "-o", tmp_path / "o.png", "--model", model, "--overwrite") == 0


def test_output_equal_to_input_refused(tmp_path, model, capsys):
    src, array = photo(tmp_path)
    assert stylize(src, "-o", src, "--model", model, "--overwrite") == 2
    assert "is the input" in error_line(capsys)
    assert np.array_equal(np.asarray(Image.open(src)), array)


def test_unwritable_output(tmp_path, model, capsys):
    src, _ = photo(tmp_path)
    (tmp_path / "a_file").write_text("x")
    assert stylize(src, "-o", tmp_path / "a_file" / "o.png", "--model", model) == 2
    assert "cannot write" in error_line(capsys)


def test_bad_flags(tmp_path, model, capsys):
    src, _ = photo(tmp_path)
    assert stylize(src, "-o", tmp_path / "o.png", "--model", model, "--strength", "1.5") == 2
    assert "--strength" in error_line(capsys)
    assert stylize(src, "-o", tmp_path / "o.png", "--model", model, "--temporal-blend", "0.5") == 2
    assert "works on videos and animations only" in error_line(capsys)
    assert stylize(src, "-o", tmp_path / "o.png", "--model", model, "--max-memory", "lots") == 2
    assert "--max-memory" in error_line(capsys)
    assert stylize(src, "-o", tmp_path / "o.png", "--model", model, "--flow-side", "320") == 2
    assert "add --temporal-blend" in error_line(capsys)


def test_parse_size():
    from brushwork.config import parse_size

    assert parse_size("2GB") == 2 * 2**30
    assert parse_size("512MB") == 512 * 2**20
    assert parse_size("1.5G") == int(1.5 * 2**30)
    assert parse_size("1000") == 1000


def test_style_registry_resolves_and_lists(tmp_path, model):
    import json

    from brushwork import BrushworkError
    from brushwork.styles import list_styles, style_path

    (tmp_path / "negative.onnx").write_bytes(model.read_bytes())
    (tmp_path / "index.json").write_text(json.dumps({"styles": [{"name": "negative", "file": "negative.onnx"}]}))
    assert [s["name"] for s in list_styles(tmp_path)] == ["negative"]
    assert style_path("negative", tmp_path) == tmp_path / "negative.onnx"
    with pytest.raises(BrushworkError, match="known: negative"):
        style_path("starry", tmp_path)


def test_folder_output_inside_the_input_folder_is_refused(tmp_path, model, photo_dir, capsys):
    before = sorted(photo_dir.rglob("*"))
    assert stylize(photo_dir, "-o", photo_dir / "styled", "--model", model) == 2
    assert "inside the input folder" in error_line(capsys)
    assert sorted(photo_dir.rglob("*")) == before  # nothing written, not even the folder


def test_folder_output_needs_overwrite_to_replace(tmp_path, model, photo_dir, capsys):
    out = tmp_path / "styled"
    (out / "nested").mkdir(parents=True)
    (out / "photo1.png").write_bytes(b"keep me")
    assert stylize(photo_dir, "-o", out, "--model", model) == 2
    assert "--overwrite" in error_line(capsys)
    assert (out / "photo1.png").read_bytes() == b"keep me" and not (out / "photo2.webp").exists()
    assert stylize(photo_dir, "-o", out, "--model", model, "--overwrite") == 0
    assert Image.open(out / "photo1.png").size == Image.open(photo_dir / "photo1.png").size
