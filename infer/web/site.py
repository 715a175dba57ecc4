"""A static site that paints the visitor's webcam in one style, in their browser: what `brushwork export-web`
writes and any static host can serve.

    site/index.html   the page (camera or video file, size, fps)
    site/live.js      the script (infer/web/static/live.js)
    site/model.onnx   the exported model, as it is (the same uint8-in, uint8-out graph the Python runtime runs)
    site/_headers     COOP/COEP for hosts that read the file (Netlify, Cloudflare Pages): WASM threads need them
    site/ort/         onnxruntime-web itself, only with --runtime-dir (else the page loads the pinned public URL)
"""

from __future__ import annotations

import functools
import html
import http.server
import json
import shutil
import tempfile
import threading
from pathlib import Path

from ... import BrushworkError
from .runtime import PUBLIC_URL, VERSION, copy_runtime

STATIC = Path(__file__).with_name("static")
MODEL_NAME = "model.onnx"
# Cross-origin isolation: SharedArrayBuffer, so onnxruntime-web's WASM runs on several threads (one without).
ISOLATION = {"Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp"}


def write_site(model: Path, out: Path, *, title: str, about: str = "", runtime_dir: Path | None = None,
               overwrite: bool = False) -> dict:
    """Write the site for `model` into the folder `out` (built beside it and renamed, so a failure leaves nothing
    half-written); returns what was written: {files, runtime, bytes}."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise BrushworkError(f"-o {out} exists and is not empty; pass --overwrite to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        shutil.copyfile(model, staging / MODEL_NAME)
        shutil.copyfile(STATIC / "live.js", staging / "live.js")
        runtime = PUBLIC_URL
        if runtime_dir is not None:
            copy_runtime(Path(runtime_dir), staging / "ort")
            runtime = "ort/"
        (staging / "index.html").write_text(page(title, about, runtime, model.stat().st_size))
        (staging / "_headers").write_text("/*\n" + "".join(f"  {k}: {v}\n" for k, v in ISOLATION.items()))
        staging.chmod(0o755)
        if out.exists():
            shutil.rmtree(out) if out.is_dir() else out.unlink()
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    return {"files": files, "runtime": runtime, "bytes": sum((out / f).stat().st_size for f in files)}


def page(title: str, about: str, runtime: str, model_bytes: int) -> str:
    """index.html from the template: the values escaped for HTML, the two the script reads as JSON strings."""
    text = (STATIC / "live.html").read_text()
    values = {"TITLE": html.escape(title), "ABOUT": html.escape(about), "MODEL_SIZE": f"{model_bytes / 2**20:.1f} MB",
              "MODEL": json.dumps(MODEL_NAME)[1:-1], "RUNTIME": json.dumps(runtime)[1:-1]}
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    return text


class IsolatedHandler(http.server.SimpleHTTPRequestHandler):
    """A static host that sends the _headers file's COOP/COEP, as Netlify or Cloudflare Pages would: for trying a
    site on this machine, the tests and benchmarks/browser_fps.py."""

    def end_headers(self):
        for key, value in ISOLATION.items():
            self.send_header(key, value)
        super().end_headers()

    def log_message(self, *args):
        pass


def serve_site(folder: Path, port: int = 0) -> http.server.ThreadingHTTPServer:
    """Serve `folder` on 127.0.0.1 (port 0: a free one) from a daemon thread; `.shutdown()` stops it."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port),
                                             functools.partial(IsolatedHandler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


__all__ = ["ISOLATION", "MODEL_NAME", "VERSION", "IsolatedHandler", "page", "serve_site", "write_site"]
