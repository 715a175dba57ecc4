"""Side by side in one run: pytorch/examples fast_neural_style's network in torch eager (the peer) against
brushwork's exported models through onnxruntime, model-only, same frames sizes, same threads.

    git clone --depth 1 https://github.com/pytorch/examples /tmp/peer     # any copy; nothing is copied into brushwork
    flock /tmp/brushwork-bench.lock python benchmarks/infer_peer.py johnson.onnx johnson_int8.onnx \
        --peer-dir /tmp/peer/fast_neural_style/neural_style --sizes 640x360 1280x720

Contenders are measured in alternating rounds (peer, ours, peer, ours, ...) and the median per contender is
reported, so a load change on a shared machine hits all of them alike. The peer takes float NCHW in 0..255 (its
own convention); ours take uint8 NHWC and do the conversion inside the graph, so ours do slightly more work.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from brushwork.train.peer_fps import load_peer


def main() -> int:
    args = parse_args()
    peer = load_peer(args.peer_dir)
    import onnxruntime as ort
    import torch

    torch.set_num_threads(args.threads)
    sessions = {p.name: make_session(ort, p, args.threads) for p in args.models}
    print(f"load average before: {os.getloadavg()}; torch {torch.__version__} threads {torch.get_num_threads()}; "
          f"onnxruntime {ort.__version__} threads {args.threads}")
    print("\n| size | contender | fps (median of rounds) | rounds | vs peer |\n|---|---|---|---|---|")
    for size in args.sizes:
        results = run_rounds(peer, sessions, size, args)
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


def make_session(ort, path: Path, threads: int):
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def rate(run, seconds: float) -> float:
    run()  # warm-up
    calls, start = 0, time.perf_counter()
    while calls < 2 or time.perf_counter() - start < seconds:
        run()
        calls += 1
    return calls / (time.perf_counter() - start)


def run_rounds(peer, sessions: dict, size: str, args: argparse.Namespace) -> dict[str, list[float]]:
    import torch

    w, h = (int(v) for v in size.split("x"))
    frame = np.random.default_rng(0).integers(0, 256, (1, h, w, 3), dtype=np.uint8)
    x = torch.from_numpy(frame).permute(0, 3, 1, 2).float().contiguous()  # the peer's 0..255 float input

    def run_peer():
        with torch.inference_mode():
            peer(x)

    contenders = {"peer (torch eager)": run_peer}
    for name, session in sessions.items():
        contenders[f"brushwork {name} (onnxruntime)"] = lambda s=session: s.run(None, {"image": frame})
    results = {name: [] for name in contenders}
    for _ in range(args.rounds):
        for name, run in contenders.items():
            results[name].append(rate(run, args.seconds))
    return results


if __name__ == "__main__":
    sys.exit(main())
