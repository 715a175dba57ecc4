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
from dataclasses import dataclass
from pathlib import Path

from ..config import add_arguments as add_config_arguments
from ..config import from_args, option

# What a student run changes from `brushwork train`'s defaults: the small network, and far fewer steps (it learns
# one picture per photo, not a painting). Measured (docs/quality.md, "Students"; logged L1 to the teacher, mean of
# the log points near each step): 0.094 at step 50-100, 0.071 at 500, 0.068 at 1,000 and 0.062 at 1,500, the end of
# a 30-minute cosine run on 2 cores (the decay bought the last part).
DEFAULTS = {"arch": "johnson-fast", "steps": 2000, "warmup_steps": 50}
# Options of the style losses, which a student does not have.
NOT_FOR_STUDENTS = frozenset({"style", "teacher", "style_size", "style_weight", "style_balance", "content_weight",
                              "tv_weight", "content_layers", "style_layers", "vgg_weights", "temporal_weight"})


@dataclass
class StudentConfig:
    """What `distill` adds to the training flags: the teacher, and the student's export (as `brushwork export`)."""

    teacher: str = option(help="the trained model to reproduce: a run directory, checkpoint, fp32/fp16 .onnx export "
                          "or shipped style name", positional=True, metavar="TEACHER")
    output: Path = option(help="the student's .onnx file to write", short="-o", required=True)
    int8: bool = option(False, "export the student int8 (calibrated on --data)", switch=True)
    overwrite: bool = option(False, "replace an existing output file", switch=True)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from .command import add_arguments as add_train_arguments

    add_config_arguments(parser, StudentConfig)
    add_train_arguments(parser, skip=NOT_FOR_STUDENTS, defaults=DEFAULTS)


def run(args: argparse.Namespace) -> int:
    from ..models.export_command import check_output
    from ..models.export_config import ExportConfig
    from .command import config_from_args

    student = from_args(StudentConfig, args)
    cfg = config_from_args(args, {**DEFAULTS, "teacher": student.teacher})
    export = ExportConfig(checkpoint="", output=student.output, int8=student.int8,
                          calibration=Path(cfg.data) if student.int8 else None, overwrite=student.overwrite)
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
    from .distill import PSNR_SIDE, student_psnr

    score = student_psnr(cfg.teacher, student.output, cfg.data)
    print(f"student vs teacher on {score['photos']} photos of {cfg.data} (up to {PSNR_SIDE} px): PSNR mean "
          f"{score['mean']:.1f} dB, worst {score['worst']:.1f} dB")
    return 0
