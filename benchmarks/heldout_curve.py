"""Does a long training run still improve? Its learning curve on held-out photos, each checkpoint scored, no Gatys.

    python benchmarks/heldout_curve.py runs/starry_256_lr3e4 ../shared/data/content \\
        --style ../shared/data/styles/starry_night.jpg --reference eval/starry_256/report.json

The training loss is measured on random crops of the training photos, one batch at a time, so it is too noisy to
tell whether a run still improves. This scores every checkpoint in RUN/checkpoints (and RUN/model.pt) on the same
held-out photos at the same size, under the run's own loss, exactly as `brushwork evaluate` scores its "fast" row,
and appends new rows to RUN/heldout_curve.csv (checkpoints already scored are skipped: run it every half hour
beside the training, ~3 s of CPU per checkpoint and photo). With --reference (an evaluate report.json under the
same loss and size) each row also shows total / Gatys@N. Runs keep only the last few checkpoints (--keep-last),
hence the CSV.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np
import torch

from brushwork.data.images import list_images, open_rgb, resize_to_side
from brushwork.models.checkpoint import load_checkpoint
from brushwork.train.evaluate.compare import load_model, loss_settings, score, scoring_loss
from brushwork.train.gatys.optimize import to_tensor
from brushwork.train.losses import PerceptualLoss

CPU = torch.device("cpu")

FIELDS = ["file", "step", "content", "style", "tv", "total", "ratio"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="a training run directory")
    parser.add_argument("photos", type=Path, help="held-out photos (never used for training)")
    parser.add_argument("--style", required=True, help="the painting the run was trained on")
    parser.add_argument("--size", type=int, default=256, help="longest side of the photos (default: %(default)s)")
    parser.add_argument("--reference", type=Path, help="an evaluate report.json whose Gatys row is the yardstick")
    parser.add_argument("--gatys", default="gatys@100", help="the reference row (default: %(default)s)")
    args = parser.parse_args()

    csv_path = args.run / "heldout_curve.csv"
    done = {row["file"] for row in _read(csv_path)}
    files = sorted((args.run / "checkpoints").glob("*.pt")) + [p for p in [args.run / "model.pt"] if p.is_file()]
    todo = [f for f in files if _key(f) not in done]
    reference = _reference_total(args.reference, args.gatys) if args.reference else None
    if todo:
        first = load_checkpoint(todo[0])
        loss, photos = _loss_and_photos(first.get("config") or {}, args)
        with csv_path.open("a", newline="") as f:
            writer = csv.DictWriter(f, FIELDS)
            if not done:
                writer.writeheader()
            for path in todo:
                row = {"file": _key(path), "step": load_checkpoint(path).get("step"), **_score(path, loss, photos)}
                row["ratio"] = f"{row['total'] / reference:.3f}" if reference else ""
                writer.writerow(row)
                f.flush()
    for row in _read(csv_path):
        print("  ".join(f"{k} {row[k]}" for k in FIELDS if row[k] != ""))


def _key(path: Path) -> str:
    """model.pt is rewritten by a resumed or continued run: key it by its step, not its name."""
    return path.name if path.name != "model.pt" else f"model.pt@{load_checkpoint(path).get('step')}"


def _read(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def _reference_total(report: Path, method: str) -> float:
    return float(json.loads(report.read_text())["average"][method]["total"])


def _loss_and_photos(config: dict, args: argparse.Namespace) -> tuple[PerceptualLoss, list[np.ndarray]]:
    style = np.asarray(resize_to_side(open_rgb(args.style), int(config.get("style_size") or 512)), dtype=np.uint8)
    photos = [np.asarray(resize_to_side(open_rgb(p), args.size), dtype=np.uint8) for p in list_images(args.photos)]
    return scoring_loss(loss_settings(config), style, CPU), photos


def _score(path: Path, loss: PerceptualLoss, photos: list[np.ndarray]) -> dict[str, float]:
    """Mean weighted losses of one checkpoint's uint8 output, as `brushwork evaluate` scores its fast row."""
    stylize, _ = load_model(str(path), CPU)
    scores = [score(loss, to_tensor(photo, CPU), stylize(photo)) for photo in photos]
    return {k: float(f"{np.mean([s[k] for s in scores]):.5g}") for k in ("content", "style", "tv", "total")}


if __name__ == "__main__":
    main()
