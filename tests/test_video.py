"""Video through `brushwork stylize`: frames, size, fps, timestamps, rotation and audio packets survive.

Videos are generated here with PyAV (a few tiny frames, a sine tone in AAC); the model is a hand-built ONNX
graph that inverts colours, so no torch is needed and the content of each frame is known.
"""

from fractions import Fraction

import av
import cv2
import numpy as np
import pytest

from brushwork.cli import main
from brushwork.infer import Stylizer, stylize_frames
from brushwork.infer.bench_command import encode_tone
from brushwork.infer.media.video import stylize_video


def make_video(path, frames=12, size=(64, 48), *, audio=True, rotation=0, durations_ms=None, video=True, noise=False):
    """A clip of flat-colour (or noise) frames + a 440 Hz AAC tone; `durations_ms` cycles for variable frame rate."""
    width, height = size
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=24) if video else None
        if v is not None:
            v.width, v.height, v.pix_fmt = width, height, "yuv420p"
            v.time_base = v.codec_context.time_base = Fraction(1, 1000)
            if rotation:
                v.set_display_rotation(rotation)
        a = out.add_stream("aac", rate=22050, layout="mono") if audio else None
        pts = 0
        for i in range(frames if v is not None else 0):
            image = np.full((height, width, 3), 20 * i % 256, np.uint8)
            if noise:  # every frame costs bytes, so a file cut in half keeps about half the frames
                image = np.random.default_rng(i).integers(0, 256, image.shape, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = pts, Fraction(1, 1000)
            pts += durations_ms[i % len(durations_ms)] if durations_ms else 42
            for packet in v.encode(frame):
                out.mux(packet)
        if a is not None:
            encode_tone(out, a, seconds=frames / 24)
        for packet in (v.encode(None) if v is not None else []):
            out.mux(packet)
    return path


def probe(path):
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        frames = list(c.decode(v))
        info = {"n": len(frames), "size": (v.width, v.height), "rate": v.average_rate,
                "pts": [f.pts * f.time_base for f in frames], "rotation": frames[0].rotation,
                "first": frames[0].to_ndarray(format="rgb24")}
    with av.open(str(path)) as c:
        info["audio"] = [bytes(p) for p in c.demux(*c.streams.audio) if p.size] if c.streams.audio else []
    return info


@pytest.fixture
def model(tmp_path, make_invert_model):
    return make_invert_model(tmp_path / "invert.onnx")


def stylize(*args):
    return main(["stylize", *map(str, args), "--quiet"])


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_video_keeps_frames_fps_and_audio_bits(tmp_path, model, suffix):
    src = make_video(tmp_path / f"clip{suffix}")
    out = tmp_path / f"out{suffix}"
    assert stylize(src, "-o", out, "--model", model, "--batch-size", "5") == 0
    a, b = probe(src), probe(out)
    assert b["n"] == a["n"] == 12 and b["size"] == a["size"]
    assert abs(b["rate"] / a["rate"] - 1) < 0.002  # mp4 averages over its last-sample duration, which may round
    assert b["pts"] == a["pts"]
    assert len(a["audio"]) > 5 and b["audio"] == a["audio"]  # packet for packet, bit for bit
    assert abs(int(b["first"].mean()) - int(255 - a["first"].mean())) < 6  # the model really ran (inverted)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file left


def test_variable_frame_rate_and_rotation_kept(tmp_path, model):
    src = make_video(tmp_path / "vfr.mp4", frames=9, audio=False, rotation=90, durations_ms=[100, 40, 40])
    out = tmp_path / "out.mp4"
    assert stylize(src, "-o", out, "--model", model) == 0
    a, b = probe(src), probe(out)
    assert b["pts"] == a["pts"] and len(set(np.diff(b["pts"]))) > 1
    assert b["rotation"] == a["rotation"] == 90


def test_post_processing_in_video(tmp_path, model):
    src = make_video(tmp_path / "clip.mp4", audio=False)
    out = tmp_path / "out.mp4"
    assert stylize(src, "-o", out, "--model", model, "--strength", "0") == 0
    a, b = probe(src), probe(out)
    assert abs(float(b["first"].mean()) - float(a["first"].mean())) < 3  # strength 0 = the input


def test_generator_api(tmp_path, model):
    src = make_video(tmp_path / "clip.mp4", frames=5, audio=False)
    pairs = list(stylize_frames(src, Stylizer(model, device="cpu")))
    assert len(pairs) == 5
    assert all(np.array_equal(out, 255 - frame) for frame, out in pairs)


def test_truncated_video_keeps_what_decodes(tmp_path, model, capsys):
    full = make_video(tmp_path / "full.mkv", frames=48, audio=False, noise=True)
    data = full.read_bytes()
    (tmp_path / "cut.mkv").write_bytes(data[: len(data) // 2])
    out = tmp_path / "out.mkv"
    assert stylize(tmp_path / "cut.mkv", "-o", out, "--model", model) == 0
    n = probe(out)["n"]
    assert 0 < n < 48
    assert "warning" in capsys.readouterr().err


def test_audio_only_file_has_no_video_stream(tmp_path, model, capsys):
    src = make_video(tmp_path / "voice.mp4", video=False)
    assert stylize(src, "-o", tmp_path / "o.mp4", "--model", model) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "no video stream" in err
    assert not (tmp_path / "o.mp4").exists()


def test_not_a_video(tmp_path, model, capsys):
    (tmp_path / "fake.mp4").write_bytes(b"\x00" * 1000)
    assert stylize(tmp_path / "fake.mp4", "-o", tmp_path / "o.mp4", "--model", model) == 2
    assert "not a readable video" in capsys.readouterr().err.strip().splitlines()[-1]


def test_interrupt_leaves_nothing_under_output_name(tmp_path, model):
    src = make_video(tmp_path / "clip.mp4", frames=24)
    out = tmp_path / "out.mp4"
    calls = []

    def interrupted(frames):
        calls.append(len(frames))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return 255 - frames

    with pytest.raises(KeyboardInterrupt):
        stylize_video(src, out, interrupted, batch_size=4, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "invert.onnx"]


def test_temporal_blend_hook(tmp_path, model):
    src = make_video(tmp_path / "clip.mp4", frames=6, audio=False)
    out = tmp_path / "out.mp4"
    code = stylize(src, "-o", out, "--model", model, "--temporal-blend", "0.5")
    import importlib.util

    if importlib.util.find_spec("brushwork.infer.look.temporal") is None:
        assert code == 2
    else:
        assert code == 0 and probe(out)["n"] == 6


def test_audio_the_container_cannot_hold_is_a_clear_error(tmp_path, model, capsys):
    src = make_video(tmp_path / "clip.mp4", frames=4)  # AAC audio, which WebM cannot carry
    assert stylize(src, "-o", tmp_path / "out.webm", "--model", model) == 2
    assert ".mkv or .mp4" in capsys.readouterr().err.strip().splitlines()[-1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "invert.onnx"]


def test_existing_video_output_needs_overwrite(tmp_path, model, capsys):
    src = make_video(tmp_path / "clip.mp4", frames=4, audio=False)
    out = tmp_path / "out.mp4"
    out.write_bytes(b"keep me")
    assert stylize(src, "-o", out, "--model", model) == 2
    assert "--overwrite" in capsys.readouterr().err.strip().splitlines()[-1]
    assert out.read_bytes() == b"keep me"
    assert stylize(src, "-o", out, "--model", model, "--overwrite") == 0
    assert probe(out)["n"] == 4


def test_video_output_equal_to_input_is_refused(tmp_path, model, capsys):
    src = make_video(tmp_path / "clip.mp4", frames=4, audio=False)
    data = src.read_bytes()
    assert stylize(src, "-o", src, "--model", model, "--overwrite") == 2
    assert "is the input" in capsys.readouterr().err.strip().splitlines()[-1]
    assert src.read_bytes() == data


def test_temporal_blend_through_the_cli_takes_flicker_down(tmp_path, make_flickering_model, texture):
    """A model that adds fresh noise to every frame of a still scene: the blend must visibly steady it."""
    model = make_flickering_model(tmp_path / "flicker.onnx")
    frame = texture(48, 64)
    src = tmp_path / "still.mkv"
    with av.open(str(src), "w") as out:  # lossless, so the input frames really are identical
        stream = out.add_stream("ffv1", rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "bgr0"
        for _ in range(6):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        out.mux(stream.encode(None))
    change = {}
    for blend in (None, "0.8"):
        dst = tmp_path / f"out_{blend}.mkv"
        extra = ["--temporal-blend", blend] if blend else []
        assert stylize(src, "-o", dst, "--model", model, "--crf", "0", *extra) == 0
        with av.open(str(dst)) as c:
            got = [f.to_ndarray(format="rgb24").astype(float) for f in c.decode(video=0)]
        assert len(got) == 6
        change[blend] = np.mean([np.abs(a - b).mean() for a, b in zip(got[1:], got[:-1])])
    assert change["0.8"] < 0.6 * change[None]  # measured ~0.2x; the noise alone is ~20 levels per frame


@pytest.mark.parametrize("suffix", [".mp4", ".webm"])
def test_odd_size_drops_the_last_column_and_row_with_a_warning(tmp_path, model, texture, capsys, suffix):
    """yuv420p (what every player takes) has no odd sides: a 65x49 clip comes out 64x48, its pixels the stylized
    frame's own (cropped, not resampled), and stderr says so in one line that names the file."""
    frames = [texture(49, 65, seed=i) for i in range(3)]
    src = tmp_path / "odd.mkv"
    with av.open(str(src), "w") as out:  # lossless RGB, so the input really has odd sides
        stream = out.add_stream("ffv1", rate=24)
        stream.width, stream.height, stream.pix_fmt = 65, 49, "bgr0"
        for frame in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        out.mux(stream.encode(None))
    dst = tmp_path / f"out{suffix}"
    assert stylize(src, "-o", dst, "--model", model, "--crf", "0") == 0
    err = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    expected = (f"brushwork stylize: warning: {src}: 65x49 has an odd side, which H.264 and VP9 (yuv420p) cannot "
                "encode: the output is 64x48, without the last column and row")
    assert err == [expected], err
    with av.open(str(dst)) as c:
        got = [f.to_ndarray(format="rgb24").astype(float) for f in c.decode(video=0)]
    assert len(got) == 3 and got[0].shape == (48, 64, 3)
    # yuv420p halves the chroma's resolution: compare brightness, in the bottom-right corner, where resampling
    # 65x49 to 64x48 would have moved every pixel by most of a pixel
    luma = np.array([0.299, 0.587, 0.114])
    cropped = [np.abs((g - (255 - f[:48, :64])) @ luma)[32:, 40:].mean() for g, f in zip(got, frames)]
    resized = [np.abs((g - (255 - cv2.resize(f, (64, 48), interpolation=cv2.INTER_AREA))) @ luma)[32:, 40:].mean()
               for g, f in zip(got, frames)]
    assert max(cropped) < 2.5 and min(resized) > 1.8 * max(cropped), (cropped, resized)


def test_frame_sizes():
    """(decoded, encoded): kept sizes are decoded whole and cropped to even; --max-side scales straight to even."""
    from brushwork.infer.media.video_io import frame_sizes

    assert frame_sizes(64, 48, None) == ((64, 48), (64, 48))
    assert frame_sizes(65, 49, None) == ((65, 49), (64, 48))
    assert frame_sizes(65, 49, 100) == ((65, 49), (64, 48))  # no scaling needed: as without --max-side
    assert frame_sizes(1001, 563, 500) == ((500, 280), (500, 280))
    assert frame_sizes(1, 9, None) == ((2, 8), (2, 8))  # too thin to crop: scaled


def test_an_ffmpeg_without_the_encoder_is_one_line(tmp_path, model, capsys, monkeypatch):
    """PyAV built on an FFmpeg without libx264 (some distributions' own builds): one line, exit 2, no file left."""
    from brushwork.infer.media import video_io

    src = make_video(tmp_path / "clip.mp4", frames=3, audio=False)
    monkeypatch.setattr(video_io, "codec_options", lambda filename, crf, preset: ("libx264_not_built", {}))
    assert stylize(src, "-o", tmp_path / "out.mp4", "--model", model) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("brushwork stylize: error: -o ")
    assert "has no libx264_not_built encoder" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "invert.onnx"]


def test_temporal_blend_without_opencv_is_one_line(tmp_path, model, capsys, monkeypatch):
    """A runtime installed without OpenCV: --temporal-blend says what to install; a plain run still works."""
    import sys

    for name in ("cv2", "brushwork.infer.look.temporal", "brushwork.infer.look.flow"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setitem(sys.modules, "cv2", None)  # `import cv2` now fails as where it is not installed
    src = make_video(tmp_path / "clip.mp4", frames=3, audio=False)
    assert stylize(src, "-o", tmp_path / "blend.mp4", "--model", model, "--temporal-blend", "0.5") == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "pip install opencv-python-headless" in err.strip().splitlines()[-1]
    assert stylize(src, "-o", tmp_path / "plain.mp4", "--model", model) == 0


def test_device_cuda_without_a_gpu_is_one_line(tmp_path, model, capsys):
    from brushwork.infer.engine import session

    if session.providers_for("auto")[0] != "CPUExecutionProvider":
        pytest.skip("this machine has a GPU that onnxruntime may use (tests/test_gpu.py covers it)")
    src = make_video(tmp_path / "clip.mp4", frames=3, audio=False)
    assert stylize(src, "-o", tmp_path / "out.mp4", "--model", model, "--device", "cuda") == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("brushwork stylize: error: --device cuda: onnxruntime could not")
