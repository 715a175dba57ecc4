"""Distill a trained style into a small, fast student network and export it: real time on a CPU.

    brushwork distill starry_night --data photos/ -o starry_fast.onnx             # a shipped style as teacher
    brushwork distill runs/starry --data photos/ -o starry_fast.onnx --time-budget 30m
    brushwork distill starry.onnx --data photos/ -o starry_light.onnx --arch johnson-light

The student trains as a normal run in OUT/NAME (resumable, TensorBoard, samples; every `brushwork train` option
applies) with `--teacher`, learning to reproduce the teacher's pictures of the photos (train/distill.py). Then it
is exported like `brushwork export` (fp32 with its .tiled.onnx, or --int8) and its PSNR to the teacher is
printed, measured on photos of --data at up to 512 px.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .. import BrushworkError

# What a student run changes from `brushwork train`'s defaults: the small network, and far fewer steps (it learns
# one picture per photo, not a painting). Measured (docs/quality.md, "Students"; logged L1 to the teacher, mean of
# the log points near each step): 0.094 at step 50-100, 0.071 at 500, 0.068 at 1,000 and 0.062 at 1,500, the end of
# a 30-minute cosine run on 2 cores (the decay bought the last part).
DEFAULTS = {"arch": "johnson-fast", "steps": 2000, "warmup_steps": 50}
# Options of the style losses, which a student does not have.
NOT_FOR_STUDENTS = frozenset({"style", "teacher", "style_size", "style_weight", "style_balance", "content_weight",
                              "tv_weight", "content_layers", "style_layers", "vgg_weights", "temporal_weight"})
PSNR_PHOTOS, PSNR_SIDE = 8, 512


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from .command import add_arguments as add_train_arguments

    parser.add_argument("teacher", metavar="TEACHER", help="the trained model to reproduce: a run directory, "
                        "checkpoint, fp32/fp16 .onnx export or shipped style name")
    parser.add_argument("-o", "--output", required=True, type=Path, help="the student's .onnx file to write")
    parser.add_argument("--int8", action="store_true", help="export the student int8 (calibrated on --data)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    add_train_arguments(parser, skip=NOT_FOR_STUDENTS, defaults=DEFAULTS)


def run(args: argparse.Namespace) -> int:
    from ..models.export_command import check_output
    from ..models.export_config import ExportConfig
    from .command import config_from_args

    cfg = config_from_args(args, {**DEFAULTS, "teacher": args.teacher})
    export = ExportConfig(checkpoint="", output=args.output, int8=args.int8,
                          calibration=Path(cfg.data) if args.int8 else None, overwrite=args.overwrite)
    check_output(export)  # before the hours of training, not after (the checkpoint is known only then)
    from ..models.checked_export import export_model
    from .loop import fit

    result = fit(cfg)
    if result.interrupted:
        print(f"brushwork distill: stopped; run the same command to continue {result.run_dir}")
        return 128 + (result.signal or 2)
    report = export_model(result.model_path, export.output, precision=export.precision,
                          calibration=export.calibration)
    print("\n".join(report.lines()))
    score = student_psnr(cfg.teacher, args.output, cfg.data)
    print(f"student vs teacher on {score['photos']} photos of {cfg.data} (up to {PSNR_SIDE} px): PSNR mean "
          f"{score['mean']:.1f} dB, worst {score['worst']:.1f} dB")
    return 0


def student_psnr(teacher: str, student_onnx: Path, photos: str, count: int = PSNR_PHOTOS,
                 side: int = PSNR_SIDE) -> dict:
    """PSNR of the exported student against the teacher (torch, fp32) on `count` photos spread over the folder."""
    import numpy as np

    from ..data.images import list_images
    from ..models.export import psnr

    paths = list_images(photos)
    if not paths:
        raise BrushworkError(f"--data {photos}: no photos to measure the student on")
    picks = [paths[round(i * (len(paths) - 1) / max(1, count - 1))] for i in range(min(count, len(paths)))]
    scores = [psnr(out, reference) for _, _, reference, out in teacher_and_student(teacher, student_onnx, picks, side)]
    return {"photos": len(scores), "mean": float(np.mean(scores)), "worst": float(np.min(scores))}


def teacher_and_student(teacher: str, student_onnx: Path, paths: list[Path], side: int):
    """(path, photo, teacher's picture in torch fp32, student's through onnxruntime) per photo, longest side `side`."""
    import numpy as np
    import torch

    from ..data.images import open_rgb, resize_to_side
    from ..infer.session import Stylizer
    from ..models.export import ExportWrapper
    from .distill import load_teacher

    net, _ = load_teacher(teacher)
    wrapper, student = ExportWrapper(net).eval(), Stylizer(student_onnx, device="cpu")
    for path in paths:
        image = np.asarray(resize_to_side(open_rgb(path), side), dtype=np.uint8)
        with torch.no_grad():
            reference = wrapper(torch.from_numpy(image.copy())[None])[0].numpy()
        yield path, image, reference, student(image)
