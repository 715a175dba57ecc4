"""Export a trained transformer to one self-contained ONNX file that the torch-free runtime runs.

    brushwork export runs/starry -o starry.onnx            # fp32, the reference
    brushwork export runs/starry -o starry16.onnx --fp16   # half precision (instance-norm statistics kept fp32)
    brushwork export runs/starry -o starry8.onnx --int8 --calibration photos/   # static int8 (QDQ) for CPUs

I/O convention (IO_CONVENTION in infer/engine/contract.py, also written into the file): input `image` uint8 (N, H, W, 3)
RGB, output `stylized` uint8 (N, H, W, 3) RGB of the same size. The cast, /255, reflection padding to the stride,
the network, the crop, clamp and rounding all live inside the graph: the runtime does no per-pixel work in Python
and moves 4x fewer bytes than float32 would. Batch, height and width are dynamic.

We use the dynamo exporter (`torch.onnx.export(..., dynamo=True)`): it gives a clean graph of 90 nodes (johnson) with
native InstanceNormalization and symbolic H/W, where the legacy TorchScript exporter emits 430 (166 Constants, shape
arithmetic) for the same network; both ran equally fast in onnxruntime.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import __version__
from ..data.files import atomic_write
from ..infer.engine.contract import (
    DEFAULT_TRAINING_SCALE,
    EDGE_MARGIN,
    EDGE_MARGIN_KEY,
    INPUT_NAME,
    IO_CONVENTION,
    OUTPUT_NAME,
    STRIDE,
    TRAINING_SCALE_KEY,
    min_input_side,
)
from .checkpoint import load_checkpoint, model_from_checkpoint
from .run_layout import resolve_checkpoint
from .transformer_net import TransformerNet

OPSET = 20


class Float32InstanceNorm(nn.Module):
    """Instance norm computed in float32 inside a half-precision network.

    Mean and variance over a whole 1080p feature map lose digits in fp16 (and the variance can overflow);
    the convolutions, which are where the time goes, stay in fp16.
    """

    def __init__(self, norm: nn.InstanceNorm2d):
        super().__init__()
        self.weight = nn.Parameter(norm.weight.detach().float().clone())
        self.bias = nn.Parameter(norm.bias.detach().float().clone())
        self.eps = norm.eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.instance_norm(x.float(), weight=self.weight, bias=self.bias, eps=self.eps).to(x.dtype)

    def _apply(self, fn, recurse=True):
        # Module.half() must not touch the affine parameters: keep them float32.
        return self


class ExportWrapper(nn.Module):
    """uint8 NHWC in, uint8 NHWC out, everything per-pixel inside the graph (see IO_CONVENTION)."""

    def __init__(self, net: TransformerNet, dtype: torch.dtype = torch.float32, margin: int = EDGE_MARGIN):
        super().__init__()
        self.net = net
        self.dtype, self.margin = dtype, margin

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        h, w, m = image.shape[1], image.shape[2], self.margin
        x = image.permute(0, 3, 1, 2).to(self.dtype) / 255.0  # (N, 3, H, W) in [0, 1]
        # Always pad (possibly by 0): a Python branch on the size would be frozen into the graph. To the stride first
        # (bottom, right), then the edge margin all round (contract.py EDGE_MARGIN), which is a multiple of it.
        x = F.pad(x, (0, (-w) % STRIDE, 0, (-h) % STRIDE), mode="reflect")
        x = F.pad(x, (m, m, m, m), mode="reflect")
        net = self.net
        y = net.to_rgb(net.head(net.upsample(net.residuals(net.downsample(x)))))[:, :, m:m + h, m:m + w].float()
        return torch.round(torch.clamp(y, 0.0, 1.0) * 255.0).to(torch.uint8).permute(0, 2, 3, 1)


def load_for_export(path: str | os.PathLike) -> tuple[TransformerNet, dict]:
    """The network (eval mode, float32, CPU) and its checkpoint dict from a run directory or checkpoint file."""
    ckpt = load_checkpoint(resolve_checkpoint(path))
    return model_from_checkpoint(ckpt).float().eval(), ckpt


def build_metadata(ckpt: dict, precision: str) -> dict[str, str]:
    """The metadata_props written into every exported file (strings only, as ONNX requires)."""
    style = ckpt.get("style") or {}
    return {
        "producer": "brushwork",
        "brushwork_version": __version__,
        "arch": str(ckpt.get("arch", "")),
        "arch_kwargs": json.dumps(ckpt.get("arch_kwargs", {}), sort_keys=True),
        "stride": str(STRIDE),
        "style_name": str(style.get("name", "")),
        "style_sha256": str(style.get("sha256", "")),
        "io": IO_CONVENTION,
        "precision": precision,
        "training_step": str(ckpt.get("step", "")),
        "training_config": json.dumps(ckpt.get("config", {}), sort_keys=True, default=str),
        TRAINING_SCALE_KEY: json.dumps(_training_scale(ckpt.get("config") or {})),
        EDGE_MARGIN_KEY: str(EDGE_MARGIN),
    }


def _training_scale(config: dict) -> dict:
    """The crop size, crop-area range and style size the network was trained with (infer/engine/contract.py)."""
    scale = {key: config.get(key) for key in DEFAULT_TRAINING_SCALE}
    return {key: default if scale[key] is None else scale[key] for key, default in DEFAULT_TRAINING_SCALE.items()}


def half_precision(net: TransformerNet) -> TransformerNet:
    """A half-precision copy of `net` whose instance norms compute in float32."""
    net = copy.deepcopy(net)
    _swap_instance_norms(net)
    return net.half()


def _swap_instance_norms(module: nn.Module) -> None:
    for name, child in module.named_children():
        if isinstance(child, nn.InstanceNorm2d):
            setattr(module, name, Float32InstanceNorm(child))
        else:
            _swap_instance_norms(child)


def export_onnx(net: TransformerNet, path: str | os.PathLike, metadata: dict[str, str], *, fp16: bool = False) -> None:
    """Write `net` to `path` (atomically) as a single ONNX file with the brushwork I/O convention."""
    wrapper = ExportWrapper(half_precision(net) if fp16 else net, torch.float16 if fp16 else torch.float32).eval()
    example = torch.randint(0, 256, (1, 67, 93, 3), dtype=torch.uint8)  # odd sizes: padding is exercised
    side = min_input_side(wrapper.margin)
    dims = {0: torch.export.Dim("batch"), 1: torch.export.Dim("height", min=side),
            2: torch.export.Dim("width", min=side)}
    _quiet_exporter()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecation chatter from torch.export internals, not the user's business
        program = torch.onnx.export(wrapper, (example,), dynamo=True, input_names=[INPUT_NAME],
                                    output_names=[OUTPUT_NAME], dynamic_shapes={INPUT_NAME: dims}, opset_version=OPSET,
                                    optimize=True, verbose=False)
    import onnx

    model = program.model_proto
    _name_output_dims(model)
    set_metadata(model, {**metadata, EDGE_MARGIN_KEY: str(wrapper.margin)})  # what the graph does, whoever asks
    onnx.checker.check_model(model, full_check=True)
    save_model_atomic(model, path)


def _name_output_dims(model) -> None:
    """The exporter names the output sizes by the crop arithmetic; they are the input's sizes, so say so."""
    for dim, name in zip(model.graph.output[0].type.tensor_type.shape.dim, ("batch", "height", "width")):
        dim.dim_param = name


def _quiet_exporter() -> None:
    # The exporter logs one warning per torchvision op it cannot register; torchvision is not a dependency.
    logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)


def set_metadata(model, metadata: dict[str, str]) -> None:
    """Replace the model's metadata_props by `metadata`."""
    import onnx

    del model.metadata_props[:]
    for key, value in metadata.items():
        model.metadata_props.append(onnx.StringStringEntryProto(key=key, value=value))


def save_model_atomic(model, path: str | os.PathLike) -> None:
    """Save an onnx ModelProto as one self-contained file (< 2 GB for any of our nets, so no external data),
    atomically: temp file beside `path`, fsync, rename."""
    atomic_write(path, lambda f: f.write(model.SerializeToString()))


def parity_image(height: int = 67, width: int = 93, seed: int = 0) -> np.ndarray:
    """A smooth image with noise at a size that is not a multiple of the stride, uint8 (1, H, W, 3)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width] / max(height, width)
    base = np.stack([np.sin(6 * xx + c) * np.cos(4 * yy - c) for c in range(3)], -1) * 100 + 128
    return np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)[None]


def torch_twin(net: TransformerNet, margin: int = EDGE_MARGIN):
    """The exported graph's computation in torch float32: uint8 (N, H, W, 3) -> uint8, as a numpy function."""
    wrapper = ExportWrapper(net, margin=margin).eval()

    def run(images: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return wrapper(torch.from_numpy(np.ascontiguousarray(images))).numpy()

    return run


def check_parity(net: TransformerNet, run, image: np.ndarray | None = None, *, margin: int = EDGE_MARGIN) -> np.ndarray:
    """|run(image) - the torch float32 twin of `net`| per pixel, as int, on `image` (default: the 67x93 parity
    image). `run` is uint8 (N, H, W, 3) -> uint8: an exported file through onnxruntime (`lambda x: run_onnx(path,
    x)`), the tile graph's runtime, or another torch twin. Every export check compares this way."""
    image = parity_image() if image is None else image
    return np.abs(run(image).astype(np.int16) - torch_twin(net, margin)(image).astype(np.int16))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio of two uint8 images in dB (inf if identical)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def run_onnx(path: str | os.PathLike, image: np.ndarray) -> np.ndarray:
    """One run of an exported file on CPU (for checks at export time)."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {INPUT_NAME: image})[0]
