"""How visible the borders between the pieces of a tiled picture are: the measure of the seam tests and
benchmarks/seams.py."""

from __future__ import annotations

import numpy as np

from .tiling import Span


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
