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
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ... import BrushworkError
from ...config import add_arguments as add_config_arguments
from ...config import from_args
from .config import EvaluateVideoConfig


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, EvaluateVideoConfig)


def run(args: argparse.Namespace) -> int:
    cfg = from_args(EvaluateVideoConfig, args)
    _check_files(cfg)
    from tqdm import tqdm

    from ...infer import Stylizer
    from ...infer.look.temporal import TemporalBlender
    from .frames import read_frames
    from .video_report import PER_FRAME, format_table, rows, write_outputs
    from .warping import WarpingError

    stylizer = Stylizer(cfg.model, device=cfg.device)
    options = {k: v for k, v in (("flow_side", cfg.flow_side), ("preset", cfg.flow_preset)) if v is not None}
    blenders = {f"blend {a:g}": TemporalBlender(a, workers=0, **options) for a in cfg.temporal_blend}
    scorer = _style_scorer(cfg)
    tracker, losses, ms = WarpingError(cfg.measure_flow), {}, {}
    frames = _at_least_two(read_frames(cfg.video, max_frames=cfg.max_frames, max_side=cfg.max_side), cfg.video)
    count = 0
    for count, frame in enumerate(tqdm(frames, unit="frame", file=sys.stderr, dynamic_ncols=True), 1):
        outputs = _stylize_frame(frame, stylizer, blenders, ms, PER_FRAME)
        tracker.update(frame, outputs)
        if scorer is not None and (count - 1) % cfg.loss_every == 0:
            for name, terms in scorer(frame, outputs).items():
                losses.setdefault(name, []).append(terms)
    table = rows(tracker.means(), losses, ms, count)  # means() raises for a video of fewer than 2 frames
    print(format_table(table, frames=count, valid=float(np.mean(tracker.valid_fraction)),
                       provider=stylizer.provider, cuts=tracker.cuts, measure=cfg.measure_flow))
    write_outputs(cfg, tracker, table)
    return 0


def _check_files(cfg: EvaluateVideoConfig) -> None:
    """The style image exists and --out is a folder without earlier results (unless --overwrite)."""
    from .video_report import OUTPUT_FILES

    if cfg.style is not None and not Path(cfg.style).is_file():
        raise BrushworkError(f"--style {cfg.style}: no such file")
    out = cfg.out_dir
    if out.exists() and not out.is_dir():
        raise BrushworkError(f"--out {out} is a file; give a folder for warping_error.png and metrics.json")
    if not cfg.overwrite:
        from ...data.images import refuse_existing

        refuse_existing([out / name for name in OUTPUT_FILES], "--out")


def _at_least_two(frames: Iterator[np.ndarray], video: str) -> Iterator[np.ndarray]:
    """The same frames, after checking up front (before any progress output) that there are two to compare."""
    first = list(itertools.islice(frames, 2))
    if len(first) < 2:
        raise BrushworkError(f"{video}: has fewer than 2 frames; the warping error needs consecutive frames")
    return itertools.chain(first, frames)


def _style_scorer(cfg: EvaluateVideoConfig):
    if cfg.style is None:
        return None
    from .video_losses import StyleScorer

    return StyleScorer(cfg.style, style_size=cfg.style_size)


def _stylize_frame(frame: np.ndarray, stylizer, blenders: dict, ms: dict[str, float],
                   per_frame: str) -> dict[str, np.ndarray]:
    """The per-frame output and each blend of it; adds the milliseconds each took to `ms`."""
    start = time.perf_counter()
    stylized = stylizer(frame)
    model_ms = (time.perf_counter() - start) * 1e3
    ms[per_frame] = ms.get(per_frame, 0.0) + model_ms
    outputs = {per_frame: stylized}
    for name, blender in blenders.items():
        start = time.perf_counter()
        outputs[name] = blender(frame, stylized)
        ms[name] = ms.get(name, 0.0) + model_ms + (time.perf_counter() - start) * 1e3
    return outputs
