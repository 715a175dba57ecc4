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
import tempfile
from pathlib import Path

from .. import BrushworkError
from ..infer.contract import TILED_SUFFIX, tiled_path

FP32_TOLERANCE = 1  # grey levels: rounding of values that land on .5 may differ, nothing more
FP16_MEAN_TOLERANCE = 1.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", metavar="RUN_OR_CHECKPOINT", help="a training run directory or a .pt file")
    parser.add_argument("-o", "--output", required=True, type=Path, help="the .onnx file to write")
    precision = parser.add_argument_group("precision").add_mutually_exclusive_group()
    precision.add_argument("--fp16", action="store_true", help="half precision (instance norm statistics in fp32)")
    precision.add_argument("--int8", action="store_true", help="static int8 quantization (QDQ), fastest on CPUs "
                           "with VNNI; needs --calibration")
    parser.add_argument("--calibration", type=Path, metavar="DIR", help="folder of photos to calibrate --int8 on")
    parser.add_argument("--no-tiling", action="store_true",
                        help="skip the companion <name>.tiled.onnx used by `stylize --tile/--max-memory`")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output file")


def run(args: argparse.Namespace) -> int:
    output = check_output(args)
    if args.int8 and args.calibration is None:
        raise BrushworkError("--int8 needs --calibration DIR, a folder of photos like those you will stylize")
    if args.calibration is not None and not args.int8:
        raise BrushworkError("--calibration is only used with --int8; add --int8 or drop it")
    from . import export as ex
    from .tiled import export_tiled

    net, ckpt = ex.load_for_export(args.checkpoint)
    precision = "fp16" if args.fp16 else "int8" if args.int8 else "fp32"
    metadata = ex.build_metadata(ckpt, precision)
    with tempfile.TemporaryDirectory(dir=output.parent, prefix=f".{output.name}.") as work:
        staged = Path(work) / output.name
        with ex.Timer() as timer:
            _export_checked(ex, net, staged, metadata, args)
        if not args.no_tiling:
            export_tiled(net, staged, {**metadata, "precision": "fp32"})  # writes tiled_path(staged), checked
        os.replace(staged, output)
        if not args.no_tiling:
            os.replace(tiled_path(staged), tiled_path(output))
    size_mb = output.stat().st_size / 2**20
    print(f"wrote {output} ({precision}, {size_mb:.2f} MB) in {timer.seconds:.1f} s")
    if not args.no_tiling:
        print(f"wrote {tiled_path(output)} (its tile graph, for `brushwork stylize --tile/--max-memory`)")
    return 0


def check_output(args: argparse.Namespace) -> Path:
    output: Path = args.output
    if output.suffix.lower() != ".onnx":
        raise BrushworkError(f"-o {output}: the output must be a .onnx file")
    if output.name.endswith(TILED_SUFFIX):
        raise BrushworkError(f"-o {output}: names ending in {TILED_SUFFIX} are for tile graphs; choose another name")
    if output.exists() and not args.overwrite:
        raise BrushworkError(f"{output} exists; pass --overwrite to replace it")
    if not args.no_tiling and tiled_path(output).exists() and not args.overwrite:
        raise BrushworkError(f"{tiled_path(output)} (the tile graph written beside {output.name}) exists; pass "
                             "--overwrite to replace it, or --no-tiling to skip it")
    if not output.parent.is_dir() or not os.access(output.parent, os.W_OK):
        raise BrushworkError(f"-o {output}: cannot write into {output.parent}; choose a writable folder")
    return output


def _export_checked(ex, net, staged: Path, metadata: dict, args: argparse.Namespace) -> None:
    """Export into `staged`, run the checks, raise if one fails (the final name is never touched then)."""
    fp32_path = staged.with_name("fp32.onnx") if args.int8 else staged
    if args.int8:
        from . import quantize

        images = quantize.calibration_images(args.calibration, limit=32)
        original, net = net, quantize.equalize_for_int8(net, images)
        drift = ex.check_parity(net, None, reference=original)
        print(f"int8 preparation (IN-aware channel rescaling) vs the trained net: max |diff| {drift.max()} grey "
              f"levels, mean {drift.mean():.3f}")
    ex.export_onnx(net, fp32_path, {**metadata, "precision": "fp32"} if args.int8 else metadata, fp16=args.fp16)
    print("onnx.checker: ok")
    diff = ex.check_parity(net, fp32_path)
    label = "fp16" if args.fp16 else "fp32"
    print(f"parity {label} onnxruntime vs torch fp32 on a 67x93 image: max |diff| {diff.max()} grey levels, "
          f"mean {diff.mean():.3f}")
    if not args.fp16 and diff.max() > FP32_TOLERANCE:
        raise BrushworkError(f"export parity failed: onnxruntime differs from torch by {diff.max()} grey levels "
                             f"(> {FP32_TOLERANCE}); please report this with the checkpoint")
    if args.fp16 and diff.mean() > FP16_MEAN_TOLERANCE:
        raise BrushworkError(f"fp16 export drifts from fp32 by {diff.mean():.2f} grey levels on average; "
                             "export fp32 instead (drop --fp16)")
    if args.int8:
        _quantize_checked(ex, fp32_path, staged, metadata, images)


def _quantize_checked(ex, fp32_path: Path, staged: Path, metadata: dict, images: list) -> None:
    """Calibrate on 3 of every 4 photos, measure PSNR against fp32 on the held-out 4th (all, if under 8)."""
    held_out = images[3::4] if len(images) >= 8 else images
    calibrate = [im for i, im in enumerate(images) if i % 4 != 3] if len(images) >= 8 else images
    from . import quantize

    quantize.quantize_int8(fp32_path, staged, calibrate, metadata)
    scores = [ex.psnr(ex.run_onnx(staged, im), ex.run_onnx(fp32_path, im)) for im in held_out]
    where = "held-out" if held_out is not images else "calibration"
    print(f"int8 quality vs fp32 on {len(scores)} {where} photos: PSNR mean {sum(scores) / len(scores):.1f} dB, "
          f"min {min(scores):.1f} dB (above ~35 dB the difference is hard to see)")

