"""The image transformation network of Johnson, Alahi & Fei-Fei, "Perceptual Losses for Real-Time Style Transfer
and Super-Resolution" (ECCV 2016), with the changes that later work showed to matter:

- instance normalization instead of batch norm (Ulyanov et al., "Instance Normalization: The Missing Ingredient
  for Fast Stylization", 2016): the contrast of the output no longer depends on the batch;
- reflection padding instead of zero padding, so borders are not dark;
- nearest-neighbour upsampling followed by a convolution instead of a transposed convolution (Odena et al.,
  "Deconvolution and Checkerboard Artifacts", Distill 2016): no checkerboard.

The net takes RGB in [0, 1] and returns RGB in (0, 1) through the paper's scaled tanh (`output="tanh"`). Without
it (`output="linear"`, checkpoints from before it) the loss alone sets the range, and training learned to cheat:
a starry_night model after 4.6k GPU steps put 10% of its pixels outside [0, 1] (-2.0 .. 3.3), which lowered its
style loss on the unclamped output from 2.0e4 to 1.85e4 while the picture people see, clamped, scored 4.9e4
(docs/quality.md). With the bound, the loss sees exactly the pixels that get displayed.
Any height and width work: the input is reflection-padded up to a multiple of STRIDE and the output is
cropped back, so a 1081-row frame comes out with 1081 rows.
"""

from __future__ import annotations

from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from .. import BrushworkError
from ..infer.engine.contract import STRIDE  # two stride-2 downsamplings; the upsampling path restores them

OUTPUTS = ("tanh", "linear")


class ConvLayer(nn.Sequential):
    """Reflection pad + conv: 'same' padding without the dark border that zero padding paints."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int, stride: int = 1):
        super().__init__(nn.ReflectionPad2d(kernel_size // 2), nn.Conv2d(in_ch, out_ch, kernel_size, stride))


class ConvNormReLU(nn.Sequential):
    def __init__(self, in_ch: int, out_ch: int, kernel_size: int, stride: int = 1):
        super().__init__(ConvLayer(in_ch, out_ch, kernel_size, stride), nn.InstanceNorm2d(out_ch, affine=True),
                         nn.ReLU(inplace=True))


class SeparableConvLayer(nn.Sequential):
    """Reflection pad + depthwise k x k + pointwise 1x1 (Howard et al., MobileNets, 2017): for C channels, C*(k*k + C)
    multiply-adds per pixel instead of C*C*k*k."""

    def __init__(self, channels: int, kernel_size: int = 3):
        super().__init__(nn.ReflectionPad2d(kernel_size // 2),
                         nn.Conv2d(channels, channels, kernel_size, groups=channels), nn.Conv2d(channels, channels, 1))


class ResidualBlock(nn.Module):
    """Two 3x3 conv + instance norm with an identity shortcut (He et al. 2016), as in Johnson's supplement."""

    def __init__(self, channels: int, separable: bool = False):
        super().__init__()
        layer = SeparableConvLayer if separable else partial(ConvLayer, channels)
        self.conv1 = layer(channels, 3)
        self.in1 = nn.InstanceNorm2d(channels, affine=True)
        self.conv2 = layer(channels, 3)
        self.in2 = nn.InstanceNorm2d(channels, affine=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.in1(self.conv1(x)))
        return x + self.in2(self.conv2(y))


class UpsampleConv(nn.Sequential):
    """Nearest upsample x2, then conv: the resize-convolution that avoids checkerboard artifacts."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int = 3):
        super().__init__(nn.Upsample(scale_factor=2, mode="nearest"), ConvLayer(in_ch, out_ch, kernel_size),
                         nn.InstanceNorm2d(out_ch, affine=True), nn.ReLU(inplace=True))


class TransformerNet(nn.Module):
    """Johnson et al.'s network: downsample, residual blocks, upsample.

    Args:
        width: channels of the first layer; the others are 2x and 4x it (Johnson: 32). Half width is ~4x
            cheaper and still looks good for many styles.
        depth: number of residual blocks (Johnson: 5).
        output: "tanh" (Johnson's bounded output) or "linear" (unbounded; what checkpoints without the option
            were trained with).
        kernel: size of the first and the last convolution, the two at full resolution with 3 channels (Johnson: 9).
        separable: residual blocks with depthwise-separable convolutions (for small students; see ARCHITECTURES).
    """

    def __init__(self, *, width: int = 32, depth: int = 5, output: str = "tanh", kernel: int = 9,
                 separable: bool = False):
        super().__init__()
        if output not in OUTPUTS:
            raise BrushworkError(f"unknown output {output!r}; known: {', '.join(OUTPUTS)}")
        self.output = output
        c1, c2, c3 = width, 2 * width, 4 * width
        self.downsample = nn.Sequential(
            ConvNormReLU(3, c1, kernel),        # (B, c1, H, W)
            ConvNormReLU(c1, c2, 3, stride=2),  # (B, c2, H/2, W/2)
            ConvNormReLU(c2, c3, 3, stride=2),  # (B, c3, H/4, W/4)
        )
        self.residuals = nn.Sequential(*[ResidualBlock(c3, separable) for _ in range(depth)])
        self.upsample = nn.Sequential(
            UpsampleConv(c3, c2),  # (B, c2, H/2, W/2)
            UpsampleConv(c2, c1),  # (B, c1, H, W)
        )
        self.head = ConvLayer(c1, 3, kernel)  # (B, 3, H, W), no norm: to_rgb bounds it

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        x = pad_to_stride(x)
        y = self.to_rgb(self.head(self.upsample(self.residuals(self.downsample(x)))))
        return y[..., :h, :w]

    def to_rgb(self, y: torch.Tensor) -> torch.Tensor:
        """The scaled tanh: (0, 1), slope 1 at mid-grey, so weights trained without it start close to themselves."""
        if self.output == "linear":
            return y
        u = 2.0 * y - 1.0
        t = GuardedTanh.apply(u) if torch.is_grad_enabled() and u.requires_grad else torch.tanh(u)
        return 0.5 + 0.5 * t


class GuardedTanh(torch.autograd.Function):
    """tanh whose gradient back towards the middle never falls below a tenth of its slope at 0.

    A saturated tanh passes almost no gradient, so a net that a few steps drove to black stays black for good (seen
    with a dark painting and a strong TV term on small crops, even at lr 1e-3). Gradients that would push a pixel
    further out keep tanh's own tiny slope (no drift); those that pull it back in get at least 0.1.
    """

    @staticmethod
    def forward(ctx, u: torch.Tensor) -> torch.Tensor:
        t = torch.tanh(u)
        ctx.save_for_backward(t)
        return t

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (t,) = ctx.saved_tensors
        slope = 1 - t * t
        inward = grad * t > 0  # descent moves u against grad: towards 0 when grad has t's sign
        return grad * torch.where(inward, slope.clamp(min=0.1), slope)


def pad_to_stride(x: torch.Tensor, stride: int = STRIDE) -> torch.Tensor:
    """Reflection-pad bottom and right so height and width are multiples of `stride`."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % stride, (-w) % stride
    if ph == 0 and pw == 0:
        return x
    return F.pad(x, (0, pw, 0, ph), mode="reflect")


# Architectures by name. A checkpoint stores the name and its kwargs, so it rebuilds the exact network.
# johnson-fast is the CPU real-time student (`brushwork distill`), chosen by benchmarks/student_speed.py in
# onnxruntime on 2 cores at 640x360 (docs/benchmarks.md): 16 kMAC/pixel, ~10x fewer than johnson, 6x its fps.
# Depthwise-separable residual blocks (`separable=True`) at the same multiply-adds measured 11-16 % slower there.
ARCHITECTURES = {
    "johnson": partial(TransformerNet, width=32, depth=5),
    "johnson-light": partial(TransformerNet, width=16, depth=5),
    "johnson-fast": partial(TransformerNet, width=12, depth=3, kernel=5),
}


def build_transformer(arch: str = "johnson", **kwargs) -> TransformerNet:
    """Build a registered architecture; an unknown name lists the known ones."""
    if arch not in ARCHITECTURES:
        raise BrushworkError(f"unknown architecture {arch!r}; known: {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[arch](**kwargs)
