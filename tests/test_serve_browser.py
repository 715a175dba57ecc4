"""`brushwork serve` end to end in a real headless Chromium: load the page, pick a style, upload an image, see the
stylized image appear; press Live and see the (fake) webcam painted in the browser. Playwright drives the system's
Chromium (Debian's `chromium`, which .ci/run installs; the `browser` fixture in conftest.py); it never downloads a
browser. Skipped, saying why, where no Chromium or no playwright is installed.

    BRUSHWORK_SCREENSHOT=docs/images/serve.png python -m pytest tests/test_serve_browser.py   # the README's picture
"""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from brushwork import styles

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "samples" / "photo.jpg"


@pytest.fixture
def server_url(tmp_path, make_invert_model, monkeypatch, request):
    """A real uvicorn server in a thread, on a free port, with one 'shipped' invert style (and, for tests that ask
    for the `ort_web` fixture, onnxruntime-web served from the npm install)."""
    import uvicorn

    from brushwork.infer.serve.app import create_app
    from brushwork.infer.serve.config import ServeConfig

    folder = tmp_path / "styles"
    folder.mkdir()
    make_invert_model(folder / "negative.onnx")
    index = {"styles": [{"name": "negative", "file": "negative.onnx", "title": "Negative", "artist": "A. Painter"}]}
    (folder / "index.json").write_text(json.dumps(index))
    monkeypatch.setattr(styles, "styles_folder", lambda: folder)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    runtime = request.getfixturevalue("ort_web") if "ort_web" in request.fixturenames else None
    app = create_app(ServeConfig(port=port, work_dir=tmp_path, device="cpu", threads=1, web_runtime=runtime))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/"
    server.should_exit = True
    thread.join(20)


def test_page_stylizes_an_uploaded_image(browser, server_url):
    page = browser.new_page(viewport={"width": 1100, "height": 760})
    page.goto(server_url)
    page.click(".style >> text=Negative")
    assert "chosen" in page.get_attribute(".style", "class")
    page.set_input_files("#file", str(SAMPLE))
    page.click("#go")
    page.wait_for_selector("#result-media", timeout=30_000)
    page.wait_for_function("document.getElementById('result-media').naturalWidth > 0", timeout=30_000)
    sizes = page.evaluate("[...document.querySelectorAll('#original img, #result-media')]"
                          ".map(i => [i.naturalWidth, i.naturalHeight])")
    assert sizes[0] == sizes[1] and sizes[0][0] > 0  # the result has the original's size
    assert page.get_attribute("#download", "download").endswith("_negative.jpg")
    assert page.text_content("#message") == ""
    page.wait_for_function("[...document.images].every(i => i.complete)", timeout=30_000)
    if os.environ.get("BRUSHWORK_SCREENSHOT"):
        page.screenshot(path=os.environ["BRUSHWORK_SCREENSHOT"], full_page=True)


def test_live_paints_the_webcam_in_the_browser(browser, ort_web, server_url):
    """Live: the style's model downloaded once and run by onnxruntime-web on Chromium's fake camera, frame after
    frame, with the fps shown; the server only serves files (no /stylize call)."""
    page = browser.new_page()
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.goto(server_url)
    page.click(".style >> text=Negative")
    page.click("#live")
    page.wait_for_function("BrushworkLive.state.frames >= 3 || BrushworkLive.state.error !== null", timeout=90_000)
    state = page.evaluate("({...BrushworkLive.state, input: null, output: null, isolated: crossOriginIsolated})")
    assert state["error"] is None and state["frames"] >= 3 and state["fps"] > 0
    assert state["isolated"] and state["backend"].startswith("WASM")  # COOP/COEP: WASM threads are allowed
    assert "fps" in page.text_content("#live-label") and posts == []
    snapshot = page.evaluate("BrushworkLive.snapshot()")
    rgb_in, rgb_out = (base64.b64decode(snapshot[k]) for k in ("input", "output"))
    assert bytes(255 - b for b in rgb_in[:3000]) == rgb_out[:3000]  # the invert model, exactly
    page.evaluate("BrushworkLive.stop()")
