"""How fast is each candidate student network in onnxruntime on this CPU? (to choose student sizes by measurement)

    python benchmarks/student_speed.py                       # the candidates below, 640x360 and 1280x720, 2 threads
    python benchmarks/student_speed.py --sizes 640x360 --seconds 5 --int8 ../shared/data/photos

Speed does not depend on the weights, so each candidate is a freshly initialised network exported with the real
export path (models/export.py; `--int8` also through models/quantize.py with photos for calibration). Prints
multiply-adds per pixel (counted from the torch modules) and frames per second per size. Run it on a quiet
machine (pause training with kill -STOP), and compare only figures from one run.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from brushwork.infer.bench_command import machine_line, parse_wxh, timed_rate
from brushwork.infer.engine.session import Stylizer
from brushwork.models.export import export_onnx
from brushwork.models.transformer_net import TransformerNet, build_transformer

CANDIDATES = {  # name -> (arch, extra kwargs): registered students plus a few shapes to compare them with
    "johnson": ("johnson", {}),
    "johnson-light": ("johnson-light", {}),
    "w16 d3 k9": ("johnson", {"width": 16, "depth": 3}),
    "w16 d3 k5": ("johnson", {"width": 16, "depth": 3, "kernel": 5}),
    "w16 d5 sep k5": ("johnson", {"width": 16, "depth": 5, "separable": True, "kernel": 5}),
    "w12 d3 k5": ("johnson", {"width": 12, "depth": 3, "kernel": 5}),
    "w32 d5 sep k5": ("johnson", {"width": 32, "depth": 5, "separable": True, "kernel": 5}),
}


def macs_per_pixel(net: TransformerNet, size: int = 64) -> float:
    """Multiply-adds of every convolution for one size x size image, per pixel."""
    total = 0

    def hook(module: nn.Conv2d, _inputs, output):
        nonlocal total
        k = module.kernel_size[0] * module.kernel_size[1]
        total += output.numel() * k * module.in_channels // module.groups

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        net(torch.rand(1, 3, size, size))
    for h in handles:
        h.remove()
    return total / (size * size)


def fps(model_path: Path, size: tuple[int, int], seconds: float, threads: int) -> float:
    stylizer = Stylizer(model_path, device="cpu", threads=threads)
    frame = np.random.default_rng(0).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    return timed_rate(lambda: stylizer(frame), 1, seconds)  # after a warm-up call: the first plans the kernels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["640x360", "1280x720"])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", nargs="+", help="candidate names to run (default: all)")
    parser.add_argument("--int8", metavar="PHOTOS", help="also time the int8 export, calibrated on these photos")
    parser.add_argument("--json", type=Path, help="also write the table here")
    args = parser.parse_args()
    sizes = [parse_wxh(s) for s in args.sizes]
    print(machine_line())
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (arch, kwargs) in CANDIDATES.items():
            if args.only and name not in args.only:
                continue
            torch.manual_seed(0)
            net = build_transformer(arch, **kwargs).eval()
            path = Path(tmp) / "m.onnx"
            export_onnx(net, path, {"producer": "brushwork", "arch": arch})
            row = {"name": name, "kmac_per_px": round(macs_per_pixel(net) / 1e3, 1),
                   "params_k": round(sum(p.numel() for p in net.parameters()) / 1e3, 1)}
            for w, h in sizes:
                row[f"fp32 {w}x{h}"] = round(fps(path, (w, h), args.seconds, args.threads), 2)
            if args.int8:
                from brushwork.models.quantize import calibration_images, equalize_for_int8, quantize_int8

                images = calibration_images(args.int8, limit=8)
                f32, q = Path(tmp) / "f32.onnx", Path(tmp) / "q.onnx"
                export_onnx(equalize_for_int8(net, images), f32, {"producer": "brushwork", "arch": arch})
                quantize_int8(f32, q, images, {"producer": "brushwork", "arch": arch, "precision": "int8"})
                for w, h in sizes:
                    row[f"int8 {w}x{h}"] = round(fps(q, (w, h), args.seconds, args.threads), 2)
            rows.append(row)
            print("  ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
