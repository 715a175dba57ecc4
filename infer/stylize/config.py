"""StylizeConfig: every setting of one `brushwork stylize` run, and so every flag of the verb (config.py).

    cfg = StylizeConfig(input=Path("clip.mp4"), output=Path("out.mp4"), model=Path("starry.onnx"), temporal_blend=0.4)

Validation names the flag. What depends on the input's kind (a still image takes no --temporal-blend) and on the
file system (does the input exist, may the output be written) is checked by infer/stylize/command.py. Torch-free.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ... import BrushworkError
from ...choices import COLOR_METHODS, FLOW_PRESETS, QUALITIES
from ...config import option, parse_size

MODEL, RUNTIME, LOOK, VIDEO = "model", "runtime", "look", "video"  # the sections of `brushwork stylize --help`


@dataclass
class StylizeConfig:
    """One `brushwork stylize` run: what to stylize, with which model, how it should look and be written."""

    input: Path = option(help="an image (also an animated GIF/PNG/WebP), a folder of images, or a video (mp4 mov "
                         "mkv webm avi)", positional=True)
    output: Path = option(help="output file (or folder for a folder)", short="-o", required=True)

    model: Path | None = option(None, "an .onnx file written by `brushwork export`", group=MODEL, exclusive=MODEL)
    style: str | None = option(None, "a style that ships with brushwork (`brushwork styles`; default: the first one "
                               "listed there)", group=MODEL, exclusive=MODEL, metavar="NAME")
    quality: str | None = option(None, "with --style: fast = the style's small student (real time on a CPU), full "
                                 "= the full network; auto (default) = the student on the CPU, the full network on a "
                                 "GPU", group=MODEL, choices=QUALITIES)

    device: str = option("auto", "auto, cpu, cuda or cuda:N", group=RUNTIME)
    threads: int | None = option(None, "CPU threads for the model (default: one per core)", group=RUNTIME)
    batch_size: int = option(4, "video frames per model call", group=RUNTIME)
    tile: int | None = option(None, "bounded memory: strips of about N*N pixels at a time (same picture as untiled)",
                              group=RUNTIME, metavar="N")
    max_memory: str | None = option(None, "stay under SIZE, e.g. 2GB, 512MB (layer outputs that do not fit go to "
                                    "temporary files)", group=RUNTIME, metavar="SIZE")

    stroke: str = option("1", "stroke size against the picture, the same at any picture size: a larger picture is "
                         "painted at the model's working size (3x the side of the scenes it trained on, about 1 Mpx "
                         "for 256 px crops) and brought back to full size with its own fine detail; 2 = twice as "
                         "large, 0.5 = half, 3 = the trained scene size; native = the network at full resolution "
                         "(strokes shrink as pictures grow)", group=LOOK, metavar="S")
    max_side: int | None = option(None, "resize so the longest side is at most this (default: keep size)",
                                  group=LOOK)
    preserve_color: str | None = option(None, "keep the input's colours: luminance (YCbCr) or histogram (colour "
                                        "statistics)", group=LOOK, choices=COLOR_METHODS)
    strength: float = option(1.0, "0 = input, 1 = fully stylized (default: 1)", group=LOOK)
    temporal_blend: float | None = option(None, "videos and animations: against flicker, blend each frame with the "
                                          "previous output carried along the optical flow; 0.4-0.5 about halves it "
                                          "(0..1)", group=LOOK, metavar="A")
    flow_side: int | None = option(None, "--temporal-blend: longest side of the frames the flow runs on (default: "
                                   "480)", group=LOOK, metavar="PX")
    flow_preset: str | None = option(None, "--temporal-blend: DIS optical flow preset, faster or steadier (default: "
                                     "medium)", group=LOOK, choices=FLOW_PRESETS)

    crf: int = option(18, "H.264 quality, lower is better", group=VIDEO)
    preset: str = option("medium", "x264 preset, e.g. veryfast, medium", group=VIDEO)

    strip_metadata: bool = option(False, "write no EXIF (camera, date, GPS), colour profile or PNG text (kept by "
                                  "default)", switch=True)
    overwrite: bool = option(False, "replace an existing output", switch=True)
    quiet: bool = option(False, "no progress bar", switch=True)

    def __post_init__(self) -> None:
        self.input, self.output = Path(self.input), Path(self.output)
        self.model = None if self.model is None else Path(self.model)
        if self.model is not None and self.quality:
            raise BrushworkError("--quality chooses between a shipped style's models; with --model the file given "
                                 "runs")
        if not 0.0 <= self.strength <= 1.0:
            raise BrushworkError(f"--strength {self.strength}: must be between 0 and 1")
        self._check_temporal()
        from ..engine.stroke import parse_stroke

        parse_stroke(self.stroke)
        if self.max_side is not None and self.max_side < 8:
            raise BrushworkError(f"--max-side {self.max_side}: must be at least 8 pixels")
        if self.batch_size < 1:
            raise BrushworkError(f"--batch-size {self.batch_size}: must be at least 1")
        if self.max_memory is not None:
            parse_size(self.max_memory, "--max-memory")

    def _check_temporal(self) -> None:
        if (self.flow_side is not None or self.flow_preset is not None) and self.temporal_blend is None:
            raise BrushworkError("--flow-side/--flow-preset tune --temporal-blend; add --temporal-blend 0.5 or drop "
                                 "them")
        if self.flow_side is not None and self.flow_side < 16:
            raise BrushworkError(f"--flow-side {self.flow_side}: give at least 16 pixels, e.g. 480")
        if self.temporal_blend is not None and not 0.0 <= self.temporal_blend < 1.0:
            raise BrushworkError(f"--temporal-blend {self.temporal_blend}: must be in [0, 1) "
                                 "(1 would freeze the first frame)")

    @property
    def max_memory_bytes(self) -> int | None:
        return parse_size(self.max_memory, "--max-memory") if self.max_memory else None
