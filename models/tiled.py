"""The tile graph: the style network with its instance-norm statistics as inputs, so tiles share one image's
statistics and stitch without seams.

    brushwork export runs/starry -o starry.onnx      # also writes starry.tiled.onnx through export_tiled()

Why tiles seam: instance normalization (Ulyanov et al. 2016) normalizes every channel by the mean and variance of
the whole input. Run tile by tile, each tile gets its own statistics, hence its own colour and contrast. The fix,
after Chen et al., "Towards Ultra-Resolution Neural Style Transfer via Thumbnail Instance Normalization" (AAAI
2022): every tile normalizes with statistics of the whole image, taken from a downscaled thumbnail and, if
wanted, refined by a pass over the tiles that accumulates each layer's exact full-resolution statistics. The
runtime side (tile layout, blending, memory budget) is infer/tiling.py.

The companion graph `<name>.tiled.onnx` has this I/O (batch 1, any H and W that are multiples of 4):

    image         uint8   [1, H, W, 3]  RGB tile (or the whole image / its thumbnail)
    norm_stats    float32 [2C]          per IN layer: C_l means then C_l variances, layers in network order
    stats_weight  float32 []            1: normalize with norm_stats; 0: with the tile's own statistics
    core          int64   [4]           y0, y1, x0, x1 (tile pixels, multiples of 4): where `stats` is measured
    -> stylized   float32 [1, H, W, 3]  RGB in [0, 255], not rounded (the runtime blends overlaps, then rounds)
    -> stats      float32 [2C]          the statistics each IN layer measured over `core`, same layout

With stats_weight 0 and core covering the whole input, the graph computes exactly the ordinary network.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import torch
from torch import nn

from .. import BrushworkError
from .transformer_net import STRIDE

OPSET = 20  # as the main export (models/export.py)
TILED_SUFFIX = ".tiled.onnx"
TILED_IO = ("image uint8 [1,H,W,3] RGB (H, W multiples of 4); norm_stats float32 [2C]; stats_weight float32 []; "
            "core int64 [4] y0,y1,x0,x1 -> stylized float32 [1,H,W,3] in [0,255]; stats float32 [2C]")


class _StatsContext:
    """What every shared-statistics norm layer of one forward pass reads (given stats) and writes (own stats)."""

    def __init__(self):
        self.given: torch.Tensor | None = None
        self.weight: torch.Tensor | None = None
        self.core: torch.Tensor | None = None
        self.measured: list[torch.Tensor] = []


class SharedStatsInstanceNorm(nn.Module):
    """Instance norm whose mean and variance may come from outside (the whole image) instead of the input.

    Normalizes with `w * given + (1 - w) * own`, where `own` is measured over the core rectangle of the input,
    and records `own` so the runtime can accumulate statistics over tiles. Same affine weights and eps as the
    nn.InstanceNorm2d it replaces.
    """

    def __init__(self, norm: nn.InstanceNorm2d, *, scale: int, offset: int, context: _StatsContext):
        super().__init__()
        if not norm.affine:
            raise BrushworkError("tiled export expects affine instance norm layers (as TransformerNet has)")
        self.weight, self.bias, self.eps = norm.weight, norm.bias, norm.eps
        self.channels, self.scale, self.offset, self.context = norm.num_features, scale, offset, context

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (1, C, h, w) at 1/scale of the tile
        ctx, c = self.context, self.channels
        mask = self._core_mask(x)  # (h, w) float, 1 inside the core
        count = mask.sum()
        mean = (x * mask).sum(dim=(0, 2, 3)) / count
        var = (((x - mean[None, :, None, None]) ** 2) * mask).sum(dim=(0, 2, 3)) / count
        ctx.measured += [mean, var]
        given_mean = ctx.given[self.offset:self.offset + c]
        given_var = ctx.given[self.offset + c:self.offset + 2 * c]
        mean = ctx.weight * given_mean + (1 - ctx.weight) * mean
        var = ctx.weight * given_var + (1 - ctx.weight) * var
        scale = self.weight / torch.sqrt(var + self.eps)
        return x * scale[None, :, None, None] + (self.bias - mean * scale)[None, :, None, None]

    def _core_mask(self, x: torch.Tensor) -> torch.Tensor:
        # Row r of this layer covers tile rows [r*scale, (r+1)*scale); core edges are multiples of 4 >= scale.
        rows = torch.arange(x.shape[2], device=x.device) * self.scale
        cols = torch.arange(x.shape[3], device=x.device) * self.scale
        core = self.context.core
        in_rows = ((rows >= core[0]) & (rows < core[1])).to(x.dtype)
        in_cols = ((cols >= core[2]) & (cols < core[3])).to(x.dtype)
        return in_rows[:, None] * in_cols[None, :]


class TiledStylizerGraph(nn.Module):
    """The network with every nn.InstanceNorm2d swapped for SharedStatsInstanceNorm, uint8 NHWC in, float out.

    `layers` lists (name, channels, scale) per norm layer in the order of the stats vector.
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        self.context = _StatsContext()
        self.layers = _norm_layers(model)
        self.net = _swap_norms(model, self.layers, self.context)
        self.stats_size = 2 * sum(c for _, c, _ in self.layers)
        self.eval()

    def forward(self, image: torch.Tensor, norm_stats: torch.Tensor, stats_weight: torch.Tensor,
                core: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        ctx = self.context
        ctx.given, ctx.weight, ctx.core, ctx.measured = norm_stats, stats_weight, core, []
        x = image.permute(0, 3, 1, 2).to(torch.float32) / 255.0  # (1, 3, H, W) in [0, 1]
        y = self.net(x).clamp(0.0, 1.0) * 255.0
        return y.permute(0, 2, 3, 1), torch.cat(ctx.measured)


def _norm_layers(model: nn.Module) -> list[tuple[str, int, int]]:
    """(name, channels, scale) of each instance norm, in execution order; scale measured by a dry run."""
    sizes: dict[str, int] = {}  # insertion order = execution order

    def record(name: str):
        def hook(module, inputs, output) -> None:
            sizes.setdefault(name, output.shape[-1])
        return hook

    hooks = [m.register_forward_hook(record(name))
             for name, m in model.named_modules() if isinstance(m, nn.InstanceNorm2d)]
    try:
        with torch.no_grad():
            model(torch.zeros(1, 3, 8 * STRIDE, 8 * STRIDE))
    finally:
        for h in hooks:
            h.remove()
    modules = dict(model.named_modules())
    if not sizes:
        raise BrushworkError("tiled export: the model has no instance norm layers, so it needs no tile graph")
    return [(name, modules[name].num_features, 8 * STRIDE // width) for name, width in sizes.items()]


def _swap_norms(model: nn.Module, layers: list[tuple[str, int, int]], context: _StatsContext) -> nn.Module:
    """A deep copy of `model` with its instance norms replaced (the caller's model is left untouched)."""
    import copy

    net = copy.deepcopy(model).eval()
    offset = 0
    for name, channels, scale in layers:
        parent_name, _, attr = name.rpartition(".")
        parent = net.get_submodule(parent_name) if parent_name else net
        norm = getattr(parent, attr)
        setattr(parent, attr, SharedStatsInstanceNorm(norm, scale=scale, offset=offset, context=context))
        offset += 2 * channels
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def receptive_radius(graph: TiledStylizerGraph, size: int = 192) -> int:
    """How far (input pixels) an output pixel sees once the statistics are fixed: the tile margin that makes
    tiled output exact. Measured with the gradient of the centre pixel, rounded up to a multiple of STRIDE."""
    image = torch.randint(0, 256, (1, size, size, 3), dtype=torch.uint8)
    core = torch.tensor([0, size, 0, size])
    with torch.no_grad():  # the image's own statistics, so that activations are typical (not all cut by ReLU)
        _, stats = graph(image, torch.zeros(graph.stats_size), torch.tensor(0.0), core)
    x = (image / 255.0).requires_grad_(True)
    with torch.enable_grad():
        y = _float_run(graph, x, stats, core)
        y[0, size // 2, size // 2].sum().backward()
    touched = (x.grad[0].abs().sum(-1) > 0).nonzero()
    radius = int((touched - size // 2).abs().max())
    if radius >= size // 2 - STRIDE:
        return receptive_radius(graph, size * 2)
    return -(-radius // STRIDE) * STRIDE


def _float_run(graph: TiledStylizerGraph, x01: torch.Tensor, stats: torch.Tensor, core: torch.Tensor):
    """The graph's body on a float input in [0, 1] NHWC (a uint8 input has no gradient), without the clamp."""
    ctx = graph.context
    ctx.given, ctx.weight, ctx.core, ctx.measured = stats, torch.tensor(1.0), core, []
    return graph.net(x01.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)


def export_tiled(model: nn.Module, path: str | os.PathLike, metadata: dict) -> None:
    """Write the tile graph of `model` beside the main export: `starry.onnx` -> `starry.tiled.onnx`.

    `metadata` (the main export's dict) goes into metadata_props, plus the tile graph's own keys: its I/O,
    the layer layout of the stats vector and the receptive radius (the tile margin that makes tiles exact).
    """
    import onnx

    from .export import save_model_atomic, set_metadata

    graph = TiledStylizerGraph(model.cpu().float().eval())
    radius = receptive_radius(graph)
    proto = _export_program(graph).model_proto
    set_metadata(proto, {**{str(k): v if isinstance(v, str) else json.dumps(v) for k, v in metadata.items()},
                         "tiled_io": TILED_IO, "tiled_stats_size": str(graph.stats_size),
                         "tiled_layers": json.dumps(graph.layers), "tiled_receptive_radius": str(radius)})
    onnx.checker.check_model(proto, full_check=True)
    _check_parity(graph, proto)
    save_model_atomic(proto, tiled_path(path))


def _check_parity(graph: TiledStylizerGraph, proto) -> None:
    """onnxruntime vs torch on a 68x92 image, own statistics and then given ones; BrushworkError past 1 level."""
    import numpy as np
    import onnxruntime as ort

    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    image = torch.randint(0, 256, (1, 68, 92, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    core = torch.tensor([8, 60, 12, 80])
    stats = None
    for weight in (0.0, 1.0):
        with torch.no_grad():
            given = torch.zeros(graph.stats_size) if stats is None else stats
            expected, stats = graph(image, given, torch.tensor(weight), core)
        got, _ = session.run(None, {"image": image.numpy(), "norm_stats": given.numpy(),
                                    "stats_weight": np.array(weight, np.float32), "core": core.numpy()})
        diff = float(np.abs(got - expected.numpy()).max())
        if diff > 1.0:
            raise BrushworkError(f"tile graph parity failed: onnxruntime differs from torch by {diff:.2f} grey "
                                 "levels; please report this with the checkpoint")


def _export_program(graph: TiledStylizerGraph):
    """torch.onnx.export (dynamo) with dynamic height and width, weights inside the one file."""
    h, w = 8 * STRIDE, 12 * STRIDE
    args = (torch.zeros(1, h, w, 3, dtype=torch.uint8), torch.ones(graph.stats_size),
            torch.tensor(1.0), torch.tensor([0, h, 0, w]))
    height, width = torch.export.Dim("height", min=2 * STRIDE), torch.export.Dim("width", min=2 * STRIDE)
    dynamic = {"image": {1: height, 2: width}, "norm_stats": None, "stats_weight": None, "core": None}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecation chatter from torch.export internals, not the user's business
        return torch.onnx.export(graph, args, dynamo=True, opset_version=OPSET, external_data=False,
                                 input_names=["image", "norm_stats", "stats_weight", "core"],
                                 output_names=["stylized", "stats"], dynamic_shapes=dynamic,
                                 optimize=True, verbose=False)


def tiled_path(path: str | os.PathLike) -> Path:
    """`starry.onnx` -> `starry.tiled.onnx` (the runtime looks for the companion file there); a path that already
    names a companion file is kept."""
    path = Path(path)
    return path if path.name.endswith(TILED_SUFFIX) else path.with_name(path.stem + TILED_SUFFIX)
