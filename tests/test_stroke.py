"""Strokes at the painting's scale at any size: the recorded training scale, the working size, the detail brought
back at full size, and `--stroke` on every kind of input (pictures, folders, animations, videos, the server).

The models are tiny hand-built ONNX graphs (identity or colour inversion) whose metadata says they learned to paint
32 px scenes, so small test pictures are "large" for them and no torch is needed.
"""

import json

import numpy as np
import pytest
from PIL import Image

from brushwork import BrushworkError
from brushwork.cli import main
from brushwork.infer import StrokeScale, Stylizer
from brushwork.infer.engine.contract import DEFAULT_TRAINING_SCALE, scene_pixels, training_scale
from brushwork.infer.engine.stroke import parse_stroke
from brushwork.infer.engine.upsample import detail_upsample, resize

SCALE_32 = {"training_scale": json.dumps({"image_size": 32, "crop_area": [1.0, 1.0], "style_size": 32})}


@pytest.fixture
def identity(tmp_path, make_invert_model):
    return make_invert_model(tmp_path / "identity.onnx", identity=True, metadata=SCALE_32)


@pytest.fixture
def invert(tmp_path, make_invert_model):
    return make_invert_model(tmp_path / "invert.onnx", metadata=SCALE_32)


def smooth_photo(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A photo-like picture: smooth shading, a few hard edges and some fine texture (not noise everywhere)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    base = np.stack([120 + 80 * np.sin(3 * x + c) * np.cos(2 * y - c) for c in range(3)], -1)
    base[(x - 0.5) ** 2 + (y - 0.4) ** 2 < 0.04] += 60  # a disc: hard edges
    base += rng.normal(0, 6, (height, width, 1))  # fine texture, in brightness as in photos
    return np.clip(base, 0, 255).astype(np.uint8)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * np.log10(255**2 / mse)


def edge_energy(frame: np.ndarray) -> float:
    """Mean |Laplacian| of the brightness: how much fine detail a picture has."""
    g = frame.astype(np.float64).mean(-1)
    return float(np.abs(4 * g[1:-1, 1:-1] - g[:-2, 1:-1] - g[2:, 1:-1] - g[1:-1, :-2] - g[1:-1, 2:]).mean())


# ---- the scale a model learned ----------------------------------------------------------------------------------

def test_scene_pixels_is_the_mean_scene_size_of_training():
    # 256 px crops of 35-100 % of the area: a scene is 256**2 / a pixels, averaged over a uniform in [0.35, 1]
    assert scene_pixels(DEFAULT_TRAINING_SCALE) == round(256**2 * np.log(1 / 0.35) / 0.65)
    assert scene_pixels({"image_size": 100, "crop_area": [0.25, 0.25]}) == 40000  # a fixed fraction: exact
    assert scene_pixels({"image_size": 64, "crop_area": [1.0, 1.0]}) == 64 * 64  # whole photos


def test_training_scale_from_its_key_then_the_training_config_then_the_defaults():
    assert training_scale(SCALE_32)["image_size"] == 32
    config = {"training_config": json.dumps({"image_size": 128, "steps": 5})}  # exported before the key
    assert training_scale(config) == {"image_size": 128, "crop_area": [0.35, 1.0], "style_size": 512}
    assert training_scale({}) == DEFAULT_TRAINING_SCALE  # not brushwork's, or older still
    assert training_scale({"training_scale": "not json", "training_config": "{}"}) == DEFAULT_TRAINING_SCALE


def test_working_size_keeps_the_aspect_and_never_grows_a_picture(identity):
    scaled = StrokeScale(Stylizer(identity))  # 1024-pixel scenes: the default works at 3x their side, 9216 pixels
    assert scaled.working_size(3024, 4032) == (83, 111)  # 4:3 at about 9216 pixels
    assert scaled.working_size(60, 90) == (60, 90)  # smaller than the working size: as it is
    assert StrokeScale(Stylizer(identity), stroke=2).working_size(3024, 4032) == (42, 55)  # larger strokes
    assert StrokeScale(Stylizer(identity), stroke=0.5).working_size(3024, 4032) == (166, 222)
    assert StrokeScale(Stylizer(identity), stroke=3).working_size(3024, 4032) == (28, 37)  # the trained scene
    assert StrokeScale(Stylizer(identity), stroke="native").working_size(3024, 4032) == (3024, 4032)


def test_a_model_without_its_scale_works_at_the_documented_default(tmp_path, make_invert_model):
    scaled = StrokeScale(Stylizer(make_invert_model(tmp_path / "old.onnx")))
    h, w = scaled.working_size(3000, 4000)
    assert abs(h * w - 9 * scene_pixels(DEFAULT_TRAINING_SCALE)) < 2000 and abs(w / h - 4 / 3) < 0.01


@pytest.mark.parametrize("text", ["0", "-1", "big", "nan", "inf", "100"])
def test_bad_stroke_values_are_refused(text):
    with pytest.raises(BrushworkError, match="--stroke"):
        parse_stroke(text)
    assert parse_stroke("NATIVE") is None and parse_stroke("2") == 2.0


# ---- the painting back at full size -----------------------------------------------------------------------------

def test_detail_upsample_gives_back_the_photo_when_the_painting_is_the_photo():
    """An identity 'painting' made small and brought back must be the photo again, fine detail included: the
    detail term is exactly what was lost on the way down (a plain upscale is a blur)."""
    photo = smooth_photo(240, 320)
    small = resize(photo, (40, 30))
    back = detail_upsample(photo, small, small)
    upscaled = np.asarray(Image.fromarray(small).resize((320, 240), Image.Resampling.BICUBIC))
    assert back.shape == photo.shape and back.dtype == np.uint8
    assert psnr(back, photo) > 38 and psnr(upscaled, photo) < psnr(back, photo) - 6
    assert 0.9 < edge_energy(back) / edge_energy(photo) < 1.1  # as sharp as the photo
    assert edge_energy(upscaled) / edge_energy(photo) < 0.5  # the plain upscale is not


def test_detail_upsample_works_in_strips_without_seams(monkeypatch):
    from brushwork.infer.engine import upsample

    photo = smooth_photo(100, 90, seed=3)
    small, painting = resize(photo, (30, 33)), 255 - resize(photo, (30, 33))
    whole = detail_upsample(photo, small, painting)
    monkeypatch.setattr(upsample, "STRIP_ROWS", 7)
    assert np.array_equal(detail_upsample(photo, small, painting), whole)


# ---- the stylizer at scale --------------------------------------------------------------------------------------

def test_large_pictures_keep_their_size_and_the_painting_its_scale(invert):
    photo = smooth_photo(120, 160)
    scaled = StrokeScale(Stylizer(invert))
    out = scaled(photo)
    assert out.shape == photo.shape and out.dtype == np.uint8
    # the colours are the working-size painting's (here: inverted), upscaled
    h, w = scaled.working_size(120, 160)
    painted = 255 - resize(photo, (w, h))
    seen = resize(out, (w, h))
    assert np.abs(seen.astype(int) - painted).mean() < 12
    assert scaled.batch(np.stack([photo, photo])).shape == (2, 120, 160, 3)


def test_native_and_small_pictures_are_unchanged(invert):
    stylizer = Stylizer(invert)
    big, small = smooth_photo(120, 160), smooth_photo(60, 90)
    assert np.array_equal(StrokeScale(stylizer, stroke="native")(big), 255 - big)
    assert np.array_equal(StrokeScale(stylizer)(small), 255 - small)  # at or below the working size: as it is


def stylize(*args):
    return main(["stylize", *map(str, args), "--quiet"])


def test_stylize_paints_at_scale_by_default_and_native_on_request(tmp_path, invert):
    photo = smooth_photo(120, 160)
    Image.fromarray(photo).save(tmp_path / "big.png")
    assert stylize(tmp_path / "big.png", "-o", tmp_path / "scaled.png", "--model", invert) == 0
    assert stylize(tmp_path / "big.png", "-o", tmp_path / "native.png", "--model", invert, "--stroke", "native") == 0
    scaled, native = (np.asarray(Image.open(tmp_path / f"{n}.png")) for n in ("scaled", "native"))
    assert scaled.shape == native.shape == photo.shape
    assert np.array_equal(native, 255 - photo) and not np.array_equal(scaled, native)
    assert np.array_equal(scaled, StrokeScale(Stylizer(invert))(photo))


def test_stylize_stroke_on_folders_animations_and_tiles(tmp_path, invert):
    photo = smooth_photo(96, 128)
    (tmp_path / "in").mkdir()
    Image.fromarray(photo).save(tmp_path / "in" / "a.png")
    frames = [Image.fromarray(smooth_photo(96, 128, seed=s)) for s in range(3)]
    frames[0].save(tmp_path / "clip.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    expected = StrokeScale(Stylizer(invert), stroke=2)(photo)
    assert stylize(tmp_path / "in", "-o", tmp_path / "out", "--model", invert, "--stroke", "2") == 0
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out" / "a.png")), expected)
    assert stylize(tmp_path / "clip.gif", "-o", tmp_path / "out.gif", "--model", invert, "--stroke", "2") == 0
    with Image.open(tmp_path / "out.gif") as gif:
        assert gif.size == (128, 96) and gif.n_frames == 3


def test_stylize_refuses_a_bad_stroke_in_one_line(tmp_path, invert, capsys):
    Image.fromarray(smooth_photo(20, 20)).save(tmp_path / "p.png")
    assert stylize(tmp_path / "p.png", "-o", tmp_path / "o.png", "--model", invert, "--stroke", "huge") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "Traceback" not in "\n".join(err) and "--stroke huge" in err[-1]


def test_video_frames_keep_their_size_at_scale(tmp_path, invert):
    pytest.importorskip("av")
    import av

    from brushwork.infer.media.video_io import read_frames

    src = tmp_path / "clip.mp4"

    with av.open(str(src), "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 128, 96, "yuv420p"
        for s in range(4):
            for packet in stream.encode(av.VideoFrame.from_ndarray(smooth_photo(96, 128, seed=s), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    assert stylize(src, "-o", tmp_path / "out.mp4", "--model", invert) == 0
    frames = list(read_frames(tmp_path / "out.mp4"))
    assert len(frames) == 4 and frames[0].shape == (96, 128, 3)
