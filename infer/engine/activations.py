"""Whole-frame activations for the layer-by-layer run of infer/engine/tiling.py: where they live (memory or a
temporary file), the window of input rows and columns a conv strip reads, and statistics combined over strips.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np

from ... import BrushworkError


class Buffer:
    """A (C, H, W) float32 activation over the whole frame, in memory or in a file (rows stored contiguously as
    (H, C, W), read and written with pread/pwrite)."""

    def __init__(self, shape: tuple[int, int, int], memory: np.ndarray | None, folder: str | os.PathLike | None):
        """memory: a flat float32 array of at least C * H * W floats to hold the activation, or None: a file."""
        self.shape = shape
        self.row_bytes = shape[0] * shape[2] * 4
        spill = memory is None
        self.base = memory
        self.array = None if spill else memory[:np.prod(shape)].reshape(shape)
        # Unlinked at once: gone when closed, or when the process dies. Closed by close().
        try:
            self.file = tempfile.TemporaryFile(dir=folder) if spill else None  # noqa: SIM115
        except OSError as e:
            raise BrushworkError(f"cannot create a temporary file for activations in {folder or tempfile.gettempdir()}"
                                 f" ({e.strerror}); set TMPDIR to a writable folder or raise --max-memory") from None
        self.fd = self.file.fileno() if spill else None

    @property
    def memory_bytes(self) -> int:
        return 0 if self.base is None else self.base.nbytes

    def read(self, r0: int, r1: int) -> np.ndarray:
        """Rows [r0, r1) as (C, r1 - r0, W)."""
        if self.fd is None:
            return self.array[:, r0:r1]
        c, _, w = self.shape
        block = np.empty((r1 - r0, c, w), np.float32)
        view, offset = memoryview(block).cast("B"), r0 * self.row_bytes
        while len(view):
            n = os.preadv(self.fd, [view], offset)
            if n <= 0:
                raise BrushworkError("the temporary activation file ended early; is the disk full?")
            view, offset = view[n:], offset + n
        return block.transpose(1, 0, 2)

    def write(self, r0: int, block: np.ndarray) -> None:
        """Rows starting at r0 from a (C, rows, W) array."""
        if self.fd is None:
            self.array[:, r0:r0 + block.shape[1]] = block
            return
        data = memoryview(np.ascontiguousarray(block.transpose(1, 0, 2))).cast("B")
        offset = r0 * self.row_bytes
        while len(data):
            try:
                n = os.pwrite(self.fd, data, offset)
            except OSError as e:
                raise BrushworkError(f"writing activations to a temporary file failed ({e.strerror}); free disk "
                                     "space in TMPDIR or raise --max-memory") from None
            data, offset = data[n:], offset + n

    def close(self) -> np.ndarray | None:
        """Release the file, or hand back the memory (for an ArrayPool)."""
        base, self.base, self.array = self.base, None, None
        if self.file is not None:
            self.file.close()
            self.file = self.fd = None
        return base


class ArrayPool:
    """Flat float32 arrays kept for the next activations, of this frame and the next ones: memory the process
    has not touched yet costs page faults (measured 2.7 s for the first GB on the dev VM, 0.1 s to rewrite it),
    which took a third of the time of a 4K frame. Like onnxruntime's arena, it keeps what it took.
    """

    def __init__(self):
        self.free: list[np.ndarray] = []

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self.free)

    def take(self, nbytes: int, used: int, limit: float) -> np.ndarray | None:
        """An array of nbytes to 1.25 x nbytes (a kept one, or a new one), or None when `used` bytes in use plus
        the kept ones plus a new one would pass `limit` even after dropping the kept ones. (A much larger kept
        array would hold memory that the next activations may need; the net's sizes repeat exactly.)"""
        fits = [a for a in self.free if nbytes <= a.nbytes <= 1.25 * nbytes]
        if fits:
            best = min(fits, key=lambda a: a.nbytes)
            self.free = [a for a in self.free if a is not best]
            return best
        while self.free and used + self.nbytes + nbytes > limit:
            self.free.remove(max(self.free, key=lambda a: a.nbytes))
        return np.empty(nbytes // 4, np.float32) if used + self.nbytes + nbytes <= limit else None

    def give(self, array: np.ndarray | None) -> None:
        if array is not None:
            self.free.append(array)


def window(o0: int, o1: int, step: dict, length: int) -> tuple[int, int, int, int]:
    """The input range [lo, hi) along one axis that output positions [o0, o1) of a conv step read, and the
    padding (before, after) that the frame's edges add: the kernel's reach, reflected as the network pads. An
    upsampling step reads its input at low resolution with one more position on each side (padded by repeating
    the edge): the graph upsamples and drops one position on each side, which is the reflection at the higher
    resolution (o0 and o1 are even there)."""
    k, s = step["kernel"], step["stride"]
    start, stop = s * o0 - k // 2, s * (o1 - 1) + k - k // 2
    if step["upsample"]:
        start, stop = o0 // 2 - 1, -(-o1 // 2) + 1
    lo, hi = max(start, 0), min(stop, length)
    return lo, hi, lo - start, stop - hi


def padded(source, rows: tuple, cols: tuple, step: dict) -> np.ndarray:
    """A conv step's input for one strip, batch first: the image (1, h, w, 3) or an activation (1, C, h, w)."""
    mode = "edge" if step["upsample"] else "reflect"
    if isinstance(source, np.ndarray):  # the uint8 image
        block = source[rows[0]:rows[1], cols[0]:cols[1]]
        return np.pad(block, (rows[2:], cols[2:], (0, 0)), mode=mode)[None]
    block = source.read(rows[0], rows[1])[:, :, cols[0]:cols[1]]
    return np.pad(block, ((0, 0), rows[2:], cols[2:]), mode=mode)[None]


def combine(parts: list[tuple[int, np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Per-strip (count, mean, sum of squared deviations) -> the whole frame's mean and (biased) variance, in
    float64 (Chan et al.'s pairwise update, all strips at once)."""
    counts = np.array([n for n, _, _ in parts], np.float64)[:, None]
    means = np.stack([m for _, m, _ in parts]).astype(np.float64)
    m2 = np.stack([v for _, _, v in parts]).astype(np.float64)
    mean = (counts * means).sum(0) / counts.sum()
    var = (m2 + counts * (means - mean) ** 2).sum(0) / counts.sum()
    return mean.astype(np.float32), var.astype(np.float32)
