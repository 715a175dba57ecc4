"""`brushwork serve`: the HTTP API in-process (Starlette's test client) with a tiny invert model as the style.

Images go through POST /stylize; videos through the job endpoints; bad uploads, a full queue and the clean-up of
the work folder are checked against what a client sees: a status code and a one-line message.
"""

from __future__ import annotations

import io
import json
import threading
import time
import warnings

import av
import numpy as np
import pytest
from PIL import Image

pytest.importorskip("starlette")
pytest.importorskip("httpx")
with warnings.catch_warnings():  # Starlette 1.x would rather use httpx2; httpx is what the dev extra pins
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from brushwork import styles
from brushwork.infer.serve.app import create_app
from brushwork.infer.serve.config import ServeConfig


@pytest.fixture
def shipped(tmp_path, make_invert_model, monkeypatch):
    """One 'shipped style' (a tiny invert model) in a styles folder the registry is pointed at."""
    folder = tmp_path / "styles"
    folder.mkdir()
    make_invert_model(folder / "negative.onnx")
    (folder / "index.json").write_text(json.dumps({"styles": [{"name": "negative", "file": "negative.onnx",
                                                               "title": "Negative", "artist": "A. Painter"}]}))
    monkeypatch.setattr(styles, "styles_folder", lambda: folder)
    return folder


def make_client(tmp_path, **limits) -> TestClient:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    config = ServeConfig(work_dir=work, device="cpu", threads=1, **limits)
    return TestClient(create_app(config), raise_server_exceptions=False)


@pytest.fixture
def client(shipped, tmp_path):
    with make_client(tmp_path) as c:
        yield c


def png_bytes(width: int, height: int, value: int = 40, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((height, width, 3), value, np.uint8)).save(buffer, fmt)
    return buffer.getvalue()


def one_line_error(response, status: int) -> str:
    assert response.status_code == status, response.text
    message = response.json()["error"]
    assert message and "\n" not in message and "Traceback" not in message
    return message


def test_styles_lists_the_shipped_style_with_a_thumbnail(client):
    (style,) = client.get("/styles").json()["styles"]
    assert style["name"] == "negative" and style["title"] == "Negative" and "path" not in style
    thumb = client.get(style["thumbnail"])
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert max(Image.open(io.BytesIO(thumb.content)).size) <= 192
    assert "<title>brushwork</title>" in client.get("/").text
    assert "/stylize" in client.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize("fmt,media", [("PNG", "image/png"), ("JPEG", "image/jpeg")])
def test_image_round_trip_keeps_the_size(client, fmt, media):
    response = client.post("/stylize", files={"file": ("x.bin", png_bytes(37, 23, 40, fmt))},
                           data={"style": "negative"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == media
    out = np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB")).astype(int)
    assert out.shape == (23, 37, 3) and abs(out.mean() - 215) < 3  # inverted: the model really ran


def test_strength_and_colour_options(client):
    half = client.post("/stylize", files={"file": ("a.png", png_bytes(16, 16, 40))}, data={"strength": "0.5"})
    assert abs(np.asarray(Image.open(io.BytesIO(half.content))).mean() - 127.5) < 2  # halfway to the inverse
    kept = client.post("/stylize", files={"file": ("a.png", png_bytes(16, 16, 40))},
                       data={"preserve_color": "luminance"})
    assert kept.status_code == 200
    assert "between 0 and 1" in one_line_error(
        client.post("/stylize", files={"file": ("a.png", png_bytes(8, 8))}, data={"strength": "2"}), 422)
    assert "known: negative" in one_line_error(
        client.post("/stylize", files={"file": ("a.png", png_bytes(8, 8))}, data={"style": "mona_lisa"}), 422)


def test_bad_uploads_get_one_line_4xx(shipped, tmp_path):
    with make_client(tmp_path, max_upload_bytes=64 * 1024, max_pixels=100 * 100) as client:
        def post(content: bytes, name: str = "photo.png"):
            return client.post("/stylize", files={"file": (name, content, "image/png")})

        assert "not a picture" in one_line_error(post(b"this is not an image at all" * 10), 422)
        noisy = np.random.default_rng(0).integers(0, 256, (60, 80, 3), dtype=np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(noisy).save(buffer, "PNG")
        truncated = buffer.getvalue()[: len(buffer.getvalue()) // 2]
        assert "upload" in one_line_error(post(truncated), 422)
        assert "empty" in one_line_error(post(b""), 422)
        assert "limit" in one_line_error(post(b"\0" * (200 * 1024)), 413)
        assert "--max-pixels" in one_line_error(post(png_bytes(101, 100)), 422)
        assert "multipart" in one_line_error(client.post("/stylize", content=b"raw"), 415)
        assert "field 'file'" in one_line_error(client.post("/stylize", files={"other": ("a", b"x")}), 422)
        assert one_line_error(client.get("/nowhere"), 404)
        (work,) = (tmp_path / "work").iterdir()
        assert list(work.iterdir()) == []  # every rejected upload was removed


def test_a_full_queue_gets_429(shipped, tmp_path, monkeypatch):
    """With room for one model run, a second request while the first runs is refused at once."""
    from brushwork.infer.serve import catalogue

    release = threading.Event()
    real = catalogue.Catalogue.stylizer

    def slow_stylizer(self, name):
        release.wait(10)
        return real(self, name)

    monkeypatch.setattr(catalogue.Catalogue, "stylizer", slow_stylizer)
    with make_client(tmp_path, queue_size=1) as client:
        first = {}
        thread = threading.Thread(target=lambda: first.update(r=client.post(
            "/stylize", files={"file": ("a.png", png_bytes(8, 8))})))
        thread.start()
        deadline = time.monotonic() + 10
        while client.app.state.server.runner.pending == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        second = client.post("/stylize", files={"file": ("a.png", png_bytes(8, 8))})
        assert "busy" in one_line_error(second, 429) and second.headers["retry-after"] == "5"
        release.set()
        thread.join(10)
        assert first["r"].status_code == 200


def test_video_job_progress_frames_and_audio(client, tmp_path):
    src = _video(tmp_path / "clip.mp4", frames=12)
    created = client.post("/jobs", files={"file": ("clip.mp4", src.read_bytes())}, data={"style": "negative"})
    assert created.status_code == 202, created.text
    job_id = created.json()["id"]
    seen = []
    status = _wait(client, job_id, seen)
    assert status["state"] == "done" and status["frames_done"] == 12 and status["frames_total"] == 12
    assert all(s["frames_done"] <= 12 for s in seen)
    result = client.get(status["result"])
    assert result.status_code == 200 and result.headers["content-type"] == "video/mp4"
    out = tmp_path / "out.mp4"
    out.write_bytes(result.content)
    with av.open(str(out)) as b:
        assert len(list(b.decode(video=0))) == 12 and len(b.streams.audio) == 1
    assert _audio_packets(src) == _audio_packets(out) != []  # the sound copied packet for packet
    assert client.delete(f"/jobs/{job_id}").status_code == 200
    assert client.get(f"/jobs/{job_id}").status_code == 404
    assert list(client.app.state.server.work.iterdir()) == []  # the job's folder is gone


def test_video_job_cancel_and_bad_video(client, tmp_path):
    src = _video(tmp_path / "clip.mp4", frames=40)
    job_id = client.post("/jobs", files={"file": ("clip.mp4", src.read_bytes())}).json()["id"]
    assert client.delete(f"/jobs/{job_id}").json()["state"] == "deleted"
    deadline = time.monotonic() + 20
    while list(client.app.state.server.work.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(client.app.state.server.work.iterdir()) == []  # cancelled: nothing left
    assert "still picture" in one_line_error(client.post("/jobs", files={"file": ("a.mp4", png_bytes(8, 8))}), 422)
    assert "POST /jobs" in one_line_error(client.post("/stylize", files={"file": ("a.mp4", src.read_bytes())}), 422)
    assert "not a video" in one_line_error(client.post("/jobs", files={"file": ("a.mp4", b"\0" * 4096)}), 422)
    assert one_line_error(client.get("/jobs/nope/result"), 404)


def test_the_work_folder_is_removed_when_the_server_stops(shipped, tmp_path):
    with make_client(tmp_path) as client:
        work = client.app.state.server.work
        client.post("/jobs", files={"file": ("clip.mp4", _video(tmp_path / "c.mp4", frames=4).read_bytes())})
        assert work.is_dir()
    assert not work.exists() and list((tmp_path / "work").iterdir()) == []


def _video(path, frames: int, size=(48, 32)):
    """A clip of flat grey frames at 24 fps with a mono AAC tone."""
    from brushwork.infer.bench_command import encode_tone

    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=24)
        video.width, video.height, video.pix_fmt = *size, "yuv420p"
        audio = out.add_stream("aac", rate=22050, layout="mono")
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(np.full((size[1], size[0], 3), 6 * i, np.uint8), format="rgb24")
            for packet in video.encode(frame):
                out.mux(packet)
        encode_tone(out, audio, seconds=frames / 24)
        for packet in video.encode(None):
            out.mux(packet)
    return path


def _audio_packets(path) -> list[bytes]:
    with av.open(str(path)) as c:
        return [bytes(p) for p in c.demux(audio=0) if p.size]


def _wait(client, job_id: str, seen: list, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get(f"/jobs/{job_id}").json()
        seen.append(status)
        if status["state"] in ("done", "failed", "cancelled"):
            return status
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not end: {seen[-1]}")


def test_twenty_concurrent_requests_are_all_answered(shipped, tmp_path):
    """None lost: each of 20 simultaneous uploads gets its image (200) or a clear 'busy' (429)."""
    with make_client(tmp_path, queue_size=3) as client:
        statuses = []

        def post(i: int):
            response = client.post("/stylize", files={"file": ("a.png", png_bytes(32 + i, 24, 3 * i))})
            statuses.append(response.status_code)

        threads = [threading.Thread(target=post, args=(i,)) for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert len(statuses) == 20 and set(statuses) <= {200, 429} and 200 in statuses
        assert client.app.state.server.runner.pending == 0 and list(client.app.state.server.work.iterdir()) == []


def test_serve_command_rejects_bad_flags_in_one_line(tmp_path, capsys, monkeypatch):
    import importlib.util

    from brushwork.cli import main

    assert main(["serve", "--models", str(tmp_path / "nope")]) == 2
    assert main(["serve", "--max-upload", "lots"]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert errors[0] == f"brushwork serve: error: --models {tmp_path / 'nope'}: no such folder; give a folder of " \
                        ".onnx files"
    assert errors[1:] == ["brushwork serve: error: --max-upload lots: expected a size like 2GB, 512MB or 1.5G"]
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "uvicorn" else real(name, *a))
    assert main(["serve"]) == 2
    assert 'pip install "brushwork[serve]"' in capsys.readouterr().err
