"""Stylize any resolution in bounded memory, without seams: overlapping tiles that share the whole image's
instance-norm statistics, blended with a smooth window. Torch-free (onnxruntime + numpy + OpenCV).

    brushwork stylize photo_8k.jpg -o out.png --model starry.onnx --max-memory 2GB
    brushwork stylize big.mp4 -o out.mp4 --model starry.onnx --tile 768

    from brushwork.infer.tiling import TiledStylizer
    stylize = TiledStylizer("starry.onnx", max_memory=2 * 2**30)   # runs starry.tiled.onnx
    out = stylize(frame)                                             # uint8 (H, W, 3) RGB in and out, any size

Why tiles seam and what the tile graph computes: models/tiled.py. One frame goes like this:

1. Statistics. A thumbnail with the pixel count of one tile (Chen et al., AAAI 2022, "thumbnail instance
   normalization") runs with its own statistics. Then `refine` passes (default 1) run the tiles and make the
   statistics of layers 1..refine exact at full resolution: the first layer (a 9x9 conv on raw pixels) sees the
   fine detail a thumbnail lacks, and fixing it alone brings the output ~10 dB closer to the untiled one
   (docs/benchmarks.md). As many passes as the net has norm layers (15) give exactly the untiled output.
2. Render. Each tile runs with those statistics. A tile's output is trusted from `margin` pixels inside its
   edges (the network's receptive radius by default: there the tile computes exactly what the whole image
   would), and neighbours fade into each other over `blend` pixels with raised-cosine weights that sum to one.

Rows of tiles are finished one strip at a time, so memory holds one strip of floats, never a float copy of
the frame. Tile windows start on multiples of the stride (4) so every tile sees the same downsampling grid.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import BrushworkError
from .color import to_uint8
from .padding import MIN_SIDE, pad_to_min_side
from .session import open_session

STRIDE = 4
TILED_SUFFIX = ".tiled.onnx"
DEFAULT_TILE = 1024
DEFAULT_BLEND = 16

# Memory model (CPU, onnxruntime, float32): peak bytes ~ BASE + TILE_BYTES_PER_UNIT * units * tile pixels,
# where units = sum over norm layers of channels / scale^2 (the activation volume per input pixel), plus
# the frame buffers (see tile_for_budget). Measured by benchmarks/tile_memory.py; see docs/benchmarks.md.
BASE_BYTES = 100 * 2**20      # Python, numpy, OpenCV, onnxruntime and the session: 65-75 MB measured
TILE_BYTES_PER_UNIT = 7.0     # 6.1-6.9 measured for 256-1024 px tiles of johnson and johnson-light
HEADROOM = 0.8


@dataclass(frozen=True)
class Span:
    """One tile along one axis, in pixels of the frame padded to the stride.

    The tile runs on [start, stop); its output is trusted on [trust_start, trust_stop) (`margin` inside every
    edge that is not a frame edge); it reports statistics for [core_start, core_stop) (the cores partition
    the axis).
    """

    start: int
    stop: int
    trust_start: int
    trust_stop: int
    core_start: int
    core_stop: int


def plan_axis(length: int, tile: int, margin: int, blend: int) -> list[Span]:
    """Evenly spaced windows of `tile` pixels covering `length`, neighbours' trusted parts overlapping by at
    least `blend` (all multiples of STRIDE). Needs tile >= 2 * margin + blend + STRIDE when length > tile."""
    if length <= tile:
        return [Span(0, length, 0, length, 0, length)]
    for n in range(2, length // STRIDE + 2):
        starts = [STRIDE * round(i * (length - tile) / (n - 1) / STRIDE) for i in range(n)]
        trusted = [(s + margin if s > 0 else 0, s + tile - margin if s + tile < length else length) for s in starts]
        overlaps = [trusted[i][1] - trusted[i + 1][0] for i in range(n - 1)]
        if min(overlaps) >= max(blend, STRIDE):
            break
    cuts = [0] + [STRIDE * ((trusted[i + 1][0] + trusted[i][1]) // (2 * STRIDE)) for i in range(n - 1)] + [length]
    return [Span(s, s + tile, *trusted[i], cuts[i], cuts[i + 1]) for i, s in enumerate(starts)]


def axis_weights(spans: list[Span], blend: int) -> list[np.ndarray]:
    """Per tile, float32 weights over its window that sum to one across tiles at every position.

    blend > 0: each tile's trusted part, with raised-cosine ramps `blend` wide at inner edges, normalized by the
    sum over tiles. blend == 0: a hard cut at the core boundaries (what naive tiling does).
    """
    length = spans[-1].stop
    raw = []
    for i, s in enumerate(spans):
        x = np.arange(s.start, s.stop) + 0.5
        if blend == 0:
            raw.append(((x >= s.core_start) & (x < s.core_stop)).astype(np.float64))
            continue
        w = ((x >= s.trust_start) & (x < s.trust_stop)).astype(np.float64)
        if i > 0:
            w *= _ramp(np.clip((x - s.trust_start) / blend, 0, 1))
        if i + 1 < len(spans):
            w *= _ramp(np.clip((s.trust_stop - x) / blend, 0, 1))
        raw.append(w)
    total = np.zeros(length)
    for s, w in zip(spans, raw):
        total[s.start:s.stop] += w
    return [(w / total[s.start:s.stop]).astype(np.float32) for s, w in zip(spans, raw)]


def _ramp(t: np.ndarray) -> np.ndarray:
    return np.sin(0.5 * np.pi * t) ** 2


class TiledStylizer:
    """Stylize frames of any size with `<model stem>.tiled.onnx`, within a tile size or a memory budget.

    Args:
        model_path: the exported model (`starry.onnx`); its companion `starry.tiled.onnx` must sit beside it.
        tile: tile side in pixels (rounded down to a multiple of 4). A frame no larger than this runs whole.
        max_memory: bytes for inference (activations, tiles and frame buffers); picks the largest tile that fits.
        device: "auto", "cpu" or "cuda[:N]"; threads: onnxruntime intra-op threads (None: one per core).
        margin: pixels of each tile that are context only; default the receptive radius stored in the file.
        blend: width of the cross-fade between neighbouring tiles; 0 cuts hard (for comparisons).
        refine: passes over the tiles that replace the thumbnail statistics of layers 1..refine by the exact
            full-resolution ones (each pass costs one more run of the network over the frame; as many passes
            as the network has norm layers (15) give exactly the untiled output).
        thumbnail: longest side of the statistics thumbnail; by default as large as a tile's pixel count allows
            (the thumbnail runs whole, so it needs the memory of one tile).
        shared_stats: False gives naive tiling (each tile its own statistics): seams, for comparisons only.
    """

    def __init__(self, model_path: str | os.PathLike, *, tile: int | None = None, max_memory: int | None = None,
                 device: str = "auto", threads: int | None = None, margin: int | None = None,
                 blend: int = DEFAULT_BLEND, refine: int = 1, thumbnail: int | None = None,
                 shared_stats: bool = True):
        if tile is not None and max_memory is not None:
            raise BrushworkError("give --tile or --max-memory, not both")
        self.path = companion_path(model_path)
        self.session = open_session(self.path, device, threads)
        self.provider = self.session.get_providers()[0]
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)
        self.layers, radius = _read_layout(self.session, self.path)
        self.margin = radius if margin is None else _multiple_of_stride(margin, "margin")
        self.blend, self.refine, self.thumbnail, self.shared_stats = blend, refine, thumbnail, shared_stats
        self.tile = _multiple_of_stride(tile, "--tile") if tile is not None else DEFAULT_TILE
        self.max_memory = max_memory
        self._means, self._vars, self._layer_slices = _stats_indices(self.layers)
        self._check_tile(self.tile, "--tile")

    @property
    def units(self) -> float:
        """Activation volume per input pixel: sum of channels / scale^2 over the norm layers."""
        return sum(c / s**2 for _, c, s in self.layers)

    def __call__(self, frame):
        """uint8 (H, W, 3) RGB -> stylized uint8 (H, W, 3) RGB of the same size (a path or a PIL image -> a PIL
        image, as Stylizer does)."""
        if not isinstance(frame, np.ndarray):
            from .pictures import stylize_picture

            return stylize_picture(self, frame)
        batch = _check_frame(frame)[None]
        padded, (h, w) = pad_to_min_side(batch)  # smaller than the network takes: padded, cropped back
        if padded is not batch:
            return np.ascontiguousarray(self(padded[0])[:h, :w])
        rows, cols = self.layout(h, w)
        if len(rows) == 1 and len(cols) == 1:  # fits one tile: exactly the untiled network
            core = (0, rows[0].stop, 0, cols[0].stop)
            y, _ = self._run(_crop(frame, rows[0], cols[0]), self._zero_stats(), 0.0, core)
            return to_uint8(y[:h, :w])
        tile = max(rows[0].stop - rows[0].start, cols[0].stop - cols[0].start)
        stats = self._statistics(frame, rows, cols, tile) if self.shared_stats else self._zero_stats()
        return self._render(frame, rows, cols, stats)

    def layout(self, height: int, width: int) -> tuple[list[Span], list[Span]]:
        """The row and column tiles this stylizer uses for a frame of this size."""
        tile = self.tile if self.max_memory is None else self.tile_for_budget(height, width)
        return tuple(plan_axis(-(-n // STRIDE) * STRIDE, tile, self.margin, self.blend) for n in (height, width))

    def tile_for_budget(self, height: int, width: int) -> int:
        """The largest tile (multiple of 4) whose activations, plus this frame's buffers, fit `max_memory`."""
        # Solve BASE + frame + strips (24 * tile * width) + tile buffers and activations (a * tile^2) <= budget.
        a = TILE_BYTES_PER_UNIT * self.units + 16
        # Aim at 80%: onnxruntime's arena holds the thumbnail's and the tiles' plans, whose shapes differ
        # (measured under 2 GiB: 2.00-2.14 GiB with no headroom, 1.96-2.11 GiB aiming at 90%).
        free = HEADROOM * self.max_memory - BASE_BYTES - 6 * height * width  # 6: the input and output frames
        side = (-24 * width + math.sqrt((24 * width) ** 2 + 4 * a * max(free, 0))) / (2 * a)
        tile = min(int(side), max(height, width) + STRIDE) // STRIDE * STRIDE
        smallest = 2 * self.margin + self.blend + STRIDE
        if tile < smallest:
            needed = (BASE_BYTES + 6 * height * width + 24 * smallest * width + a * smallest**2) / HEADROOM
            raise BrushworkError(f"--max-memory {self.max_memory / 2**30:.2f}GiB is too small for a {width}x{height} "
                                 f"frame with this model: it needs at least {needed / 2**30:.2f}GiB; raise it")
        return tile

    def _check_tile(self, tile: int, flag: str) -> None:
        smallest = 2 * self.margin + self.blend + STRIDE
        if tile < smallest:
            raise BrushworkError(f"{flag} allows tiles of {tile} px, too small for this model: a tile needs at "
                                 f"least {smallest} px ({self.margin} px of context on each side); raise it")

    def _statistics(self, frame: np.ndarray, rows: list[Span], cols: list[Span], tile: int) -> np.ndarray:
        """Thumbnail statistics, then `refine` passes that make layers 1..refine exact (see the module doc)."""
        thumb = _thumbnail(frame, self.thumbnail, tile * tile)  # no more pixels than a tile: same memory
        _, stats = self._run(thumb, self._zero_stats(), 0.0, (0, thumb.shape[0], 0, thumb.shape[1]))
        for layer in range(min(self.refine, len(self.layers))):
            # Only layer `layer` takes the measured value: its inputs were normalized with exact statistics, so
            # it is exact, while the deeper layers measured inputs from a mix of exact and thumbnail statistics.
            # Replacing those too makes the set inconsistent and the output worse (measured: docs/benchmarks.md).
            measured = self._accumulate(frame, rows, cols, stats)
            part = self._layer_slices[layer]
            stats[part] = measured[part]
        return stats

    def _accumulate(self, frame: np.ndarray, rows: list[Span], cols: list[Span], stats: np.ndarray) -> np.ndarray:
        """Run every tile with `stats`; combine the per-core statistics into the whole frame's (in float64)."""
        mean_sum = np.zeros(len(self._means))
        square_sum = np.zeros(len(self._means))
        for r in rows:
            for c in cols:
                core = (r.core_start - r.start, r.core_stop - r.start, c.core_start - c.start, c.core_stop - c.start)
                _, measured = self._run(_crop(frame, r, c), stats, 1.0, core)
                area = (r.core_stop - r.core_start) * (c.core_stop - c.core_start)  # same share at every scale
                mean, var = measured[self._means].astype(np.float64), measured[self._vars].astype(np.float64)
                mean_sum += area * mean
                square_sum += area * (var + mean**2)
        area = rows[-1].stop * cols[-1].stop
        result = np.empty_like(stats)
        result[self._means] = mean_sum / area
        result[self._vars] = np.maximum(square_sum / area - (mean_sum / area) ** 2, 0.0)
        return result

    def _render(self, frame: np.ndarray, rows: list[Span], cols: list[Span], stats: np.ndarray) -> np.ndarray:
        h, w = frame.shape[:2]
        out = np.empty((h, w, 3), np.uint8)
        row_weights, col_weights = axis_weights(rows, self.blend), axis_weights(cols, self.blend)
        weight = 1.0 if self.shared_stats else 0.0
        carry = None
        for i, r in enumerate(rows):
            strip = np.zeros((r.stop - r.start, cols[-1].stop, 3), np.float32)
            if carry is not None:
                strip[:len(carry)] = carry  # the previous strip's share of the rows both cover
            for c, cw in zip(cols, col_weights):
                core = (r.core_start - r.start, r.core_stop - r.start, c.core_start - c.start, c.core_stop - c.start)
                y, _ = self._run(_crop(frame, r, c), stats, weight, core)
                y *= row_weights[i][:, None, None]
                y *= cw[None, :, None]
                strip[:, c.start:c.stop] += y
            done = rows[i + 1].start if i + 1 < len(rows) else r.stop  # later strips never reach above this
            out[r.start:min(done, h)] = to_uint8(strip[:min(done, h) - r.start, :w])
            carry = strip[done - r.start:]
        return out

    def _run(self, image: np.ndarray, stats: np.ndarray, weight: float,
             core: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
        y, measured = self.session.run(None, {"image": image[None], "norm_stats": stats,
                                              "stats_weight": np.array(weight, np.float32),
                                              "core": np.array(core, np.int64)})
        return y[0], measured

    def _zero_stats(self) -> np.ndarray:
        return np.zeros(2 * len(self._means), np.float32)


def companion_path(model_path: str | os.PathLike) -> Path:
    """`starry.onnx` -> `starry.tiled.onnx`; BrushworkError with the export command if it is missing."""
    path = Path(model_path)
    tiled = path if path.name.endswith(TILED_SUFFIX) else path.with_name(path.stem + TILED_SUFFIX)
    if not tiled.is_file():
        raise BrushworkError(f"--model {path}: no tile graph {tiled.name} beside it (needed by --tile/--max-memory); "
                             f"re-export with `brushwork export RUN -o {path}`")
    return tiled


def _read_layout(session, path: Path) -> tuple[list[tuple[str, int, int]], int]:
    """The stats vector's layer layout and the receptive radius, from the file's metadata."""
    props = session.get_modelmeta().custom_metadata_map
    names = [i.name for i in session.get_inputs()]
    if names != ["image", "norm_stats", "stats_weight", "core"] or "tiled_layers" not in props:
        raise BrushworkError(f"{path}: not a brushwork tile graph (inputs {names}); re-export the model")
    layers = [tuple(layer) for layer in json.loads(props["tiled_layers"])]
    return layers, int(props["tiled_receptive_radius"])


def _stats_indices(layers: list[tuple[str, int, int]]) -> tuple[np.ndarray, np.ndarray, list[slice]]:
    """Indices of the means and of the variances in the stats vector (per layer: C means, then C variances),
    and each layer's slice of it."""
    means, variances, slices, offset = [], [], [], 0
    for _, channels, _ in layers:
        means += range(offset, offset + channels)
        variances += range(offset + channels, offset + 2 * channels)
        slices.append(slice(offset, offset + 2 * channels))
        offset += 2 * channels
    return np.array(means), np.array(variances), slices


def _multiple_of_stride(value: int, flag: str) -> int:
    if not isinstance(value, int) or value < 0:
        raise BrushworkError(f"{flag} {value!r}: give a whole number of pixels")
    return value // STRIDE * STRIDE


def _check_frame(frame: np.ndarray) -> np.ndarray:
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise BrushworkError("TiledStylizer expects a uint8 (H, W, 3) RGB frame")
    return frame


def _crop(frame: np.ndarray, r: Span, c: Span) -> np.ndarray:
    """The tile's window; past the frame's bottom/right edge, reflected as the network pads to the stride."""
    h, w = frame.shape[:2]
    tile = frame[r.start:min(r.stop, h), c.start:min(c.stop, w)]
    pad = ((0, r.stop - min(r.stop, h)), (0, c.stop - min(c.stop, w)), (0, 0))
    return np.pad(tile, pad, mode="reflect") if any(p[1] for p in pad) else np.ascontiguousarray(tile)


def _thumbnail(frame: np.ndarray, side: int | None, max_pixels: int) -> np.ndarray:
    """Area-downscaled frame, longest side <= side and at most max_pixels, sides multiples of 4."""
    import cv2

    h, w = frame.shape[:2]
    scale = min(1.0, (side or h + w) / max(h, w), math.sqrt(max_pixels / (h * w)))
    th, tw = (max(MIN_SIDE, round(n * scale / STRIDE) * STRIDE) for n in (h, w))
    return cv2.resize(frame, (tw, th), interpolation=cv2.INTER_AREA)


def seam_ratio(image: np.ndarray, rows: list[Span], cols: list[Span]) -> float:
    """Mean squared gradient across the tile borders (core cuts) / mean squared gradient elsewhere.

    About 1 when the borders are invisible (it varies with the content: compare with the untiled image's value
    at the same lines); well above 1 when tiles seam.
    """
    x = image.astype(np.float32)
    dx = ((x[:, 1:] - x[:, :-1]) ** 2).sum(-1)  # (H, W-1): between columns j and j+1
    dy = ((x[1:] - x[:-1]) ** 2).sum(-1)        # (H-1, W)
    at_x = np.zeros(dx.shape[1], bool)
    at_y = np.zeros(dy.shape[0], bool)
    at_x[[c.core_start - 1 for c in cols[1:] if c.core_start < x.shape[1]]] = True
    at_y[[r.core_start - 1 for r in rows[1:] if r.core_start < x.shape[0]]] = True
    border = np.concatenate([dx[:, at_x].ravel(), dy[at_y].ravel()])
    rest = np.concatenate([dx[:, ~at_x].ravel(), dy[~at_y].ravel()])
    return float(border.mean() / max(rest.mean(), 1e-12))
