"""Export a trained model into a deployable file that has passed its checks: what `brushwork export` (and the last
step of `brushwork distill`) do, as one library call that returns what it measured.

    report = export_model("runs/starry", Path("starry.onnx"))              # fp32, and starry.tiled.onnx beside it
    report = export_model("runs/starry", Path("s8.onnx"), precision="int8", calibration=Path("photos"))
    print("\n".join(report.lines()))

The file is written into a staging folder beside the output and checked there: onnx.checker, then onnxruntime
against torch float32 on an image whose sides are not multiples of the stride (fp32 within FP32_TOLERANCE grey
levels everywhere, fp16 within FP16_MEAN_TOLERANCE on average); int8 is also scored by its PSNR to fp32 on held-out
calibration photos. Only then are the file and its tile graph renamed into place: a failed check leaves nothing.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import BrushworkError
from ..infer.engine.contract import tiled_path
from . import quantize
from .export import build_metadata, check_parity, export_onnx, load_for_export, psnr, run_onnx, torch_twin
from .transformer_net import TransformerNet

PRECISIONS = ("fp32", "fp16", "int8")
FP32_TOLERANCE = 1  # grey levels: rounding of values that land on .5 may differ, nothing more
FP16_MEAN_TOLERANCE = 1.0
CALIBRATION_PHOTOS = 32


@dataclass
class ExportReport:
    """What an export wrote and measured; `lines()` is what `brushwork export` prints."""

    output: Path
    precision: str
    parity_max: int  # grey levels, onnxruntime (fp32 or fp16 file) against torch float32
    parity_mean: float
    seconds: float = 0.0  # export and checks, without the tile graph
    size_bytes: int = 0
    tiled: Path | None = None
    int8_drift: tuple[int, float] | None = None  # (max, mean) grey levels: the int8-ready net against the trained one
    int8_psnr: tuple[float, float, int, str] | None = None  # (mean, min) dB to fp32 on N photos, "held-out" or not

    def lines(self) -> list[str]:
        out = []
        if self.int8_drift is not None:
            out.append(f"int8 preparation (IN-aware channel rescaling) vs the trained net: max |diff| "
                       f"{self.int8_drift[0]} grey levels, mean {self.int8_drift[1]:.3f}")
        out.append("onnx.checker: ok")
        label = "fp16" if self.precision == "fp16" else "fp32"
        out.append(f"parity {label} onnxruntime vs torch fp32 on a 67x93 image: max |diff| {self.parity_max} grey "
                   f"levels, mean {self.parity_mean:.3f}")
        if self.int8_psnr is not None:
            mean, worst, count, where = self.int8_psnr
            out.append(f"int8 quality vs fp32 on {count} {where} photos: PSNR mean {mean:.1f} dB, min {worst:.1f} dB "
                       "(above ~35 dB the difference is hard to see)")
        out.append(f"wrote {self.output} ({self.precision}, {self.size_bytes / 2**20:.2f} MB) in {self.seconds:.1f} s")
        if self.tiled is not None:
            out.append(f"wrote {self.tiled} (its tile graph, for `brushwork stylize --tile/--max-memory`)")
        return out


def export_model(checkpoint: str | os.PathLike, output: Path, *, precision: str = "fp32",
                 calibration: Path | None = None, tiling: bool = True) -> ExportReport:
    """Export the run directory or checkpoint `checkpoint` to `output` (and its tile graph, unless not `tiling`).

    Raises BrushworkError when a check fails; the output is then untouched.
    """
    from .tiled import export_tiled  # at call time, before any work: a broken install fails loudly, writing nothing

    if precision not in PRECISIONS:
        raise BrushworkError(f"precision {precision!r} is unknown; choose one of {', '.join(PRECISIONS)}")
    if precision == "int8" and calibration is None:
        raise BrushworkError("--int8 needs --calibration DIR, a folder of photos like those you will stylize")
    output = Path(output)
    net, ckpt = load_for_export(checkpoint)
    metadata = build_metadata(ckpt, precision)
    with tempfile.TemporaryDirectory(dir=output.parent, prefix=f".{output.name}.") as work:
        staged = Path(work) / output.name
        start = time.perf_counter()
        report = _export_checked(net, staged, metadata, precision, calibration)
        report.seconds = time.perf_counter() - start
        if tiling:
            # fp32 arithmetic; beside an fp16 file with the fp16 file's weights, stored in half the bytes
            export_tiled(net, staged, {**metadata, "precision": "fp32"}, half_weights=precision == "fp16")
        os.replace(staged, output)
        if tiling:
            os.replace(tiled_path(staged), tiled_path(output))
    report.output, report.size_bytes = output, output.stat().st_size
    report.tiled = tiled_path(output) if tiling else None
    return report


def _export_checked(net: TransformerNet, staged: Path, metadata: dict, precision: str,
                    calibration: Path | None) -> ExportReport:
    """Export into `staged` and run the checks; raise if one fails (the final name is never touched then)."""
    int8, drift = precision == "int8", None
    fp32_path = staged.with_name("fp32.onnx") if int8 else staged
    if int8:
        images = quantize.calibration_images(calibration, limit=CALIBRATION_PHOTOS)
        original, net = net, quantize.equalize_for_int8(net, images)
        change = check_parity(original, torch_twin(net))
        drift = (int(change.max()), float(change.mean()))
    export_onnx(net, fp32_path, {**metadata, "precision": "fp32"} if int8 else metadata, fp16=precision == "fp16")
    diff = check_parity(net, lambda image: run_onnx(fp32_path, image))
    _check_parity(diff, precision)
    report = ExportReport(staged, precision, int(diff.max()), float(diff.mean()), int8_drift=drift)
    if int8:
        report.int8_psnr = _quantize_checked(fp32_path, staged, metadata, images)
    return report


def _check_parity(diff: np.ndarray, precision: str) -> None:
    if precision != "fp16" and diff.max() > FP32_TOLERANCE:
        raise BrushworkError(f"export parity failed: onnxruntime differs from torch by {diff.max()} grey levels "
                             f"(> {FP32_TOLERANCE}); please report this with the checkpoint")
    if precision == "fp16" and diff.mean() > FP16_MEAN_TOLERANCE:
        raise BrushworkError(f"fp16 export drifts from fp32 by {diff.mean():.2f} grey levels on average; "
                             "export fp32 instead (drop --fp16)")


def _quantize_checked(fp32_path: Path, staged: Path, metadata: dict,
                      images: list[np.ndarray]) -> tuple[float, float, int, str]:
    """Calibrate on 3 of every 4 photos, measure PSNR against fp32 on the held-out 4th (all, if under 8)."""
    held_out = images[3::4] if len(images) >= 8 else images
    calibrate = [im for i, im in enumerate(images) if i % 4 != 3] if len(images) >= 8 else images
    quantize.quantize_int8(fp32_path, staged, calibrate, metadata)
    scores = [psnr(run_onnx(staged, im), run_onnx(fp32_path, im)) for im in held_out]
    where = "held-out" if held_out is not images else "calibration"
    return sum(scores) / len(scores), min(scores), len(scores), where
