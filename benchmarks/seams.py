"""Seam benchmark: tiled vs untiled output of a real model on a real photo (issue 6).

    python benchmarks/seams.py MODEL.onnx [--image PHOTO] [--size 1920x1080] [--tile 512]

Needs MODEL.onnx and MODEL.tiled.onnx (`brushwork export`). Prints, per tiling mode, PSNR against the untiled
output and the seam ratio: gradient energy across tile borders / elsewhere, divided by the untiled image's value
on the same lines (1.00 = borders as smooth as without tiles). Run under the benchmark lock:

    flock /tmp/brushwork-bench.lock python benchmarks/seams.py starry.onnx
"""

from __future__ import annotations

import argparse
import time

import cv2

from brushwork.data.images import read_image
from brushwork.infer.tiling import TiledStylizer, seam_ratio
from brushwork.models.export import psnr

MODES = {  # name -> TiledStylizer keywords
    "naive (per-tile stats, hard cuts)": {"shared_stats": False, "margin": 0, "blend": 0},
    "thumbnail stats (refine 0)": {"refine": 0},
    "thumbnail + 1 refine pass (default)": {"refine": 1},
    "thumbnail + 3 refine passes": {"refine": 3},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--image", default="/work/shared/data/content/tubingen.jpg")
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--tile", type=int, default=512)
    args = parser.parse_args()
    width, height = map(int, args.size.split("x"))
    image = cv2.resize(read_image(args.image), (width, height), interpolation=cv2.INTER_CUBIC)
    start = time.perf_counter()
    reference = TiledStylizer(args.model, device="cpu", tile=max(width, height) + 4)(image)
    print(f"{args.image} at {width}x{height}, tile {args.tile}; untiled: {time.perf_counter() - start:.1f} s")
    for name, kwargs in MODES.items():
        stylizer = TiledStylizer(args.model, device="cpu", tile=args.tile, **kwargs)
        start = time.perf_counter()
        out = stylizer(image)
        seconds = time.perf_counter() - start
        rows, cols = stylizer.layout(height, width)
        ratio = seam_ratio(out, rows, cols) / seam_ratio(reference, rows, cols)
        print(f"{name:38s} {len(rows)}x{len(cols)} tiles  PSNR {psnr(out, reference):6.2f} dB  "
              f"seam ratio {ratio:5.3f}  {seconds:6.1f} s", flush=True)


if __name__ == "__main__":
    main()
