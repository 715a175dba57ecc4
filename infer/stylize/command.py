"""Stylize an image, a folder of images (mirrored into the output folder) or a video with an exported model.

    brushwork stylize photo.jpg -o photo_starry.jpg --model starry.onnx
    brushwork stylize photos/ -o photos_starry/ --model starry.onnx --max-side 1024
    brushwork stylize holiday.mp4 -o holiday_starry.mp4 --model starry.onnx --crf 20 --preserve-color luminance
    brushwork stylize holiday.mp4 -o out.mp4 --style starry_night --temporal-blend 0.5
    brushwork stylize huge.tif -o huge_starry.tif --model starry.onnx --max-memory 2GB
    brushwork stylize party.gif -o party_starry.gif --model starry.onnx --temporal-blend 0.4

Video keeps the frame timestamps, rotation and audio (copied as is); decoding, the model and encoding run as a
pipeline of threads. The output is written beside the target and renamed at the end; an existing output is kept
unless --overwrite. Animated GIF, APNG, WebP and AVIF are short clips (infer/media/pictures.py); pictures of any
size keep their EXIF and colour profile unless --strip-metadata (infer/media/pictures.py).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ... import BrushworkError
from ...config import add_arguments as add_config_arguments
from ...config import from_args
from .config import StylizeConfig

if TYPE_CHECKING:  # the verb's module imports nothing heavy at load time (cli.py)
    from ..engine.session import StylizerLike


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, StylizeConfig)


def run(args: argparse.Namespace) -> int:
    cfg = from_args(StylizeConfig, args)
    kind = input_kind(cfg.input)
    check_kind(cfg, kind)
    check_output(cfg.input, cfg.output, kind, cfg.overwrite)
    stylizer = make_stylizer(cfg)
    print(f"model {model_summary(stylizer)} on {stylizer.provider}", file=sys.stderr)
    if kind == "video":
        return stylize_video_file(cfg, stylizer)
    if kind == "animation":
        return stylize_animation_file(cfg, stylizer)
    return stylize_image_files(cfg, stylizer, kind)


def input_kind(path: Path) -> str:
    """'folder', 'video', 'animation' or 'image' from the path; BrushworkError for anything else."""
    from ...data.images import IMAGE_SUFFIXES
    from ..media.animation_io import is_animated
    from ..media.video_io import VIDEO_SUFFIXES

    if path.is_dir():
        return "folder"
    if not path.exists():
        raise BrushworkError(f"{path}: no such file or folder")
    suffix = path.suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        return "video"
    if suffix in IMAGE_SUFFIXES:
        return "animation" if is_animated(path) else "image"
    raise BrushworkError(f"{path}: not an image or video ({suffix or 'no extension'}); give one of "
                         f"{', '.join(IMAGE_SUFFIXES + VIDEO_SUFFIXES)} or a folder of images")


def check_kind(cfg: StylizeConfig, kind: str) -> None:
    """What the flags cannot know alone: --temporal-blend needs frames to blend."""
    if cfg.temporal_blend is not None and kind not in ("video", "animation"):
        raise BrushworkError("--temporal-blend works on videos and animations only; drop it for still images")


def check_output(src: Path, dst: Path, kind: str, overwrite: bool) -> None:
    """Refuse output == input, an existing output without --overwrite, a wrong type, an unwritable place."""
    from ...data.images import IMAGE_SUFFIXES
    from ..media.video_io import VIDEO_SUFFIXES

    if dst.exists() and src.resolve() == dst.resolve():
        raise BrushworkError(f"-o {dst} is the input; choose another output name")
    if kind == "animation":
        from ..media.pictures import check_animation_output

        check_animation_output(src, dst)
    wanted = {"image": IMAGE_SUFFIXES, "video": VIDEO_SUFFIXES}.get(kind)
    if wanted and dst.suffix.lower() not in wanted:
        raise BrushworkError(f"-o {dst}: a {kind} output needs one of {', '.join(wanted)}")
    if kind == "folder":
        if dst.exists() and not dst.is_dir():
            raise BrushworkError(f"-o {dst}: the input is a folder, so the output must be a folder too")
        if dst.resolve().is_relative_to(src.resolve()):
            raise BrushworkError(f"-o {dst} is inside the input folder; choose a folder outside {src}")
        return
    if dst.exists() and not overwrite:
        raise BrushworkError(f"{dst} exists; pass --overwrite to replace it")
    parent = dst.parent if str(dst.parent) else Path(".")
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise BrushworkError(f"-o {dst}: cannot write into {parent}; choose a writable folder")


def make_stylizer(cfg: StylizeConfig):
    """The Stylizer (or TiledStylizer) of --model, or of a shipped --style at --quality: `auto` runs the student
    where the model runs on the CPU, decided by the provider onnxruntime really gave the full model's session (a
    CUDA provider can be installed and still fall back to the CPU: no CUDA libraries, no driver)."""
    from ...styles import default_style, style_path
    from ..engine.session import runs_on_cpu

    if cfg.model is not None:
        return _open(cfg.model, cfg)
    name, quality = cfg.style or default_style(), cfg.quality or "auto"
    if quality != "auto" or runs_on_cpu(cfg.device):  # no CUDA to try: the CPU's choice without a session
        return _open(style_path(name, quality=quality, on_cpu=True), cfg)
    full, student = style_path(name, quality="full"), style_path(name, quality="auto", on_cpu=True)
    stylizer = _open(full, cfg)
    if stylizer.provider == "CPUExecutionProvider" and student != full:
        return _open(student, cfg)
    return stylizer


def _open(path, cfg: StylizeConfig):
    """A Stylizer, or a TiledStylizer when --tile/--max-memory ask for bounded memory, at the --stroke scale."""
    from ..engine.session import Stylizer
    from ..engine.stroke import StrokeScale

    if cfg.tile is None and cfg.max_memory_bytes is None:
        stylizer = Stylizer(path, device=cfg.device, threads=cfg.threads)
    else:
        from ..engine.tiling import TiledStylizer

        stylizer = TiledStylizer(path, tile=cfg.tile, max_memory=cfg.max_memory_bytes, device=cfg.device,
                                 threads=cfg.threads)
    return StrokeScale(stylizer, cfg.stroke)


def model_summary(stylizer: StylizerLike) -> str:
    meta, pixels = stylizer.metadata, getattr(stylizer, "pixels", None)
    parts = [meta.get("arch"), meta.get("precision"), meta.get("style_name") and f"style {meta['style_name']}",
             f"painted at up to {pixels / 1e6:.2g} Mpx" if pixels else "native size"]
    return f"{stylizer.path} ({', '.join(p for p in parts if p)})"


def make_blender(cfg: StylizeConfig):
    """The TemporalBlender that --temporal-blend asks for, or None."""
    from ..look.post import temporal_blender

    return temporal_blender(cfg.temporal_blend, flow_side=cfg.flow_side, preset=cfg.flow_preset)


def make_post(cfg: StylizeConfig, blender=None):
    from ..look.post import make_post as post

    return post(cfg.preserve_color, cfg.strength, blender)


def stylize_video_file(cfg: StylizeConfig, stylizer: StylizerLike) -> int:
    from ..media.video import stylize_video

    blender = make_blender(cfg)
    post = make_post(cfg, blender)
    try:
        stages = stylize_video(cfg.input, cfg.output, stylizer.batch, post,
                               prefetch=blender.prefetch if blender else None, batch_size=cfg.batch_size,
                               crf=cfg.crf, preset=cfg.preset, max_side=cfg.max_side, progress=not cfg.quiet)
    finally:
        if blender is not None:
            blender.close()
    for warning in stages.warnings:
        print(f"brushwork stylize: warning: {cfg.input}: {warning}", file=sys.stderr)
    print(f"wrote {cfg.output}: {stages.report()}", file=sys.stderr)
    return 0


def picture_options(cfg: StylizeConfig, post=None, *, progress: bool = False):
    """The flags that apply to pictures, for infer/media/pictures.py (a folder has its own progress bar, per file)."""
    from ..media.pictures import Options

    return Options(max_side=cfg.max_side, post=post, strip_metadata=cfg.strip_metadata,
                   batch_size=cfg.batch_size, crf=cfg.crf, preset=cfg.preset, progress=progress)


def stylize_animation_file(cfg: StylizeConfig, stylizer: StylizerLike) -> int:
    from ..media.pictures import stylize_animation

    blender = make_blender(cfg)
    try:
        options = picture_options(cfg, make_post(cfg, blender), progress=not cfg.quiet)
        report = stylize_animation(cfg.input, cfg.output, stylizer, options)
    finally:
        if blender is not None:
            blender.close()
    print(f"wrote {cfg.output}: {report}", file=sys.stderr)
    return 0


def stylize_image_files(cfg: StylizeConfig, stylizer: StylizerLike, kind: str) -> int:
    """One image, or every image below a folder into the same relative path under the output folder."""
    from ...data.images import list_images

    if kind == "image":
        stylize_image(cfg.input, cfg.output, stylizer, cfg)
        print(f"wrote {cfg.output}", file=sys.stderr)
        return 0
    pairs = [(p, cfg.output / p.relative_to(cfg.input)) for p in list_images(cfg.input)]
    if not pairs:
        raise BrushworkError(f"{cfg.input}: no images in this folder")
    existing = [dst for _, dst in pairs if dst.exists()]
    if existing and not cfg.overwrite:
        raise BrushworkError(f"{existing[0]} exists ({len(existing)} of the outputs do); pass --overwrite")
    from tqdm import tqdm

    for src, dst in tqdm(pairs, unit="image", disable=cfg.quiet, file=sys.stderr):
        stylize_image(src, dst, stylizer, cfg)
    print(f"wrote {len(pairs)} images under {cfg.output}", file=sys.stderr)
    return 0


def stylize_image(src: Path, dst: Path, stylizer: StylizerLike, cfg: StylizeConfig) -> None:
    """A still picture of any size, or (in a folder) an animated one, written to the same type."""
    from ..media.pictures import stylize_file

    stylize_file(src, dst, stylizer, picture_options(cfg, make_post(cfg)))
