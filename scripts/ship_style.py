"""Ship a trained style: export it as fp16 ONNX (+ its .tiled.onnx) into styles/ and record it in styles/index.json.

    python scripts/ship_style.py runs/starry_night --name starry_night \\
        --title "The Starry Night" --painter "Vincent van Gogh" --year 1889 \\
        --source "jcjohnson/neural-style examples/inputs/starry_night.jpg" --licence "public domain" \\
        --command "brushwork train --style starry_night.jpg --data photos/ --image-size 128 --time-budget 8h" \\
        --hours 7.9 --hardware "2-core Intel Xeon (AVX-512, no AMX), no GPU" \
        --student runs/starry_night_johnson-fast     # its `brushwork distill` run, shipped fp32 as NAME.fast.onnx

Only for models that were looked at next to Gatys on photos they were not trained on (docs/quality.md).
The training steps and style weights come from the checkpoint itself. The first entry of the index is the default
style of `brushwork stylize` and the one `brushwork demo` shows first.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from brushwork.cli import main as brushwork
from brushwork.models.export import load_for_export

STYLES = Path(__file__).resolve().parent.parent / "styles"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", help="run directory or checkpoint")
    for name in ("name", "title", "painter", "year", "source", "licence", "command", "hours", "hardware"):
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--student", help="the style's `brushwork distill` run directory (shipped fp32: on CPUs "
                        "without VNNI int8 gains little for small nets, docs/benchmarks.md)")
    args = parser.parse_args()
    model = STYLES / f"{args.name}.onnx"
    if brushwork(["export", args.run, "-o", str(model), "--fp16", "--overwrite"]) != 0:
        raise SystemExit(f"export of {args.run} failed")
    student = STYLES / f"{args.name}.fast.onnx"
    if args.student and brushwork(["export", args.student, "-o", str(student), "--overwrite"]) != 0:
        raise SystemExit(f"export of {args.student} failed")
    _, ckpt = load_for_export(args.run)
    config = ckpt.get("config") or {}
    entry = {"name": args.name, "file": model.name, "tiled_file": f"{args.name}.tiled.onnx", "title": args.title,
             "artist": args.painter, "year": args.year, "painting_source": args.source, "licence": args.licence,
             "training": {"command": args.command, "steps": ckpt.get("step"), "hours": float(args.hours),
                          "hardware": args.hardware, "init": (ckpt.get("init") or {}).get("source"),
                          "image_size": config.get("image_size"), "style_size": config.get("style_size"),
                          "style_weight": config.get("style_weight"), "tv_weight": config.get("tv_weight")}}
    if args.student:
        _, student_ckpt = load_for_export(args.student)
        entry.update(student=student.name, student_tiled_file=f"{args.name}.fast.tiled.onnx",
                     student_training={"arch": student_ckpt.get("arch"), "steps": student_ckpt.get("step"),
                                       "image_size": (student_ckpt.get("config") or {}).get("image_size")})
    index_path = STYLES / "index.json"
    styles = json.loads(index_path.read_text())["styles"] if index_path.is_file() else []
    styles = [s for s in styles if s["name"] != args.name] + [entry]
    index_path.write_text(json.dumps({"styles": styles}, indent=2) + "\n")
    print(f"shipped {args.name}: {model} ({model.stat().st_size / 1e6:.1f} MB), index {index_path}")


if __name__ == "__main__":
    main()
