"""Stylize any resolution in bounded memory, exactly as one run over the whole image would, without seams.
Torch-free (onnxruntime + numpy).

    brushwork stylize photo_8k.jpg -o out.png --model starry.onnx --max-memory 2GB
    brushwork stylize big.mp4 -o out.mp4 --model starry.onnx --tile 768

    from brushwork.infer.tiling import TiledStylizer
    stylize = TiledStylizer("starry.onnx", max_memory=2 * 2**30)   # runs starry.tiled.onnx
    out = stylize(frame)                                             # uint8 (H, W, 3) RGB in and out, any size

Why tiles seam, and why this runs the network one layer at a time: models/tiled.py. One frame goes like this:
each step of the program (a convolution, or the end of a residual block) runs over the whole frame in strips of
rows. A convolution's strip reads the rows it needs from the previous layer's buffer (its kernel's halo,
reflected at the frame's edges as the network pads), normalizes them with that layer's statistics, which are
complete because the previous step has finished the whole frame, and writes its pre-norm output together with
the output's per-strip mean and variance. Those combine (in float64) into the exact statistics of the next
instance norm. So every instance norm sees the whole frame's statistics, as in the untiled network, and the
work is one run of the network plus the halos.

The buffers (the pre-norm activations of one or two layers: up to 192 B per frame pixel for johnson) stay in
memory as far as the budget allows; the ones that do not fit go to temporary files (read and written with
pread/pwrite, so they do not count in the process's memory). The strips are sized to the budget too.
`shared_stats=False` tiles the frame and runs each tile as its own image (naive tiling: seams), for comparisons
only.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import BrushworkError
from .activations import ArrayPool, Buffer, combine, padded, window
from .color import to_uint8
from .contract import (
    MIN_SIDE,
    STRIDE,
    TILED_FORMAT,
    TILED_FORMAT_KEY,
    TILED_PROGRAM_KEY,
    edge_margin,
    min_input_side,
    tiled_path,
)
from .padding import pad_to_min_side
from .session import open_session

DEFAULT_TILE = 384  # strips of 384^2 frame pixels: measured fastest on a 2-core CPU (256-768 within 4%)

# Memory model (CPU, onnxruntime, float32). Measured by benchmarks/tile_memory.py; see docs/benchmarks.md.
BASE_BYTES = 150 * 2**20  # Python, numpy, OpenCV, onnxruntime and the session with its weights
WORK_BYTES_PER_FLOAT = 16  # a strip's input (read, gathered, normalized) and output (conv, deviations) floats
HEADROOM = 0.8


@dataclass(frozen=True)
class Span:
    """Part of an axis: [start, stop) in pixels. For naive tiling (`shared_stats=False`), the tiles' windows;
    for the exact run, the output strips of the last layer (where a seam could be)."""

    start: int
    stop: int

    @property
    def core_start(self) -> int:  # kept for seam_ratio: the border between two spans
        return self.start

    @property
    def core_stop(self) -> int:
        return self.stop


class TiledStylizer:
    """Stylize frames of any size with `<model stem>.tiled.onnx`, within a working-set size or a memory budget.

    Args:
        model_path: the exported model (`starry.onnx`); its companion `starry.tiled.onnx` must sit beside it.
        tile: work on about tile x tile frame pixels at a time (strips of tile^2 / width rows); activations in
            memory up to half the available memory, the rest in temporary files. Any size gives the same image.
        max_memory: bytes for inference (activations, strips and frame buffers): sizes the strips and decides
            which activations stay in memory and which go to temporary files.
        device: "auto", "cpu" or "cuda[:N]"; threads: onnxruntime intra-op threads (None: one per core).
        spill: the folder for activations that do not fit in memory (default: the system's temporary folder).
        shared_stats: False gives naive tiling (tiles of `tile` px, each its own image, hard cuts): seams, for
            comparisons only.
    """

    def __init__(self, model_path: str | os.PathLike, *, tile: int | None = None, max_memory: int | None = None,
                 device: str = "auto", threads: int | None = None, spill: str | os.PathLike | None = None,
                 shared_stats: bool = True):
        if tile is not None and max_memory is not None:
            raise BrushworkError("give --tile or --max-memory, not both")
        if tile is not None and (not isinstance(tile, int) or tile < 8):
            raise BrushworkError(f"--tile {tile!r}: give a whole number of pixels, at least 8")
        self.path = companion_path(model_path)
        self.session = open_session(self.path, device, threads)
        self.provider = self.session.get_providers()[0]
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)
        self.margin = edge_margin(self.metadata)  # the main graph pads inside itself; the tile program is the bare net
        self.steps = _read_program(self.metadata, self.path)
        self.tile = tile if tile is not None else DEFAULT_TILE
        self.max_memory, self.spill, self.shared_stats = max_memory, spill, shared_stats
        self._pool = ArrayPool()  # activation memory, kept from frame to frame
        self.spilled_bytes = 0  # what the last frame wrote to temporary files

    @property
    def units(self) -> float:
        """Floats per frame pixel of the largest pair of buffers alive at once (a layer's input and output)."""
        return _peak_live_floats(self.steps)

    def __call__(self, frame):
        """uint8 (H, W, 3) RGB -> stylized uint8 (H, W, 3) RGB of the same size (a path or a PIL image -> a PIL
        image, as Stylizer does)."""
        if not isinstance(frame, np.ndarray):
            from .pictures import stylize_picture

            return stylize_picture(self, frame)
        batch = _check_frame(frame)[None]
        padded, (h, w) = pad_to_min_side(batch, min_input_side(self.margin))  # too small: padded, cropped back
        if padded is not batch:
            return np.ascontiguousarray(self(padded[0])[:h, :w])
        if not self.shared_stats:
            return self._naive(frame)
        pad = ((0, -h % STRIDE), (0, -w % STRIDE), (0, 0))  # as the main graph pads: to its stride, then the margin
        image = np.pad(frame, pad, mode="reflect") if any(p[1] for p in pad) else frame
        m = self.margin
        image = np.pad(image, ((m, m), (m, m), (0, 0)), mode="reflect") if m else image
        self.spilled_bytes = 0
        out = self._run_program(image, self.plan(*image.shape[:2]))
        return out if out.shape[:2] == (h, w) else np.ascontiguousarray(out[m:m + h, m:m + w])

    def batch(self, frames: np.ndarray) -> np.ndarray:
        """uint8 (N, H, W, 3) RGB frames -> stylized, same shape: frame by frame (the budget is for one frame)."""
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
            raise ValueError(f"expected uint8 (N, H, W, 3) RGB frames, got {frames.dtype} {frames.shape}")
        return np.stack([self(frame) for frame in frames])

    def plan(self, height: int, width: int) -> Plan:
        """Strip size and memory for activations for a frame of this size (BrushworkError if the budget cannot
        hold it). Activations that do not fit go to temporary files, the largest first to be created there."""
        h, w = -(-height // STRIDE) * STRIDE, -(-width // STRIDE) * STRIDE
        live = self.units * h * w * 4
        if self.max_memory is None:
            return Plan(self.tile * self.tile, 0.5 * _available_memory(), live)
        room = HEADROOM * self.max_memory - BASE_BYTES - 6 * h * w  # 6: the uint8 input and output frames
        work_per_pixel = WORK_BYTES_PER_FLOAT * self._widest_step()
        smallest = 8 * w  # eight rows of the full-resolution layers
        if room < smallest * work_per_pixel:
            needed = (BASE_BYTES + 6 * h * w + smallest * work_per_pixel) / HEADROOM
            raise BrushworkError(f"--max-memory {self.max_memory / 2**30:.2f}GiB is too small for a {width}x{height} "
                                 f"frame with this model: it needs at least {needed / 2**30:.2f}GiB; raise it")
        # Strips take at most half of the room, as long as the activations have to share it.
        strip = max(smallest, min(DEFAULT_TILE**2, int(max(room - live, room / 2) // work_per_pixel)))
        return Plan(strip, room - strip * work_per_pixel, live)

    def layout(self, height: int, width: int) -> tuple[list[Span], list[Span]]:
        """Rows and columns of the pieces that meet in the output: the last layer's strips (exact run) or the
        tiles (naive tiling). seam_ratio measures the gradient across their borders."""
        if not self.shared_stats:
            return tuple(plan_axis(n, self.tile) for n in (height, width))
        h, w = -(-height // STRIDE) * STRIDE, -(-width // STRIDE) * STRIDE
        rows = _strip_rows(self.plan(height, width).strip_pixels, self.steps[-1], h, w)
        return [Span(r0, min(r0 + rows, height)) for r0 in range(0, height, rows)], [Span(0, width)]

    def _widest_step(self) -> float:
        """Floats per frame pixel that one output row of the most demanding conv step moves (see _strip_rows)."""
        return max(_step_floats(s) for s in self.steps if s["op"] == "conv")

    def _run_program(self, image: np.ndarray, plan: Plan) -> np.ndarray:
        h, w = image.shape[:2]
        out = np.empty((h, w, 3), np.uint8)
        buffers: dict[str, Buffer] = {}
        try:
            stats: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # conv index -> (mean, var) of its output
            for step, dead in zip(self.steps, _dead_after(self.steps)):
                if step["op"] == "conv":
                    self._conv(step, image, buffers, stats, out, plan)
                elif step["op"] == "norm":
                    self._norm(step, buffers, stats, plan)
                else:  # rename: the block's output becomes the next block's input (and skip)
                    buffers[step["dst"]] = buffers.pop(step["src"])
                for name in dead:
                    self._pool.give(buffers.pop(name).close())
        finally:
            for buffer in buffers.values():
                self._pool.give(buffer.close())
        return out

    def _conv(self, step, image, buffers, stats, out, plan) -> None:
        """One convolution over the whole frame, strip by strip; its output's statistics into `stats`."""
        i, p = step["index"], f"c{step['index']}"
        src = None if step["src"] == "image" else buffers[step["src"]]
        in_h, in_w = image.shape[:2] if src is None else src.shape[1:]
        up = 2 if step["upsample"] else 1
        oh, ow = in_h * up // step["stride"], in_w * up // step["stride"]
        dst = None
        if step["dst"] != "out":
            used = sum(b.memory_bytes for b in buffers.values())
            memory = self._pool.take(step["cout"] * oh * ow * 4, used, plan.memory)  # None: a temporary file
            dst = Buffer((step["cout"], oh, ow), memory, self.spill)
            self.spilled_bytes += 0 if memory is not None else step["cout"] * oh * ow * 4
        feeds = {}
        if step["prologue"] == "norm_relu":
            feeds = dict(zip((f"{p}_mean", f"{p}_var"), stats[step["stats"]]))
        cols = window(0, ow, step, in_w)
        rows = _strip_rows(plan.strip_pixels, step, image.shape[0], image.shape[1])
        parts = []
        for o0 in range(0, oh, rows):
            o1 = min(o0 + rows, oh)
            x = padded(image if src is None else src, window(o0, o1, step, in_h), cols, step)
            if dst is None:
                (y,) = self.session.run([f"{p}_y"], {f"{p}_x": x, **feeds})
                out[o0:o1] = to_uint8(y[0])
                continue
            y, mean, m2 = self.session.run([f"{p}_conv", f"{p}_ymean", f"{p}_ym2"], {f"{p}_x": x, **feeds})
            dst.write(o0, y[0])
            parts.append(((o1 - o0) * ow, mean, m2))
        if dst is not None:
            buffers[step["dst"]] = dst
            stats[i] = combine(parts)

    def _norm(self, step, buffers, stats, plan) -> None:
        """In place, strip by strip: x <- norm(x) + skip (a residual block's end) or relu(norm(x))."""
        p, x = f"n{step['index']}", buffers[step["buf"]]
        skip = buffers[step["skip"]] if step["skip"] else None
        mean, var = stats[step["stats"]]
        _, h, w = x.shape
        rows = max(1, plan.strip_pixels // (16 * w))  # 1/4 resolution: 16 frame pixels per activation pixel
        for r0 in range(0, h, rows):
            r1 = min(r0 + rows, h)
            feeds = {f"{p}_x": np.ascontiguousarray(x.read(r0, r1))[None], f"{p}_mean": mean, f"{p}_var": var}
            if skip is not None:
                feeds[f"{p}_skip"] = np.ascontiguousarray(skip.read(r0, r1))[None]
            (y,) = self.session.run([f"{p}_y"], feeds)
            x.write(r0, y[0])

    def _naive(self, frame: np.ndarray) -> np.ndarray:
        """Each tile its own image (its own statistics), pasted with hard cuts."""
        h, w = frame.shape[:2]
        whole = TiledStylizer.__new__(TiledStylizer)  # this stylizer, exact, on one tile at a time
        whole.__dict__.update(self.__dict__, shared_stats=True, max_memory=None)
        out = np.empty_like(frame)
        rows, cols = self.layout(h, w)
        for r in rows:
            for c in cols:
                tile = np.ascontiguousarray(frame[r.start:r.stop, c.start:c.stop])
                out[r.start:r.stop, c.start:c.stop] = whole(tile)
        return out


@dataclass(frozen=True)
class Plan:
    """strip_pixels: frame pixels per strip (each step's strip has that many at its own resolution); memory:
    bytes that activations may take in memory (the rest goes to temporary files); live: the bytes that the
    activations alive at once take at most."""

    strip_pixels: int
    memory: float
    live: float

    @property
    def spill(self) -> bool:
        """Whether some activations will go to temporary files."""
        return self.live > self.memory


def _strip_rows(strip_pixels: int, step: dict, height: int, width: int) -> int:
    """Output rows per strip of a conv step: `strip_pixels` frame pixels, at the step's output resolution."""
    scale = step["scale"]
    rows = max(2, min(height // scale, strip_pixels // width // scale))
    return rows - rows % 2 if step["upsample"] else rows  # upsampled strips start on even rows (see activations.window)


def _step_floats(step: dict) -> float:
    """Floats per frame pixel that a conv step's strip moves: its input (stride^2 input pixels per output
    pixel, after upsampling) and its output."""
    ins = step["cin"] * step["stride"] ** 2
    return (ins + step["cout"]) / step["scale"] ** 2


def _peak_live_floats(steps: list[dict]) -> float:
    """The most floats per frame pixel that the buffers alive at the same time hold."""
    live: dict[str, float] = {}
    peak = 0.0
    for step, dead in zip(steps, _dead_after(steps)):
        if step["op"] == "conv" and step["dst"] != "out":
            live[step["dst"]] = step["cout"] / step["scale"] ** 2
        elif step["op"] == "rename":
            live[step["dst"]] = live.pop(step["src"])
        peak = max(peak, sum(live.values()))
        for name in dead:
            live.pop(name)
    return peak


def _dead_after(steps: list[dict]) -> list[list[str]]:
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


def plan_axis(length: int, tile: int) -> list[Span]:
    """Tiles of `tile` pixels (the last one shorter) covering `length`, for naive tiling."""
    return [Span(s, min(s + tile, length)) for s in range(0, length, tile)]


def companion_path(model_path: str | os.PathLike) -> Path:
    """`starry.onnx` -> `starry.tiled.onnx`; BrushworkError with the export command if it is missing."""
    path = Path(model_path)
    tiled = tiled_path(path)
    if not tiled.is_file():
        raise BrushworkError(f"--model {path}: no tile graph {tiled.name} beside it (needed by --tile/--max-memory); "
                             f"re-export with `brushwork export RUN -o {path}`")
    return tiled


def _read_program(props: dict, path: Path) -> list[dict]:
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


def _available_memory() -> float:
    """MemAvailable in bytes (Linux); infinite elsewhere."""
    try:
        with open("/proc/meminfo") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:"))
    except (OSError, StopIteration):
        return math.inf


def _check_frame(frame: np.ndarray) -> np.ndarray:
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3 or 0 in frame.shape:
        raise BrushworkError("TiledStylizer expects a non-empty uint8 (H, W, 3) RGB frame")
    return frame


def seam_ratio(image: np.ndarray, rows: list[Span], cols: list[Span]) -> float:
    """Mean squared gradient across the borders between pieces / mean squared gradient elsewhere.

    About 1 when the borders are invisible (it varies with the content: compare with the untiled image's value
    at the same lines); well above 1 when tiles seam.
    """
    x = image.astype(np.float32)
    dx = ((x[:, 1:] - x[:, :-1]) ** 2).sum(-1)  # (H, W-1): between columns j and j+1
    dy = ((x[1:] - x[:-1]) ** 2).sum(-1)        # (H-1, W)
    at_x = np.zeros(dx.shape[1], bool)
    at_y = np.zeros(dy.shape[0], bool)
    at_x[[c.start - 1 for c in cols[1:] if c.start < x.shape[1]]] = True
    at_y[[r.start - 1 for r in rows[1:] if r.start < x.shape[0]]] = True
    border = np.concatenate([dx[:, at_x].ravel(), dy[at_y].ravel()])
    rest = np.concatenate([dx[:, ~at_x].ravel(), dy[~at_y].ravel()])
    return float(border.mean() / max(rest.mean(), 1e-12))


__all__ = ["MIN_SIDE", "Span", "TiledStylizer", "plan_axis", "seam_ratio"]
