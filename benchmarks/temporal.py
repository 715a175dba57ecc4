"""Benchmarks for temporal consistency: what the flow-guided blend costs, alone and end to end.

    python benchmarks/temporal.py blend-cost --video ../shared/data/video/bikes.mp4
    python benchmarks/temporal.py end-to-end --video ../shared/data/video/bikes.mp4 --model starry.onnx --alpha 0.6
    python benchmarks/temporal.py make-clip --image ../shared/data/content/tubingen.jpg -o pan.mp4

make-clip: a generated test clip, a camera panning (1.5 px/frame, sub-pixel) and slowly zooming over a still
photo, so the motion is smooth and known; the floor is what bilinear warping and H.264 leave (~5e-4).

blend-cost: milliseconds per frame of TemporalBlender at 640x360, 1280x720, 1920x1080 and 3840x2160 (frames taken
from the video and resized), split into the motion (two DIS flows on the downscaled input and the checks: what the
pipeline runs on worker threads beside the model) and the blend proper (warp the previous output, mix: what waits
for the model), one thread.
end-to-end: wall-clock fps of the video pipeline behind `brushwork stylize VIDEO -o OUT --model M` (decode, model,
post, encode threads; infer/video.stylize_video) without and with the blend of `--temporal-blend A`, in one
process with one warm session, best of --repeat runs each, with per-stage ms.
Run under the bench lock (`flock /tmp/brushwork-bench.lock python benchmarks/temporal.py ...`) and note `uptime`.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from brushwork.infer.look.temporal import FLOW_PRESET, FLOW_SIDE, TemporalBlender
from brushwork.train.evaluate.frames import read_frames

SIZES = {"640x360": (640, 360), "1280x720": (1280, 720), "1920x1080": (1920, 1080), "3840x2160": (3840, 2160)}


def blend_cost(args: argparse.Namespace) -> None:
    from brushwork.infer.look.flow import to_gray

    frames = list(read_frames(args.video, max_frames=args.frames))
    rng = np.random.default_rng(0)
    print("| size | flow side | preset | motion ms/frame | blend ms/frame | frames |\n|---|---|---|---|---|---|")
    for name, (w, h) in SIZES.items():
        clip = [cv2.resize(f, (w, h), interpolation=cv2.INTER_LINEAR) for f in frames]
        stylized = [np.clip(f + rng.normal(0, 8, f.shape), 0, 255).astype(np.uint8) for f in clip]
        for side in args.flow_side:
            for preset in args.preset:
                blender = TemporalBlender(args.alpha, flow_side=side, preset=preset, workers=0)
                start = time.perf_counter()
                grays = [to_gray(f, side) for f in clip]
                motions = [blender.motion(a, b) for a, b in itertools.pairwise(grays)]
                motion_ms = (time.perf_counter() - start) * 1e3 / len(motions)
                prev, start = stylized[0], time.perf_counter()
                for motion, out in zip(motions, stylized[1:]):
                    prev = blender._blend(motion, prev, out) if motion is not None else out
                blend_ms = (time.perf_counter() - start) * 1e3 / len(motions)
                print(f"| {name} | {side} | {preset} | {motion_ms:.1f} | {blend_ms:.1f} | {len(motions)} |", flush=True)


def end_to_end(args: argparse.Namespace) -> None:
    from brushwork.infer import Stylizer

    stylizer = Stylizer(args.model, device=args.device)
    stylizer(np.zeros((64, 64, 3), np.uint8))  # warm-up: the first run plans memory
    print(f"model {args.model} on {stylizer.provider}, batch {args.batch_size}")
    print("| pipeline | frames | best wall s | fps | ms/frame per stage |\n|---|---|---|---|---|")
    base = None
    for alpha in [None, *args.alpha]:
        stages = min((_run_pipeline(args, stylizer, alpha) for _ in range(args.repeat)), key=lambda s: s.wall)
        fps = stages.frames / stages.wall
        base = base or fps
        label = "per-frame" if alpha is None else f"--temporal-blend {alpha:g}"
        per_stage = ", ".join(f"{k} {1e3 * v / stages.frames:.1f}" for k, v in stages.seconds.items())
        print(f"| {label} | {stages.frames} | {stages.wall:.2f} | {fps:.2f} ({fps / base - 1:+.1%}) | {per_stage} |",
              flush=True)


def _run_pipeline(args: argparse.Namespace, stylizer, alpha: float | None):
    """The video pipeline (decode -> model -> post -> encode threads), as `brushwork stylize` runs it."""
    from brushwork.infer.media.video import stylize_video

    blender = TemporalBlender(alpha, flow_side=args.flow_side, preset=args.preset) if alpha is not None else None
    with tempfile.TemporaryDirectory() as tmp:
        source = _clip(args, Path(tmp))
        try:  # as `brushwork stylize --temporal-blend A` runs it: the flow starts from the decoder, on worker threads
            return stylize_video(source, Path(tmp) / "out.mp4", stylizer.batch, blender,
                                 prefetch=blender.prefetch if blender else None, batch_size=args.batch_size,
                                 progress=False)
        finally:
            if blender is not None:
                blender.close()


def _clip(args: argparse.Namespace, folder: Path) -> Path:
    """The first --max-frames frames of the video (stream copy, no re-encode), so runs are short and equal."""
    if args.max_frames is None:
        return Path(args.video)
    import av

    out = folder / f"clip{Path(args.video).suffix}"
    with av.open(str(args.video)) as src, av.open(str(out), "w") as dst:
        stream_in = src.streams.video[0]
        stream_out = dst.add_stream_from_template(stream_in)
        for count, packet in enumerate(src.demux(stream_in)):
            if packet.dts is None or count >= args.max_frames:
                continue
            packet.stream = stream_out
            dst.mux(packet)
    return out


def make_clip(args: argparse.Namespace) -> None:
    import av

    from brushwork.data.images import read_image

    photo = read_image(args.image)
    w, h = args.size
    with av.open(args.output, "w") as out:
        stream = out.add_stream("libx264", rate=25, options={"crf": "12", "preset": "medium"})
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        for t in range(args.frames):
            frame = _camera(photo, t, w, h)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        out.mux(stream.encode())
    print(f"wrote {args.output}: {args.frames} frames {w}x{h}")


def _camera(photo: np.ndarray, t: int, w: int, h: int) -> np.ndarray:
    """The view at frame t: a window panning right 1.5 px/frame and zooming in 0.1 %/frame."""
    ph, pw = photo.shape[:2]
    scale = min(pw / (w * 1.6), ph / (h * 1.2)) / (1 + 0.001 * t)  # photo pixels per output pixel
    x0, y0 = 0.1 * pw + 1.5 * t * scale, (ph - h * scale) / 2
    matrix = np.float32([[scale, 0, x0], [0, scale, y0]])
    return cv2.warpAffine(photo, matrix, (w, h), flags=cv2.INTER_AREA | cv2.WARP_INVERSE_MAP)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    cost = sub.add_parser("blend-cost")
    cost.add_argument("--video", required=True)
    cost.add_argument("--frames", type=int, default=20)
    cost.add_argument("--alpha", type=float, default=0.6)
    cost.add_argument("--flow-side", type=int, nargs="+", default=[FLOW_SIDE])
    cost.add_argument("--preset", nargs="+", default=[FLOW_PRESET])
    e2e = sub.add_parser("end-to-end")
    e2e.add_argument("--video", required=True)
    e2e.add_argument("--model", required=True)
    e2e.add_argument("--alpha", type=float, nargs="+", default=[0.6])
    e2e.add_argument("--max-frames", type=int, default=100)
    e2e.add_argument("--device", default="cpu")
    e2e.add_argument("--repeat", type=int, default=2)
    e2e.add_argument("--batch-size", type=int, default=4)
    e2e.add_argument("--flow-side", type=int, default=FLOW_SIDE)
    e2e.add_argument("--preset", default=FLOW_PRESET)
    clip = sub.add_parser("make-clip")
    clip.add_argument("--image", required=True)
    clip.add_argument("-o", "--output", required=True)
    clip.add_argument("--frames", type=int, default=100)
    clip.add_argument("--size", type=int, nargs=2, default=(640, 360), metavar=("W", "H"))
    args = parser.parse_args(argv)
    print(f"# {' '.join(sys.argv)}\n# load: {os.getloadavg()}, cores: {os.cpu_count()}")
    {"blend-cost": blend_cost, "end-to-end": end_to_end, "make-clip": make_clip}[args.what](args)


if __name__ == "__main__":
    main()
