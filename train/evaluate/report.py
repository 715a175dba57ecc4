"""Write an evaluation report so people can look rather than read: report.json, report.csv, report.md (the table
for docs/quality.md), contact_sheet.png (one row per photo: photo | fast | Gatys@N ...) and images/.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ...data.files import atomic_write
from ...data.images import write_image

FIELDS = ("content", "style", "tv", "total", "seconds", "edges")
LABEL_HEIGHT, MIN_CELL, MAX_CELL, GAP = 26, 128, 256, 4
REPORT_FILES = ("report.json", "report.csv", "report.md", "contact_sheet.png")  # plus images/<photo>_<method>.png


def existing_outputs(out: str | Path) -> list[Path]:
    """The files of an earlier report in `out` that a new one would replace (the images/ folder's PNGs count)."""
    out = Path(out)
    return [p for p in (out / name for name in REPORT_FILES) if p.exists()] + sorted((out / "images").glob("*.png"))


def write_report(report: dict, out: str | Path, command: str = "") -> list[Path]:
    """Write every output file into `out`; return their paths."""
    out = Path(out)
    images = report.get("_images", {})
    plain = {k: v for k, v in report.items() if k != "_images"}
    if command:
        plain["command"] = command
    paths = [out / name for name in REPORT_FILES]
    _write_text(paths[0], json.dumps(plain, indent=2) + "\n")
    _write_text(paths[1], to_csv(plain))
    _write_text(paths[2], to_markdown(plain, command))
    write_image(paths[3], contact_sheet(images, ["photo", *plain["methods"]], plain))
    for photo, by_method in images.items():
        for method, image in by_method.items():
            path = out / "images" / f"{Path(photo).stem}_{method.replace('@', '')}.png"
            write_image(path, image)
            paths.append(path)
    return paths


def _write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def to_csv(report: dict) -> str:
    """One row per (photo, method), then one 'average' row per method."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["photo", "method", *FIELDS])
    rows = [(p["photo"], p["results"]) for p in report["photos"]] + [("average", report["average"])]
    for photo, results in rows:
        for method in report["methods"]:
            writer.writerow([photo, method, *(f"{results[method][k]:.6g}" for k in FIELDS)])
    return buffer.getvalue()


def to_markdown(report: dict, command: str = "") -> str:
    """The average over photos as a markdown table, with what produced it."""
    net = report["loss_network"]
    lines = [(f"Loss network: {net['vgg_weights']}, content {','.join(net['content_layers'])} "
             f"(weight {net['content_weight']:g}), style {','.join(net['style_layers'])} "
             f"(weight {net['style_weight']:g}), TV weight {net['tv_weight']:g}. "
             f"{len(report['photos'])} photos at {report['config']['size']} px, style at {report['style_size']} px, "
             f"device {report['device']}."), ""]
    if command:
        lines += ["```", command, "```", ""]
    lines += ["| method | content | style | tv | total | seconds/image | edge roughness |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for method in report["methods"]:
        r = report["average"][method]
        lines.append(f"| {method} | {r['content']:.4g} | {r['style']:.4g} | {r['tv']:.4g} | {r['total']:.4g} "
                     f"| {r['seconds']:.3g} | {r['edges']:.2f} |")
    lines += ["", ("Edge roughness: mean |Laplacian| of the outer 3 px over the interior's (photos 0.8-0.9; "
                   "a fringe 2.5-4).")]
    if report.get("johnson"):
        lines += ["", johnson_line(report)]
    return "\n".join(lines) + "\n"


def johnson_line(report: dict) -> str:
    """The Johnson-protocol figure in words, per photo and as the median."""
    j = report["johnson"]
    cap = j["max_iterations"]
    each = ", ".join(f"{p['photo']} {p['johnson_iterations'] if p['johnson_iterations'] is not None else f'>{cap}'}"
                     for p in report["photos"])
    median = f"{j['median']:g}" if j["median"] <= cap else f">{cap}"
    return (f"Johnson et al.'s protocol (plain L-BFGS from noise, lr 1, no line search, pixels clipped): it reaches "
            f"the fast model's loss at iteration {median} (median; per photo: {each}); the paper's networks matched "
            "its 50th-100th.")


def contact_sheet(images: dict[str, dict[str, np.ndarray]], columns: list[str], report: dict) -> np.ndarray:
    """Rows of photo | fast | Gatys@N ..., each cell labelled with its method and total loss."""
    totals = {p["photo"]: p["results"] for p in report["photos"]}
    rows = [_row([by_method[c] for c in columns], [_label(c, totals[photo].get(c)) for c in columns])
            for photo, by_method in images.items()]
    width = max(r.width for r in rows)
    sheet = Image.new("RGB", (width, sum(r.height for r in rows) + GAP * (len(rows) - 1)), "white")
    y = 0
    for row in rows:
        sheet.paste(row, (0, y))
        y += row.height + GAP
    return np.asarray(sheet)


def _label(method: str, result: dict | None) -> str:
    return method if result is None else f"{method}\nloss {result['total']:.3g}"


def _row(cells: list[np.ndarray], labels: list[str]) -> Image.Image:
    height = min(MAX_CELL, max(MIN_CELL, max(c.shape[0] for c in cells)))  # tiny images grow to stay legible
    scaled = [Image.fromarray(c).resize((max(1, round(c.shape[1] * height / c.shape[0])), height),
                                        Image.Resampling.LANCZOS) for c in cells]
    row = Image.new("RGB", (sum(s.width for s in scaled) + GAP * (len(scaled) - 1), height + LABEL_HEIGHT), "white")
    draw, font, x = ImageDraw.Draw(row), ImageFont.load_default(), 0
    for image, label in zip(scaled, labels):
        row.paste(image, (x, LABEL_HEIGHT))
        draw.multiline_text((x + 2, 1), label, fill="black", font=font, spacing=2)
        x += image.width + GAP
    return row
