"""Export a trained model to a deployable ONNX file (uint8 NHWC RGB in and out; see models/export.py).

    brushwork export runs/starry -o starry.onnx
    brushwork export runs/starry/checkpoints/step_4000.pt -o starry.onnx --fp16
    brushwork export runs/starry -o starry_int8.onnx --int8 --calibration photos/

A run directory means its model.pt, or its newest checkpoints/step_*.pt. The file is checked (onnx.checker)
and compared with torch on an image whose sides are not multiples of 4 before it is put in place. Beside it goes
its tile graph `<name>.tiled.onnx` (fp32, for `stylize --tile/--max-memory`; see models/tiled.py), unless
--no-tiling; both files are checked before either is put in place.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from .. import BrushworkError
from ..config import add_arguments as add_config_arguments
from ..config import from_args
from ..infer.engine.contract import TILED_SUFFIX, tiled_path
from .export_config import ExportConfig


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, ExportConfig)


def run(args: argparse.Namespace) -> int:
    cfg = from_args(ExportConfig, args)
    output = check_output(cfg)
    from .checked_export import export_model

    report = export_model(cfg.checkpoint, output, precision=cfg.precision, calibration=cfg.calibration,
                          tiling=not cfg.no_tiling)
    print("\n".join(report.lines()))
    return 0


def check_output(cfg: ExportConfig) -> Path:
    """The output is a new .onnx file (or --overwrite) in a writable folder, and so is its tile graph. `cfg` may be
    anything with its output, overwrite and no_tiling (brushwork distill checks before it trains)."""
    output: Path = cfg.output
    if output.suffix.lower() != ".onnx":
        raise BrushworkError(f"-o {output}: the output must be a .onnx file")
    if output.name.endswith(TILED_SUFFIX):
        raise BrushworkError(f"-o {output}: names ending in {TILED_SUFFIX} are for tile graphs; choose another name")
    if output.exists() and not cfg.overwrite:
        raise BrushworkError(f"{output} exists; pass --overwrite to replace it")
    if not cfg.no_tiling and tiled_path(output).exists() and not cfg.overwrite:
        raise BrushworkError(f"{tiled_path(output)} (the tile graph written beside {output.name}) exists; pass "
                             "--overwrite to replace it, or --no-tiling to skip it")
    if not output.parent.is_dir() or not os.access(output.parent, os.W_OK):
        raise BrushworkError(f"-o {output}: cannot write into {output.parent}; choose a writable folder")
    return output
