"""The Gatys et al. optimizer ("A Neural Algorithm of Artistic Style", 2015; "Image Style Transfer Using
Convolutional Neural Networks", CVPR 2016): optimize the pixels of one image so its VGG features match a
photo's content and a painting's Gram matrices. Slow, but the quality yardstick the fast models are judged by,
so it uses the very same PerceptualLoss and loss network as training.

    brushwork gatys --content photo.jpg --style starry.jpg -o out.png
    brushwork gatys --content photo.jpg --style a.jpg --style b.jpg --style-blend 0.7,0.3 -o mashup.png
    brushwork gatys --content photo.jpg --style starry.jpg --preserve-color luminance -o out.png

Colour preservation follows Gatys, Bethge, Hertzmann & Shechtman, "Preserving Color in Neural Artistic Style
Transfer" (2016): `histogram` recolours the style images to the photo's colour statistics before optimizing;
`luminance` optimizes luminance-only images (the style's luminance matched to the photo's mean and std) and
puts the photo's chroma back at the end.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ... import BrushworkError
from ...data.images import IMAGE_SUFFIXES, open_rgb, resize_to_side, write_image
from ...infer.look.color import luminance_transfer, match_color, match_luminance, rgb_to_ycbcr
from ...models.vgg import build_vgg
from ..device import resolve_device
from ..losses import LossTerms, PerceptualLoss
from .config import GatysConfig
from .lbfgs import BoxLBFGS
from .memory import check_memory, check_shape


@dataclass
class GatysResult:
    """The final image (uint8 H x W x 3), the loss of each iteration and the optimization's wall time."""

    image: np.ndarray
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0


# ---- images: uint8 arrays at the boundary, (1, 3, H, W) float [0, 1] tensors inside ----------------------------

def scaled_shape(image: Image.Image, side: int) -> tuple[int, int]:
    """(H, W) of `image` once its longest side is `side`, as resize_to_side makes it, without resizing."""
    w, h = image.size
    scale = side / max(w, h)
    return max(1, round(h * scale)), max(1, round(w * scale))


def _resized(image: Image.Image, side: int) -> np.ndarray:
    return np.asarray(resize_to_side(image, side), dtype=np.uint8)


def to_tensor(image: np.ndarray, device: torch.device) -> torch.Tensor:
    """uint8 (H, W, 3) -> float (1, 3, H, W) in [0, 1], contiguous (L-BFGS flattens its parameter with .view)."""
    x = torch.from_numpy(np.array(image, dtype=np.uint8)).permute(2, 0, 1)[None].float().div_(255.0)
    return x.to(device).contiguous()


def channels_last(x: torch.Tensor) -> torch.Tensor:
    """VGG runs ~4x faster on CPU (oneDNN) with channels-last activations; the copy is cheap next to it."""
    return x.contiguous(memory_format=torch.channels_last)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    return x.detach()[0].clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).cpu().numpy()


def _gray(y: np.ndarray) -> np.ndarray:
    """A luminance channel as a grey RGB image (what VGG sees in luminance-only transfer)."""
    return np.repeat(np.clip(np.rint(y), 0, 255).astype(np.uint8)[..., None], 3, axis=2)


def color_inputs(method: str | None, content: np.ndarray,
                 styles: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """The content and style images the optimizer sees under a colour-preservation method."""
    if method == "histogram":
        return content, [match_color(style, content) for style in styles]
    if method == "luminance":
        content_y = rgb_to_ycbcr(content)[..., 0]
        return _gray(content_y), [_gray(match_luminance(rgb_to_ycbcr(s)[..., 0], content_y)) for s in styles]
    return content, styles


def color_output(method: str | None, content: np.ndarray, result: np.ndarray) -> np.ndarray:
    """Luminance transfer puts the photo's chroma under the optimized luminance; the others are already done."""
    return luminance_transfer(content, result) if method == "luminance" else result


# ---- the optimization ----------------------------------------------------------------------------------------------

def build_loss(cfg: GatysConfig, styles: list[np.ndarray], device: torch.device) -> PerceptualLoss:
    """The shared PerceptualLoss on the configured VGG, layers and weights, with the style Grams precomputed."""
    vgg = build_vgg(cfg.vgg_weights, pool=cfg.pool).to(device).to(memory_format=torch.channels_last)
    return PerceptualLoss(vgg, [channels_last(to_tensor(s, device)) for s in styles], content_layers=cfg.content_layers,
                          style_layers=cfg.style_layers, content_weight=cfg.content_weight,
                          style_weight=cfg.style_weight, tv_weight=cfg.tv_weight, style_blend=cfg.style_blend)


def initial_image(init: str, content: torch.Tensor, seed: int) -> torch.Tensor:
    """The starting pixels: a copy of the photo, or white noise (Gatys et al.'s choice) from a seeded generator."""
    if init == "content":
        return content.clone()
    return torch.rand(content.shape, generator=torch.Generator().manual_seed(seed)).to(content.device)


class _Adam:
    """Adam with the BoxLBFGS interface: step(closure) returns the loss terms at the step's start."""

    def __init__(self, x: torch.Tensor, lr: float):
        self.x, self.optimizer = x, torch.optim.Adam([x], lr=lr)

    def step(self, closure: Callable[[], LossTerms]) -> LossTerms:
        terms = closure()
        self.optimizer.step()
        with torch.no_grad():
            self.x.clamp_(0, 1)  # the optimizer never scores an image it cannot show
        return terms


def make_optimizer(cfg: GatysConfig, x: torch.Tensor) -> BoxLBFGS | _Adam:
    if cfg.optimizer == "adam":
        return _Adam(x, cfg.learning_rate)
    return BoxLBFGS(x, history=cfg.lbfgs_history, lr=cfg.learning_rate)


def iterate(cfg: GatysConfig, loss: PerceptualLoss, content: torch.Tensor,
            x: torch.Tensor) -> Iterator[tuple[int, LossTerms]]:
    """Optimize `x` in place for cfg.steps iterations; yield (step, loss terms at the start of that step).

    Pixels stay in [0, 1] (L-BFGS projects every trial point, Adam clamps after each step), so the optimizer
    never scores an image it cannot show. With L-BFGS the loss never rises from one iteration to the next.
    """
    targets = loss.content_targets(channels_last(content))
    x.requires_grad_(True)
    optimizer = make_optimizer(cfg, x)

    def closure() -> LossTerms:
        x.grad = None
        terms = loss(channels_last(x), targets)
        terms.total.backward()
        return LossTerms(terms.content.detach(), terms.style.detach(), terms.tv.detach())

    for step in range(1, cfg.steps + 1):
        yield step, optimizer.step(closure)


def _intermediate_path(output: str, step: int) -> Path:
    out = Path(output)
    return out.with_name(f"{out.stem}_{step:05d}{out.suffix}")


def check_paths(cfg: GatysConfig) -> None:
    """Output must be an image file that is none of the inputs (we never overwrite an input)."""
    out = Path(cfg.output)
    if out.suffix.lower() not in IMAGE_SUFFIXES:
        raise BrushworkError(f"-o {out}: unknown image type {out.suffix!r}; use one of {', '.join(IMAGE_SUFFIXES)}")
    if out.is_dir():
        raise BrushworkError(f"-o {out} is a folder; give a file name such as {out / 'out.png'}")
    inputs = [Path(cfg.content), *map(Path, cfg.styles)]
    if any(out.exists() and p.exists() and out.samefile(p) for p in inputs):
        raise BrushworkError(f"-o {out} is one of the input images; choose another output name")


def prepare(cfg: GatysConfig) -> tuple[np.ndarray, list[np.ndarray], torch.device]:
    """Every check that can fail on user input, before any heavy work: paths, images, device, memory."""
    check_paths(cfg)
    device = resolve_device(cfg.device)
    content, styles = open_rgb(cfg.content), [open_rgb(p) for p in cfg.styles]
    shapes = [scaled_shape(content, cfg.size), *(scaled_shape(s, cfg.style_side) for s in styles)]
    for path, shape in zip([cfg.content, *cfg.styles], shapes):
        check_shape(cfg, path, shape)
    check_memory(cfg, shapes, device)  # before resizing: an absurd --size must not allocate the image first
    return _resized(content, cfg.size), [_resized(s, cfg.style_side) for s in styles], device


def stylize(cfg: GatysConfig, *, progress: bool = True,
            on_step: Callable[[int, LossTerms], None] | None = None) -> GatysResult:
    """Run one Gatys optimization as configured, write cfg.output (and intermediates), return the result."""
    content_rgb, styles_rgb, device = prepare(cfg)
    content_in, styles_in = color_inputs(cfg.preserve_color or None, content_rgb, styles_rgb)
    loss = build_loss(cfg, styles_in, device)
    content = to_tensor(content_in, device)
    x = initial_image(cfg.init, content, cfg.seed)
    history, bar = [], _progress_bar(cfg.steps, progress)
    start = time.perf_counter()
    for step, terms in iterate(cfg, loss, content, x):
        history.append(terms.as_floats())
        bar.update(1)
        bar.set_postfix_str(_postfix(history[-1]), refresh=False)
        if on_step is not None:
            on_step(step, terms)
        if cfg.save_every and step % cfg.save_every == 0 and step < cfg.steps:
            snapshot = color_output(cfg.preserve_color, content_rgb, to_uint8(x))
            write_image(_intermediate_path(cfg.output, step), snapshot)
    seconds = time.perf_counter() - start
    bar.close()
    image = color_output(cfg.preserve_color, content_rgb, to_uint8(x))
    write_image(cfg.output, image)
    return GatysResult(image=image, history=history, seconds=seconds)


def _progress_bar(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc="gatys", unit="it", disable=not enabled, dynamic_ncols=True)


def _postfix(losses: dict[str, float]) -> str:
    return " | ".join(f"{k} {v:.4g}" for k, v in losses.items())
