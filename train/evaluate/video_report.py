"""What `brushwork evaluate-video` reports: one row per series (the input's floor, per-frame, each blend), the
printed table, and metrics.json with warping_error.png beside it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ... import BrushworkError
from ...data.files import atomic_write
from ...infer.look.temporal import FLOW_PRESET, FLOW_SIDE
from .chart import plot_series
from .config import EvaluateVideoConfig
from .warping import WarpingError

PER_FRAME = "per-frame"
OUTPUT_FILES = ("warping_error.png", "metrics.json")


def rows(means: dict[str, float], losses: dict[str, list[dict]], ms: dict[str, float], count: int) -> list[dict]:
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


def write_outputs(cfg: EvaluateVideoConfig, tracker: WarpingError, rows: list[dict]) -> None:
    """metrics.json (rows, per-frame errors, flow settings, scene cuts) and warping_error.png into --out."""
    out = cfg.out_dir
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise BrushworkError(f"--out {out}: cannot create the folder ({e.strerror})") from None
    metrics = {"video": str(cfg.video), "model": str(cfg.model), "measure_flow": cfg.measure_flow,
               "blend_flow": {"side": cfg.flow_side or FLOW_SIDE, "preset": cfg.flow_preset or FLOW_PRESET},
               "rows": rows,
               "per_frame": tracker.errors,
               "valid_fraction": tracker.valid_fraction, "scene_cuts": tracker.cuts}
    text = json.dumps(_json_safe(metrics), indent=1)
    atomic_write(out / "metrics.json", lambda f: f.write(text.encode()))
    plot_series(tracker.errors, out / "warping_error.png", title=f"warping error per frame: {Path(cfg.video).name}")
    print(f"wrote {out / 'warping_error.png'} and {out / 'metrics.json'}")
