"""The learning rate of each step: a short linear warm-up, then constant or a cosine decay to zero.

A cosine decay is what makes a short run worth its steps: with a constant 1e-3 the network keeps hopping
around the minimum it has found, and the last steps at a small rate settle it (the same reason nanoGPT and
timm decay). The warm-up keeps the first Adam steps, whose moment estimates are still noise, from throwing
a freshly initialized or warm-started network far off.
"""

from __future__ import annotations

import math

SCHEDULES = ("cosine", "constant")


def learning_rate(step: int, total: int, *, base: float, warmup: int, kind: str = "cosine") -> float:
    """The rate for optimizer step `step` (1-based) of `total`."""
    if warmup > 0 and step <= warmup:
        return base * step / warmup
    if kind == "constant" or total <= warmup:
        return base
    progress = min(1.0, (step - warmup) / (total - warmup))
    return base * 0.5 * (1.0 + math.cos(math.pi * progress))
