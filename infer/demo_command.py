"""See what brushwork does without any file of your own: every shipped style on a sample photo and clip.

    brushwork demo                      # writes brushwork-demo/: contact_sheet.jpg, one photo and one mp4 per style
    brushwork demo --style starry_night --out demo/

The samples ship in the package (data/samples/SOURCES.md): a CC0 photo ("seeding" by Clements Engelhardt) and
the first 3 s of Big Buck Bunny ((c) Blender Foundation, CC-BY 3.0) at 480x270 with its sound, which the
stylized clips keep.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from .. import BrushworkError

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
LABEL_HEIGHT = 22


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="brushwork-demo", help="output folder (default: %(default)s)")
    parser.add_argument("--style", action="append", metavar="NAME",
                        help="a shipped style (repeat for several; default: every one, `brushwork styles`)")
    parser.add_argument("--no-video", action="store_true", help="only the photo (the clip takes most of the time)")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda (default: %(default)s)")
    parser.add_argument("--overwrite", action="store_true", help="replace files left by an earlier demo")


def run(args: argparse.Namespace) -> int:
    from .styles import list_styles, style_path

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
    from ..data.images import write_image
    from .session import Stylizer
    from .video import stylize_video

    stylizer = Stylizer(path, device=args.device)
    result = stylizer(photo)
    write_image(out / f"photo_{name}.jpg", result)
    if not args.no_video:
        stages = stylize_video(SAMPLES / "clip.mp4", out / f"clip_{name}.mp4", stylizer.batch, progress=False)
        print(f"{name}: {stages.report()}", file=sys.stderr)
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
