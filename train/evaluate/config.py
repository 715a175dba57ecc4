"""The settings of `brushwork evaluate` and `brushwork evaluate-video`: one dataclass each, whose fields are the
verb's flags (config.py). Torch-free, as `brushwork --help` builds every verb's flags.

Validation here is about values and names the flag; what needs the files (do the photos exist, is --out free)
is checked by the commands before any network loads.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from ... import BrushworkError
from ...choices import GATYS_INITS
from ...config import option
from ...infer.stylize.config import FLOW_PRESETS  # the blend's presets are `stylize --flow-preset`'s

MEASURE_FLOWS = ("dis", "farneback")


def _steps(text: str) -> tuple[int, ...]:
    """'50,100,300' -> (50, 100, 300); argparse reports anything else as a usage error."""
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated iteration counts such as 50,100,300,500, "
                                         f"got {text!r}") from None


@dataclass
class EvaluateConfig:
    """Settings of `brushwork evaluate`: a trained model against Gatys on held-out photos."""

    model: str = option(help="checkpoint .pt, run directory, exported .onnx or a shipped style's name",
                        required=True)
    photos: str = option(help="folder of held-out photos (not used in training)", required=True)
    style: str = option(help="the style image the model was trained on", required=True)
    out: str = option("evaluation", "output folder for report.json, report.csv, report.md, contact_sheet.png and "
                      "images/")
    overwrite: bool = option(False, "replace the files of an earlier report in --out", switch=True)
    size: int = option(256, "longest side of the photos, for the model and Gatys alike")
    style_size: int | None = option(None, "longest side of the style image (default: the model's training style "
                                    "size, else 512)")
    gatys_steps: tuple[int, ...] = option((50, 100, 300, 500), "L-BFGS iteration counts to compare with (one run "
                                          "per photo up to the largest)", parse=_steps, metavar="N,N,...")
    gatys_init: str = option("content", "Gatys starting image", choices=GATYS_INITS)
    johnson_iterations: int = option(500, "also run Johnson et al.'s yardstick (plain L-BFGS from noise, lr 1, no line "
                                     "search, pixels clipped) up to this many iterations and report the first that "
                                     "reaches the fast model's loss; the paper's networks matched its 50th-100th "
                                     "(0 = skip)", metavar="N")
    limit: int | None = option(None, "evaluate at most this many photos, sorted by path (default: all)")
    device: str = option("auto", "auto, cpu, cuda or cuda:N (the model and Gatys both run there)")

    def __post_init__(self) -> None:
        if self.size < 16:
            raise BrushworkError(f"--size must be at least 16 pixels, got {self.size}")
        if self.style_size is not None and self.style_size < 16:
            raise BrushworkError(f"--style-size must be at least 16 pixels, got {self.style_size}")
        if any(n < 1 for n in self.gatys_steps):
            raise BrushworkError(f"--gatys-steps must be positive iteration counts, got {list(self.gatys_steps)}")
        self.gatys_steps = tuple(sorted(set(self.gatys_steps)))
        if self.gatys_init not in GATYS_INITS:
            raise BrushworkError(f"--gatys-init {self.gatys_init!r} is unknown; choose content or noise")
        if self.johnson_iterations < 0:
            raise BrushworkError(f"--johnson-iterations must not be negative, got {self.johnson_iterations}")
        if self.limit is not None and self.limit < 1:
            raise BrushworkError(f"--limit must be at least 1, got {self.limit}")


@dataclass
class EvaluateVideoConfig:
    """Settings of `brushwork evaluate-video`: the warping error of a model's video, per frame and overall."""

    video: str = option(help="input video (mp4, mov, mkv, webm, avi)", positional=True)
    model: str = option(help="exported model (.onnx, from `brushwork export`)", required=True)
    temporal_blend: list[float] = option(help="also score the flow-guided blend at these strengths in [0, 1), e.g. "
                                         "0.5 0.7", factory=list, metavar="A")
    flow_side: int | None = option(None, "the blend's flow runs on input frames whose longest side is at most this "
                                   "(default: 480, as `stylize --temporal-blend`)", metavar="PX")
    flow_preset: str | None = option(None, "the blend's DIS flow preset (default: medium, as `stylize`); the "
                                     "measure's own flow is --measure-flow, on full-size frames",
                                     choices=FLOW_PRESETS)
    measure_flow: str = option("dis", "the flow the measure warps by: DIS medium on full frames (default), or "
                               "Farneback as a second opinion that shares nothing with the blend's DIS flow",
                               choices=MEASURE_FLOWS)
    style: str | None = option(None, "style image: report per-frame style and content losses (loads torch)")
    style_size: int = option(512, "longest side of the style image for the loss, as in training")
    loss_every: int = option(5, "with --style, score the losses on every K-th frame: VGG is slow on a CPU",
                             metavar="K")
    max_frames: int | None = option(None, "score only the first N frames")
    max_side: int | None = option(None, "downscale frames so their longest side is at most this")
    device: str = option("auto", "auto | cpu | cuda[:N] for the model")
    out: str | None = option(None, "folder for warping_error.png and metrics.json (default: VIDEO_STEM-consistency)")
    overwrite: bool = option(False, "replace warping_error.png and metrics.json in --out", switch=True)

    def __post_init__(self) -> None:
        for a in self.temporal_blend:
            if not 0.0 <= a < 1.0:
                raise BrushworkError(f"--temporal-blend {a}: give strengths in [0, 1), e.g. 0.5")
        if self.max_frames is not None and self.max_frames < 2:
            raise BrushworkError(f"--max-frames {self.max_frames}: the warping error needs at least 2 frames")
        if self.loss_every < 1:
            raise BrushworkError(f"--loss-every {self.loss_every}: give a positive frame interval")
        if self.max_side is not None and self.max_side < 16:
            raise BrushworkError(f"--max-side {self.max_side}: give at least 16 pixels")

    @property
    def out_dir(self) -> Path:
        return Path(self.out) if self.out else Path(f"{Path(self.video).stem}-consistency")
