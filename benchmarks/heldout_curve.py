"""A training run's learning curve on held-out photos: score each checkpoint's fast model, no Gatys (issue 11).

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
from brushwork.models.checkpoint import load_checkpoint, model_from_checkpoint
from brushwork.models.vgg import build_vgg
from brushwork.train.evaluate.compare import loss_settings, score
from brushwork.train.gatys.optimize import to_tensor, to_uint8
from brushwork.train.losses import PerceptualLoss

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
                ckpt = load_checkpoint(path)
                row = {"file": _key(path), "step": ckpt.get("step"), **_score(ckpt, loss, photos)}
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
    settings = loss_settings(config)
    style_side = int(config.get("style_size") or 512)
    style = np.asarray(resize_to_side(open_rgb(args.style), style_side), dtype=np.uint8)
    loss = PerceptualLoss(build_vgg(settings["vgg_weights"]), [to_tensor(style, torch.device("cpu"))],
                          content_layers=settings["content_layers"], style_layers=settings["style_layers"],
                          content_weight=settings["content_weight"], style_weight=settings["style_weight"],
                          tv_weight=settings["tv_weight"])
    photos = [np.asarray(resize_to_side(open_rgb(p), args.size), dtype=np.uint8) for p in list_images(args.photos)]
    return loss, photos


def _score(ckpt: dict, loss: PerceptualLoss, photos: list[np.ndarray]) -> dict[str, float]:
    net = model_from_checkpoint(ckpt).float().eval()
    scores = []
    for photo in photos:
        content = to_tensor(photo, torch.device("cpu"))
        with torch.inference_mode():
            image = to_uint8(net(content))
        scores.append(score(loss, content, image))
    return {k: float(f"{np.mean([s[k] for s in scores]):.5g}") for k in ("content", "style", "tv", "total")}


if __name__ == "__main__":
    main()
