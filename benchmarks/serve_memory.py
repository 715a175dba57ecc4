"""`brushwork serve` within --max-memory: the server process's peak memory for a 12-Mpx picture and a 1080p video
job under each --max-memory given (a budget as large as 1TB lets the whole network run: the comparison).

    python benchmarks/serve_memory.py --model starry.onnx [--budgets 2GB 1TB] [--image 4000x3000] [--frames 24]

The model needs its tile graph beside it (`brushwork export` writes starry.tiled.onnx). Each case starts a fresh
`brushwork serve` on 127.0.0.1 in its own process and reads its peak resident memory (VmHWM) after the request,
so every figure is that of one request on a fresh server. Pictures and clips are generated (smooth noise).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import httpx
import numpy as np
from PIL import Image
from serve import _free_port, _photo, _wait  # benchmarks/serve.py: start-up helpers of the same kind of run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--budgets", nargs="+", default=["2GB"], help="--max-memory values (default: %(default)s)")
    parser.add_argument("--image", default="4000x3000", help="WxH of the picture (default: %(default)s)")
    parser.add_argument("--frames", type=int, default=24, help="frames of the 1920x1080 clip (default: %(default)s)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    for path in (args.model, args.model.with_name(args.model.stem + ".tiled.onnx")):
        shutil.copy(path, folder / path.name.replace(args.model.stem, "bench"))
    width, height = (int(v) for v in args.image.split("x"))
    picture, clip = _photo(width, height), _clip(folder / "clip.mp4", args.frames)
    print("| case | --max-memory | seconds | server peak RSS |\n|---|---|---|---|")
    try:
        for budget in args.budgets:
            seconds, peak = _run(folder, budget, lambda url: _post_picture(url, picture))
            print(f"| {args.image} picture | {budget} | {seconds:.1f} | {peak / 2**30:.2f} GiB |", flush=True)
            seconds, peak = _run(folder, budget, lambda url: _video_job(url, clip))
            print(f"| 1920x1080 video, {args.frames} frames | {budget} | {seconds:.1f} | {peak / 2**30:.2f} GiB |",
                  flush=True)
    finally:
        shutil.rmtree(folder)


def _run(folder: Path, budget: str, request) -> tuple[float, int]:
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "brushwork", "serve", "--models", str(folder), "--port",
                               str(port), "--max-memory", budget, "--max-pixels", "50000000"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait(url)
        start = time.perf_counter()
        request(url)
        return time.perf_counter() - start, _peak(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=60)


def _post_picture(url: str, picture: bytes) -> None:
    response = httpx.post(f"{url}/stylize", files={"file": ("p.jpg", picture)}, data={"style": "bench"}, timeout=3600)
    response.raise_for_status()


def _video_job(url: str, clip: Path) -> None:
    job = httpx.post(f"{url}/jobs", files={"file": ("c.mp4", clip.read_bytes())}, data={"style": "bench"},
                     timeout=600).json()
    while True:
        status = httpx.get(f"{url}/jobs/{job['id']}", timeout=60).json()
        if status["state"] in ("done", "failed", "cancelled"):
            if status["state"] != "done":
                raise SystemExit(f"the job ended {status['state']}: {status['error']}")
            return
        time.sleep(0.5)


def _clip(path: Path, frames: int) -> Path:
    rng = np.random.default_rng(1)
    small = rng.integers(0, 256, (28, 49, 3), dtype=np.uint8)
    base = np.asarray(Image.fromarray(small).resize((1960, 1080), Image.Resampling.BICUBIC))
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 1920, 1080, "yuv420p"
        for i in range(frames):
            frame = np.ascontiguousarray(base[:, i:i + 1920])
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def _peak(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM"))


if __name__ == "__main__":
    main()
