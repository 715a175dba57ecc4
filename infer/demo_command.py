"""See what brushwork does without any file of your own: every shipped style on a sample photo and clip.

    brushwork demo                      # writes brushwork-demo/: contact_sheet.jpg, one photo and one mp4 per style
    brushwork demo --style starry_night --out demo/

The samples ship in the package (data/samples/SOURCES.md): a CC0 photo ("seeding" by Clements Engelhardt) and
the first 3 s of Big Buck Bunny ((c) Blender Foundation, CC-BY 3.0) at 480x270 with its sound, which the
stylized clips keep. On a CPU the clip runs each style's real-time student, as `brushwork stylize` does there.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from .. import BrushworkError
from ..config import add_arguments as add_config_arguments
from ..config import from_args, option
from ..data import SAMPLES

LABEL_HEIGHT = 22


@dataclass
class DemoConfig:
    out: str = option("brushwork-demo", "output folder")
    style: list[str] | None = option(None, "shipped styles, one or more (default: every one, `brushwork styles`)",
                                     metavar="NAME", action="extend")
    no_video: bool = option(False, "only the photo (the clip takes most of the time)", switch=True)
    device: str = option("auto", "auto | cpu | cuda")
    overwrite: bool = option(False, "replace files left by an earlier demo", switch=True)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, DemoConfig)


def run(args: argparse.Namespace) -> int:
    args = from_args(DemoConfig, args)
    from ..styles import list_styles, style_path

    names = args.style or [s["name"] for s in list_styles()]
    if not names:
        raise BrushworkError("no styles ship with this brushwork, so there is nothing to demo; train one "
                             "(`brushwork train`) and try `brushwork stylize` with --model")
    paths = {name: style_path(name) for name in names}  # unknown names fail here, before any work
    out = Path(args.out)
    targets = [out / "contact_sheet.jpg", *(out / f"photo_{n}.jpg" for n in names)]
    targets += [] if args.no_video else [out / f"clip_{n}.mp4" for n in names]
    existing = [p for p in targets if p.exists()]
    if existing and not args.overwrite:
        raise BrushworkError(f"--out {out}: {existing[0]} exists from an earlier demo; add --overwrite or choose "
                             "another --out")
    out.mkdir(parents=True, exist_ok=True)
    photo = np.asarray(Image.open(SAMPLES / "photo.jpg").convert("RGB"))
    results = {}
    for name, path in paths.items():
        results[name] = _demo_style(name, path, photo, out, args)
    _contact_sheet(photo, results).save(out / "contact_sheet.jpg", quality=90)
    print(f"wrote {out / 'contact_sheet.jpg'} and {len(targets) - 1} stylized files in {out}/")
    return 0


def _demo_style(name: str, path: Path, photo: np.ndarray, out: Path, args: argparse.Namespace) -> np.ndarray:
    """The photo through the full model; the clip, on a CPU, through the style's real-time student where it ships
    one (what `brushwork stylize` picks there: the full model makes well under 1 frame/s of this clip on 2 cores)."""
    from ..data.images import write_image
    from ..styles import style_path
    from .engine.session import Stylizer
    from .media.video import stylize_video

    stylizer = Stylizer(path, device=args.device)
    result = stylizer(photo)
    write_image(out / f"photo_{name}.jpg", result)
    if not args.no_video:
        student = style_path(name, quality="auto", on_cpu=True)
        if stylizer.provider == "CPUExecutionProvider" and student != path:
            stylizer, path = Stylizer(student, device=args.device), student
        stages = stylize_video(SAMPLES / "clip.mp4", out / f"clip_{name}.mp4", stylizer.batch, progress=False)
        print(f"{name} ({path.name}): {stages.report()}", file=sys.stderr)
    return result


def _contact_sheet(photo: np.ndarray, results: dict[str, np.ndarray], columns: int = 3) -> Image.Image:
    """The photo and each style's result in a grid, each with its name underneath."""
    tiles = [("photo", photo), *results.items()]
    h, w = photo.shape[:2]
    rows = -(-len(tiles) // columns)
    sheet = Image.new("RGB", (min(columns, len(tiles)) * w, rows * (h + LABEL_HEIGHT)), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (label, image) in enumerate(tiles):
        x, y = (i % columns) * w, (i // columns) * (h + LABEL_HEIGHT)
        sheet.paste(Image.fromarray(image), (x, y))
        draw.text((x + 6, y + h + 5), label, fill="black")
    return sheet
