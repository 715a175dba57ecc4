"""Johnson et al.'s yardstick: how many iterations of a plain L-BFGS from noise it takes to reach a model's loss.

Johnson et al. (2016, Fig. 5) compare their feed-forward networks with the Gatys optimization as neural-style ran
it: L-BFGS from noise (its `-init random`), learning rate 1, no line search, pixels clipped, 500 iterations; their
networks' loss matched its 50th-100th iteration. Our own Gatys rows (train/gatys/) use a line search and start from
the photo, which makes Gatys@100 a nearly converged optimum, so their ratio does not compare with the paper; this
figure does.
"""

from __future__ import annotations

import torch

from ...models.vgg import CAFFE_MEAN_BGR
from ..losses import PerceptualLoss

MAX_ITERATIONS = 500  # the length of the paper's curves


def neural_style_noise(content: torch.Tensor, seed: int) -> torch.Tensor:
    """neural-style's `-init random`: randn x 0.001 in its mean-subtracted Caffe pixel space (0-255), i.e. the ImageNet
    mean colour with a whisper of noise, in our RGB [0, 1]."""
    mean = torch.tensor(CAFFE_MEAN_BGR[::-1], device=content.device).view(1, 3, 1, 1) / 255
    noise = torch.randn(content.shape, generator=torch.Generator().manual_seed(seed)).to(content.device)
    return mean + noise * (0.001 / 255)


def equivalent_iterations(loss: PerceptualLoss, content: torch.Tensor, target: float, *,
                          max_iterations: int = MAX_ITERATIONS, seed: int = 0) -> int | None:
    """The first iteration at which plain L-BFGS from noise scores at most `target` under `loss` against the photo
    `content` ((1, 3, H, W) float [0, 1]); None if it does not within `max_iterations`."""
    targets = loss.content_targets(content)
    x = neural_style_noise(content, seed).requires_grad_(True)
    # max_iter=1: one L-BFGS iteration per step() call; no tolerance may end it early.
    optimizer = torch.optim.LBFGS([x], lr=1.0, max_iter=1, history_size=100, line_search_fn=None,
                                  tolerance_grad=-1.0, tolerance_change=-1.0)

    def closure() -> torch.Tensor:
        optimizer.zero_grad(set_to_none=True)
        total = loss(x, targets).total
        total.backward()
        return total.detach()

    for iteration in range(max_iterations + 1):
        value = float(optimizer.step(closure))  # the loss after `iteration` iterations, then one more iteration
        if value <= target:
            return iteration
        with torch.no_grad():
            x.clamp_(0, 1)  # neural-style clips the pixels to the image range
    return None
