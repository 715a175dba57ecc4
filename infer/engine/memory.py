"""How much memory the tiled run may take, and how it shares it: the strip size and the activations that stay in
memory (the rest go to temporary files). The model of memory use (CPU, onnxruntime, float32) was measured by
benchmarks/tile_memory.py; see docs/benchmarks.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ... import BrushworkError
from .contract import STRIDE
from .program import peak_live_floats, widest_step

DEFAULT_TILE = 384  # strips of 384^2 frame pixels: measured fastest on a 2-core CPU (256-768 within 4%)
BASE_BYTES = 150 * 2**20  # Python, numpy, OpenCV, onnxruntime and the session with its weights
WORK_BYTES_PER_FLOAT = 16  # a strip's input (read, gathered, normalized) and output (conv, deviations) floats
HEADROOM = 0.8


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


def plan(steps: list[dict], height: int, width: int, *, tile: int = DEFAULT_TILE,
         max_memory: int | None = None) -> Plan:
    """Strip size and memory for activations for a frame of this size (BrushworkError if the budget cannot
    hold it). Without a budget: strips of tile^2 pixels and activations in memory up to half of what is available."""
    h, w = -(-height // STRIDE) * STRIDE, -(-width // STRIDE) * STRIDE
    live = peak_live_floats(steps) * h * w * 4
    if max_memory is None:
        return Plan(tile * tile, 0.5 * available_memory(), live)
    room = HEADROOM * max_memory - BASE_BYTES - 6 * h * w  # 6: the uint8 input and output frames
    work_per_pixel = WORK_BYTES_PER_FLOAT * widest_step(steps)
    smallest = 8 * w  # eight rows of the full-resolution layers
    if room < smallest * work_per_pixel:
        needed = (BASE_BYTES + 6 * h * w + smallest * work_per_pixel) / HEADROOM
        raise BrushworkError(f"--max-memory {max_memory / 2**30:.2f}GiB is too small for a {width}x{height} "
                             f"frame with this model: it needs at least {needed / 2**30:.2f}GiB; raise it")
    # Strips take at most half of the room, as long as the activations have to share it.
    strip = max(smallest, min(DEFAULT_TILE**2, int(max(room - live, room / 2) // work_per_pixel)))
    return Plan(strip, room - strip * work_per_pixel, live)


def available_memory() -> float:
    """MemAvailable in bytes (Linux); infinite elsewhere."""
    try:
        with open("/proc/meminfo") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:"))
    except (OSError, StopIteration):
        return math.inf
