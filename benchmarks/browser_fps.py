"""Live mode's speed: frames per second of exported models in headless Chromium (onnxruntime-web, WASM with SIMD and
threads on a cross-origin isolated page) on the fake webcam, beside the Python runtime (model only, batch 1, as
`brushwork bench MODEL` times it) on the same sizes and threads.

    npm ci --prefix web
    python benchmarks/browser_fps.py starry.onnx starry_fast.onnx --sizes 320x240 640x360

Each model: `brushwork export-web` with the local runtime, served on 127.0.0.1, the camera opened at the size, Live
started, and the fps read over frames 5-35 (the first ones include the session's warm-up). Model time only in the
browser's figure is not separable: it is the loop a visitor sees (draw, read pixels, run, put pixels).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from playwright.sync_api import sync_playwright

from brushwork.infer import Stylizer
from brushwork.infer.bench_command import timed_rate
from brushwork.infer.web.site import serve_site

REPO = Path(__file__).resolve().parents[1]
DIST = REPO / "web" / "node_modules" / "onnxruntime-web" / "dist"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--use-fake-device-for-media-stream",
         "--use-fake-ui-for-media-stream", "--disable-background-networking"]


def browser_fps(browser, url: str, width: int, height: int, frames: int) -> dict:
    page = browser.new_page()
    page.goto(url)
    page.evaluate(f"""async () => {{
        await BrushworkLive.camera(document.getElementById('video'), {{width: {width}, height: {height}}});
        await BrushworkLive.start({{...config, video: document.getElementById('video'),
                                   canvas: document.getElementById('canvas'), side: {max(width, height)}}});
    }}""")
    page.wait_for_function("BrushworkLive.state.frames >= 5 || BrushworkLive.state.error", timeout=300_000)
    start, first = time.perf_counter(), page.evaluate("BrushworkLive.state.frames")
    page.wait_for_function(f"BrushworkLive.state.frames >= {first + frames} || BrushworkLive.state.error",
                           timeout=600_000, polling=100)
    seconds, last = time.perf_counter() - start, page.evaluate("BrushworkLive.state.frames")
    state = page.evaluate("({...BrushworkLive.state, input: null, output: null})")
    page.evaluate("BrushworkLive.stop()")
    page.close()
    if state["error"]:
        raise SystemExit(f"Live failed: {state['error']}")
    return {"fps": round((last - first) / seconds, 2), "size": f"{state['width']}x{state['height']}",
            "backend": state["backend"]}


def python_fps(model: Path, size: str, threads: int) -> float:
    """The Python runtime on the same size, model only, batch 1 (as `brushwork bench MODEL` measures it)."""
    width, height = map(int, size.split("x"))
    stylizer = Stylizer(model, device="cpu", threads=threads)
    frame = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return round(timed_rate(lambda: stylizer(frame), 1, 4.0), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", type=Path, nargs="+")
    parser.add_argument("--sizes", nargs="+", default=["320x240", "640x360"])
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS, headless=True)
        for model in args.models:
            site = Path(tmp) / model.stem
            subprocess.run([sys.executable, "-m", "brushwork", "export-web", str(model), "-o", str(site),
                            "--runtime-dir", str(DIST)], check=True, capture_output=True)
            server = serve_site(site)
            url = f"http://127.0.0.1:{server.server_address[1]}/"
            for size in args.sizes:
                width, height = map(int, size.split("x"))
                row = {"model": model.name, **browser_fps(browser, url, width, height, args.frames)}
                row["python_fps"] = python_fps(model, row["size"], args.threads)
                print(json.dumps(row), flush=True)
                rows.append(row)
            server.shutdown()
        browser.close()
    print("| model | size | browser fps (WASM) | Python runtime fps |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['size']} | {r['fps']} ({r['backend']}) | {r['python_fps']} |")


if __name__ == "__main__":
    main()
