"""ExportConfig: every setting of one `brushwork export`, and so every flag of the verb (config.py). Torch-free.

    cfg = ExportConfig(checkpoint="runs/starry", output=Path("starry8.onnx"), int8=True, calibration=Path("photos"))
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .. import BrushworkError
from ..config import option

PRECISION = "precision"  # the section of `brushwork export --help`, and the fp16/int8 choice within it


@dataclass
class ExportConfig:
    """What to export, where to, and at which precision."""

    checkpoint: str = option(help="a training run directory or a .pt file", positional=True,
                             metavar="RUN_OR_CHECKPOINT")
    output: Path = option(help="the .onnx file to write", short="-o", required=True)
    fp16: bool = option(False, "half precision (instance norm statistics in fp32)", switch=True, group=PRECISION,
                        exclusive=PRECISION)
    int8: bool = option(False, "static int8 quantization (QDQ), fastest on CPUs with VNNI; needs --calibration",
                        switch=True, group=PRECISION, exclusive=PRECISION)
    calibration: Path | None = option(None, "folder of photos to calibrate --int8 on", metavar="DIR")
    no_tiling: bool = option(False, "skip the companion <name>.tiled.onnx used by `stylize --tile/--max-memory`",
                             switch=True)
    overwrite: bool = option(False, "replace an existing output file", switch=True)

    def __post_init__(self) -> None:
        self.output = Path(self.output)
        self.calibration = None if self.calibration is None else Path(self.calibration)
        if self.fp16 and self.int8:
            raise BrushworkError("--fp16 and --int8 exclude each other; choose one")
        if self.int8 and self.calibration is None:
            raise BrushworkError("--int8 needs --calibration DIR, a folder of photos like those you will stylize")
        if self.calibration is not None and not self.int8:
            raise BrushworkError("--calibration is only used with --int8; add --int8 or drop it")

    @property
    def precision(self) -> str:
        return "fp16" if self.fp16 else "int8" if self.int8 else "fp32"
