"""A painting made small brought back to the photo's full size, sharp: the upscaled painting plus the detail the
photo lost when it was made small.

    small = resize(photo, (w, h))                               # the network paints at its working size (stroke.py)
    out = detail_upsample(photo, small, stylizer(small))        # uint8 (H, W, 3): the painting with the photo's edges

A bicubic upscale of a painting made at a fifth of the size keeps its strokes but is a blur at 100 %. What the
upscale misses is exactly what the photo lost on the way down: its brightness minus the upscaled brightness of the
small photo. Adding that back (to every colour channel, so hues stay the painting's) gives the painting its strokes
at the working scale and the photo's edges and texture at full resolution. A guided filter (a local linear fit of
the painting to the photo, He & Sun 2015) was tried first: it smooths the strokes away, since they are not a
function of the photo's brightness (docs/quality.md, "Strokes at any size").
"""

from __future__ import annotations

import numpy as np
from PIL import Image

STRIP_ROWS = 256  # output rows computed at a time: the float work stays at a few strips however large the picture
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R BT.601, as the colour preservation uses


def resize(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """uint8 (H, W, 3) -> uint8 (h, w, 3) for size (w, h); antialiased when it shrinks (Pillow's reducing filter)."""
    return np.asarray(Image.fromarray(frame).resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0))


def detail_upsample(photo: np.ndarray, small_photo: np.ndarray, small_painting: np.ndarray,
                    detail: float = 1.0) -> np.ndarray:
    """uint8 (H, W, 3) photo, its small version and the painting of that -> uint8 (H, W, 3) painting at full size,
    with `detail` times the photo's lost fine detail added."""
    height, width = photo.shape[:2]
    painting = np.asarray(Image.fromarray(small_painting).resize((width, height), Image.Resampling.BICUBIC))
    blurred = np.asarray(Image.fromarray(_brightness(small_photo), mode="F").resize((width, height),
                                                                                   Image.Resampling.BICUBIC))
    out = np.empty_like(photo)
    for top in range(0, height, STRIP_ROWS):
        rows = slice(top, min(top + STRIP_ROWS, height))
        lost = _brightness(photo[rows]) - blurred[rows]
        strip = painting[rows].astype(np.float32) + detail * lost[..., None]
        out[rows] = np.clip(strip + 0.5, 0, 255).astype(np.uint8)
    return out


def _brightness(frame: np.ndarray) -> np.ndarray:
    return frame.astype(np.float32) @ LUMA
