"""Compare a trained model with the Gatys optimizer on held-out photos: losses, wall time and a contact sheet.

    brushwork evaluate --model runs/starry --photos held_out/ --style starry.jpg --out eval/starry
    brushwork evaluate --model starry.onnx --photos held_out/ --style starry.jpg --size 256 --gatys-steps 50,100,300,500

Writes report.json, report.csv, report.md, contact_sheet.png and images/ into --out. Gatys is slow on a CPU
(roughly a second per iteration at 256 px on two cores): start with --limit 2 or fewer --gatys-steps.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ... import BrushworkError
from ...config import add_arguments as add_config_arguments
from ...config import command_line, from_args
from .config import EvaluateConfig


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, EvaluateConfig)


def check_out(out: str, overwrite: bool) -> None:
    """--out must be a folder (or not exist yet) without an earlier report, unless --overwrite."""
    from ...data.images import refuse_existing
    from .report import existing_outputs

    if Path(out).exists() and not Path(out).is_dir():
        raise BrushworkError(f"--out {out} is a file; give a folder for the report")
    if not overwrite:
        refuse_existing(existing_outputs(out), "--out")


def run(args: argparse.Namespace) -> int:
    cfg = from_args(EvaluateConfig, args)
    check_out(cfg.out, cfg.overwrite)  # before the Gatys runs, which take minutes
    from .compare import evaluate
    from .report import to_markdown, write_report

    report = evaluate(cfg)
    paths = write_report(report, cfg.out, command_line(cfg, "evaluate"))  # the command that reproduces it
    print(to_markdown({k: v for k, v in report.items() if k != "_images"}))
    print(f"wrote {paths[0]}, {paths[1].name}, {paths[2].name}, {paths[3].name} and {len(paths) - 4} images")
    return 0
