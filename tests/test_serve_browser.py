"""`brushwork serve` end to end in a real headless Chromium: load the page, pick a style, upload an image, see the
stylized image appear. Playwright drives the system's Chromium (Debian's `chromium`, which .ci/run installs); it
never downloads a browser. Skipped, saying why, where no Chromium or no playwright is installed.

    BRUSHWORK_SCREENSHOT=docs/images/serve.png python -m pytest tests/test_serve_browser.py   # the README's picture
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from brushwork import styles

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
# This sandbox (and CI) runs as root without a GPU or network: no sandbox, no GPU, nothing fetched in the background.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "samples" / "photo.jpg"


@pytest.fixture
def browser():
    executable = next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)
    if executable is None:
        pytest.skip("no Chromium installed (apt-get install chromium); the browser test needs one")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (the dev extra has it)")
    with sync_api.sync_playwright() as p:
        try:
            browser = p.chromium.launch(executable_path=executable, args=FLAGS, headless=True)
        except sync_api.Error as e:
            pytest.skip(f"{executable} did not start: {str(e).strip().splitlines()[0][:200]}")
        yield browser
        browser.close()


@pytest.fixture
def server_url(tmp_path, make_invert_model, monkeypatch):
    """A real uvicorn server in a thread, on a free port, with one 'shipped' invert style."""
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
    app = create_app(ServeConfig(port=port, work_dir=tmp_path, device="cpu", threads=1))
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
