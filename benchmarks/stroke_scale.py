"""Strokes at any size: big real photos (and a 4K clip) stylized with `brushwork stylize`'s default (painted at the
model's working size, brought back with the photo's detail) against `--stroke native` (the network at full size).

    python benchmarks/stroke_scale.py starry.onnx ../shared/data/big_photos/*.jpg --style starry_night.jpg \
        --out eval/stroke --clip ../shared/data/big_photos/dogs_on_grass.jpg

For each photo, each way is a `brushwork stylize` subprocess (its wall time and peak RSS measured; native runs under
--max-memory, exact tiling, since the untiled network needs ~0.8 KB per pixel), then:
- the look at screen size: the full-size result downscaled to 1024 px against the 1024-px stylization of the same
  photo (PSNR, SSIM) and against the working-size painting itself, and its style loss against the painting;
- the sharpness at 100 %: mean |Laplacian| of the result over the photo's (a plain bicubic upscale of the working-size
  painting beside it);
- contact sheets: the whole pictures at 1024 px (photo, 1024-px stylization, each way), and 512-px crops at 100 %
  (photo, each way, the bicubic upscale of the working-size painting).
With --clip: a 4K (3840x2160) clip panned across a real photo (no upscaling) through both ways, the native one on
its first frames only (seconds per frame). Results: OUT/results.json, OUT/table.md, OUT/*.jpg.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from brushwork.data.images import open_rgb, resize_to_side
from brushwork.infer import StrokeScale, Stylizer
from brushwork.infer.engine.upsample import resize

SCREEN = 1024
CROP = 512


def run(args: list[str]) -> tuple[float, float]:
    """A `brushwork stylize` subprocess: (wall seconds, peak RSS in GiB)."""
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "brushwork", "stylize", *map(str, args), "--quiet",
                                "--overwrite"])
    _, status, usage = os.wait4(process.pid, 0)
    if status:
        raise SystemExit(f"brushwork stylize {' '.join(map(str, args))} failed ({status})")
    return time.perf_counter() - start, usage.ru_maxrss / 2**20


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255**2 / max(mse, 1e-12)))


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM of the brightness over 8x8 windows (Wang et al. 2004 constants)."""
    x, y = (np.asarray(v, dtype=np.float64).mean(-1) for v in (a, b))
    h, w = (s - s % 8 for s in x.shape)
    x, y = (v[:h, :w].reshape(h // 8, 8, w // 8, 8).transpose(0, 2, 1, 3).reshape(-1, 64) for v in (x, y))
    mx, my = x.mean(1), y.mean(1)
    vx, vy, cov = x.var(1), y.var(1), ((x - mx[:, None]) * (y - my[:, None])).mean(1)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    return float(np.mean((2 * mx * my + c1) * (2 * cov + c2) / ((mx**2 + my**2 + c1) * (vx + vy + c2))))


def edge_energy(frame: np.ndarray) -> float:
    g = frame.astype(np.float64).mean(-1)
    return float(np.abs(4 * g[1:-1, 1:-1] - g[:-2, 1:-1] - g[2:, 1:-1] - g[1:-1, :-2] - g[1:-1, 2:]).mean())


def style_losses(model: Path, style: Path, images: dict[str, np.ndarray], photo: np.ndarray) -> dict[str, float]:
    """Each image's weighted style loss against the painting, with the model's own loss network and weights."""
    import torch

    from brushwork.data.images import open_rgb as open_painting
    from brushwork.train.evaluate.compare import load_model, loss_settings, score, scoring_loss
    from brushwork.train.gatys.optimize import to_tensor

    _, config = load_model(model, torch.device("cpu"))
    painting = np.asarray(resize_to_side(open_painting(style), int(config.get("style_size") or 512)), np.uint8)
    loss = scoring_loss(loss_settings(config), painting, torch.device("cpu"))
    content = to_tensor(photo, torch.device("cpu"))
    return {name: score(loss, content, image)["style"] for name, image in images.items()}


def measure_photo(path: Path, model: Path, style: Path | None, out: Path, native_memory: str,
                  strokes: list[str]) -> dict:
    photo = np.asarray(open_rgb(path), dtype=np.uint8)
    h, w = photo.shape[:2]
    ways = {f"stroke {s}": ["--stroke", s] for s in strokes} | {
        "native": ["--stroke", "native", "--max-memory", native_memory]}
    row = {"photo": path.name, "size": f"{w}x{h}", "megapixels": round(w * h / 1e6, 1)}
    results = {}
    for way, flags in ways.items():
        target = out / f"{path.stem}_{way.replace(' ', '')}.png"
        seconds, gib = run([path, "-o", target, "--model", model, "--strip-metadata", *flags])
        results[way] = np.asarray(Image.open(target).convert("RGB"))
        row[f"{way}: seconds"], row[f"{way}: peak GiB"] = round(seconds, 1), round(gib, 2)
    stylizer = Stylizer(model, device="cpu")
    wh, ww = StrokeScale(stylizer).working_size(h, w)
    row["working size"] = f"{ww}x{wh}"
    working = stylizer(resize(photo, (ww, wh)))  # the painting at the working size, as stroke 1 makes it
    upscaled = np.asarray(Image.fromarray(working).resize((w, h), Image.Resampling.BICUBIC))
    side = (SCREEN, round(h * SCREEN / w)) if w >= h else (round(w * SCREEN / h), SCREEN)
    photo_screen = resize(photo, side)
    at_screen = stylizer(photo_screen)  # the 1024-px stylization
    seen = {way: resize(v, side) for way, v in results.items()}
    photo_edges = edge_energy(photo)
    for way, v in seen.items():
        row[f"{way}: PSNR vs 1024 stylization"] = round(psnr(v, at_screen), 2)
        row[f"{way}: SSIM vs 1024 stylization"] = round(ssim(v, at_screen), 3)
        row[f"{way}: edges at 100% / photo's"] = round(edge_energy(results[way]) / photo_edges, 2)
    row["bicubic upscale of stroke 1: edges at 100% / photo's"] = round(edge_energy(upscaled) / photo_edges, 2)
    if style is not None:
        losses = style_losses(model, style, {"1024 stylization": at_screen, **seen}, photo_screen)
        row.update({f"{k}: style loss at 1024": round(v, 1) for k, v in losses.items()})
    sheet([photo_screen, at_screen, *seen.values()], out / f"{path.stem}_screen.jpg")
    top, left = (h - CROP) // 2, (w - CROP) // 2
    crops = [v[top:top + CROP, left:left + CROP] for v in (photo, *results.values(), upscaled)]
    sheet(crops, out / f"{path.stem}_100pct.jpg")
    print(json.dumps(row), flush=True)
    return row


def sheet(images: list[np.ndarray], path: Path) -> None:
    Image.fromarray(np.concatenate(images, axis=1)).save(path, quality=90)


def make_clip(photo_path: Path, path: Path, frames: int, fps: int = 24) -> None:
    """A 3840x2160 clip panning across a real photo at its own resolution (nothing upscaled)."""
    import av

    photo = np.asarray(open_rgb(photo_path), dtype=np.uint8)
    h, w = photo.shape[:2]
    if h < 2160 or w < 3840:
        raise SystemExit(f"{photo_path} is {w}x{h}: a 4K pan needs at least 3840x2160")
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps, options={"crf": "18", "preset": "veryfast"})
        stream.width, stream.height, stream.pix_fmt = 3840, 2160, "yuv420p"
        for i in range(frames):
            x = round((w - 3840) * i / max(frames - 1, 1))
            y = round((h - 2160) * i / max(frames - 1, 1))
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(photo[y:y + 2160, x:x + 3840]), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def measure_clip(photo: Path, model: Path, out: Path, frames: int, native_frames: int) -> dict:
    clip, short = out / "clip_4k.mp4", out / "clip_4k_short.mp4"
    make_clip(photo, clip, frames)
    make_clip(photo, short, native_frames)
    default_s, default_gib = run([clip, "-o", out / "clip_4k_default.mp4", "--model", model])
    native_s, native_gib = run([short, "-o", out / "clip_4k_native.mp4", "--model", model, "--stroke", "native",
                                "--batch-size", "1"])
    row = {"clip": f"3840x2160, {frames} frames panned across {photo.name}",
           "default_s_per_frame": round(default_s / frames, 3), "default_peak_gib": round(default_gib, 2),
           "native_s_per_frame": round(native_s / native_frames, 2), "native_peak_gib": round(native_gib, 2),
           "native_frames": native_frames}
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", type=Path, help="an exported .onnx (its .tiled.onnx beside it for native)")
    parser.add_argument("photos", type=Path, nargs="+", help="real photos of 12 Mpx or more")
    parser.add_argument("--style", type=Path, help="the painting, for the style loss at screen size")
    parser.add_argument("--out", type=Path, default=Path("eval/stroke"))
    parser.add_argument("--native-memory", default="4GB", help="--max-memory of the native runs")
    parser.add_argument("--strokes", nargs="+", default=["1", "0.5", "0.33"], help="--stroke values besides native")
    parser.add_argument("--clip", type=Path, help="a photo of at least 3840x2160 to pan a 4K clip across")
    parser.add_argument("--clip-frames", type=int, default=48)
    parser.add_argument("--native-clip-frames", type=int, default=4)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    results = {"photos": [measure_photo(p, args.model, args.style, args.out, args.native_memory, args.strokes)
                          for p in args.photos]}
    if args.clip:
        results["clip"] = measure_clip(args.clip, args.model, args.out, args.clip_frames, args.native_clip_frames)
    (args.out / "results.json").write_text(json.dumps(results, indent=1))
    rows = results["photos"]  # one line per measure, one column per photo
    lines = ["| measure | " + " | ".join(r["photo"] for r in rows) + " |", "|---|" + "---|" * len(rows)]
    lines += [f"| {k} | " + " | ".join(str(r[k]) for r in rows) + " |" for k in rows[0] if k != "photo"]
    (args.out / "table.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
