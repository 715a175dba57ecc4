"""Compare a trained model with the Gatys optimizer on held-out photos: losses, wall time and a contact sheet.

    brushwork evaluate --model runs/starry --photos held_out/ --style starry.jpg --out eval/starry
    brushwork evaluate --model starry.onnx --photos held_out/ --style starry.jpg --size 256 --gatys-steps 50,100,300,500

Writes report.json, report.csv, report.md, contact_sheet.png and images/ into --out. Gatys is slow on a CPU
(roughly a second per iteration at 256 px on two cores): start with --limit 2 or fewer --gatys-steps.
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path


def _steps(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated iteration counts such as 50,100,300,500, "
                                         f"got {text!r}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="checkpoint .pt, run directory or exported .onnx")
    parser.add_argument("--photos", required=True, help="folder of held-out photos")
    parser.add_argument("--style", required=True, help="the style image the model was trained on")
    parser.add_argument("--out", default="evaluation", help="output folder (default: %(default)s)")
    parser.add_argument("--overwrite", action="store_true", help="replace the files of an earlier report in --out")
    parser.add_argument("--size", type=int, default=256, help="longest side of the photos (default: %(default)s)")
    parser.add_argument("--style-size", type=int,
                        help="longest side of the style image (default: the model's training style size, else 512)")
    parser.add_argument("--gatys-steps", type=_steps, default=(50, 100, 300, 500), metavar="N,N,...",
                        help="L-BFGS iteration counts to compare with (default: 50,100,300,500)")
    parser.add_argument("--gatys-init", choices=("content", "noise"), default="content",
                        help="Gatys starting image (default: %(default)s)")
    parser.add_argument("--limit", type=int, help="evaluate at most this many photos (default: all)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: %(default)s)")


def command_line(cfg) -> str:
    """The canonical command that reproduces a report (written into report.md/json)."""
    parts = ["brushwork", "evaluate", "--model", cfg.model, "--photos", cfg.photos, "--style", cfg.style,
             "--out", cfg.out, "--size", str(cfg.size), "--gatys-steps", ",".join(map(str, cfg.gatys_steps))]
    if cfg.style_size:
        parts += ["--style-size", str(cfg.style_size)]
    if cfg.gatys_init != "content":
        parts += ["--gatys-init", cfg.gatys_init]
    if cfg.limit:
        parts += ["--limit", str(cfg.limit)]
    return shlex.join(parts)


def check_out(out: str, overwrite: bool) -> None:
    """--out must be a folder (or not exist yet) without an earlier report, unless --overwrite."""
    from ... import BrushworkError
    from ...data.images import refuse_existing
    from .report import existing_outputs

    if Path(out).exists() and not Path(out).is_dir():
        raise BrushworkError(f"--out {out} is a file; give a folder for the report")
    if not overwrite:
        refuse_existing(existing_outputs(out), "--out")


def run(args: argparse.Namespace) -> int:
    from .compare import EvaluateConfig, evaluate
    from .report import to_markdown, write_report

    check_out(args.out, args.overwrite)  # before the Gatys runs, which take minutes
    cfg = EvaluateConfig(model=args.model, photos=args.photos, style=args.style, out=args.out, size=args.size,
                         style_size=args.style_size, gatys_steps=tuple(args.gatys_steps), gatys_init=args.gatys_init,
                         limit=args.limit, device=args.device)
    report = evaluate(cfg)
    command = command_line(cfg)
    paths = write_report(report, cfg.out, command)
    print(to_markdown({k: v for k, v in report.items() if k != "_images"}))
    print(f"wrote {paths[0]}, {paths[1].name}, {paths[2].name}, {paths[3].name} and {len(paths) - 4} images")
    return 0
