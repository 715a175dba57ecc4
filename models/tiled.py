"""The tile graph: the style network cut at its instance norms, so that any resolution runs in bounded working
memory and computes exactly what one run over the whole image computes.

    brushwork export runs/starry -o starry.onnx      # also writes starry.tiled.onnx through export_tiled()

Why tiles seam: instance normalization (Ulyanov et al. 2016) normalizes every channel by the mean and variance of
the whole input. Run tile by tile, each tile gets its own statistics, hence its own colour and contrast. Chen et
al. (AAAI 2022, "thumbnail instance normalization") share statistics taken from a thumbnail, which removes the
seams but not the difference to the untiled image (28 dB against it, docs/benchmarks.md). Exact full-resolution
statistics of layer k need the whole image through layers 1..k; rerunning the network for each layer costs 6.4
networks for johnson. Instead this graph holds every convolution as its own branch, and the runtime
(infer/engine/tiling.py) runs the network one layer at a time over the whole frame in strips, keeping the layer's
pre-norm activations (in memory, or in a temporary file when the budget is smaller) and measuring their
statistics as they are written. The next layer reads them back with a halo of its kernel radius (1-4 pixels,
not the 56-pixel receptive radius that tiles of the whole network need), so the cost is about one run of the
network and the result is the untiled one up to float rounding.

The graph (opset 20, float32, batch 1) has one branch per step of `program` (stored as metadata "tiled_program"),
each with its own inputs and outputs; an input left out takes a tiny default, so a call feeds one branch only:

    conv step i:  c{i}_x      the step's input over the output rows plus the kernel's halo, already reflection-
                              padded (and nearest-upsampled, for an upsampling step) by the runtime:
                              uint8 [1, h, w, 3] for the first step (the RGB image), float32 [1, C, h, w] after
                  c{i}_mean, c{i}_var   float32 [C]: statistics of the input's instance norm (steps whose
                              prologue is "norm_relu": x -> relu(norm(x)) before the convolution)
               -> c{i}_conv   float32 [1, C', h', w']: the pre-norm output (steps followed by an instance norm)
               -> c{i}_ymean, c{i}_ym2  float32 [C']: its per-channel mean and sum of squared deviations, which
                              the runtime combines over strips in float64
               -> c{i}_y      the last step's output: float32 [1, h', w', 3] RGB in [0, 255], unrounded
    norm step j:  n{j}_x, n{j}_mean, n{j}_var, n{j}_skip -> n{j}_y = norm(x) + skip  (residual blocks' ends),
                  or relu(norm(x)) when there is no skip (the residual blocks' input)
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .. import BrushworkError
from ..infer.engine.contract import (
    STRIDE,
    TILED_FORMAT,
    TILED_FORMAT_KEY,
    TILED_IO_KEY,
    TILED_PROGRAM_KEY,
    TILED_SUFFIX,
    edge_margin,
    tiled_path,
)
from .transformer_net import ConvLayer, SeparableConvLayer, TransformerNet, UpsampleConv

OPSET = 20  # as the main export (models/export.py)
IR_VERSION = 10  # what opset 20 needs; onnx 1.23 would write 14, which onnxruntime 1.31 cannot load
TILED_IO = "one branch per step of tiled_program; see brushwork/models/tiled.py"


def program(net: TransformerNet) -> tuple[list[dict], list[tuple[ConvLayer, nn.InstanceNorm2d | None]], list]:
    """The network as a list of steps over whole-frame buffers, each conv step's (conv, norm of its input), and
    the norms that norm steps apply.

    Buffers hold pre-norm activations; "a" -> "b" reads one and writes the other; "stats" names the conv step
    whose output statistics a step's instance norm uses. Johnson's net: three
    downsampling convs, residual blocks (conv, norm+relu, conv, norm + skip), two upsampling convs, the head.
    """
    _check_tileable(net)
    prog = _Program()
    down = net.downsample
    prog.conv(down[0][0], "image", "d0", "image")
    prog.conv(down[1][0], "d0", "d1", "norm_relu", down[0][1])
    prog.conv(down[2][0], "d1", "r", "norm_relu", down[1][1])
    prog.norm(down[2][1], "r", skip=None)
    for block in net.residuals:
        prog.conv(block.conv1, "r", "t", "identity")
        prog.conv(block.conv2, "t", "u", "norm_relu", block.in1)
        prog.norm(block.in2, "u", skip="r")
        prog.steps.append({"op": "rename", "src": "u", "dst": "r"})
    up: list[UpsampleConv] = list(net.upsample)
    prog.conv(up[0][1], "r", "p", "identity", upsample=True)
    prog.conv(up[1][1], "p", "q", "norm_relu", up[0][2], upsample=True)
    prog.conv(net.head, "q", "out", "norm_relu", up[1][2], measure=False)
    prog.steps[-1]["output"] = getattr(net, "output", "linear")  # the head's bound (TransformerNet.to_rgb), if any
    return prog.steps, prog.convs, prog.norms


def _check_tileable(net: nn.Module) -> None:
    if not isinstance(net, TransformerNet):
        raise BrushworkError(f"tiled export knows TransformerNet only, not {type(net).__name__}")
    if any(isinstance(m, SeparableConvLayer) for m in net.modules()):
        raise BrushworkError("tiled export does not know depthwise-separable residual blocks (separable=True)")


class _Program:
    """The steps of `program` with the conv layers and norms they use, appended in network order."""

    def __init__(self):
        self.steps: list[dict] = []
        self.convs: list[tuple[ConvLayer, nn.InstanceNorm2d | None]] = []
        self.norms: list[nn.InstanceNorm2d] = []

    def conv(self, layer: ConvLayer, src: str, dst: str, prologue: str, norm: nn.InstanceNorm2d | None = None, *,
             upsample: bool = False, measure: bool = True) -> None:
        """A conv step reading buffer `src` (through `prologue`, with `norm` for "norm_relu") and writing `dst`."""
        c = layer[1]
        stats = len(self.convs) - 1 if prologue == "norm_relu" else None  # the conv whose output `norm` normalizes
        self.steps.append({"op": "conv", "index": len(self.convs), "src": src, "dst": dst, "prologue": prologue,
                           "stats": stats, "kernel": c.kernel_size[0], "stride": c.stride[0], "upsample": upsample,
                           "cin": c.in_channels, "cout": c.out_channels, "measure": measure})
        self.convs.append((layer, norm))

    def norm(self, norm: nn.InstanceNorm2d, buf: str, *, skip: str | None) -> None:
        """A norm step over buffer `buf` with the statistics of the last conv step, plus buffer `skip` if any."""
        self.norms.append(norm)
        self.steps.append({"op": "norm", "index": len(self.norms) - 1, "buf": buf, "skip": skip,
                           "stats": len(self.convs) - 1, "channels": norm.num_features})


def build_graph(net: TransformerNet, *, half_weights: bool = False):
    """The ONNX model (no metadata yet) with one branch per conv step and per norm step, and the program.

    half_weights: store the convolutions' weights in float16, widened by a Cast at load (half the file; the
    arithmetic stays float32). Exact only for weights that are float16 values already (export_tiled rounds them).
    """
    steps, convs, norms = program(net)
    graph = _Graph(half_weights)
    for step in steps:
        if step["op"] == "conv":
            graph.conv_branch(step, *convs[step["index"]])
        elif step["op"] == "norm":
            graph.norm_branch(step, norms[step["index"]])
    return graph.model(), steps


def _f32(value) -> np.ndarray:
    return np.array(value, np.float32)


def _i64(value) -> np.ndarray:
    return np.array(value, np.int64)


class _Graph:
    """The nodes, inputs, outputs and initializers of the tile graph, which the branches append to in order.

    Names are prefixed by the step: c{i}_ for conv step i, n{j}_ for norm step j (see the module docstring).
    """

    def __init__(self, half_weights: bool = False):
        self.nodes, self.inputs, self.outputs, self.inits = [], [], [], []
        self.half_weights = half_weights

    def const(self, name: str, array: np.ndarray) -> str:
        from onnx import numpy_helper

        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def weight(self, name: str, tensor: torch.Tensor) -> str:
        """A parameter as a float32 value in the graph, stored as float16 when the graph keeps half weights."""
        from onnx import TensorProto

        array = tensor.detach().numpy()
        if not self.half_weights:
            return self.const(name, array.astype(np.float32))
        return self.node("Cast", [self.const(f"{name}16", array.astype(np.float16))], name, to=TensorProto.FLOAT)

    def input(self, name: str, default: np.ndarray, dims: list) -> str:
        """An input that is also an initializer may be left out of a run: it then takes this tiny default."""
        from onnx import TensorProto, helper

        dtype = TensorProto.UINT8 if default.dtype == np.uint8 else TensorProto.FLOAT
        self.inputs.append(helper.make_tensor_value_info(name, dtype, dims))
        return self.const(name, default)

    def output(self, name: str, dims: list) -> None:
        from onnx import TensorProto, helper

        self.outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, dims))

    def node(self, op: str, inputs: list[str], output: str, **attrs) -> str:
        from onnx import helper

        self.nodes.append(helper.make_node(op, inputs, [output], **attrs))
        return output

    def model(self):
        """The onnx ModelProto of everything added so far."""
        from onnx import helper

        graph = helper.make_graph(self.nodes, "brushwork_tiled", self.inputs, self.outputs, self.inits)
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="brushwork",
                                 ir_version=IR_VERSION)

    def normalize(self, p: str, x: str, norm: nn.InstanceNorm2d) -> str:
        """Nodes for norm(x) with statistics from inputs {p}_mean, {p}_var (float32 [C])."""
        c = norm.num_features
        mean = self.input(f"{p}_mean", np.zeros(c, np.float32), [c])
        var = self.input(f"{p}_var", np.ones(c, np.float32), [c])
        shape = self.const(f"{p}_shape", _i64([1, c, 1, 1]))
        gamma = self.const(f"{p}_gamma", norm.weight.detach().numpy().reshape(1, c, 1, 1).astype(np.float32))
        beta = self.const(f"{p}_beta", norm.bias.detach().numpy().reshape(1, c, 1, 1).astype(np.float32))
        eps = self.const(f"{p}_eps", _f32(norm.eps))
        # norm(x) = x * scale + shift, scale = gamma / sqrt(var + eps), shift = beta - mean * scale
        sd = self.node("Sqrt", [self.node("Add", [var, eps], f"{p}_ve")], f"{p}_sd")
        m4 = self.node("Reshape", [mean, shape], f"{p}_m4")
        scale = self.node("Div", [gamma, self.node("Reshape", [sd, shape], f"{p}_sd4")], f"{p}_scale")
        shift = self.node("Sub", [beta, self.node("Mul", [m4, scale], f"{p}_ms")], f"{p}_shift")
        return self.node("Add", [self.node("Mul", [x, scale], f"{p}_xs"), shift], f"{p}_n")

    def norm_branch(self, step: dict, norm: nn.InstanceNorm2d) -> None:
        """Norm step j: n{j}_y = norm(n{j}_x) + n{j}_skip, or relu(norm(n{j}_x)) when the step has no skip."""
        p, c = f"n{step['index']}", step["channels"]
        dims = [1, c, f"{p}_h", f"{p}_w"]
        y = self.normalize(p, self.input(f"{p}_x", np.zeros((1, c, 1, 1), np.float32), dims), norm)
        if step["skip"]:
            self.node("Add", [y, self.input(f"{p}_skip", np.zeros((1, c, 1, 1), np.float32), dims)], f"{p}_y")
        else:
            self.node("Relu", [y], f"{p}_y")
        self.output(f"{p}_y", dims)

    def conv_branch(self, step: dict, layer: ConvLayer, norm: nn.InstanceNorm2d | None) -> None:
        """Conv step i: prologue (image -> [0, 1] NCHW, or relu(norm(x)), or x), valid conv, then the head's RGB
        or the output's statistics."""
        p = f"c{step['index']}"
        x = self._image(p, step["kernel"]) if step["prologue"] == "image" else self._activations(p, step, norm)
        y = self._convolve(p, step, x, layer[1])
        if step["measure"]:
            self._statistics(p, y, step["cout"])
        else:
            self._head(p, y, step.get("output", "linear"))

    def _image(self, p: str, k: int) -> str:
        """The RGB image, uint8 NHWC, as float32 NCHW in [0, 1]."""
        x = self.input(f"{p}_x", np.zeros((1, k, k, 3), np.uint8), [1, f"{p}_h", f"{p}_w", 3])
        xt = self.node("Transpose", [self.node("Cast", [x], f"{p}_xf", to=1)], f"{p}_xt", perm=[0, 3, 1, 2])
        return self.node("Div", [xt, self.const(f"{p}_255", _f32(255))], f"{p}_in")

    def _activations(self, p: str, step: dict, norm: nn.InstanceNorm2d | None) -> str:
        """Pre-norm activations, through relu(norm(x)) for a "norm_relu" prologue, then nearest x2 if upsampling."""
        k, cin = step["kernel"], step["cin"]
        side = k // 2 + 2 if step["upsample"] else k  # the smallest input the branch takes (its default)
        x = self.input(f"{p}_x", np.zeros((1, cin, side, side), np.float32), [1, cin, f"{p}_h", f"{p}_w"])
        if step["prologue"] == "norm_relu":
            x = self.node("Relu", [self.normalize(p, x, norm)], f"{p}_in")
        if step["upsample"]:  # nearest x2; the conv's output then drops one position on each side
            scales = self.const(f"{p}_scales", _f32([1, 1, 2, 2]))
            x = self.node("Resize", [x, "", scales], f"{p}_up", mode="nearest",
                          coordinate_transformation_mode="asymmetric", nearest_mode="floor")
        return x

    def _convolve(self, p: str, step: dict, x: str, conv: nn.Conv2d) -> str:
        """The valid convolution, {p}_conv; after upsampling without its outermost ring."""
        weight, bias = self.weight(f"{p}_w", conv.weight), self.weight(f"{p}_b", conv.bias)
        k, s = step["kernel"], step["stride"]
        if not step["upsample"]:
            return self.node("Conv", [x, weight, bias], f"{p}_conv", kernel_shape=[k, k], strides=[s, s])
        full = self.node("Conv", [x, weight, bias], f"{p}_full", kernel_shape=[k, k], strides=[s, s])
        # the reflection at the higher resolution (see infer/engine/activations.py window)
        starts, ends = self.const(f"{p}_st", _i64([1, 1])), self.const(f"{p}_en", _i64([-1, -1]))
        return self.node("Slice", [full, starts, ends, self.const(f"{p}_sa", _i64([2, 3]))], f"{p}_conv")

    def _statistics(self, p: str, y: str, c: int) -> None:
        """Outputs {p}_conv and its per-channel mean {p}_ymean and sum of squared deviations {p}_ym2."""
        axes = self.const(f"{p}_axes", _i64([0, 2, 3]))
        ym4 = self.node("ReduceMean", [y, axes], f"{p}_ym4", keepdims=1)
        self.node("Reshape", [ym4, self.const(f"{p}_flat", _i64([-1]))], f"{p}_ymean")
        self.node("ReduceSumSquare", [self.node("Sub", [y, ym4], f"{p}_dev"), axes], f"{p}_ym2", keepdims=0)
        self.output(y, [1, c, f"{p}_oh", f"{p}_ow"])
        self.output(f"{p}_ymean", [c])
        self.output(f"{p}_ym2", [c])

    def _head(self, p: str, y: str, output: str) -> None:
        """Output {p}_y: RGB in [0, 255], NHWC, through TransformerNet.to_rgb when the net's output is "tanh"."""
        if output == "tanh":  # 0.5 + 0.5 tanh(2y - 1)
            t2 = self.node("Mul", [y, self.const(f"{p}_two", _f32(2))], f"{p}_t2")
            t1 = self.node("Sub", [t2, self.const(f"{p}_one", _f32(1))], f"{p}_t1")
            t5 = self.node("Mul", [self.node("Tanh", [t1], f"{p}_th"), self.const(f"{p}_half", _f32(0.5))], f"{p}_t5")
            y = self.node("Add", [t5, self.const(f"{p}_mid", _f32(0.5))], f"{p}_rgb")
        clipped = self.node("Clip", [y, self.const(f"{p}_lo", _f32(0)), self.const(f"{p}_hi", _f32(1))], f"{p}_c")
        scaled = self.node("Mul", [clipped, self.const(f"{p}_k", _f32(255))], f"{p}_s")
        self.node("Transpose", [scaled], f"{p}_y", perm=[0, 2, 3, 1])
        self.output(f"{p}_y", [1, f"{p}_oh", f"{p}_ow", 3])


def export_tiled(model: nn.Module, path: str | os.PathLike, metadata: dict, *, half_weights: bool = False) -> None:
    """Write the tile graph of `model` beside the main export: `starry.onnx` -> `starry.tiled.onnx`.

    `metadata` (the main export's dict) goes into metadata_props, plus the program the runtime interprets.
    half_weights (beside an fp16 export): the convolutions' weights rounded to float16, as the fp16 graph has them,
    and stored so (half the file, the wheel's largest part); the arithmetic stays float32 and exact to this graph.
    Checked with onnx.checker and against torch (the runtime, layer by layer in small strips, on a 68x92 image).
    """
    import onnx

    from .export import save_model_atomic, set_metadata

    net = model.cpu().float().eval()
    if half_weights:  # the twin that parity is checked against carries the same rounded weights
        net = copy.deepcopy(net)
        with torch.no_grad():
            for conv in (m for m in net.modules() if isinstance(m, nn.Conv2d)):
                for param in (conv.weight, conv.bias):
                    param.copy_(param.half().float())
    proto, steps = build_graph(net, half_weights=half_weights)
    set_metadata(proto, {**{str(k): v if isinstance(v, str) else json.dumps(v) for k, v in metadata.items()},
                         TILED_IO_KEY: TILED_IO, TILED_FORMAT_KEY: TILED_FORMAT, TILED_PROGRAM_KEY: json.dumps(steps),
                         "tiled_weights": "fp16" if half_weights else "fp32"})
    onnx.checker.check_model(proto, full_check=True)
    target = tiled_path(path)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:  # checked before it is put in place
        staged = Path(tmp) / target.name
        save_model_atomic(proto, staged)
        _check_parity(net, staged, edge_margin(metadata))
        os.replace(staged, target)


def _check_parity(net: TransformerNet, path: Path, margin: int) -> None:
    """The runtime in 12-row strips (several strips per layer) vs the main graph's torch twin (same edge margin) on a
    67x93 image; BrushworkError past 1 grey level."""
    from ..infer.engine.tiling import TiledStylizer
    from .export import check_parity

    diff = int(check_parity(net, TiledStylizer(path, device="cpu", tile=12).batch, margin=margin).max())
    if diff > 1:
        raise BrushworkError(f"tile graph parity failed: onnxruntime differs from torch by {diff} grey "
                             "levels; please report this with the checkpoint")


__all__ = ["STRIDE", "TILED_SUFFIX", "build_graph", "export_tiled", "program", "tiled_path"]
