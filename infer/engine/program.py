"""The tile program: the steps (convolutions, instance norms, renames) that the tile graph's metadata lists, in
the order infer/engine/tiling.py runs them over a whole frame, and what each step reads, writes and costs.
models/tiled.py writes the program; this reads it (no torch).
"""

from __future__ import annotations

import json
from pathlib import Path

from ... import BrushworkError
from .contract import TILED_FORMAT, TILED_FORMAT_KEY, TILED_PROGRAM_KEY


def read_program(props: dict, path: Path) -> list[dict]:
    """The steps the tile graph's branches compute, from its metadata, with each step's resolution."""
    if props.get(TILED_FORMAT_KEY) != TILED_FORMAT or TILED_PROGRAM_KEY not in props:
        raise BrushworkError(f"{path}: not a tile graph this brushwork can run (an older export?); re-export the "
                             "model with `brushwork export RUN -o MODEL.onnx`")
    steps, scale = json.loads(props[TILED_PROGRAM_KEY]), 1
    for step in steps:
        if step["op"] == "conv":
            scale = scale * step["stride"] // (2 if step["upsample"] else 1)
            step["scale"] = max(scale, 1)
    return steps


def strip_rows(strip_pixels: int, step: dict, height: int, width: int) -> int:
    """Output rows per strip of a conv step: `strip_pixels` frame pixels, at the step's output resolution."""
    scale = step["scale"]
    rows = max(2, min(height // scale, strip_pixels // width // scale))
    return rows - rows % 2 if step["upsample"] else rows  # upsampled strips start on even rows (see activations.window)


def step_floats(step: dict) -> float:
    """Floats per frame pixel that a conv step's strip moves: its input (stride^2 input pixels per output
    pixel, after upsampling) and its output."""
    ins = step["cin"] * step["stride"] ** 2
    return (ins + step["cout"]) / step["scale"] ** 2


def widest_step(steps: list[dict]) -> float:
    """Floats per frame pixel that one output row of the most demanding conv step moves (see strip_rows)."""
    return max(step_floats(s) for s in steps if s["op"] == "conv")


def peak_live_floats(steps: list[dict]) -> float:
    """The most floats per frame pixel that the buffers alive at the same time hold."""
    live: dict[str, float] = {}
    peak = 0.0
    for step, dead in zip(steps, dead_after(steps)):
        if step["op"] == "conv" and step["dst"] != "out":
            live[step["dst"]] = step["cout"] / step["scale"] ** 2
        elif step["op"] == "rename":
            live[step["dst"]] = live.pop(step["src"])
        peak = max(peak, sum(live.values()))
        for name in dead:
            live.pop(name)
    return peak


def dead_after(steps: list[dict]) -> list[list[str]]:
    """Per step, the buffers that no later step reads before writing them again."""
    result = []
    for i, step in enumerate(steps):
        touched = [step["src"]] if step["op"] == "conv" else [step["buf"], step["skip"]] if step["op"] == "norm" else []
        dead = []
        for name in (n for n in touched if n and n != "image"):
            later = next((s for s in steps[i + 1:] if name in _reads(s) or name in _writes(s)), None)
            if later is None or (name not in _reads(later) and name in _writes(later)):
                dead.append(name)
        result.append(dead)
    return result


def _reads(step: dict) -> set[str]:
    if step["op"] == "conv":
        return {step["src"]}
    return {step["buf"], step["skip"]} - {None} if step["op"] == "norm" else {step["src"]}


def _writes(step: dict) -> set[str]:
    return {step["dst"]} if step["op"] in ("conv", "rename") else {step["buf"]}
