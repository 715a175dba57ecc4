"""Animated pictures in and out: GIF, APNG, animated WebP and AVIF read with Pillow as RGB frames with their
durations and loop count; written back as an animated picture, or as H.264/VP9 video for a video file name.

GIF palette: every frame is mapped to ONE 256-colour palette, computed from all of them (median cut over a
montage of up to 32 evenly spaced frames), without dithering. Measured on a 24-frame 160x160 clip of a textured,
painting-like picture whose one half stands still (see README): per-frame palettes (Pillow's default) gave
410 KiB at 32.9 dB PSNR and the still half flickered (a mean change of 1.75 levels from frame to frame, as each
frame's palette moves); Floyd-Steinberg dithering to the shared palette gave 489 KiB at 30.3 dB and its noise
crawled (3.9 levels); the shared palette without dithering gave 237 KiB at 32.5 dB and no flicker. A style
keeps the painting's colours from frame to frame, the case one palette serves best. Median cut rather than
Pillow's faster octree (0.04 s against 0.6 s for the 2M-pixel montage, +0.5 dB on that clip) because it keeps a
picture of up to 256 colours exact (pixel art, stickers, `--strength 0`), where the octree moved colours by 5.

The reading side is the stylizing pipeline's only source of memory growth: an animation is held in memory (a
GIF is a short clip; a long one belongs in a video file).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ... import BrushworkError
from ...data.files import atomic_path, atomic_write
from ...data.images import QUALITY_FORMATS, enable_codec, resize_to_side, to_rgb
from ...data.metadata import Metadata, read_metadata

# Output suffix -> Pillow format, for animated pictures (these four are also what Pillow reads as animations).
ANIMATION_FORMATS = {".gif": "GIF", ".png": "PNG", ".webp": "WEBP", ".avif": "AVIF"}
PALETTE_FRAMES = 32  # frames sampled for the shared GIF palette
PALETTE_PIXELS = 2**21  # and at most this many pixels of them (subsampled): ~0.6 s of median cut
# Browsers show GIF frames of 0-10 ms for 100 ms (such files count on it); a video must be told so.
BROWSER_MIN_MS, BROWSER_DEFAULT_MS = 10, 100
READ_ERRORS = (UnidentifiedImageError, OSError, ValueError, EOFError, Image.DecompressionBombError)


@dataclass
class Animation:
    """An animated picture, decoded: every frame composited as it is shown."""

    frames: list[np.ndarray]  # uint8 (H, W, 3) RGB
    durations: list[int]  # milliseconds each frame is shown
    loop: int | None  # the file's loop count (0: forever); None: it sets none (a GIF without one plays once)
    metadata: Metadata = field(default_factory=Metadata)


def is_animated(path: str | os.PathLike) -> bool:
    """Whether Pillow reads more than one frame from this file (an unreadable file is left to the image path)."""
    path = Path(path)
    if path.suffix.lower() not in ANIMATION_FORMATS or not path.is_file():
        return False
    try:
        enable_codec(path)
        with Image.open(path) as im:
            return bool(getattr(im, "is_animated", False))
    except (BrushworkError, *READ_ERRORS):
        return False


def read_animation(path: str | os.PathLike, max_side: int | None = None) -> Animation:
    """Every frame (GIF disposal and APNG blending applied by Pillow), upright, RGB, resized to `max_side`."""
    path = Path(path)
    frames, durations, index = [], [], 0
    try:
        with Image.open(path) as im:
            metadata, loop = read_metadata(im), im.info.get("loop")
            for index in range(im.n_frames):
                im.seek(index)
                im.load()  # a damaged frame fails here
                frame = resize_to_side(to_rgb(ImageOps.exif_transpose(im)), max_side)
                frames.append(np.asarray(frame, dtype=np.uint8))
                durations.append(round(im.info.get("duration") or 0))
    except READ_ERRORS as e:
        raise BrushworkError(f"{path}: frame {index + 1} cannot be decoded ({e}); the file is damaged or incomplete, "
                             "re-export or re-download it") from None
    if not frames:
        raise BrushworkError(f"{path}: has no frames; give an animation with at least one")
    return Animation(frames, durations, loop, metadata)


def write_animated_picture(path: Path, animation: Animation, *, quality: int = 95) -> None:
    """An animated GIF (shared palette), APNG, WebP or AVIF, atomically, with the metadata the format holds."""
    fmt = ANIMATION_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise BrushworkError(f"{path}: an animation is written as {', '.join(ANIMATION_FORMATS)} or a video")
    enable_codec(path)
    size = animation.frames[0].shape[1::-1]
    if fmt == "GIF":  # Pillow merges identical neighbours, adding up their durations: same timing, fewer frames
        pictures = quantize_shared(animation.frames)
    else:
        pictures = [Image.fromarray(f) for f in animation.frames]
    options = {"save_all": True, "append_images": pictures[1:], "duration": animation.durations,
               **animation.metadata.save_options(fmt, size)}
    if animation.loop is not None:
        options["loop"] = animation.loop
    if fmt in QUALITY_FORMATS:
        options["quality"] = quality
    atomic_write(path, lambda f: pictures[0].save(f, format=fmt, **options))


def quantize_shared(frames: list[np.ndarray]) -> list[Image.Image]:
    """Palette images that all share one adaptive palette, without dithering (why: the module doc)."""
    step = max(1, -(-len(frames) // PALETTE_FRAMES))
    sample = np.concatenate(frames[::step], axis=0)
    stride = max(1, int(np.ceil(np.sqrt(sample.shape[0] * sample.shape[1] / PALETTE_PIXELS))))
    palette = Image.fromarray(np.ascontiguousarray(sample[::stride, ::stride])).quantize(
        256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    return [Image.fromarray(f).quantize(palette=palette, dither=Image.Dither.NONE) for f in frames]


@dataclass(frozen=True)
class _Timing:
    """What video_io.Encoder reads from a source stream: the frame rate and the time base (milliseconds)."""

    average_rate: Fraction
    guessed_rate: Fraction | None = None
    time_base: Fraction = Fraction(1, 1000)


def write_video(path: Path, animation: Animation, *, crf: int, preset: str) -> list[str]:
    """The animation as a video file (timing kept, frame by frame); returns warnings for the log."""
    import av

    from .video_io import Encoder, even_size, short_error

    height, width = animation.frames[0].shape[:2]
    size = even_size(width, height, None)
    warnings = [] if size == (width, height) else [
        f"{width}x{height} has an odd side; H.264 yuv420p needs even ones, so the output is {size[0]}x{size[1]}"]
    durations = [d if d > BROWSER_MIN_MS else BROWSER_DEFAULT_MS for d in animation.durations]
    timing = _Timing(Fraction(1000 * len(durations), sum(durations)).limit_denominator(1001))
    try:
        with atomic_path(path) as tmp, av.open(str(tmp), "w") as output:
            encoder = Encoder(output, timing, size, crf=crf, preset=preset, rotation=0)
            pts = 0
            for frame, duration in zip(animation.frames, durations):
                if size != (width, height):
                    frame = np.asarray(Image.fromarray(frame).resize(size, Image.Resampling.LANCZOS))
                encoder.encode(frame, pts, duration)
                pts += duration
            encoder.flush()
    except av.FFmpegError as e:
        raise BrushworkError(f"{path}: writing the video failed ({short_error(e)}); try .mp4 or .gif") from None
    return warnings
