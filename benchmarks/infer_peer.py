"""Side by side in one run: pytorch/examples fast_neural_style's network in torch eager (the peer) against
brushwork's exported models through onnxruntime, model-only, same frames sizes, same threads.

    git clone --depth 1 https://github.com/pytorch/examples /tmp/peer     # any copy; nothing is copied into brushwork
    flock /tmp/brushwork-bench.lock python benchmarks/infer_peer.py johnson.onnx johnson_int8.onnx \
        --peer-dir /tmp/peer/fast_neural_style/neural_style --sizes 640x360 1280x720

Contenders are measured in alternating rounds (peer, ours, peer, ours, ...) and the median per contender is
reported, so a load change on a shared machine hits all of them alike. The peer takes float NCHW in 0..255 (its own
convention); ours take uint8 NHWC and do the conversion inside the graph, so ours do slightly more work. Ours run
through the runtime's own Stylizer (the session options `brushwork stylize` uses) and every contender is timed by
`brushwork bench`'s rate loop (infer/bench_command.py timed_rate).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

import numpy as np

from brushwork.infer.bench_command import timed_rate
from brushwork.infer.engine.session import Stylizer
from brushwork.train.peer_fps import load_peer


def main() -> int:
    args = parse_args()
    peer = load_peer(args.peer_dir)
    import onnxruntime as ort
    import torch

    torch.set_num_threads(args.threads)
    stylizers = {p.name: Stylizer(p, device="cpu", threads=args.threads) for p in args.models}
    print(f"load average before: {os.getloadavg()}; torch {torch.__version__} threads {torch.get_num_threads()}; "
          f"onnxruntime {ort.__version__} threads {args.threads}")
    print("\n| size | contender | fps (median of rounds) | rounds | vs peer |\n|---|---|---|---|---|")
    for size in args.sizes:
        results = run_rounds(peer, stylizers, size, args)
        base = statistics.median(results["peer (torch eager)"])
        for name, rates in results.items():
            fps = statistics.median(rates)
            print(f"| {size} | {name} | {fps:.2f} | {len(rates)} | {fps / base:.2f}x |", flush=True)
    print(f"\nload average after: {os.getloadavg()}")
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", type=Path, help="brushwork .onnx files")
    parser.add_argument("--peer-dir", type=Path, default=Path("/tmp/peer/fast_neural_style/neural_style"),
                        help="folder holding pytorch/examples' transformer_net.py (default: %(default)s)")
    parser.add_argument("--sizes", nargs="+", default=["640x360", "1280x720"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0, help="per contender per round")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    return parser.parse_args()


def run_rounds(peer, stylizers: dict, size: str, args: argparse.Namespace) -> dict[str, list[float]]:
    import torch

    w, h = (int(v) for v in size.split("x"))
    frame = np.random.default_rng(0).integers(0, 256, (1, h, w, 3), dtype=np.uint8)
    x = torch.from_numpy(frame).permute(0, 3, 1, 2).float().contiguous()  # the peer's 0..255 float input

    def run_peer():
        with torch.inference_mode():
            peer(x)

    contenders = {"peer (torch eager)": run_peer}
    for name, stylizer in stylizers.items():
        contenders[f"brushwork {name} (onnxruntime)"] = lambda s=stylizer: s.batch(frame)
    results = {name: [] for name in contenders}
    for _ in range(args.rounds):
        for name, run in contenders.items():
            results[name].append(timed_rate(run, 1, args.seconds))
    return results


if __name__ == "__main__":
    sys.exit(main())
