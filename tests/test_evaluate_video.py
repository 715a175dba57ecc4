"""The warping error (Lai et al. 2018) and `brushwork evaluate-video`, on generated clips."""

import itertools
import json

import av
import numpy as np
import pytest
from PIL import Image

from brushwork import BrushworkError
from brushwork.train.evaluate.chart import PALETTE, plot_series
from brushwork.train.evaluate.frames import read_frames
from brushwork.train.evaluate.warping import WarpingError, warping_error


def write_video(path, frames: list, fps: int = 10) -> None:
    """An H.264 mp4 of the frames, nearly lossless so the test sees the frames it made."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps, options={"crf": "4", "preset": "ultrafast"})
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())


def scores(clip: list, model, flow: str = "dis") -> dict[str, float]:
    tracker = WarpingError(flow)
    for frame in clip:
        tracker.update(frame, {"per-frame": model(frame)})
    return tracker.means()


# --- the measure ---------------------------------------------------------------------------------------------

def test_static_video_has_zero_warping_error(texture):
    frame = texture(48, 64)
    assert scores([frame] * 4, lambda f: 255 - f) == {"input": 0.0, "per-frame": 0.0}


@pytest.mark.parametrize("flow", ["dis", "farneback"])
def test_panning_video_is_explained_by_the_flow(panning_clip, flow):
    clip = panning_clip(5, shift=(3, -2))
    means = scores(clip, lambda f: f, flow)
    assert means["input"] < 2e-4  # a pure translation: warping frame t-1 onto t reproduces it
    naive = np.mean([np.square((a.astype(float) - b) / 255).mean() for a, b in itertools.pairwise(clip)])
    assert naive > 50 * means["input"]  # without the flow the frames are far apart


def test_per_frame_noise_shows_as_twice_its_variance(panning_clip):
    rng, std = np.random.default_rng(0), 10.0
    clip = panning_clip(5)
    means = scores(clip, lambda f: np.clip(f + rng.normal(0, std, f.shape), 0, 255).astype(np.uint8))
    # Independent noise in two frames: E[(n_t - n_t-1)^2] = 2 std^2. Bilinear warping of fractional flow averages
    # some of it away and clipping trims the tails, so allow 30 %.
    assert means["per-frame"] == pytest.approx(2 * (std / 255) ** 2, rel=0.3)


def test_unknown_measure_flow_is_a_clear_error():
    with pytest.raises(BrushworkError, match="--measure-flow"):
        WarpingError("raft")


def test_warping_error_over_no_trusted_pixel_is_nan(texture):
    frame, flow = texture(16, 16), np.zeros((16, 16, 2), np.float32)
    assert np.isnan(warping_error(frame, frame, flow, np.zeros((16, 16), bool)))


def test_one_frame_video_is_a_clear_error(texture):
    tracker = WarpingError()
    tracker.update(texture(32, 32), {})
    with pytest.raises(BrushworkError, match="fewer than 2 frames"):
        tracker.means()


def test_mismatched_sizes_are_clear_errors(texture):
    tracker, frame = WarpingError(), texture(32, 48)
    with pytest.raises(BrushworkError, match="keep the input size"):
        tracker.update(frame, {"per-frame": frame[:16]})
    tracker.update(frame, {})
    with pytest.raises(BrushworkError, match="frame size changed"):
        tracker.update(texture(40, 48), {})


# --- decoding and the plot -----------------------------------------------------------------------------------

def test_read_frames_decodes_limits_and_downscales(tmp_path, panning_clip):
    clip = panning_clip(6, size=(64, 96))
    write_video(tmp_path / "clip.mp4", clip)
    frames = list(read_frames(tmp_path / "clip.mp4"))
    assert len(frames) == 6 and frames[0].shape == (64, 96, 3)
    assert np.abs(frames[2].astype(float) - clip[2]).mean() < 8  # nearly lossless (yuv420p halves chroma)
    assert len(list(read_frames(tmp_path / "clip.mp4", max_frames=3))) == 3
    assert next(read_frames(tmp_path / "clip.mp4", max_side=48)).shape == (32, 48, 3)


def test_read_frames_rejects_a_non_video(tmp_path):
    (tmp_path / "notes.mp4").write_text("not a video")
    with pytest.raises(BrushworkError, match="not a readable video"):
        next(read_frames(tmp_path / "notes.mp4"))
    with pytest.raises(BrushworkError, match="no such file"):
        next(read_frames(tmp_path / "missing.mp4"))


def test_plot_draws_each_series_in_its_colour(tmp_path):
    series = {"input": [0.001, 0.002, float("nan"), 0.001], "per-frame": [0.01, 0.02, 0.015, 0.012]}
    plot_series(series, tmp_path / "plot.png", title="test", size=(400, 200))
    image = np.asarray(Image.open(tmp_path / "plot.png").convert("RGB"))
    assert image.shape == (200, 400, 3)
    for colour in PALETTE[:2]:
        assert (np.abs(image.astype(int) - colour).sum(-1) < 30).sum() > 50


# --- the command -------------------------------------------------------------------------------------------

@pytest.fixture
def invert_model(tmp_path, make_invert_model):
    """A brushwork-convention ONNX model (uint8 NHWC 'image' -> 'stylized') that inverts colours: 255 - x."""
    return make_invert_model(tmp_path / "invert.onnx")


@pytest.fixture
def clip_path(tmp_path, panning_clip):
    path = tmp_path / "clip.mp4"
    write_video(path, panning_clip(6, size=(64, 96)))
    return path


def test_cli_prints_the_table_and_writes_plot_and_metrics(clip_path, invert_model, tmp_path, capsys):
    from brushwork.cli import main

    out = tmp_path / "eval"
    assert main(["evaluate-video", str(clip_path), "--model", str(invert_model), "--temporal-blend", "0.6",
                 "--out", str(out), "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    assert "input (floor)" in printed and "per-frame" in printed and "blend 0.6" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    rows = {r["series"]: r for r in metrics["rows"]}
    # Inverting colours changes no squared difference: the per-frame output flickers exactly as much as the input.
    assert rows["per-frame"]["warping_error"] == pytest.approx(rows["input"]["warping_error"], rel=1e-5)
    assert rows["blend 0.6"]["warping_error"] <= rows["per-frame"]["warping_error"] * 1.01
    assert len(metrics["per_frame"]["per-frame"]) == 5  # one value per frame pair
    assert Image.open(out / "warping_error.png").size == (960, 420)


def test_cli_blend_steadies_a_flickering_model(clip_path, make_flickering_model, tmp_path, capsys):
    """Fresh noise on every frame: the blend row must measure clearly less flicker than the per-frame row (a blend
    that changed nothing would tie it)."""
    from brushwork.cli import main

    model = make_flickering_model(tmp_path / "flicker.onnx")
    out = tmp_path / "eval"
    assert main(["evaluate-video", str(clip_path), "--model", str(model), "--temporal-blend", "0.8",
                 "--out", str(out), "--device", "cpu"]) == 0
    rows = {r["series"]: r for r in json.loads((out / "metrics.json").read_text())["rows"]}
    assert rows["per-frame"]["warping_error"] > 3 * rows["input"]["warping_error"]  # the noise shows
    assert rows["blend 0.8"]["warping_error"] < 0.6 * rows["per-frame"]["warping_error"], rows


def test_cli_measures_along_farneback_when_asked(clip_path, invert_model, tmp_path, capsys):
    from brushwork.cli import main

    out = tmp_path / "eval"
    assert main(["evaluate-video", str(clip_path), "--model", str(invert_model), "--measure-flow", "farneback",
                 "--out", str(out), "--device", "cpu"]) == 0
    assert "along Farneback flow" in capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    rows = {r["series"]: r for r in metrics["rows"]}
    assert metrics["measure_flow"] == "farneback"
    assert rows["per-frame"]["warping_error"] == pytest.approx(rows["input"]["warping_error"], rel=1e-5)


def test_cli_reports_style_and_content_losses(clip_path, invert_model, tmp_path, style_path, capsys):
    from brushwork.cli import main

    out = tmp_path / "eval"
    assert main(["evaluate-video", str(clip_path), "--model", str(invert_model), "--style", str(style_path),
                 "--style-size", "64", "--loss-every", "2", "--max-frames", "4", "--out", str(out)]) == 0
    rows = {r["series"]: r for r in json.loads((out / "metrics.json").read_text())["rows"]}
    assert rows["per-frame"]["style_loss"] > 0 and rows["per-frame"]["content_loss"] > 0
    assert rows["input"]["style_loss"] is None


@pytest.mark.parametrize("flags, message", [
    (["--temporal-blend", "1.5"], "--temporal-blend"),
    (["--max-frames", "1"], "--max-frames"),
    (["--style", "missing.jpg"], "--style"),
])
def test_cli_rejects_bad_flags_in_one_line(clip_path, invert_model, flags, message, capsys):
    from brushwork.cli import main

    assert main(["evaluate-video", str(clip_path), "--model", str(invert_model), *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_cli_rejects_a_one_frame_video_and_a_non_video(tmp_path, invert_model, capsys, panning_clip):
    from brushwork.cli import main

    write_video(tmp_path / "one.mp4", panning_clip(1))
    (tmp_path / "text.mp4").write_text("hello")
    for video, message in ((tmp_path / "one.mp4", "fewer than 2 frames"), (tmp_path / "text.mp4", "not a readable")):
        assert main(["evaluate-video", str(video), "--model", str(invert_model), "--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("flow", ["dis", "farneback"])
def test_scene_cut_is_left_out_and_listed(panning_clip, flow):
    clip = panning_clip(6)
    cut = [*clip[:3], *panning_clip(3, shift=(-2, 0), size=(64, 96))[::-1]]  # frame 4 shows a different place
    cut[3:] = [np.ascontiguousarray(np.rot90(f, 2)) for f in cut[3:]]
    tracker = WarpingError(flow)
    for frame in cut:
        tracker.update(frame, {"per-frame": frame})
    assert tracker.cuts == [3]  # the pair (frame 3, frame 4)
    assert np.isnan(tracker.errors["input"][2]) and np.isfinite(tracker.errors["input"]).sum() == 4
    assert tracker.means()["input"] < 2e-4  # the cut does not swamp the mean


def test_cli_needs_overwrite_for_earlier_results(clip_path, invert_model, tmp_path, capsys):
    from brushwork.cli import main

    out = tmp_path / "eval"
    args = ["evaluate-video", str(clip_path), "--model", str(invert_model), "--out", str(out), "--device", "cpu"]
    out.mkdir()
    for name in ("metrics.json", "warping_error.png"):
        (out / name).write_text("earlier")
        assert main(args) == 2
        err = capsys.readouterr().err.strip()
        assert str(out / name) in err and "--overwrite" in err and len(err.splitlines()) == 1
        assert (out / name).read_text() == "earlier"
    assert main([*args, "--overwrite"]) == 0
    assert json.loads((out / "metrics.json").read_text())["rows"][0]["series"] == "input"
    assert Image.open(out / "warping_error.png").size == (960, 420)
    (tmp_path / "file").write_text("a file")
    assert main([*args[:-3], str(tmp_path / "file"), "--device", "cpu"]) == 2
    assert "is a file" in capsys.readouterr().err
