"""The training-recipe study: quality per CPU-hour, one factor at a time, scored against Gatys.

    python benchmarks/recipe_study.py --style ../shared/data/styles/starry_night.jpg \\
        --data ../shared/data/photos --held-out ../shared/data/content --out study/ \\
        --base "--image-size 128 --time-budget 45m" \\
        --vary style-balance=1,2,4 --vary arch=johnson,johnson-light

Every variant is the base command plus one changed flag (so each row differs from the base in one factor), run
through the real CLI: `brushwork train` into OUT/runs/NAME, then `brushwork evaluate` of its model on the held-out
photos against Gatys@100 under the variant's own loss. A --time-budget base gives every variant the same CPU time,
which is what "quality per CPU-hour" means. Runs that finished are not run again (delete the folder to redo one).
Writes OUT/study.md: total loss as a multiple of Gatys@100's (1.0 = parity, lower is better), style and content
parts, steps and wall hours, and each variant's contact sheet path to look at. Judge by the sheets as much as by
the ratio: the loss differs between variants that change the loss itself (style balance, layers).
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path

from brushwork.models.checkpoint import load_checkpoint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--style", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--held-out", required=True, help="photos never used for training")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--base", default="--image-size 128 --time-budget 45m", help="flags of every run")
    parser.add_argument("--vary", action="append", default=[], metavar="FLAG=A,B",
                        help="one factor and its values (repeatable); the base run is always included")
    parser.add_argument("--gatys-steps", default="100")
    parser.add_argument("--size", default="256", help="evaluation size (default: %(default)s)")
    args = parser.parse_args()
    rows = [_variant(args, "base", [])]
    for spec in args.vary:
        flag, values = spec.split("=", 1)
        for value in values.split(","):
            rows.append(_variant(args, f"{flag}={value}", [f"--{flag}", value]))
    table = _table(rows, args.gatys_steps.split(",")[-1])
    (args.out / "study.md").write_text(table)
    print(table)


def _variant(args: argparse.Namespace, name: str, extra: list[str]) -> dict:
    runs, evals = args.out / "runs", args.out / "eval" / name
    run_dir = runs / name
    if not (run_dir / "model.pt").is_file():
        _brushwork(["train", "--style", args.style, "--data", args.data, "--out", str(runs), "--name", name,
                    *shlex.split(args.base), *extra])
    model = load_checkpoint(run_dir / "model.pt")
    hours = (model.get("budget") or {}).get("elapsed", float("nan")) / 3600
    if not (evals / "report.json").is_file():
        _brushwork(["evaluate", "--model", str(run_dir), "--photos", args.held_out, "--style", args.style,
                    "--out", str(evals), "--size", args.size, "--gatys-steps", args.gatys_steps, "--overwrite"])
    report = json.loads((evals / "report.json").read_text())
    return {"name": name, "average": report["average"], "hours": hours, "steps": model["step"],
            "sheet": evals / "contact_sheet.png"}


def _brushwork(argv: list[str]) -> None:
    command = [sys.executable, "-m", "brushwork", *argv]
    print("+", shlex.join(command), flush=True)
    subprocess.run(command, check=True)


def _table(rows: list[dict], gatys: str) -> str:
    lines = [f"| variant | total / Gatys@{gatys} | style / Gatys | content / Gatys | steps | hours | contact sheet |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for row in rows:
        fast, ref = row["average"]["fast"], row["average"][f"gatys@{gatys}"]
        lines.append(f"| {row['name']} | {fast['total'] / ref['total']:.2f} | {fast['style'] / ref['style']:.2f} | "
                     f"{fast['content'] / ref['content']:.2f} | {row['steps']} | {row['hours']:.2f} | {row['sheet']} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
