"""Stylizing pictures: a file or a PIL image in, the same kind out, with the photo's metadata.

    from brushwork.infer import Stylizer, stylize_file
    stylizer = Stylizer("starry.onnx")
    picture = stylizer("photo.jpg")          # or stylizer(Image.open(...)): an upright PIL image of the same size,
                                             # its EXIF (orientation 1), ICC profile and PNG text in picture.info
    stylize_file("photo.heic", "photo_starry.jpg", stylizer)   # what `brushwork stylize` runs for each file
    stylize_file("party.gif", "party_starry.gif", stylizer)    # an animation: every frame, timing and loop kept

Any size from 1x1 up (infer/engine/padding.py), any format data/images.py reads. Animated GIF, APNG, WebP and AVIF
are short clips: every frame stylized, durations and loop kept, written as an animated picture of the type the
output's name says (GIF with one shared palette, see infer/media/animation_io.py) or, for a video name (.mp4,
.webm, ...), a video with the same frame timing. A still GIF is an ordinary image.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from ... import BrushworkError
from ...data.images import open_image, resize_to_side, to_rgb, write_image
from ...data.metadata import Metadata, read_metadata
from ..look.post import Post, finish
from .animation_io import ANIMATION_FORMATS, Animation, is_animated, read_animation, write_animated_picture, write_video
from .video_io import VIDEO_SUFFIXES

ANIMATION_OUTPUTS = tuple(ANIMATION_FORMATS) + VIDEO_SUFFIXES


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
    return finish(post, frame, out)


# ---- animated pictures --------------------------------------------------------------------------------------------

def check_animation_output(src: Path, dst: Path) -> None:
    """An animation can be written as an animated picture or a video, not as a still format."""
    if dst.suffix.lower() not in ANIMATION_OUTPUTS:
        raise BrushworkError(f"-o {dst}: {src.name} is animated, and a {dst.suffix or 'file without extension'} "
                             f"cannot hold an animation; write one of {', '.join(ANIMATION_OUTPUTS)}")


def stylize_animation(src: Path, dst: Path, stylizer, options: Options) -> str:
    """Stylize every frame of an animated picture into `dst`; returns a short report for the log."""
    check_animation_output(src, dst)
    start = time.perf_counter()
    clip = read_animation(src, options.max_side)
    frames = stylized_frames(clip.frames, stylizer.batch, options)
    out = Animation(frames, clip.durations, clip.loop, Metadata() if options.strip_metadata else clip.metadata)
    warnings = []
    if dst.suffix.lower() in VIDEO_SUFFIXES:
        warnings = write_video(dst, out, crf=options.crf, preset=options.preset)
    else:
        write_animated_picture(dst, out)
    for warning in warnings:
        print(f"brushwork stylize: warning: {src}: {warning}", file=sys.stderr)
    seconds = time.perf_counter() - start
    return f"{len(frames)} frames, {sum(clip.durations) / 1000:.2f} s of animation, stylized in {seconds:.1f} s"


def stylized_frames(frames: list[np.ndarray], stylize_batch, options: Options) -> list[np.ndarray]:
    """The model on batches of frames, then `options.post` on each frame in order (a temporal blend needs it)."""
    from tqdm import tqdm

    out = []
    with tqdm(total=len(frames), unit="frame", disable=not options.progress, file=sys.stderr) as bar:
        for i in range(0, len(frames), options.batch_size):
            batch = np.stack(frames[i:i + options.batch_size])
            for frame, stylized in zip(batch, stylize_batch(batch)):
                out.append(finish(options.post, frame, stylized))
                bar.update()
    return out
