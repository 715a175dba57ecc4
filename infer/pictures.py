"""Stylizing pictures: a file or a PIL image in, the same kind out, with the photo's metadata.

    from brushwork.infer import Stylizer, stylize_file
    stylizer = Stylizer("starry.onnx")
    picture = stylizer("photo.jpg")          # or stylizer(Image.open(...)): an upright PIL image of the same size,
                                             # its EXIF (orientation 1), ICC profile and PNG text in picture.info
    stylize_file("photo.heic", "photo_starry.jpg", stylizer)   # what `brushwork stylize` runs for each file
    stylize_file("party.gif", "party_starry.gif", stylizer)    # an animation: every frame, timing and loop kept

Any size from 1x1 up (infer/padding.py), any format data/images.py reads; animated GIF, APNG, WebP and AVIF
are short clips (infer/animation.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from .. import BrushworkError
from ..data.images import open_image, resize_to_side, to_rgb, write_image
from ..data.metadata import read_metadata

Post = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (input frame, stylized frame) -> output frame


@dataclass
class Options:
    """How `stylize_file` treats a file: the `brushwork stylize` flags that apply to pictures."""

    max_side: int | None = None  # resize so the longest side is at most this
    post: Post | None = None  # colour preservation, strength; for animations also the temporal blend
    strip_metadata: bool = False  # write no EXIF, ICC profile or PNG text
    batch_size: int = 4  # animation frames per model call
    crf: int = 18  # animations written as video: quality and x264 preset
    preset: str = "medium"
    progress: bool = False


def stylize_file(src: str | os.PathLike, dst: str | os.PathLike, stylizer, options: Options | None = None) -> str:
    """Stylize one picture file into `dst` (written atomically); returns a short report for the log."""
    from .animation import stylize_animation
    from .animation_io import is_animated

    src, dst, options = Path(src), Path(dst), options or Options()
    if is_animated(src):
        return stylize_animation(src, dst, stylizer, options)
    image, metadata = open_image(src)
    frame = np.asarray(resize_to_side(image, options.max_side), dtype=np.uint8)
    write_image(dst, stylize_frame(stylizer, frame, options.post, src),
                metadata=None if options.strip_metadata else metadata)
    return f"{frame.shape[1]}x{frame.shape[0]}"


def stylize_picture(stylizer, picture: str | os.PathLike | Image.Image) -> Image.Image:
    """A path or a PIL image -> the stylized PIL image, upright, with the metadata in `.info` under Pillow's
    own keys ('exif', 'icc_profile', PNG text keys), as if it had been opened from a file. A still picture: of an
    animation this is the first frame (`stylize_file` does every frame)."""
    if isinstance(picture, Image.Image):
        metadata = read_metadata(picture)
        image = to_rgb(ImageOps.exif_transpose(picture))
    elif isinstance(picture, (str, os.PathLike)):
        image, metadata = open_image(picture)
    else:
        raise TypeError(f"expected a uint8 (H, W, 3) array, a path or a PIL image, got {type(picture).__name__}")
    out = Image.fromarray(stylize_frame(stylizer, np.asarray(image, dtype=np.uint8)))
    options = metadata.save_options("PNG", out.size)
    out.info.update({k: v for k, v in options.items() if k in ("exif", "icc_profile")})
    out.info.update(metadata.text)
    return out


def stylize_frame(stylizer, frame: np.ndarray, post: Post | None = None, src: Path | None = None) -> np.ndarray:
    """One uint8 (H, W, 3) frame through the model and `post`; an empty frame is an error naming `src`."""
    if frame.size == 0:
        where = f"{src}: " if src else ""
        raise BrushworkError(f"{where}the image is empty ({frame.shape[1]}x{frame.shape[0]} pixels); there is "
                             "nothing to stylize")
    out = stylizer(frame)
    return post(frame, out) if post else out
