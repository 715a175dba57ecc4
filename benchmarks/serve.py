"""`brushwork serve` under load: the server's overhead on one image, and 20 requests at once.

    python benchmarks/serve.py --model starry.onnx [--size 640x360] [--rounds 10] [--concurrent 20]

Starts a real `brushwork serve --models DIR` on 127.0.0.1 (a free port) in its own process, then:
1. overhead: the median time of a POST /stylize round trip (upload, decode, model, JPEG encode, download) against
   the median of the same model called directly in this process on the same decoded image (same thread count);
2. concurrency: `--concurrent` requests at once; every one must come back 200 or 429 (none lost), and the server's
   resident memory before and after is printed.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

from brushwork.infer import Stylizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--concurrent", type=int, default=20)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    image = _photo(width, height)
    folder = Path(tempfile.mkdtemp())
    shutil.copy(args.model, folder / "bench.onnx")
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "brushwork", "serve", "--models", str(folder), "--port",
                               str(port), "--queue", "4"], stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait(url)
        direct = _direct(args.model, image, args.rounds)
        served = _served(url, image, args.rounds)
        print(f"{args.size}: direct model {1000 * direct:.0f} ms, through the server {1000 * served:.0f} ms "
              f"(median of {args.rounds}): overhead {100 * (served / direct - 1):+.1f} %")
        before = _rss(server.pid)
        codes = _burst(url, image, args.concurrent)
        after = _rss(server.pid)
        print(f"{args.concurrent} at once: {codes.count(200)} x 200, {codes.count(429)} x 429, "
              f"{len(codes) - codes.count(200) - codes.count(429)} other; server RSS {before} -> {after} MiB")
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(folder)


def _photo(width: int, height: int) -> bytes:
    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (height // 40 + 1, width // 40 + 1, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(small).resize((width, height), Image.Resampling.BICUBIC).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/styles", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise SystemExit("the server did not start")


def _direct(model: Path, image: bytes, rounds: int) -> float:
    stylizer = Stylizer(model, device="cpu")
    frame = np.asarray(Image.open(io.BytesIO(image)).convert("RGB"))
    stylizer(frame)  # warm-up
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        stylizer(frame)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _post(url: str, image: bytes) -> httpx.Response:
    files = {"file": ("photo.jpg", image, "image/jpeg")}
    return httpx.post(f"{url}/stylize", files=files, data={"style": "bench"}, timeout=600)


def _served(url: str, image: bytes, rounds: int) -> float:
    _post(url, image).raise_for_status()  # warm-up (the model loads on first use)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        _post(url, image).raise_for_status()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _burst(url: str, image: bytes, count: int) -> list[int]:
    with ThreadPoolExecutor(count) as pool:
        return [r.status_code for r in pool.map(lambda _: _post(url, image), range(count))]


def _rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) // 1024 for line in f if line.startswith("VmRSS"))


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    main()
