"""Animated GIF, APNG, animated WebP and AVIF as short clips: every frame stylized, durations and loop kept.

    brushwork stylize party.gif -o party_starry.gif --model starry.onnx
    brushwork stylize party.gif -o party_starry.mp4 --model starry.onnx --temporal-blend 0.4
    brushwork stylize sticker.webp -o sticker_starry.webp --model starry.onnx

    from brushwork.infer import Stylizer, stylize_file
    stylize_file("party.gif", "party_starry.gif", Stylizer("starry.onnx"))

The output is an animated picture of the type its name says (GIF with one shared palette, see
infer/animation_io.py) or, for a video name (.mp4, .webm, ...), a video with the same frame timing. A still GIF
is an ordinary image (infer/pictures.py).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from .. import BrushworkError
from ..data.metadata import Metadata
from .animation_io import ANIMATION_FORMATS, Animation, read_animation, write_animated_picture, write_video
from .pictures import Options
from .video_io import VIDEO_SUFFIXES

ANIMATION_OUTPUTS = tuple(ANIMATION_FORMATS) + VIDEO_SUFFIXES


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
                out.append(options.post(frame, stylized) if options.post else stylized)
                bar.update()
    return out
