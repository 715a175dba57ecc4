"""Edge roughness of a model's pictures with the runtime's reflected margin at several widths (docs/quality.md,
"Edges"): the export's torch twin with margin M on each photo, scored by train/evaluate/edges.py.

    git show 6fb199d:wip/starry_night_256px_tanh_14883steps.pt > /tmp/starry_14883.pt   # the weights with a fringe
    python benchmarks/edges.py /tmp/starry_14883.pt ../shared/data/content --size 256
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from brushwork.data.images import list_images, open_rgb, resize_to_side
from brushwork.models.checkpoint import load_checkpoint, model_from_checkpoint
from brushwork.models.export import ExportWrapper
from brushwork.models.run_layout import resolve_checkpoint
from brushwork.train.evaluate.edges import edge_roughness


def stylize(net, photo: np.ndarray, margin: int) -> np.ndarray:
    """The exported graph's torch twin (models/export.py ExportWrapper) with this edge margin."""
    with torch.no_grad():
        return ExportWrapper(net, margin=margin)(torch.from_numpy(photo.copy())[None])[0].numpy()


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
