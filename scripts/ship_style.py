"""Ship a trained style: export it as fp16 ONNX (+ its .tiled.onnx) into styles/, with its measured quality in the
file's metadata and in styles/index.json.

    brushwork evaluate --model runs/starry_night --photos ../shared/data/content --style starry_night.jpg \\
        --size 256 --gatys-steps 50,100 --out eval/starry_night          # the measurement shipped with it
    python scripts/ship_style.py runs/starry_night --name starry_night \\
        --title "The Starry Night" --painter "Vincent van Gogh" --year 1889 \\
        --source "jcjohnson/neural-style examples/inputs/starry_night.jpg" --licence "public domain" \\
        --command "brushwork train --style starry_night.jpg --data photos/ --time-budget 8h" \\
        --hours 7.9 --images 59532 --hardware "2-core Intel Xeon (AVX-512), no GPU" \\
        --evaluation eval/starry_night/report.json \\
        --student runs/starry_night_johnson-fast     # its `brushwork distill` run (or the .onnx it wrote), fp32

Only for models that were looked at next to Gatys on photos they were not trained on (docs/quality.md) and that
meet the shipping rule there. The style weights come from the checkpoint itself; the quality (ratio to Gatys@N,
the Johnson-protocol figure, edge roughness) from the evaluation report. The first entry of the index is the default
style of `brushwork stylize` and the one `brushwork demo` shows first.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from brushwork.cli import main as brushwork
from brushwork.infer.engine.contract import tiled_path
from brushwork.models.export import load_for_export
from brushwork.models.shared_weights import share_weights

STYLES = Path(__file__).resolve().parent.parent / "styles"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", help="run directory or checkpoint")
    for name in ("name", "title", "painter", "year", "source", "licence", "command", "hours", "images", "hardware",
                 "evaluation"):
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--student", help="the style's `brushwork distill` run directory (shipped fp32: on CPUs "
                        "without VNNI int8 gains little for small nets, docs/benchmarks.md)")
    parser.add_argument("--limitations", help="what looking at it next to Gatys found wrong, in one sentence: "
                        "`brushwork styles` and `brushwork info` show it with the measured quality")
    args = parser.parse_args()
    model = STYLES / f"{args.name}.onnx"
    if brushwork(["export", args.run, "-o", str(model), "--fp16", "--overwrite"]) != 0:
        raise SystemExit(f"export of {args.run} failed")
    student = STYLES / f"{args.name}.fast.onnx"
    if args.student:
        student_training = ship_student(Path(args.student), student)
    _, ckpt = load_for_export(args.run)
    config = ckpt.get("config") or {}
    quality = quality_record(json.loads(Path(args.evaluation).read_text()))
    quality.update(images=int(args.images), hours=float(args.hours), hardware=args.hardware)
    if args.limitations:
        quality["limitations"] = args.limitations
    record_quality(model, quality)
    entry = {"name": args.name, "file": model.name, "tiled_file": tiled_path(model).name, "title": args.title,
             "artist": args.painter, "year": args.year, "painting_source": args.source, "licence": args.licence,
             "training": {"command": args.command, "steps": ckpt.get("step"), "hours": float(args.hours),
                          "hardware": args.hardware, "init": (ckpt.get("init") or {}).get("source"),
                          "image_size": config.get("image_size"), "style_size": config.get("style_size"),
                          "style_weight": config.get("style_weight"), "tv_weight": config.get("tv_weight")},
             "quality": quality}
    if args.student:
        entry.update(student=student.name, student_tiled_file=tiled_path(student).name,
                     student_training=student_training)
    index_path = STYLES / "index.json"
    styles = json.loads(index_path.read_text())["styles"] if index_path.is_file() else []
    styles = [s for s in styles if s["name"] != args.name] + [entry]
    index_path.write_text(json.dumps({"styles": styles}, indent=2) + "\n")
    share_tile_graphs(args.name)
    print(f"shipped {args.name}: {model} ({model.stat().st_size / 1e6:.1f} MB), index {index_path}")


def share_tile_graphs(name: str) -> None:
    """The last step, once the model files are final: each tile graph reads its weights from the model beside it
    (models/shared_weights.py), so the wheel carries them once."""
    for model in (STYLES / f"{name}.onnx", STYLES / f"{name}.fast.onnx"):
        if model.is_file():
            saved = share_weights(tiled_path(model), model)
            print(f"{model.name}: its tile graph reads {saved / 1e6:.1f} MB of weights from it")


def ship_student(source: Path, student: Path) -> dict:
    """Put the student in place as student (+ its tile graph) and return its training record. source is a distill run
    or checkpoint (exported here) or the .onnx that `brushwork distill -o` wrote with its .tiled.onnx beside it (a GPU
    run brings back only those: benchmarks/gpu_run.sh)."""
    if source.suffix != ".onnx":
        if brushwork(["export", str(source), "-o", str(student), "--overwrite"]) != 0:
            raise SystemExit(f"export of {source} failed")
        _, ckpt = load_for_export(source)
        return {"arch": ckpt.get("arch"), "steps": ckpt.get("step"),
                "image_size": (ckpt.get("config") or {}).get("image_size")}
    import onnx

    tiled = tiled_path(source)
    if not tiled.is_file():
        raise SystemExit(f"{source}: its tile graph {tiled.name} is missing beside it; export the student again")
    meta = {p.key: p.value for p in onnx.load(str(source), load_external_data=False).metadata_props}
    shutil.copyfile(source, student)
    shutil.copyfile(tiled, tiled_path(student))
    config = json.loads(meta.get("training_config") or "{}")
    return {"arch": meta.get("arch"), "steps": int(meta["training_step"]) if meta.get("training_step") else None,
            "image_size": config.get("image_size")}


def quality_record(report: dict) -> dict:
    """What `brushwork evaluate` measured, as the index and the file's metadata keep it."""
    fast = report["average"]["fast"]
    ratios = {f"ratio_{m.replace('@', '')}": round(fast["total"] / report["average"][m]["total"], 3)
              for m in report["methods"] if m.startswith("gatys@")}
    johnson = report.get("johnson") or {}
    return {**ratios, "johnson_iterations": johnson.get("median"), "edge_roughness": round(fast["edges"], 2),
            "photos": len(report["photos"]), "size": report["config"]["size"]}


def record_quality(model: Path, quality: dict) -> None:
    """Add the measured quality to the exported file's metadata (`brushwork info` shows it)."""
    import onnx

    from brushwork.models.export import save_model_atomic, set_metadata

    proto = onnx.load(str(model))
    meta = {p.key: p.value for p in proto.metadata_props}
    set_metadata(proto, {**meta, "quality": json.dumps(quality, sort_keys=True)})
    save_model_atomic(proto, model)


if __name__ == "__main__":
    main()
