"""Peak memory (CPU RSS) and time per frame, tiled under a budget vs untiled, one subprocess per case.

    python benchmarks/tile_memory.py MODEL.onnx [--budget 2GB] [--sizes 1920x1080,3840x2160,7680x4320]
                                     [--untiled 1920x1080]

Each case runs in a fresh Python process (torch-free: onnxruntime + numpy + OpenCV) that builds the stylizer,
stylizes one frame (a real photo resized to the size) and reports its peak RSS (VmHWM), so one case's arena
cannot inflate the next. Activations that the budget cannot hold go to a temporary file (page cache, not RSS);
the row says "spilled" then. A case that passes --timeout seconds is stopped and reports the peak so far (marked
"partial"): on a slow machine, the peak of an 8K frame is reached in its first strip of tiles. Run under the
benchmark lock and note `uptime`:

    flock /tmp/brushwork-bench.lock python benchmarks/tile_memory.py starry.onnx
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

PHOTO = "../shared/data/content/tubingen.jpg"
GiB = 2**30


def child(model: str, size: str, budget: int) -> None:
    """One case in this process: budget 0 = untiled (the ordinary Stylizer on the main model)."""
    import threading
    import time

    import cv2

    from brushwork.data.images import read_image
    from brushwork.infer.engine.session import Stylizer
    from brushwork.infer.engine.tiling import TiledStylizer

    width, height = map(int, size.split("x"))
    frame = cv2.resize(read_image(PHOTO), (width, height), interpolation=cv2.INTER_CUBIC)
    if budget:
        stylizer = TiledStylizer(model, device="cpu", max_memory=budget)
        plan = stylizer.plan(height, width)
        tiles = f"strips of {plan.strip_pixels / 2**10:.0f} Ki px{', spilled' if plan.spill else ''}"
    else:
        stylizer, tiles = Stylizer(model, device="cpu"), "untiled"
    start = time.perf_counter()
    result = {"size": size, "budget_gib": budget / GiB, "tiles": tiles}

    def report(done: bool) -> None:
        print(json.dumps({**result, "peak_rss_gib": _peak_rss() / GiB, "seconds": time.perf_counter() - start,
                          "done": done}), flush=True)

    def watch() -> None:
        while True:
            time.sleep(5)
            report(False)

    threading.Thread(target=watch, daemon=True).start()
    out = stylizer(frame)
    assert out.shape == frame.shape
    if budget:
        result["tiles"] += f", {stylizer.spilled_bytes / GiB:.2f} GiB to files"
    report(True)


def _peak_rss() -> int:
    """VmHWM: the peak resident set of this process so far (Linux)."""
    with open("/proc/self/status") as f:
        line = next(line for line in f if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--budget", default="2GB", help="GB/MB, powers of 1024")
    parser.add_argument("--sizes", default="1920x1080,3840x2160,7680x4320")
    parser.add_argument("--untiled", default="1920x1080", help="sizes to also run untiled ('' for none)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per case before reporting a partial peak")
    parser.add_argument("--child", nargs=2, metavar=("SIZE", "BUDGET"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.model, args.child[0], int(args.child[1]))
        return
    unit = {"G": GiB, "M": 2**20}[args.budget.upper().rstrip("IB")[-1]]
    budget = int(float(args.budget.upper().rstrip("IB")[:-1]) * unit)
    cases = [(s, budget) for s in args.sizes.split(",") if s] + [(s, 0) for s in args.untiled.split(",") if s]
    for size, case_budget in cases:
        command = [sys.executable, __file__, args.model, "--child", size, str(case_budget)]
        try:
            stdout = subprocess.run(command, check=False, capture_output=True, text=True,
                                    timeout=args.timeout).stdout
        except subprocess.TimeoutExpired as e:
            stdout = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        lines = [line for line in stdout.splitlines() if line.startswith("{")]
        if not lines:
            print(f"{size} budget {case_budget}: no result")
            continue
        r = json.loads(lines[-1])
        label = f"budget {r['budget_gib']:.1f} GiB" if case_budget else "no budget (untiled)"
        timing = f"{r['seconds']:7.1f} s/frame" if r["done"] else f"partial: stopped after {r['seconds']:.0f} s"
        print(f"{size:>10s}  {label:24s} {r['tiles']:26s} peak RSS {r['peak_rss_gib']:5.2f} GiB  {timing}",
              flush=True)


if __name__ == "__main__":
    main()
