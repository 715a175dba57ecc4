"""How much fine hatching does a model paint into flat sky? The roughness of the sky band: mean |Laplacian| of the
grey level over the top rows of a photo whose top is plain sky (docs/quality.md, "Hatching": on chicago at 384 px
the photo's own sky gives 4.0, the shipped starry_night 12.9).

    python benchmarks/hatching.py starry_night runs/tv1e4/model.pt --photos ../shared/data/content/chicago.jpg \\
        ../shared/data/content/tubingen.jpg --size 384 --rows 110 --crops /tmp/skies.png

Each MODEL is anything `brushwork stylize --model` takes (shipped style name or .onnx) or a checkpoint / run folder
(exported on the fly to a temporary fp32 ONNX file, so every model runs the same onnxruntime path users run).
--crops writes the sky bands, one row per model, shown 2x with nearest neighbour so the hatching is visible.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from brushwork.data.images import open_rgb, resize_to_side
from brushwork.infer import Stylizer
from brushwork.styles import style_path
from brushwork.train.evaluate.edges import BAND, luma_laplacian


def sky_roughness(rgb: np.ndarray, rows: int) -> float:
    """mean |Laplacian| of the grey level (0-255) over the top `rows` rows (the outer 3 px left out: edges.py)."""
    return float(luma_laplacian(rgb[:rows])[BAND:-BAND, BAND:-BAND].mean())


def onnx_file(model: str, scratch: Path) -> Path:
    """A runnable .onnx for `model`: shipped name or .onnx as is, a checkpoint exported (fp32) into `scratch`."""
    path = Path(model)
    if path.suffix.lower() == ".onnx":
        return path
    if not path.exists():
        return style_path(model)
    from brushwork.cli import main as brushwork

    # numbered: two runs' model.pt share a stem
    out = scratch / f"{path.stem if path.is_file() else path.name}_{len(list(scratch.iterdir()))}.onnx"
    if brushwork(["export", str(path), "-o", str(out), "--no-tiling"]) != 0:
        raise SystemExit(f"{model}: export failed")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+")
    parser.add_argument("--photos", nargs="+", type=Path, required=True, help="photos whose top rows are sky")
    parser.add_argument("--size", type=int, default=384, help="longest side (default: %(default)s)")
    parser.add_argument("--rows", type=int, default=110, help="sky rows at the top (default: %(default)s)")
    parser.add_argument("--crops", type=Path, help="write the sky bands here (PNG), one row per model")
    args = parser.parse_args()
    photos = [np.asarray(resize_to_side(open_rgb(p), args.size)) for p in args.photos]
    bands = [[p[: args.rows] for p in photos]]
    print("model | " + " | ".join(p.name for p in args.photos))
    print("photo | " + " | ".join(f"{sky_roughness(p, args.rows):.2f}" for p in photos))
    with tempfile.TemporaryDirectory() as scratch:
        for model in args.models:
            stylizer = Stylizer(onnx_file(model, Path(scratch)), device="cpu")
            outs = [stylizer(p) for p in photos]
            bands.append([o[: args.rows] for o in outs])
            print(f"{model} | " + " | ".join(f"{sky_roughness(o, args.rows):.2f}" for o in outs))
    if args.crops:
        rows = [np.concatenate([np.pad(b, ((0, 0), (0, 4), (0, 0)), constant_values=255) for b in r], axis=1)
                for r in bands]
        sheet = np.concatenate([np.pad(r, ((0, 4), (0, 0), (0, 0)), constant_values=255) for r in rows], axis=0)
        Image.fromarray(sheet).resize((sheet.shape[1] * 2, sheet.shape[0] * 2), Image.Resampling.NEAREST).save(
            args.crops)


if __name__ == "__main__":
    main()
