"""Seam benchmark: tiled vs untiled output of real models on real photos and video frames.

    python benchmarks/seams.py MODEL.onnx [MODEL2.onnx ...] [--images A.jpg DIR ...] [--sizes 1280x720,1920x1080]
                               [--tile 384 | --max-memory 2] [--naive] [--video CLIP.mp4 --frames 24]

Needs MODEL.onnx and MODEL.tiled.onnx (`brushwork export`). Per model, photo and size, one markdown row: the
untiled run's seconds (`Stylizer`, the whole frame at once), the tiled default's PSNR against it, its seam ratio
(gradient energy across the borders between strips, or tiles with --naive, / elsewhere, divided by the untiled
image's value on the same lines: 1.00 = the borders are as smooth as with no tiles), its seconds and their ratio
(each the best of --repeat runs, untiled and tiled alternating; the tiled stylizer keeps its activation memory
from run to run, as onnxruntime keeps its arena, so later runs show the steady state of a video). --naive adds a
row for per-tile statistics with hard cuts (what seams look like). With --video, every frame of the clip's first
--frames, tiled vs untiled.
Run one benchmark at a time on a quiet machine and note `lscpu` and `uptime`.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from brushwork.data.images import read_image
from brushwork.infer.engine.seams import seam_ratio
from brushwork.infer.engine.session import Stylizer
from brushwork.infer.engine.tiling import TiledStylizer
from brushwork.models.export import psnr

SUFFIXES = {".jpg", ".jpeg", ".png"}


def photos(paths: list[str]) -> list[Path]:
    """Files as given, folders as their photos (sorted)."""
    found = []
    for p in map(Path, paths):
        found += sorted(f for f in p.iterdir() if f.suffix.lower() in SUFFIXES) if p.is_dir() else [p]
    return found


def timed(stylize, image: np.ndarray) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    out = stylize(image)
    return np.asarray(out), time.perf_counter() - start


def compare(name: str, model: str, image: np.ndarray, args) -> None:
    """One markdown row (two with --naive) for one photo at one size."""
    height, width = image.shape[:2]
    untiled = Stylizer(model, device="cpu")
    tiled = TiledStylizer(model, device="cpu", tile=args.tile, max_memory=args.max_memory and args.max_memory * 2**30)
    untiled(image[:64, :64])  # warm-up
    untiled_s, tiled_s = [], []
    for _ in range(args.repeat):  # alternating, so that a change of load hits both
        reference, seconds = timed(untiled, image)
        untiled_s.append(seconds)
        out, seconds = timed(tiled, image)
        tiled_s.append(seconds)
    untiled_s = min(untiled_s)
    mode = "exact layer by layer" + (" (spilled)" if tiled.plan(height, width).spill else "")
    rows = [(mode, tiled, out, min(tiled_s))]
    if args.naive:
        naive = TiledStylizer(model, device="cpu", tile=args.tile, shared_stats=False)
        rows.append(("naive: per-tile statistics, hard cuts", naive, *timed(naive, image)))
    for mode, stylizer, result, seconds in rows:
        layout = stylizer.layout(height, width)
        ratio = seam_ratio(result, *layout) / seam_ratio(reference, *layout)
        print(f"| {Path(model).stem} | {name} | {width}x{height} | {mode} | {psnr(result, reference):.2f} | "
              f"{ratio:.3f} | {untiled_s:.2f} | {seconds:.2f} | {seconds / untiled_s:.2f} |", flush=True)


def video(model: str, clip: str, frames: int, tile: int) -> None:
    """Tiled vs untiled on each of the clip's first frames: PSNR (min, mean) and the largest difference."""
    from brushwork.infer.media.video_io import decoded_frames, open_input

    untiled, tiled = Stylizer(model, device="cpu"), TiledStylizer(model, device="cpu", tile=tile)
    scores, worst = [], 0
    container = open_input(clip)
    try:
        for i, (rgb, _) in enumerate(decoded_frames(container)):
            if i == frames:
                break
            a, b = np.asarray(untiled(rgb)), tiled(rgb)
            scores.append(psnr(b, a))
            worst = max(worst, int(np.abs(a.astype(int) - b).max()))
    finally:
        container.close()
    print(f"{Path(model).stem} on {clip} ({rgb.shape[1]}x{rgb.shape[0]}, tile {tile}): {len(scores)} frames, PSNR "
          f"vs untiled min {min(scores):.2f} dB, mean {np.mean(scores):.2f} dB; largest difference {worst} levels")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--images", nargs="*", default=["../shared/data/content"], help="files or folders")
    parser.add_argument("--sizes", default="native", help="WxH list, or 'native' (the photo's own size)")
    parser.add_argument("--tile", type=int, default=None, help="as `stylize --tile` (default: the runtime's)")
    parser.add_argument("--max-memory", type=float, help="GiB, as `stylize --max-memory` (instead of --tile)")
    parser.add_argument("--repeat", type=int, default=2, help="timed runs each; the best counts")
    parser.add_argument("--naive", action="store_true", help="also naive tiling (per-tile statistics)")
    parser.add_argument("--video", help="a clip: compare its first --frames frames instead of photos")
    parser.add_argument("--frames", type=int, default=24)
    args = parser.parse_args()
    if args.video:
        for model in args.models:
            video(model, args.video, args.frames, args.tile)
        return
    print("| model | photo | size | mode | PSNR vs untiled (dB) | seam ratio | untiled s | tiled s | time ratio |")
    print("|---|---|---|---|---|---|---|---|---|")
    for model in args.models:
        for path in photos(args.images):
            image = read_image(path)
            for size in args.sizes.split(","):
                if size != "native":
                    width, height = map(int, size.split("x"))
                    image = cv2.resize(read_image(path), (width, height), interpolation=cv2.INTER_CUBIC)
                compare(path.name, model, image, args)


if __name__ == "__main__":
    main()
