"""The transformation network, the VGG loss network and the losses: shapes and known values."""

import pytest
import torch

from brushwork import BrushworkError
from brushwork.models.transformer_net import ARCHITECTURES, STRIDE, build_transformer, pad_to_stride
from brushwork.train.losses import content_loss, gram_matrix, style_loss, tv_loss


@pytest.mark.parametrize("size", [(32, 32), (33, 47), (61, 90), (17, 9)])
def test_transformer_keeps_any_size(size):
    net = build_transformer("johnson-light")
    y = net(torch.rand(2, 3, *size))
    assert y.shape == (2, 3, *size)


def test_output_is_bounded_whatever_the_weights():
    """Johnson's scaled tanh: training cannot push pixels outside [0, 1], where clamping would undo its work."""
    torch.manual_seed(0)
    net = build_transformer("johnson-light")
    with torch.no_grad():
        net.head[1].weight.mul_(100)  # a head that, unbounded, throws most pixels far out of range
    y = net(torch.rand(2, 3, 32, 32))
    assert 0 <= y.min() and y.max() <= 1 and (y < 0.01).any() and (y > 0.99).any()
    unbounded = build_transformer("johnson-light", output="linear")
    unbounded.load_state_dict(net.state_dict())
    raw = unbounded(torch.rand(2, 3, 32, 32))
    assert raw.min() < -1 and raw.max() > 2  # the same weights without the bound: what clamping would cut


def test_bound_is_identity_like_at_mid_grey():
    """Slope 1 at 0.5, so weights trained unbounded (checkpoints before the bound) start near themselves."""
    net = build_transformer("johnson-light")
    y = torch.linspace(0.4, 0.6, 21)
    assert torch.allclose(net.to_rgb(y), y, atol=2e-3)
    assert net.to_rgb(torch.tensor([-10.0, 10.0])).tolist() == pytest.approx([0.0, 1.0], abs=1e-6)
    with pytest.raises(BrushworkError, match="tanh"):
        build_transformer("johnson", output="sigmoid")


def test_a_saturated_output_can_come_back():
    """The guarded tanh: a pixel driven to black still gets a gradient back towards grey, none further out."""
    net = build_transformer("johnson-light")
    y = torch.tensor([-4.0, -4.0, 0.5], requires_grad=True)  # two saturated at ~0, one at mid-grey
    out = net.to_rgb(y)
    out.backward(torch.tensor([-1.0, 1.0, 1.0]))  # loss wants: brighter, darker, darker
    slope_at_4 = 1 - torch.tanh(torch.tensor(9.0)) ** 2
    assert y.grad[0] <= -0.1 * 0.5 * 2  # back in: at least a tenth of the slope (0.5 * 2 from the scaling)
    assert 0 < y.grad[1] <= float(slope_at_4) * 1.01  # further out: tanh's own (vanishing) slope
    assert y.grad[2] == pytest.approx(1.0)  # the middle: slope 1
    with torch.no_grad():
        assert torch.equal(net.to_rgb(y), out.detach())  # the guard changes gradients only


def test_pad_to_stride_reflects():
    x = torch.arange(5.0).view(1, 1, 1, 5).expand(1, 1, 5, 5)
    p = pad_to_stride(x)
    assert p.shape[-2:] == (8, 8) and p.shape[-1] % STRIDE == 0
    assert p[0, 0, 0, 5:].tolist() == [3.0, 2.0, 1.0]  # reflection, not zeros


def test_width_argument_scales_the_network():
    full = sum(p.numel() for p in build_transformer("johnson").parameters())
    light = sum(p.numel() for p in build_transformer("johnson-light").parameters())
    assert 3.5 < full / light < 4.5


def test_unknown_architecture_lists_known():
    with pytest.raises(BrushworkError, match="johnson"):
        build_transformer("unet")
    assert "johnson" in ARCHITECTURES


def test_gram_matrix_known_value():
    f = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).view(1, 2, 1, 2)  # C=2, H=1, W=2
    g = gram_matrix(f)
    expected = torch.tensor([[5.0, 11.0], [11.0, 25.0]]) / 4
    assert torch.allclose(g[0], expected)


def test_gram_is_float32_under_autocast():
    f = torch.rand(1, 4, 8, 8).bfloat16()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert gram_matrix(f).dtype == torch.float32


def test_losses_zero_on_identical_inputs_and_positive_otherwise():
    a, b = torch.rand(2, 8, 6, 6), torch.rand(2, 8, 6, 6)
    assert content_loss(a, a) == 0 and content_loss(a, b) > 0
    assert style_loss(gram_matrix(a), gram_matrix(a)) == 0 and style_loss(gram_matrix(a), gram_matrix(b)[:1]) > 0
    assert tv_loss(torch.ones(1, 3, 5, 5)) == 0


def test_tv_known_value():
    img = torch.tensor([[0.0, 1.0], [0.0, 1.0]]).view(1, 1, 2, 2)
    assert tv_loss(img).item() == pytest.approx(1.0)  # horizontal steps of 1, no vertical change


def test_losses_gradcheck():
    a = torch.rand(1, 3, 4, 4, dtype=torch.float64, requires_grad=True)
    t = torch.rand(1, 3, 4, 4, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda x: style_loss(gram_matrix(x), gram_matrix(t)), (a,))
    assert torch.autograd.gradcheck(lambda x: content_loss(x, t), (a,))
