"""Stylize an image, a folder of images (mirrored into the output folder) or a video with an exported model.

    brushwork stylize photo.jpg -o photo_starry.jpg --model starry.onnx
    brushwork stylize photos/ -o photos_starry/ --model starry.onnx --max-side 1024
    brushwork stylize holiday.mp4 -o holiday_starry.mp4 --model starry.onnx --crf 20 --preserve-color luminance
    brushwork stylize holiday.mp4 -o out.mp4 --style starry_night --temporal-blend 0.5
    brushwork stylize huge.tif -o huge_starry.tif --model starry.onnx --max-memory 2GB
    brushwork stylize party.gif -o party_starry.gif --model starry.onnx --temporal-blend 0.4

Video keeps the frame timestamps, rotation and audio (copied as is); decoding, the model and encoding run as a
pipeline of threads. The output is written beside the target and renamed at the end; an existing output is kept
unless --overwrite. Animated GIF, APNG, WebP and AVIF are short clips (infer/animation.py); pictures of any
size keep their EXIF and colour profile unless --strip-metadata (infer/pictures.py).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .. import BrushworkError

if TYPE_CHECKING:  # the verb's module imports nothing heavy at load time (cli.py)
    from .session import StylizerLike

SIZE_UNITS = {"": 1, "B": 1, "K": 2**10, "KB": 2**10, "KIB": 2**10, "M": 2**20, "MB": 2**20, "MIB": 2**20,
              "G": 2**30, "GB": 2**30, "GIB": 2**30, "T": 2**40, "TB": 2**40, "TIB": 2**40}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, help="an image (also an animated GIF/PNG/WebP), a folder of images, or a "
                                                 "video (mp4 mov mkv webm avi)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="output file (or folder for a folder)")
    models = parser.add_argument_group("model")
    model = models.add_mutually_exclusive_group()
    model.add_argument("--model", type=Path, help="an .onnx file written by `brushwork export`")
    model.add_argument("--style", metavar="NAME", help="a style that ships with brushwork (`brushwork styles`; "
                                                       "default: the first one listed there)")
    models.add_argument("--quality", choices=("auto", "fast", "full"),
                       help="with --style: fast = the style's small student (real time on a CPU), full = the full "
                       "network; auto (default) = the student on the CPU, the full network on a GPU")
    run = parser.add_argument_group("runtime")
    run.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: %(default)s)")
    run.add_argument("--threads", type=int, help="CPU threads for the model (default: one per core)")
    run.add_argument("--batch-size", type=int, default=4, help="video frames per model call (default: %(default)s)")
    run.add_argument("--tile", type=int, metavar="N",
                     help="bounded memory: strips of about N*N pixels at a time (same picture as untiled)")
    run.add_argument("--max-memory", metavar="SIZE",
                     help="stay under SIZE, e.g. 2GB, 512MB (layer outputs that do not fit go to temporary files)")
    look = parser.add_argument_group("look")
    look.add_argument("--max-side", type=int, help="resize so the longest side is at most this (default: keep size)")
    look.add_argument("--preserve-color", choices=("luminance", "histogram"),
                      help="keep the input's colours: luminance (YCbCr) or histogram (colour statistics)")
    look.add_argument("--strength", type=float, default=1.0, help="0 = input, 1 = fully stylized (default: 1)")
    look.add_argument("--temporal-blend", type=float, metavar="A",
                      help="videos and animations: against flicker, blend each frame with the previous output "
                           "carried along the optical flow; 0.4-0.5 about halves it (0..1)")
    look.add_argument("--flow-side", type=int, metavar="PX",
                      help="--temporal-blend: longest side of the frames the flow runs on (default: 480)")
    look.add_argument("--flow-preset", choices=("ultrafast", "fast", "medium"),
                      help="--temporal-blend: DIS optical flow preset, faster or steadier (default: medium)")
    video = parser.add_argument_group("video")
    video.add_argument("--crf", type=int, default=18, help="H.264 quality, lower is better (default: %(default)s)")
    video.add_argument("--preset", default="medium", help="x264 preset, e.g. veryfast, medium (default: %(default)s)")
    parser.add_argument("--strip-metadata", action="store_true",
                        help="write no EXIF (camera, date, GPS), colour profile or PNG text (kept by default)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    kind = input_kind(args.input)
    check_flags(args, kind)
    check_output(args.input, args.output, kind, args.overwrite)
    stylizer = make_stylizer(args)
    print(f"model {model_summary(stylizer)} on {stylizer.provider}", file=sys.stderr)
    if kind == "video":
        return stylize_video_file(args, stylizer)
    if kind == "animation":
        return stylize_animation_file(args, stylizer)
    return stylize_image_files(args, stylizer, kind)


def input_kind(path: Path) -> str:
    """'folder', 'video', 'animation' or 'image' from the path; BrushworkError for anything else."""
    from ..data.images import IMAGE_SUFFIXES
    from .animation_io import is_animated
    from .video_io import VIDEO_SUFFIXES

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


def check_flags(args: argparse.Namespace, kind: str) -> None:
    if not 0.0 <= args.strength <= 1.0:
        raise BrushworkError(f"--strength {args.strength}: must be between 0 and 1")
    if (args.flow_side is not None or args.flow_preset is not None) and args.temporal_blend is None:
        raise BrushworkError("--flow-side/--flow-preset tune --temporal-blend; add --temporal-blend 0.5 or drop them")
    if args.flow_side is not None and args.flow_side < 16:
        raise BrushworkError(f"--flow-side {args.flow_side}: give at least 16 pixels, e.g. 480")
    if args.temporal_blend is not None:
        if kind not in ("video", "animation"):
            raise BrushworkError("--temporal-blend works on videos and animations only; drop it for still images")
        if not 0.0 <= args.temporal_blend < 1.0:
            raise BrushworkError(f"--temporal-blend {args.temporal_blend}: must be in [0, 1) "
                                 "(1 would freeze the first frame)")
    if args.max_side is not None and args.max_side < 8:
        raise BrushworkError(f"--max-side {args.max_side}: must be at least 8 pixels")
    if args.batch_size < 1:
        raise BrushworkError(f"--batch-size {args.batch_size}: must be at least 1")
    args.max_memory_bytes = parse_size(args.max_memory) if args.max_memory else None


def parse_size(text: str) -> int:
    """'2GB', '512MB', '1.5G', '800M', '1000000' -> bytes (binary units: 1 GB = 2**30 bytes)."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", text)
    unit = match.group(2).upper() if match else None
    if not match or unit not in SIZE_UNITS:
        raise BrushworkError(f"--max-memory {text}: expected a size like 2GB, 512MB or 1.5G")
    return int(float(match.group(1)) * SIZE_UNITS[unit])


def check_output(src: Path, dst: Path, kind: str, overwrite: bool) -> None:
    """Refuse output == input, an existing output without --overwrite, a wrong type, an unwritable place."""
    from ..data.images import IMAGE_SUFFIXES
    from .video_io import VIDEO_SUFFIXES

    if dst.exists() and src.resolve() == dst.resolve():
        raise BrushworkError(f"-o {dst} is the input; choose another output name")
    if kind == "animation":
        from .animation import check_animation_output

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


def make_stylizer(args: argparse.Namespace):
    """A Stylizer, or a TiledStylizer when --tile/--max-memory ask for bounded memory."""
    from .session import Stylizer

    if args.model is not None and args.quality:
        raise BrushworkError("--quality chooses between a shipped style's models; with --model the file given runs")
    path = args.model if args.model is not None else _style_path(args.style or _default_style(), args)
    if args.tile is None and args.max_memory_bytes is None:
        return Stylizer(path, device=args.device, threads=args.threads)
    from .tiling import TiledStylizer

    return TiledStylizer(path, tile=args.tile, max_memory=args.max_memory_bytes, device=args.device,
                         threads=args.threads)


def _default_style() -> str:
    from .styles import default_style

    return default_style()


def _style_path(name: str, args: argparse.Namespace) -> Path:
    from .session import runs_on_cpu
    from .styles import style_path

    quality = args.quality or "auto"
    return style_path(name, quality=quality, on_cpu=quality == "auto" and runs_on_cpu(args.device))


def model_summary(stylizer: StylizerLike) -> str:
    meta = stylizer.metadata
    parts = [meta.get("arch"), meta.get("precision"), meta.get("style_name") and f"style {meta['style_name']}"]
    return f"{stylizer.path} ({', '.join(p for p in parts if p)})"


def make_blender(args: argparse.Namespace):
    """The TemporalBlender that --temporal-blend asks for, or None."""
    if not args.temporal_blend:
        return None
    from .temporal import TemporalBlender

    options = {"flow_side": args.flow_side, "preset": args.flow_preset}
    return TemporalBlender(args.temporal_blend, **{k: v for k, v in options.items() if v is not None})


def make_post(args: argparse.Namespace, blender=None):
    """(input frame, stylized frame) -> frame: temporal blending, then colour preservation, then strength."""
    steps = [blender] if blender is not None else []
    if args.preserve_color or args.strength < 1.0:
        from .color import blend, preserve_color

        steps.append(lambda x, y: blend(x, preserve_color(x, y, args.preserve_color), args.strength))
    if not steps:
        return None

    def post(frame, stylized):
        for step in steps:
            stylized = step(frame, stylized)
        return stylized

    return post


def stylize_video_file(args: argparse.Namespace, stylizer) -> int:
    from .video import stylize_video

    blender = make_blender(args)
    try:
        stages = stylize_video(args.input, args.output, stylizer.batch, make_post(args, blender),
                               prefetch=blender.prefetch if blender else None, batch_size=args.batch_size,
                               crf=args.crf, preset=args.preset, max_side=args.max_side, progress=not args.quiet)
    finally:
        if blender is not None:
            blender.close()
    for warning in stages.warnings:
        print(f"brushwork stylize: warning: {args.input}: {warning}", file=sys.stderr)
    print(f"wrote {args.output}: {stages.report()}", file=sys.stderr)
    return 0


def picture_options(args: argparse.Namespace, post=None, *, progress: bool = False):
    """The flags that apply to pictures, for infer/pictures.py (a folder has its own progress bar, per file)."""
    from .pictures import Options

    return Options(max_side=args.max_side, post=post, strip_metadata=args.strip_metadata,
                   batch_size=args.batch_size, crf=args.crf, preset=args.preset, progress=progress)


def stylize_animation_file(args: argparse.Namespace, stylizer) -> int:
    from .animation import stylize_animation

    blender = make_blender(args)
    try:
        options = picture_options(args, make_post(args, blender), progress=not args.quiet)
        report = stylize_animation(args.input, args.output, stylizer, options)
    finally:
        if blender is not None:
            blender.close()
    print(f"wrote {args.output}: {report}", file=sys.stderr)
    return 0


def stylize_image_files(args: argparse.Namespace, stylizer, kind: str) -> int:
    """One image, or every image below a folder into the same relative path under the output folder."""
    from ..data.images import list_images

    if kind == "image":
        stylize_image(args.input, args.output, stylizer, args)
        print(f"wrote {args.output}", file=sys.stderr)
        return 0
    pairs = [(p, args.output / p.relative_to(args.input)) for p in list_images(args.input)]
    if not pairs:
        raise BrushworkError(f"{args.input}: no images in this folder")
    existing = [dst for _, dst in pairs if dst.exists()]
    if existing and not args.overwrite:
        raise BrushworkError(f"{existing[0]} exists ({len(existing)} of the outputs do); pass --overwrite")
    from tqdm import tqdm

    for src, dst in tqdm(pairs, unit="image", disable=args.quiet, file=sys.stderr):
        stylize_image(src, dst, stylizer, args)
    print(f"wrote {len(pairs)} images under {args.output}", file=sys.stderr)
    return 0


def stylize_image(src: Path, dst: Path, stylizer, args: argparse.Namespace) -> None:
    """A still picture of any size, or (in a folder) an animated one, written to the same type."""
    from .pictures import stylize_file

    stylize_file(src, dst, stylizer, picture_options(args, make_post(args)))
