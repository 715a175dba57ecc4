"""Stylize any resolution in bounded memory, exactly as one run over the whole image would, without seams.
Torch-free (onnxruntime + numpy).

    brushwork stylize photo_8k.jpg -o out.png --model starry.onnx --max-memory 2GB
    brushwork stylize big.mp4 -o out.mp4 --model starry.onnx --tile 768

    from brushwork.infer.engine.tiling import TiledStylizer
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

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ... import BrushworkError
from ..look.color import to_uint8
from .activations import ArrayPool, Buffer, combine, padded, window
from .contract import STRIDE, WEIGHTS_IN_KEY, WEIGHTS_SHA256_KEY, edge_margin, min_input_side, tiled_path
from .memory import DEFAULT_TILE, Plan, plan
from .padding import pad_to_min_side
from .program import dead_after, read_program, strip_rows
from .session import OnnxModel


@dataclass(frozen=True)
class Span:
    """Part of an axis: [start, stop) in pixels. For naive tiling (`shared_stats=False`), the tiles' windows;
    for the exact run, the output strips of the last layer (where a seam could be)."""

    start: int
    stop: int



class TiledStylizer(OnnxModel):
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
                 shared_stats: bool = True, arena: bool = True):
        if tile is not None and max_memory is not None:
            raise BrushworkError("give --tile or --max-memory, not both")
        if tile is not None and (not isinstance(tile, int) or tile < 8):
            raise BrushworkError(f"--tile {tile!r}: give a whole number of pixels, at least 8")
        super().__init__(companion_path(model_path), device, threads, arena)
        check_shared_weights(self.path, self.metadata)
        self.margin = edge_margin(self.metadata)  # the main graph pads inside itself; the tile program is the bare net
        self.steps = read_program(self.metadata, self.path)
        self.tile = tile if tile is not None else DEFAULT_TILE
        self.max_memory, self.spill, self.shared_stats = max_memory, spill, shared_stats
        self._pool = ArrayPool()  # activation memory, kept from frame to frame
        self.spilled_bytes = 0  # what the last frame wrote to temporary files

    def _frame(self, frame: np.ndarray) -> np.ndarray:
        batch = frame[None]
        padded, (h, w) = pad_to_min_side(batch, min_input_side(self.margin))  # too small: padded, cropped back
        if padded is not batch:
            return np.ascontiguousarray(self._frame(padded[0])[:h, :w])
        if not self.shared_stats:
            return self._naive(frame)
        pad = ((0, -h % STRIDE), (0, -w % STRIDE), (0, 0))  # as the main graph pads: to its stride, then the margin
        image = np.pad(frame, pad, mode="reflect") if any(p[1] for p in pad) else frame
        m = self.margin
        image = np.pad(image, ((m, m), (m, m), (0, 0)), mode="reflect") if m else image
        self.spilled_bytes = 0
        out = self._run_program(image, self.plan(*image.shape[:2]))
        return out if out.shape[:2] == (h, w) else np.ascontiguousarray(out[m:m + h, m:m + w])

    def _frames(self, frames: np.ndarray) -> np.ndarray:
        return np.stack([self._frame(frame) for frame in frames])  # frame by frame: the budget is for one frame

    def plan(self, height: int, width: int) -> Plan:
        """Strip size and memory for activations for a frame of this size (engine/memory.py)."""
        return plan(self.steps, height, width, tile=self.tile, max_memory=self.max_memory)

    def layout(self, height: int, width: int) -> tuple[list[Span], list[Span]]:
        """Rows and columns of the pieces that meet in the output: the last layer's strips (exact run) or the
        tiles (naive tiling). engine/seams.py measures the gradient across their borders."""
        if not self.shared_stats:
            return tuple(plan_axis(n, self.tile) for n in (height, width))
        h, w = -(-height // STRIDE) * STRIDE, -(-width // STRIDE) * STRIDE
        rows = strip_rows(self.plan(height, width).strip_pixels, self.steps[-1], h, w)
        return [Span(r0, min(r0 + rows, height)) for r0 in range(0, height, rows)], [Span(0, width)]

    def _run_program(self, image: np.ndarray, plan: Plan) -> np.ndarray:
        h, w = image.shape[:2]
        out = np.empty((h, w, 3), np.uint8)
        buffers: dict[str, Buffer] = {}
        try:
            stats: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # conv index -> (mean, var) of its output
            for step, dead in zip(self.steps, dead_after(self.steps)):
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
        rows = strip_rows(plan.strip_pixels, step, image.shape[0], image.shape[1])
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


def check_shared_weights(tiled: Path, metadata: dict[str, str]) -> None:
    """A tile graph that reads its weights from the main export's bytes (models/shared_weights.py) is only right
    with the very file it was made from: onnxruntime would read a changed one at the old offsets without a word."""
    if WEIGHTS_SHA256_KEY not in metadata:
        return
    source = tiled.with_name(metadata.get(WEIGHTS_IN_KEY, ""))
    if hashlib.sha256(source.read_bytes()).hexdigest() != metadata[WEIGHTS_SHA256_KEY]:
        raise BrushworkError(f"{tiled}: its weights are stored in {source.name}, which has changed since; export "
                             f"the model again (`brushwork export RUN -o {source.name}`) or reinstall brushwork")


__all__ = ["Span", "TiledStylizer", "plan_axis"]
