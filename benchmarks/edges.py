"""Edge roughness of a model's pictures with the runtime's reflected margin at several widths (docs/quality.md,
"Edges"): the torch network on each photo reflection-padded by M px, cropped back, scored by train/evaluate/edges.py.

    git show 6fb199d:wip/starry_night_256px_tanh_14883steps.pt > /tmp/starry_14883.pt   # the weights with a fringe
    python benchmarks/edges.py /tmp/starry_14883.pt ../shared/data/content --size 256
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
import torch.nn.functional as F

from brushwork.data.images import list_images, open_rgb, resize_to_side
from brushwork.models.checkpoint import load_checkpoint, model_from_checkpoint
from brushwork.models.run_layout import resolve_checkpoint
from brushwork.train.evaluate.edges import edge_roughness


def stylize(net, photo: np.ndarray, margin: int) -> np.ndarray:
    """As the exported graph does: pad to the stride, reflect `margin` px all round, run, crop."""
    x = torch.from_numpy(photo.copy()).permute(2, 0, 1)[None].float() / 255
    h, w = x.shape[2:]
    x = F.pad(x, (0, -w % 4, 0, -h % 4), mode="reflect")
    x = F.pad(x, (margin,) * 4, mode="reflect") if margin else x
    with torch.no_grad():
        y = net(x)[0, :, margin:margin + h, margin:margin + w]
    return (y.clamp(0, 1).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="run directory or checkpoint")
    parser.add_argument("photos", help="folder of photos")
    parser.add_argument("--size", type=int, default=256, help="longest side (default: %(default)s)")
    parser.add_argument("--margins", type=int, nargs="+", default=[0, 8, 16, 32])
    args = parser.parse_args()
    net = model_from_checkpoint(load_checkpoint(resolve_checkpoint(args.model))).float().eval()
    photos = [np.asarray(resize_to_side(open_rgb(p), args.size), dtype=np.uint8) for p in list_images(args.photos)]
    rows = {"photo itself": [edge_roughness(p) for p in photos]}
    for margin in args.margins:
        rows[f"margin {margin}"] = [edge_roughness(stylize(net, p, margin)) for p in photos]
    for name, values in rows.items():
        print(f"| {name} | " + " | ".join(f"{v:.2f}" for v in values) + f" | {np.mean(values):.2f} |")


if __name__ == "__main__":
    main()
