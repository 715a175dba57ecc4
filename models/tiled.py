"""The tile graph: the style network cut at its instance norms, so that any resolution runs in bounded working
memory and computes exactly what one run over the whole image computes.

    brushwork export runs/starry -o starry.onnx      # also writes starry.tiled.onnx through export_tiled()

Why tiles seam: instance normalization (Ulyanov et al. 2016) normalizes every channel by the mean and variance of
the whole input. Run tile by tile, each tile gets its own statistics, hence its own colour and contrast. Chen et
al. (AAAI 2022, "thumbnail instance normalization") share statistics taken from a thumbnail, which removes the
seams but not the difference to the untiled image (28 dB against it, docs/benchmarks.md). Exact full-resolution
statistics of layer k need the whole image through layers 1..k; rerunning the network for each layer costs 6.4
networks for johnson. Instead this graph holds every convolution as its own branch, and the runtime
(infer/tiling.py) runs the network one layer at a time over the whole frame in strips, keeping the layer's
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

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .. import BrushworkError
from ..infer.contract import (
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
    if not isinstance(net, TransformerNet):
        raise BrushworkError(f"tiled export knows TransformerNet only, not {type(net).__name__}")
    if any(isinstance(m, SeparableConvLayer) for m in net.modules()):
        raise BrushworkError("tiled export does not know depthwise-separable residual blocks (separable=True)")
    steps, convs = [], []

    def conv(layer: ConvLayer, src: str, dst: str, prologue: str, norm: nn.InstanceNorm2d | None = None, *,
             upsample: bool = False, measure: bool = True) -> None:
        c = layer[1]
        stats = len(convs) - 1 if prologue == "norm_relu" else None  # the conv whose output `norm` normalizes
        steps.append({"op": "conv", "index": len(convs), "src": src, "dst": dst, "prologue": prologue, "stats": stats,
                      "kernel": c.kernel_size[0], "stride": c.stride[0], "upsample": upsample,
                      "cin": c.in_channels, "cout": c.out_channels, "measure": measure})
        convs.append((layer, norm))

    down = net.downsample
    conv(down[0][0], "image", "d0", "image")
    conv(down[1][0], "d0", "d1", "norm_relu", down[0][1])
    conv(down[2][0], "d1", "r", "norm_relu", down[1][1])
    norms = [down[2][1]]
    steps.append({"op": "norm", "index": 0, "buf": "r", "skip": None, "stats": len(convs) - 1,
                  "channels": down[2][1].num_features})
    for block in net.residuals:
        conv(block.conv1, "r", "t", "identity")
        conv(block.conv2, "t", "u", "norm_relu", block.in1)
        norms.append(block.in2)
        steps.append({"op": "norm", "index": len(norms) - 1, "buf": "u", "skip": "r", "stats": len(convs) - 1,
                      "channels": block.in2.num_features})
        steps.append({"op": "rename", "src": "u", "dst": "r"})
    up: list[UpsampleConv] = list(net.upsample)
    conv(up[0][1], "r", "p", "identity", upsample=True)
    conv(up[1][1], "p", "q", "norm_relu", up[0][2], upsample=True)
    conv(net.head, "q", "out", "norm_relu", up[1][2], measure=False)
    steps[-1]["output"] = getattr(net, "output", "linear")  # the head's bound (TransformerNet.to_rgb), if it has one
    return steps, convs, norms


def build_graph(net: TransformerNet):
    """The ONNX model (no metadata yet) with one branch per conv step and per norm step, and the program."""
    from onnx import TensorProto, helper, numpy_helper

    steps, convs, norms = program(net)
    nodes, inputs, outputs, inits = [], [], [], []

    def const(name: str, array: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def graph_input(name: str, default: np.ndarray, dims: list) -> str:
        # An input that is also an initializer may be left out of a run: it then takes this tiny default.
        dtype = TensorProto.UINT8 if default.dtype == np.uint8 else TensorProto.FLOAT
        inputs.append(helper.make_tensor_value_info(name, dtype, dims))
        return const(name, default)

    def graph_output(name: str, dims: list) -> None:
        outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, dims))

    def normalize(p: str, x: str, norm: nn.InstanceNorm2d) -> str:
        """Nodes for norm(x) with statistics from inputs {p}_mean, {p}_var (float32 [C])."""
        c = norm.num_features
        mean = graph_input(f"{p}_mean", np.zeros(c, np.float32), [c])
        var = graph_input(f"{p}_var", np.ones(c, np.float32), [c])
        shape = const(f"{p}_shape", np.array([1, c, 1, 1], np.int64))
        gamma = const(f"{p}_gamma", norm.weight.detach().numpy().reshape(1, c, 1, 1).astype(np.float32))
        beta = const(f"{p}_beta", norm.bias.detach().numpy().reshape(1, c, 1, 1).astype(np.float32))
        eps = const(f"{p}_eps", np.array(norm.eps, np.float32))
        nodes.extend([
            helper.make_node("Add", [var, eps], [f"{p}_ve"]),
            helper.make_node("Sqrt", [f"{p}_ve"], [f"{p}_sd"]),
            helper.make_node("Reshape", [mean, shape], [f"{p}_m4"]),
            helper.make_node("Reshape", [f"{p}_sd", shape], [f"{p}_sd4"]),
            helper.make_node("Div", [gamma, f"{p}_sd4"], [f"{p}_scale"]),
            helper.make_node("Mul", [f"{p}_m4", f"{p}_scale"], [f"{p}_ms"]),
            helper.make_node("Sub", [beta, f"{p}_ms"], [f"{p}_shift"]),
            helper.make_node("Mul", [x, f"{p}_scale"], [f"{p}_xs"]),
            helper.make_node("Add", [f"{p}_xs", f"{p}_shift"], [f"{p}_n"]),
        ])
        return f"{p}_n"

    for step in steps:
        if step["op"] == "conv":
            _conv_branch(step, convs[step["index"]], nodes, const, graph_input, graph_output, normalize, helper)
        elif step["op"] == "norm":
            p, c = f"n{step['index']}", step["channels"]
            x = graph_input(f"{p}_x", np.zeros((1, c, 1, 1), np.float32), [1, c, f"{p}_h", f"{p}_w"])
            y = normalize(p, x, norms[step["index"]])
            if step["skip"]:
                skip = graph_input(f"{p}_skip", np.zeros((1, c, 1, 1), np.float32), [1, c, f"{p}_h", f"{p}_w"])
                nodes.append(helper.make_node("Add", [y, skip], [f"{p}_y"]))
            else:
                nodes.append(helper.make_node("Relu", [y], [f"{p}_y"]))
            graph_output(f"{p}_y", [1, c, f"{p}_h", f"{p}_w"])
    graph = helper.make_graph(nodes, "brushwork_tiled", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="brushwork",
                              ir_version=IR_VERSION)
    return model, steps


def _conv_branch(step, conv_norm, nodes, const, graph_input, graph_output, normalize, helper) -> None:
    """Nodes of one conv step: prologue (image -> [0, 1] NCHW, or relu(norm(x)), or x), valid conv, stats."""
    layer, norm = conv_norm
    p, k, cin = f"c{step['index']}", step["kernel"], step["cin"]
    conv = layer[1]
    if step["prologue"] == "image":
        x = graph_input(f"{p}_x", np.zeros((1, k, k, 3), np.uint8), [1, f"{p}_h", f"{p}_w", 3])
        nodes += [helper.make_node("Cast", [x], [f"{p}_xf"], to=1),
                  helper.make_node("Transpose", [f"{p}_xf"], [f"{p}_xt"], perm=[0, 3, 1, 2]),
                  helper.make_node("Div", [f"{p}_xt", const(f"{p}_255", np.array(255, np.float32))], [f"{p}_in"])]
        x = f"{p}_in"
    else:
        side = k // 2 + 2 if step["upsample"] else k  # the smallest input the branch takes (its default)
        x = graph_input(f"{p}_x", np.zeros((1, cin, side, side), np.float32), [1, cin, f"{p}_h", f"{p}_w"])
        if step["prologue"] == "norm_relu":
            nodes.append(helper.make_node("Relu", [normalize(p, x, norm)], [f"{p}_in"]))
            x = f"{p}_in"
        if step["upsample"]:  # nearest x2; the conv's output then drops one position on each side
            scales = const(f"{p}_scales", np.array([1, 1, 2, 2], np.float32))
            nodes.append(helper.make_node("Resize", [x, "", scales], [f"{p}_up"], mode="nearest",
                                          coordinate_transformation_mode="asymmetric", nearest_mode="floor"))
            x = f"{p}_up"
    weight = const(f"{p}_w", conv.weight.detach().numpy().astype(np.float32))
    bias = const(f"{p}_b", conv.bias.detach().numpy().astype(np.float32))
    s = step["stride"]
    conv_out = f"{p}_full" if step["upsample"] else f"{p}_conv"
    nodes.append(helper.make_node("Conv", [x, weight, bias], [conv_out], kernel_shape=[k, k], strides=[s, s]))
    if step["upsample"]:  # the reflection at the higher resolution (see infer/activations.py window)
        starts, ends = const(f"{p}_st", np.array([1, 1], np.int64)), const(f"{p}_en", np.array([-1, -1], np.int64))
        nodes.append(helper.make_node("Slice", [conv_out, starts, ends, const(f"{p}_sa", np.array([2, 3], np.int64))],
                                      [f"{p}_conv"]))
    if not step["measure"]:  # the head: RGB in [0, 255], NHWC
        rgb = f"{p}_conv"
        if step.get("output", "linear") == "tanh":  # TransformerNet.to_rgb: 0.5 + 0.5 tanh(2y - 1)
            nodes += [helper.make_node("Mul", [rgb, const(f"{p}_two", np.array(2, np.float32))], [f"{p}_t2"]),
                      helper.make_node("Sub", [f"{p}_t2", const(f"{p}_one", np.array(1, np.float32))], [f"{p}_t1"]),
                      helper.make_node("Tanh", [f"{p}_t1"], [f"{p}_th"]),
                      helper.make_node("Mul", [f"{p}_th", const(f"{p}_half", np.array(0.5, np.float32))], [f"{p}_t5"]),
                      helper.make_node("Add", [f"{p}_t5", const(f"{p}_mid", np.array(0.5, np.float32))], [f"{p}_rgb"])]
            rgb = f"{p}_rgb"
        nodes += [helper.make_node("Clip", [rgb, const(f"{p}_lo", np.array(0, np.float32)),
                                            const(f"{p}_hi", np.array(1, np.float32))], [f"{p}_c"]),
                  helper.make_node("Mul", [f"{p}_c", const(f"{p}_k", np.array(255, np.float32))], [f"{p}_s"]),
                  helper.make_node("Transpose", [f"{p}_s"], [f"{p}_y"], perm=[0, 2, 3, 1])]
        graph_output(f"{p}_y", [1, f"{p}_oh", f"{p}_ow", 3])
        return
    axes = const(f"{p}_axes", np.array([0, 2, 3], np.int64))
    nodes += [helper.make_node("ReduceMean", [f"{p}_conv", axes], [f"{p}_ym4"], keepdims=1),
              helper.make_node("Reshape", [f"{p}_ym4", const(f"{p}_flat", np.array([-1], np.int64))], [f"{p}_ymean"]),
              helper.make_node("Sub", [f"{p}_conv", f"{p}_ym4"], [f"{p}_dev"]),
              helper.make_node("ReduceSumSquare", [f"{p}_dev", axes], [f"{p}_ym2"], keepdims=0)]
    c = step["cout"]
    graph_output(f"{p}_conv", [1, c, f"{p}_oh", f"{p}_ow"])
    graph_output(f"{p}_ymean", [c])
    graph_output(f"{p}_ym2", [c])


def export_tiled(model: nn.Module, path: str | os.PathLike, metadata: dict) -> None:
    """Write the tile graph of `model` beside the main export: `starry.onnx` -> `starry.tiled.onnx`.

    `metadata` (the main export's dict) goes into metadata_props, plus the program the runtime interprets.
    Checked with onnx.checker and against torch (the runtime, layer by layer in small strips, on a 68x92 image).
    """
    import onnx

    from .export import save_model_atomic, set_metadata

    net = model.cpu().float().eval()
    proto, steps = build_graph(net)
    set_metadata(proto, {**{str(k): v if isinstance(v, str) else json.dumps(v) for k, v in metadata.items()},
                         TILED_IO_KEY: TILED_IO, TILED_FORMAT_KEY: TILED_FORMAT, TILED_PROGRAM_KEY: json.dumps(steps)})
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
    from ..infer.tiling import TiledStylizer
    from .export import ExportWrapper

    rng = np.random.default_rng(0)
    image = np.clip(rng.normal(128, 60, (67, 93, 3)), 0, 255).astype(np.uint8)
    got = TiledStylizer(path, device="cpu", tile=12)(image).astype(np.float32)
    with torch.no_grad():
        expected = ExportWrapper(net, margin=margin)(torch.from_numpy(image)[None])[0].numpy().astype(np.float32)
    diff = float(np.abs(got - expected).max())
    if diff > 1.0:
        raise BrushworkError(f"tile graph parity failed: onnxruntime differs from torch by {diff:.2f} grey "
                             "levels; please report this with the checkpoint")


__all__ = ["STRIDE", "TILED_SUFFIX", "build_graph", "export_tiled", "program", "tiled_path"]
