"""Frames per second of the peer's network (pytorch/examples fast_neural_style, torch eager) on this machine.

    python -m brushwork.train.peer_fps /tmp/peer/fast_neural_style/neural_style --size 640x360 --threads 2

`brushwork bench MODEL.onnx --peer DIR` runs this in a process of its own (infer/ never imports torch) and prints
its figures next to the ONNX models'; benchmarks/infer_peer.py uses `load_peer` for its alternating rounds. The
peer's code is loaded from the user's own checkout at run time: nothing of it is in brushwork.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

from .. import BrushworkError


def load_peer(folder: Path):
    """The peer's TransformerNet (random weights: speed does not depend on them), from its transformer_net.py."""
    path = Path(folder) / "transformer_net.py"
    if not path.is_file():
        raise BrushworkError(f"--peer {folder}: no transformer_net.py there; give pytorch/examples' "
                             "fast_neural_style/neural_style folder (git clone https://github.com/pytorch/examples)")
    spec = importlib.util.spec_from_file_location("peer_transformer_net", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.TransformerNet().eval()


def peer_fps(net, size: tuple[int, int], seconds: float) -> float:
    """Batch-1 fps on a random frame in the peer's own convention (float NCHW in 0..255), after one warm-up call."""
    import torch

    from ..infer.bench_command import timed_rate

    w, h = size
    x = torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(0)) * 255
    with torch.inference_mode():
        return timed_rate(lambda: net(x), 1, seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("peer_dir", type=Path)
    parser.add_argument("--size", action="append", required=True, help="WxH (repeatable)")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--threads", type=int)
    args = parser.parse_args(argv)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        net = load_peer(args.peer_dir)
    except BrushworkError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    sizes = [tuple(int(v) for v in s.lower().split("x")) for s in args.size]
    print(json.dumps({f"{w}x{h}": peer_fps(net, (w, h), args.seconds) for w, h in sizes}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
