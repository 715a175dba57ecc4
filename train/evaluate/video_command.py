"""Measure how much a stylized video flickers: the warping error of Lai et al. (2018), per frame and overall.

    brushwork evaluate-video bikes.mp4 --model starry.onnx
    brushwork evaluate-video bikes.mp4 --model starry.onnx --temporal-blend 0.5 0.7 --style starry.jpg
    brushwork evaluate-video bikes.mp4 --model starry.onnx --max-frames 100 --max-side 640 --out eval/
    brushwork evaluate-video bikes.mp4 --model starry.onnx --temporal-blend 0.5 --measure-flow farneback

Each frame is stylized on its own (the per-frame baseline) and, with --temporal-blend, also passed through the
flow-guided blend of `brushwork stylize --temporal-blend`, so the rows of one table share the same frames and
flow. The input video's own warping error is the floor; "above floor" is the part of the error the input's
motion does not explain (the flicker proper), relative to per-frame's. Scene cuts (pairs where under 20 % of
pixels pass the flow check) are left out and listed. With --style the per-frame content and style losses
are reported too (they load torch and the VGG), so stability bought by washing the style out shows. Writes
warping_error.png (error per frame) and metrics.json into --out.

The measure warps along DIS flow, as the blend does, so the two can agree on the same flow errors;
--measure-flow farneback gives a second opinion from an unrelated method (whose own, larger errors pull every
row towards the per-frame one). benchmarks/temporal_truth.py checks both against the exact flow of a
generated clip.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ... import BrushworkError

PER_FRAME = "per-frame"
OUTPUT_FILES = ("warping_error.png", "metrics.json")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("video", help="input video (mp4, mov, mkv, webm, avi)")
    parser.add_argument("--model", required=True, help="exported model (.onnx, from `brushwork export`)")
    parser.add_argument("--temporal-blend", type=float, nargs="+", default=[], metavar="A",
                        help="also score the flow-guided blend at these strengths in [0, 1), e.g. 0.5 0.7")
    parser.add_argument("--flow-side", type=int, metavar="PX",
                        help="the blend's flow runs on input frames whose longest side is at most this "
                        "(default: 480, as `stylize --temporal-blend`)")
    parser.add_argument("--flow-preset", choices=("ultrafast", "fast", "medium"),
                        help="the blend's DIS flow preset (default: medium, as `stylize`); the measure's own flow is "
                        "--measure-flow, on full-size frames")
    parser.add_argument("--measure-flow", choices=("dis", "farneback"), default="dis",
                        help="the flow the measure warps by: DIS medium on full frames (default), or Farneback as "
                        "a second opinion that shares nothing with the blend's DIS flow")
    parser.add_argument("--style", help="style image: report per-frame style and content losses (loads torch)")
    parser.add_argument("--style-size", type=int, default=512,
                        help="longest side of the style image for the loss, as in training (default: %(default)s)")
    parser.add_argument("--loss-every", type=int, default=5, metavar="K",
                        help="with --style, score the losses on every K-th frame: VGG is slow on a CPU "
                        "(default: %(default)s)")
    parser.add_argument("--max-frames", type=int, help="score only the first N frames")
    parser.add_argument("--max-side", type=int, help="downscale frames so their longest side is at most this")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda[:N] for the model (default: %(default)s)")
    parser.add_argument("--out", help="folder for warping_error.png and metrics.json (default: VIDEO_STEM-consistency)")
    parser.add_argument("--overwrite", action="store_true", help="replace warping_error.png and metrics.json in --out")


def run(args: argparse.Namespace) -> int:
    _validate(args)
    from tqdm import tqdm

    from ...infer import Stylizer
    from ...infer.temporal import TemporalBlender
    from .frames import read_frames
    from .warping import WarpingError

    stylizer = Stylizer(args.model, device=args.device)
    options = {k: v for k, v in (("flow_side", args.flow_side), ("preset", args.flow_preset)) if v is not None}
    blenders = {f"blend {a:g}": TemporalBlender(a, workers=0, **options) for a in args.temporal_blend}
    scorer = _style_scorer(args)
    tracker, losses, ms = WarpingError(args.measure_flow), {}, {}
    frames = _at_least_two(read_frames(args.video, max_frames=args.max_frames, max_side=args.max_side), args.video)
    count = 0
    for count, frame in enumerate(tqdm(frames, unit="frame", file=sys.stderr, dynamic_ncols=True), 1):
        outputs = _stylize_frame(frame, stylizer, blenders, ms)
        tracker.update(frame, outputs)
        if scorer is not None and (count - 1) % args.loss_every == 0:
            for name, terms in scorer(frame, outputs).items():
                losses.setdefault(name, []).append(terms)
    means = tracker.means()  # raises for a video of fewer than 2 frames
    rows = _rows(means, losses, ms, count)
    print(format_table(rows, frames=count, valid=float(np.mean(tracker.valid_fraction)), provider=stylizer.provider,
                       cuts=tracker.cuts, measure=args.measure_flow))
    _write_outputs(_out_dir(args), tracker, rows, args)
    return 0


def _validate(args: argparse.Namespace) -> None:
    for a in args.temporal_blend:
        if not 0.0 <= a < 1.0:
            raise BrushworkError(f"--temporal-blend {a}: give strengths in [0, 1), e.g. 0.5")
    if args.max_frames is not None and args.max_frames < 2:
        raise BrushworkError(f"--max-frames {args.max_frames}: the warping error needs at least 2 frames")
    if args.loss_every < 1:
        raise BrushworkError(f"--loss-every {args.loss_every}: give a positive frame interval")
    if args.max_side is not None and args.max_side < 16:
        raise BrushworkError(f"--max-side {args.max_side}: give at least 16 pixels")
    if args.style is not None and not Path(args.style).is_file():
        raise BrushworkError(f"--style {args.style}: no such file")
    out = _out_dir(args)
    if out.exists() and not out.is_dir():
        raise BrushworkError(f"--out {out} is a file; give a folder for warping_error.png and metrics.json")
    if not args.overwrite:
        from ...data.images import refuse_existing

        refuse_existing([out / name for name in OUTPUT_FILES], "--out")


def _at_least_two(frames: Iterator[np.ndarray], video: str) -> Iterator[np.ndarray]:
    """The same frames, after checking up front (before any progress output) that there are two to compare."""
    first = list(itertools.islice(frames, 2))
    if len(first) < 2:
        raise BrushworkError(f"{video}: has fewer than 2 frames; the warping error needs consecutive frames")
    return itertools.chain(first, frames)


def _style_scorer(args: argparse.Namespace):
    if args.style is None:
        return None
    from .video_losses import StyleScorer

    return StyleScorer(args.style, style_size=args.style_size)


def _stylize_frame(frame: np.ndarray, stylizer, blenders: dict, ms: dict[str, float]) -> dict[str, np.ndarray]:
    """The per-frame output and each blend of it; adds the milliseconds each took to `ms`."""
    start = time.perf_counter()
    stylized = stylizer(frame)
    model_ms = (time.perf_counter() - start) * 1e3
    ms[PER_FRAME] = ms.get(PER_FRAME, 0.0) + model_ms
    outputs = {PER_FRAME: stylized}
    for name, blender in blenders.items():
        start = time.perf_counter()
        outputs[name] = blender(frame, stylized)
        ms[name] = ms.get(name, 0.0) + model_ms + (time.perf_counter() - start) * 1e3
    return outputs


def _rows(means: dict[str, float], losses: dict[str, list[dict]], ms: dict[str, float], count: int) -> list[dict]:
    """One dict per series: warping error, its ratio to the floor and to per-frame, mean losses, ms/frame."""
    rows = []
    for name, error in means.items():
        floor, base = means["input"], means[PER_FRAME]
        row = {"series": name, "warping_error": error, "x_floor": _ratio(error, floor),
               "x_per_frame": _ratio(error, base) if name != "input" else None,
               # the flicker proper: what the flow of the input does not explain, relative to per-frame's
               "above_floor_x_per_frame": _ratio(error - floor, base - floor) if name != "input" else None,
               "ms_per_frame": ms[name] / count if name in ms else None}
        for term in ("style", "content"):
            row[f"{term}_loss"] = float(np.mean([t[term] for t in losses[name]])) if name in losses else None
        rows.append(row)
    return rows


def _ratio(a: float, b: float) -> float | None:
    return a / b if b > 0 else None


def format_table(rows: list[dict], *, frames: int, valid: float, provider: str, cuts: list[int] = (),
                 measure: str = "dis") -> str:
    """The printed table: one line per series, losses relative to per-frame in brackets."""
    base = next(r for r in rows if r["series"] == PER_FRAME)
    skipped = f"; {len(cuts)} scene cut(s) left out (pairs {', '.join(map(str, cuts))})" if cuts else ""
    flow = "Farneback" if measure == "farneback" else "DIS medium"
    lines = [(f"{frames} frames, measured along {flow} flow, {valid:.0%} of pixels pass its check on average"
             f"{skipped}; model on {provider}"),
             (f"{'series':<16}{'warping error':>15}{'x floor':>9}{'x per-frame':>13}{'above floor':>13}"
              f"{'style loss':>20}{'content loss':>20}{'ms/frame':>10}")]
    for r in rows:
        lines.append(f"{r['series'] if r['series'] != 'input' else 'input (floor)':<16}{r['warping_error']:>15.6f}"
                     f"{_num(r['x_floor'], '.2f'):>9}{_num(r['x_per_frame'], '.3f'):>13}"
                     f"{_num(r['above_floor_x_per_frame'], '.3f'):>13}"
                     f"{_loss(r, base, 'style_loss'):>20}{_loss(r, base, 'content_loss'):>20}"
                     f"{_num(r['ms_per_frame'], '.1f'):>10}")
    return "\n".join(lines)


def _num(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _loss(row: dict, base: dict, key: str) -> str:
    if row[key] is None:
        return "-"
    change = "" if row is base else f" ({row[key] / base[key] - 1:+.1%})"
    return f"{row[key]:.4g}{change}"


def _json_safe(value):
    """NaN (a frame pair with no trusted pixel) -> null: JSON has no NaN."""
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def _out_dir(args: argparse.Namespace) -> Path:
    return Path(args.out) if args.out else Path(f"{Path(args.video).stem}-consistency")


def _write_outputs(out: Path, tracker, rows: list[dict], args: argparse.Namespace) -> None:
    from ...data.images import atomic_write
    from ...infer.temporal import FLOW_PRESET, FLOW_SIDE
    from .chart import plot_series

    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise BrushworkError(f"--out {out}: cannot create the folder ({e.strerror})") from None
    metrics = {"video": str(args.video), "model": str(args.model), "measure_flow": args.measure_flow,
               "blend_flow": {"side": args.flow_side or FLOW_SIDE, "preset": args.flow_preset or FLOW_PRESET},
               "rows": rows,
               "per_frame": tracker.errors,
               "valid_fraction": tracker.valid_fraction, "scene_cuts": tracker.cuts}
    text = json.dumps(_json_safe(metrics), indent=1)
    atomic_write(out / "metrics.json", lambda f: f.write(text.encode()))
    plot_series(tracker.errors, out / "warping_error.png", title=f"warping error per frame: {Path(args.video).name}")
    print(f"wrote {out / 'warping_error.png'} and {out / 'metrics.json'}")
