"""Animated GIF, APNG and WebP through `brushwork stylize`: every frame, the durations and the loop survive;
still GIFs are images; damaged or empty GIFs are one-line errors that write nothing.

Frames use few colours, so a GIF holds them exactly and the inverting model's output can be checked pixel for
pixel.
"""

import av
import numpy as np
import pytest
from PIL import Image

from brushwork import BrushworkError
from brushwork.cli import main
from brushwork.infer import Stylizer, stylize_file

DURATIONS = [100, 50, 200, 70]


@pytest.fixture
def model(tmp_path, make_invert_model):
    return make_invert_model(tmp_path / "invert.onnx")


def few_colour_frames(n=4, size=(21, 31), seed=0):
    """n distinct frames of `size` (H, W) drawn from 48 colours (a GIF palette holds them exactly)."""
    rng = np.random.default_rng(seed)
    palette = rng.integers(0, 256, (48, 3), dtype=np.uint8)
    return [palette[rng.integers(0, 48, size)] for _ in range(n)]


def save_animation(path, frames, **options):
    pictures = [Image.fromarray(f) for f in frames]
    pictures[0].save(path, save_all=True, append_images=pictures[1:], **options)
    return path


def read_frames(path):
    """(RGB frames, durations in ms, loop or None) as Pillow reads them back."""
    with Image.open(path) as im:
        frames, durations = [], []
        for i in range(getattr(im, "n_frames", 1)):
            im.seek(i)
            im.load()
            frames.append(np.asarray(im.convert("RGB")))
            durations.append(round(im.info.get("duration", 0)))
        return frames, durations, im.info.get("loop")


def stylize(*args):
    return main(["stylize", *map(str, args), "--quiet"])


def error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert err and "Traceback" not in "\n".join(err)
    return err[-1]


@pytest.mark.parametrize("suffix", [".gif", ".png", ".webp"])
def test_animation_keeps_frames_durations_and_loop(tmp_path, model, suffix):
    frames = few_colour_frames()
    options = {"lossless": True} if suffix == ".webp" else {}
    src = save_animation(tmp_path / f"anim{suffix}", frames, duration=DURATIONS, loop=3, **options)
    out = tmp_path / f"out{suffix}"
    assert stylize(src, "-o", out, "--model", model) == 0
    got, durations, loop = read_frames(out)
    assert len(got) == 4 and durations == DURATIONS and loop == 3
    if suffix != ".webp":
        assert all(np.array_equal(g, 255 - f) for g, f in zip(got, frames))
    else:  # written lossy (quality 95), which blurs single-pixel noise: the colours must still be inverted
        assert all(np.abs(g.mean((0, 1)) - (255 - f).mean((0, 1))).max() < 3 for g, f in zip(got, frames))


def test_gif_without_a_loop_plays_once_still(tmp_path, model):
    src = save_animation(tmp_path / "once.gif", few_colour_frames(3), duration=80)
    assert stylize(src, "-o", tmp_path / "out.gif", "--model", model) == 0
    got, durations, loop = read_frames(tmp_path / "out.gif")
    assert len(got) == 3 and durations == [80] * 3 and loop is None


def test_animated_gif_to_video_keeps_timing(tmp_path, model):
    frames = few_colour_frames(size=(24, 32))
    src = save_animation(tmp_path / "anim.gif", frames, duration=DURATIONS, loop=0)
    assert stylize(src, "-o", tmp_path / "out.mp4", "--model", model) == 0
    with av.open(str(tmp_path / "out.mp4")) as c:
        decoded = list(c.decode(video=0))
    assert [round(1000 * f.pts * f.time_base) for f in decoded] == [0, 100, 150, 350]
    first = decoded[0].to_ndarray(format="rgb24").astype(int)
    assert np.abs(first.mean((0, 1)) - (255 - frames[0]).mean((0, 1))).max() < 6  # H.264 blurs the pixel noise


def test_still_gif_is_an_image(tmp_path, model):
    frame = few_colour_frames(1)[0]
    Image.fromarray(frame).save(tmp_path / "still.gif")
    assert stylize(tmp_path / "still.gif", "-o", tmp_path / "out.png", "--model", model) == 0
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out.png")), 255 - frame)


def test_temporal_blend_changes_an_animation(tmp_path, make_flickering_model, texture):
    """A model that flickers: the blend must take frame-to-frame changes down on a still scene."""
    model = make_flickering_model(tmp_path / "flicker.onnx")
    frames = [texture(48, 64) for _ in range(6)]
    for i, frame in enumerate(frames):
        frame[0, i] = 255 - frame[0, i]  # one pixel apart: Pillow would merge identical frames into one
    src = save_animation(tmp_path / "still_scene.gif", frames, duration=100, loop=0)
    change = {}
    for blend in (None, "0.8"):
        out = tmp_path / f"out_{blend}.mp4"
        extra = ["--temporal-blend", blend] if blend else []
        assert stylize(src, "-o", out, "--model", model, "--crf", "0", *extra) == 0
        with av.open(str(out)) as c:
            got = [f.to_ndarray(format="rgb24").astype(float) for f in c.decode(video=0)]
        change[blend] = np.mean([np.abs(a - b).mean() for a, b in zip(got[1:], got[:-1])])
    assert change["0.8"] < 0.6 * change[None]


def test_animation_into_a_still_format_is_refused(tmp_path, model, capsys):
    src = save_animation(tmp_path / "anim.gif", few_colour_frames(), duration=100)
    assert stylize(src, "-o", tmp_path / "out.jpg", "--model", model) == 2
    line = error_line(capsys)
    assert "anim.gif is animated" in line and ".gif" in line and ".mp4" in line
    assert not (tmp_path / "out.jpg").exists()


def test_folder_keeps_animations_animated(tmp_path, model):
    (tmp_path / "in").mkdir()
    save_animation(tmp_path / "in" / "anim.gif", few_colour_frames(), duration=DURATIONS, loop=0)
    assert stylize(tmp_path / "in", "-o", tmp_path / "out", "--model", model) == 0
    got, durations, _ = read_frames(tmp_path / "out" / "anim.gif")
    assert len(got) == 4 and durations == DURATIONS


def test_api_stylize_file_on_an_animation(tmp_path, model):
    frames = few_colour_frames()
    src = save_animation(tmp_path / "anim.gif", frames, duration=DURATIONS, loop=0)
    stylize_file(src, tmp_path / "out.webp", Stylizer(model, device="cpu"))
    got, durations, loop = read_frames(tmp_path / "out.webp")
    assert len(got) == 4 and durations == DURATIONS and loop == 0


def corrupt_gifs(tmp_path):
    data = save_animation(tmp_path / "full.gif", few_colour_frames(size=(40, 40)), duration=100).read_bytes()
    no_frames = data[:13] + b";"  # header and logical screen, no colour table, no image: zero frames
    return {"truncated.gif": data[: len(data) * 2 // 3], "garbage.gif": data[:13] + bytes(range(256)) * 4,
            "no_frames.gif": no_frames[:10] + bytes([0]) + no_frames[11:]}


@pytest.mark.parametrize("name", ["truncated.gif", "garbage.gif", "no_frames.gif"])
def test_damaged_or_empty_gif_is_one_line_and_writes_nothing(tmp_path, model, capsys, name):
    (tmp_path / name).write_bytes(corrupt_gifs(tmp_path)[name])
    assert stylize(tmp_path / name, "-o", tmp_path / "out.gif", "--model", model) == 2
    assert name in error_line(capsys)
    assert not (tmp_path / "out.gif").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_read_animation_reports_the_frame(tmp_path):
    from brushwork.infer.media.animation_io import read_animation

    (tmp_path / "t.gif").write_bytes(corrupt_gifs(tmp_path)["truncated.gif"])
    with pytest.raises(BrushworkError, match=r"t\.gif: frame \d cannot be decoded"):
        read_animation(tmp_path / "t.gif")
