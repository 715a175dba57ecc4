"""`brushwork serve`: the HTTP API in-process (Starlette's test client) with a tiny invert model as the style.

Images go through POST /stylize; videos through the job endpoints; bad uploads, a full queue and the clean-up of
the work folder are checked against what a client sees: a status code and a one-line message.
"""

from __future__ import annotations

import io
import json
import os
import threading
import time
import warnings
from pathlib import Path

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
    return TestClient(create_app(config), base_url="http://localhost", raise_server_exceptions=False)


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


def test_stroke_field_paints_at_the_trained_scale_or_native(client):
    """A picture larger than the model's working size is painted there and brought back to its own size (the
    stylize verb's default); stroke=native runs the network at full size; a bad value is a 422 line."""
    photo = np.random.default_rng(0).integers(0, 256, (1000, 1200, 3), dtype=np.uint8)  # > 9 x 106 kpx scenes
    buffer = io.BytesIO()
    Image.fromarray(photo).save(buffer, "PNG")

    def post(**fields):
        return client.post("/stylize", files={"file": ("a.png", buffer.getvalue())}, data=fields)

    scaled, native = (np.asarray(Image.open(io.BytesIO(post(**f).content))) for f in ({}, {"stroke": "native"}))
    assert scaled.shape == native.shape == photo.shape
    assert np.array_equal(native, 255 - photo) and not np.array_equal(scaled, native)
    assert "native" in one_line_error(post(stroke="tiny"), 422)


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
            frame = av.VideoFrame.from_ndarray(np.full((size[1], size[0], 3), 6 * i % 256, np.uint8), format="rgb24")
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


# ---- a server that holds on a network: each test reproduces one way it did not (loopback only, bounded) --------

def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _multipart(parts: list[tuple[str, str | None, bytes]], boundary: str = "b0undary") -> tuple[bytes, dict]:
    """A hand-made multipart body: (field name, file name or None, value) per part."""
    body = b""
    for name, filename, value in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + value + b"\r\n"
    return body + f"--{boundary}--\r\n".encode(), {"content-type": f"multipart/form-data; boundary={boundary}"}


def test_a_long_text_field_gets_a_short_4xx(client):
    """A 3 MB `style` field was read whole into memory and echoed back: now refused at 1 KB, answered in a line."""
    response = client.post("/stylize", files={"file": ("a.png", png_bytes(8, 8))}, data={"style": "x" * 3_000_000})
    assert "longer than 1024 bytes" in one_line_error(response, 413) and len(response.content) < 400
    response = client.post("/stylize", files={"file": ("a.png", png_bytes(8, 8))}, data={"style": "y" * 1000})
    assert "unknown style 'yyyy" in one_line_error(response, 422) and len(response.content) < 400  # echo cut short


def test_many_file_parts_leave_no_file_and_no_fd(client):
    """2,000 one-byte parts held 2,000 fds and temp files: now one file part is kept, and 16 parts are the most."""
    before = _fds()
    body, headers = _multipart([("file", "a.png", png_bytes(8, 8))] + [(f"x{i}", None, b"x") for i in range(2000)])
    assert "more than 16 parts" in one_line_error(client.post("/stylize", content=body, headers=headers), 400)
    body, headers = _multipart([("file", "a.png", png_bytes(8, 8)), ("file", "b.png", png_bytes(8, 8))])
    assert "exactly one file" in one_line_error(client.post("/stylize", content=body, headers=headers), 422)
    assert list(client.app.state.server.work.iterdir()) == [] and _fds() <= before + 2


def test_a_self_referencing_ffconcat_upload_is_refused_at_once(client):
    """FFmpeg's concat demuxer recursed on `file upload` until the process ran out of fds: only video containers
    are opened now."""
    ffconcat = b"ffconcat version 1.0\nfile upload\n"
    before, start = _fds(), time.monotonic()
    assert "not a video" in one_line_error(client.post("/jobs", files={"file": ("a.txt", ffconcat)}), 422)
    assert one_line_error(client.post("/stylize", files={"file": ("a.txt", ffconcat)}), 422)
    assert time.monotonic() - start < 1.0 and _fds() <= before + 2


def test_decompression_bomb_and_tiny_pictures(client):
    """A PNG claiming 20000x20000 got a 500 (Pillow's bomb error); a 1x1 picture with histogram colour got a 500."""
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", 20000, 20000, 8, 0, 0, 0, 0)
    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")
    assert "--max-pixels" in one_line_error(client.post("/stylize", files={"file": ("b.png", bomb)}), 422)
    tiny = client.post("/stylize", files={"file": ("a.png", png_bytes(1, 1))}, data={"preserve_color": "histogram"})
    assert tiny.status_code == 200 and Image.open(io.BytesIO(tiny.content)).size == (1, 1)


def test_405_says_which_methods_are_allowed(client):
    response = client.put("/stylize")
    assert response.status_code == 405 and "POST" in response.headers["allow"]


def test_video_jobs_report_truncation_and_respect_the_frame_limit(shipped, tmp_path):
    """A cut-off video ended as `done` with a third of its frames and no word of it; a 30,000-frame clip held the
    model for minutes. Matroska keeps its header in front, so the cut file still opens."""
    src = _video(tmp_path / "clip.mkv", frames=48)
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(src.read_bytes()[: src.stat().st_size * 2 // 3])
    with make_client(tmp_path, max_frames=60) as client:
        created = client.post("/jobs", files={"file": ("c.mkv", cut.read_bytes())})
        assert created.status_code == 202, created.text
        status = _wait(client, created.json()["id"], [])
        assert status["state"] == "done" and status["frames_done"] < 48, status
        assert "could be decoded" in status["warnings"][0] and "/" not in status["warnings"][0]  # no server path
    with make_client(tmp_path, max_frames=40) as client:
        assert "at most 40" in one_line_error(client.post("/jobs", files={"file": ("c.mkv", src.read_bytes())}), 422)


def test_finished_results_expire_on_a_timer_and_by_total_size(shipped, tmp_path):
    with make_client(tmp_path, keep_results_s=0.5) as client:
        job = client.post("/jobs", files={"file": ("c.mp4", _video(tmp_path / "c.mp4", frames=4).read_bytes())})
        _wait(client, job.json()["id"], [])
        work, deadline = client.app.state.server.work, time.monotonic() + 10
        while list(work.iterdir()) and time.monotonic() < deadline:  # nobody asks: the timer removes it
            time.sleep(0.05)
        assert list(work.iterdir()) == []
    with make_client(tmp_path, max_results_bytes=1) as client:
        ids = []
        for i in range(2):
            job = client.post("/jobs", files={"file": ("c.mp4", _video(tmp_path / f"c{i}.mp4", frames=4).read_bytes())})
            ids.append(job.json()["id"])
            assert _wait(client, ids[-1], [])["state"] == "done"
        assert client.get(f"/jobs/{ids[0]}").status_code == 404  # past --max-results: the oldest went
        assert client.get(f"/jobs/{ids[1]}/result").status_code == 200  # the newest always stays


def test_a_long_video_does_not_starve_an_image(shipped, tmp_path, monkeypatch):
    """A video job held the only model thread to its end; now an image runs between two of its batches."""
    from brushwork.infer.serve import catalogue

    real = catalogue.Catalogue.stylizer

    def slow(self, name):
        stylizer = real(self, name)

        class Slow:
            path, provider, metadata = stylizer.path, stylizer.provider, stylizer.metadata

            def batch(self, frames):
                time.sleep(0.1)
                return stylizer.batch(frames)

            def __call__(self, frame):
                return stylizer(frame)

        return Slow()

    monkeypatch.setattr(catalogue.Catalogue, "stylizer", slow)
    with make_client(tmp_path) as client:
        job = client.post("/jobs", files={"file": ("c.mp4", _video(tmp_path / "c.mp4", frames=120).read_bytes())})
        deadline = time.monotonic() + 20
        while client.get(f"/jobs/{job.json()['id']}").json()["frames_done"] == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        start = time.monotonic()
        assert client.post("/stylize", files={"file": ("a.png", png_bytes(16, 16))}).status_code == 200
        assert time.monotonic() - start < 2.0  # one batch (0.1 s) to wait, not the rest of 30 batches
        assert client.get(f"/jobs/{job.json()['id']}").json()["state"] == "running"


def test_pictures_beyond_the_memory_budget_run_tiled(shipped, tmp_path):
    """The whole network on a picture too large for --max-memory: the tile graph instead, the same picture."""
    import torch

    from brushwork.models.export import export_onnx
    from brushwork.models.tiled import export_tiled
    from brushwork.models.transformer_net import TransformerNet

    torch.manual_seed(0)
    net, models = TransformerNet(width=4, depth=2).eval(), tmp_path / "models"
    models.mkdir()
    meta = {"producer": "brushwork", "arch": "tiny"}
    export_onnx(net, models / "tiny.onnx", meta)
    export_tiled(net, models / "tiny.onnx", meta)
    photo = png_bytes(300, 200, 90)
    with make_client(tmp_path, models=models) as whole:
        reference = np.asarray(Image.open(io.BytesIO(whole.post("/stylize", files={"file": ("a.png", photo)},
                                                                 data={"style": "tiny"}).content)))
    budget = 150 * 2**20 + 800 * 300 * 200 - 1  # one byte short of the whole network on this picture
    with make_client(tmp_path, models=models, max_memory_bytes=budget) as tight:
        response = tight.post("/stylize", files={"file": ("a.png", photo)}, data={"style": "tiny"})
        assert response.status_code == 200, response.text
        tiled = np.asarray(Image.open(io.BytesIO(response.content)))
        assert any(k.startswith("tiny (tiled") for k in tight.app.state.server.catalogue._stylizers)
        small = tight.post("/stylize", files={"file": ("a.png", photo)}, data={"style": "negative"})
        assert "no tile graph" in one_line_error(small, 422)  # the invert model has no tile graph to fall back on
    assert np.abs(tiled.astype(int) - reference.astype(int)).max() <= 1


def test_host_check_and_token(shipped, tmp_path):
    with make_client(tmp_path) as client:
        assert client.get("/styles").status_code == 200
        assert "Host" in one_line_error(client.get("/styles", headers={"host": "evil.example"}), 400)
    with make_client(tmp_path, token="s3cret") as client:
        assert "token" in one_line_error(client.get("/styles"), 401)
        assert client.get("/styles", headers={"authorization": "Bearer s3cret"}).status_code == 200
        assert client.get("/styles", headers={"authorization": "Bearer wrong"}).status_code == 401
        assert client.get("/?token=s3cret").status_code == 200  # the page sets the cookie ...
        assert client.get("/styles").status_code == 200  # ... which the page's own requests carry


def test_a_restart_after_kill_9_removes_the_dead_servers_folder(tmp_path):
    import signal
    import subprocess
    import sys

    script = ("import sys, time; from brushwork.infer.serve.workdir import make_work_folder; "
              "print(make_work_folder(sys.argv[1])[0], flush=True); time.sleep(60)")
    child = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        dead = Path(child.stdout.readline().strip())
        (dead / "upload").write_bytes(b"half an upload")
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    other = tmp_path / "brushwork-serve-notes"  # not named by a server: left alone
    other.mkdir()
    from brushwork.infer.serve.workdir import make_work_folder

    work, removed = make_work_folder(tmp_path)
    assert removed == [dead] and not dead.exists() and other.is_dir() and work.is_dir()
    assert make_work_folder(tmp_path)[1] == []  # a live server's folder stays


def _real_server(tmp_path, **limits):
    """`brushwork serve` as the verb runs it (uvicorn, its protocol) in a thread on a free loopback port."""
    import socket

    import uvicorn

    from brushwork.infer.serve.protocol import Protocol

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(ServeConfig(port=port, work_dir=tmp_path, device="cpu", threads=1, **limits))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", http=Protocol))
    server.thread = threading.Thread(target=server.run, daemon=True)
    server.thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    return server, port


def test_slow_uploaders_do_not_lock_out_a_normal_request(shipped, tmp_path, monkeypatch):
    """8 clients sending 1 byte/s held every queue place: now uploading takes none, and a stalled or too slow
    upload ends with 408 (the pace rules shortened here: 1 s grace instead of 10)."""
    import socket

    import httpx

    from brushwork.infer.serve import uploads

    monkeypatch.setattr(uploads, "GRACE_S", 1.0)
    server, port = _real_server(tmp_path, queue_size=2)
    slow = []
    try:
        body, headers = _multipart([("file", "a.png", png_bytes(64, 64))])
        head = (f"POST /stylize HTTP/1.1\r\nHost: localhost:{port}\r\nContent-Type: {headers['content-type']}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        for _ in range(8):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(head)
            slow.append(sock)
        for second in range(2):  # trickle: one byte per second each
            for sock in slow:
                sock.sendall(body[second:second + 1])
            time.sleep(1.0)
        normal = httpx.post(f"http://localhost:{port}/stylize", files={"file": ("a.png", png_bytes(16, 16))},
                            timeout=20)
        assert normal.status_code == 200
        for sock in slow:  # the next byte is one too few for the pace: each trickler is told so and let go
            sock.sendall(body[2:3])
        answers = [sock.recv(200).split(b"\r\n")[0] for sock in slow]
        assert all(b" 408 " in a for a in answers), answers
    finally:
        for sock in slow:
            sock.close()
        server.should_exit = True
        server.thread.join(20)


def test_sockets_that_never_send_a_request_head_are_closed(shipped, tmp_path, monkeypatch):
    """50 sockets sending part of a request line (or nothing) stayed open for good: now for HEADER_S (here 1 s)."""
    import socket

    import httpx

    from brushwork.infer.serve import protocol

    monkeypatch.setattr(protocol, "HEADER_S", 1.0)
    server, port = _real_server(tmp_path)
    sockets = []
    try:
        for i in range(50):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(b"GET /styles HTTP/1.1\r\nHo" if i % 2 else b"")
            sockets.append(sock)
        assert httpx.get(f"http://localhost:{port}/styles", timeout=10).status_code == 200  # others still served
        assert all(sock.recv(100) == b"" for sock in sockets)  # closed by the server, within about a second
    finally:
        for sock in sockets:
            sock.close()
        server.should_exit = True
        server.thread.join(20)
