"""Gatys et al. at 512 px: seconds per L-BFGS iteration, total seconds and peak memory (the reference points are
jcjohnson/neural-style's 22-62 s for 500 iterations on a 2016 Titan X, and the 2 GB at 512 px its users hit).

    flock /tmp/brushwork-bench.lock python benchmarks/gatys.py --steps 500
    flock /tmp/brushwork-bench.lock python benchmarks/gatys.py --steps 50 --device cpu   # and extrapolate to 500

Runs `brushwork gatys`' own stylize() (the same code users run, progress bar off) on real images, records when
each iteration ends, and prints one markdown table row. With --steps below --report-steps the total is
extrapolated: setup + (report_steps x the median seconds of iterations 3..N); the row says so. Peak memory is the
process's peak RSS (getrusage) on CPU, torch.cuda.max_memory_allocated on a GPU, next to the estimate that
`brushwork gatys` uses to refuse sizes that would not fit.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import resource
import statistics
import tempfile
import time
from pathlib import Path

import torch

from brushwork.train.device import resolve_device
from brushwork.train.gatys.config import GatysConfig
from brushwork.train.gatys.memory import estimate_bytes
from brushwork.train.gatys.optimize import scaled_shape, stylize

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--content", default=str(DATA / "content" / "tubingen.jpg"))
    p.add_argument("--style", default=str(DATA / "styles" / "starry_night.jpg"))
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--steps", type=int, default=500, help="iterations to run")
    p.add_argument("--report-steps", type=int, default=500, help="iterations the total is reported for")
    p.add_argument("--optimizer", default="lbfgs")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's choice)")
    return p.parse_args()


def rss_now() -> int:
    """Current resident set size in bytes (Linux /proc)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        return f"{names[0]} x{len(names)} logical CPUs"
    except (OSError, IndexError):
        return platform.processor() or "CPU"


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    ends: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        cfg = GatysConfig(content=args.content, styles=[args.style], output=os.path.join(tmp, "out.png"),
                          size=args.size, steps=args.steps, optimizer=args.optimizer, device=args.device)
        device = resolve_device(cfg.device)
        rss_before = rss_now()
        start = time.perf_counter()
        result = stylize(cfg, progress=False, on_step=lambda step, terms: ends.append(time.perf_counter()))
        total = time.perf_counter() - start
    peak = (torch.cuda.max_memory_allocated(device) if device.type == "cuda"
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    from brushwork.data.images import open_rgb

    shape = scaled_shape(open_rgb(args.content), args.size)
    per_step = [b - a for a, b in itertools.pairwise(ends)][2:] or [ends[-1] - start]
    median = statistics.median(per_step)
    setup = ends[0] - start - median if ends else 0.0
    extrapolated = args.steps < args.report_steps
    reported = setup + args.report_steps * median if extrapolated else total
    print_row(args, device, shape, median, reported, extrapolated, total, peak, rss_before, cfg, result.history)


def print_row(args, device, shape, median, reported, extrapolated, total, peak, rss_before, cfg, history) -> None:
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name()
    how = (f"extrapolated from {args.steps} measured ({total:.0f} s)" if extrapolated else "measured")
    print(f"device: {where}, torch threads {torch.get_num_threads()}, load {os.getloadavg()}")
    print(f"loss: first {history[0]['total']:.4g}, last {history[-1]['total']:.4g}")
    print("| size (HxW) | optimizer | s/iteration (median) | total for N iterations | peak memory | estimate |")
    print(f"| {shape[0]}x{shape[1]} | {args.optimizer} | {median:.2f} | {reported:.0f} s for {args.report_steps} "
          f"({how}) | {peak / 2**30:.2f} GiB (RSS before run {rss_before / 2**30:.2f} GiB) "
          f"| {estimate_bytes(cfg, shape) / 2**30:.2f} GiB |")


if __name__ == "__main__":
    main()
