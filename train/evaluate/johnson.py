"""Johnson et al.'s yardstick: how many iterations of a plain L-BFGS from noise it takes to reach a model's loss.

Johnson et al. (2016, Fig. 5) compare their feed-forward networks with the Gatys optimization as neural-style ran it:
L-BFGS from white noise, learning rate 1, no line search, pixels clipped, 500 iterations; their networks' loss
matched its 50th-100th iteration. Our own Gatys rows (train/gatys/) use a line search and start from the photo, which
makes Gatys@100 a nearly converged optimum, so their ratio does not compare with the paper; this figure does.
"""

from __future__ import annotations

import torch

from ..gatys.optimize import initial_image
from ..losses import PerceptualLoss

MAX_ITERATIONS = 500  # the length of the paper's curves


def equivalent_iterations(loss: PerceptualLoss, content: torch.Tensor, target: float, *,
                          max_iterations: int = MAX_ITERATIONS, seed: int = 0) -> int | None:
    """The first iteration at which plain L-BFGS from noise scores at most `target` under `loss` against the photo
    `content` ((1, 3, H, W) float [0, 1]); None if it does not within `max_iterations`."""
    targets = loss.content_targets(content)
    x = initial_image("noise", content, seed).requires_grad_(True)
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
