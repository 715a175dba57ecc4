"""The README's gallery: the content photos through every shipped style, one row per photo.

    python scripts/gallery.py ../shared/data/content docs/images/gallery.jpg [--side 320]

Runs the shipped fp16 ONNX files with onnxruntime (the same path as `brushwork stylize --style NAME`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from brushwork.data.images import list_images, open_rgb, resize_to_side
from brushwork.infer import Stylizer
from brushwork.styles import list_styles, style_path

LABEL = 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photos", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--side", type=int, default=320, help="longest side of each photo (default: %(default)s)")
    args = parser.parse_args()
    styles = [s["name"] for s in list_styles()]
    stylizers = {name: Stylizer(style_path(name), device="cpu") for name in styles}
    rows = []
    for path in list_images(args.photos):
        photo = np.asarray(resize_to_side(open_rgb(path), args.side), dtype=np.uint8)
        rows.append([photo, *(stylizers[name](photo) for name in styles)])
    sheet = _sheet(rows, ["photo", *styles], args.side)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.output, quality=88)
    print(f"wrote {args.output}: {len(rows)} photos x {len(styles)} styles")


def _sheet(rows: list[list[np.ndarray]], labels: list[str], side: int, gap: int = 4) -> Image.Image:
    """Each image centred in a cell `side` wide and as tall as its row's tallest image; the column labels on top."""
    heights = [max(image.shape[0] for image in row) for row in rows]
    sheet = Image.new("RGB", (len(labels) * (side + gap) - gap, LABEL + sum(heights) + gap * (len(rows) - 1)), "white")
    draw = ImageDraw.Draw(sheet)
    for c, label in enumerate(labels):
        draw.text((c * (side + gap) + 6, 4), label, fill="black")
    top = LABEL
    for row, height in zip(rows, heights):
        for c, image in enumerate(row):
            h, w = image.shape[:2]
            sheet.paste(Image.fromarray(image), (c * (side + gap) + (side - w) // 2, top + (height - h) // 2))
        top += height + gap
    return sheet


if __name__ == "__main__":
    main()
