"""The painting a run learns: read at its training size, and its identity (name, sha256, size) for the
checkpoint, so that a model always says which painting it was trained on.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch

from .. import BrushworkError
from ..data.images import open_rgb, resize_to_side


def load_style(path: str, size: int) -> tuple[torch.Tensor, dict]:
    """The style image as (1,3,H,W) float [0,1], longest side `size`, and its identity for the checkpoint."""
    try:
        image = resize_to_side(open_rgb(path), size)
    except BrushworkError as e:
        raise BrushworkError(f"--style {e}") from None
    tensor = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255).permute(2, 0, 1)[None].contiguous()
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return tensor, {"name": Path(path).stem, "sha256": digest, "size": list(image.size)}
