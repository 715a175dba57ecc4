"""int8 export for CPUs: onnxruntime static quantization (QDQ, uses the VNNI units), made accurate for this net.

    brushwork export runs/starry -o starry_int8.onnx --int8 --calibration photos/

One scale per tensor starves channels of small spread: every conv that feeds an instance norm has channels of very
different spread. Instance norm makes the fix free: IN(s*y + b) = IN(y) per channel, so `equalize_for_int8`
rescales those channels to equal spread and drops their bias before quantizing (barely changes the output: max 1
grey level), which lifts int8 from ~26 dB to ~33 dB PSNR against fp32.
"""

from __future__ import annotations

import copy
import itertools
import logging
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .. import BrushworkError
from ..infer.engine.contract import EDGE_MARGIN_KEY, INPUT_NAME
from .export import ExportWrapper, save_model_atomic, set_metadata
from .transformer_net import TransformerNet


def calibration_images(folder: str | os.PathLike, *, limit: int = 24, size: tuple[int, int] = (512, 288)
                       ) -> list[np.ndarray]:
    """Up to `limit` photos from `folder`, cropped and scaled to one video-like size (W, H), as (1, H, W, 3) uint8.

    One size for all: the histogram calibrators (percentile, entropy) need equal shapes.
    """
    from PIL import ImageOps

    from ..data.images import list_images, open_rgb

    paths = list_images(folder) if Path(folder).is_dir() else []
    if not paths:
        raise BrushworkError(f"--calibration {folder}: no images there; give a folder of photos like the ones "
                             "you will stylize (a few dozen is enough)")
    step = max(1, len(paths) // limit)  # spread over the folder rather than the first few alphabetically
    return [np.asarray(ImageOps.fit(open_rgb(p), size), dtype=np.uint8)[None] for p in paths[::step][:limit]]


def equalize_for_int8(net: TransformerNet, images: list[np.ndarray]) -> TransformerNet:
    """A copy of `net` computing the same function, reshaped so per-tensor int8 quantization loses little.

    Every convolution that feeds an instance norm may be rescaled per output channel and lose its bias:
    IN(s * y + b) = IN(y) for s > 0. Left alone, its channels span very different ranges, so one uint8 scale per
    tensor leaves the small ones a handful of levels (~25 dB PSNR against fp32). Scaled to unit spread on the
    calibration photos, they share the 256 levels evenly.
    """
    net = copy.deepcopy(net).float().eval()
    pairs = conv_norm_pairs(net)
    spreads = {id(conv): [] for conv, _ in pairs}
    hooks = [conv.register_forward_hook(lambda m, _, y: spreads[id(m)].append(y.std(dim=(2, 3)).mean(0)))
             for conv, _ in pairs]
    with torch.no_grad():
        for image in images:
            ExportWrapper(net)(torch.from_numpy(image.copy()))
        for hook in hooks:
            hook.remove()
        for conv, _ in pairs:
            scale = 1.0 / torch.stack(spreads[id(conv)]).mean(0).clamp_min(1e-8)
            conv.weight.mul_(scale.view(-1, 1, 1, 1))
            conv.bias.zero_()
    return net


def conv_norm_pairs(net: nn.Module) -> list[tuple[nn.Conv2d, nn.InstanceNorm2d]]:
    """(conv, the instance norm right after it) throughout the network."""
    pairs = {}
    for module in net.modules():
        children = list(module.children())
        candidates = list(itertools.pairwise(children))  # Sequential: ConvLayer then InstanceNorm2d
        candidates += [(getattr(module, c, None), getattr(module, n, None)) for c, n in (("conv1", "in1"),
                                                                                        ("conv2", "in2"))]
        for a, b in candidates:
            if isinstance(b, nn.InstanceNorm2d) and a is not None and _last_conv(a) is not None:
                pairs[id(b)] = (_last_conv(a), b)
    return list(pairs.values())


def _last_conv(module: nn.Module) -> nn.Conv2d | None:
    if isinstance(module, nn.Conv2d):
        return module
    convs = [m for m in module.modules() if isinstance(m, nn.Conv2d)]
    return convs[-1] if isinstance(module, nn.Sequential) and convs else None


def quantize_int8(fp32_path: str | os.PathLike, out_path: str | os.PathLike, images: list[np.ndarray],
                  metadata: dict[str, str]) -> None:
    """Static int8 quantization (QDQ, per-channel weights, uint8 activations) of the convolutions.

    Give it the file of `equalize_for_int8(net)`. Activation ranges are the 99.999th percentile on the
    calibration photos (min/max lets rare outliers waste levels: ~1.5 dB worse here).

    QDQ lets onnxruntime fuse DequantizeLinear -> Conv -> QuantizeLinear into integer convolutions that run on
    the CPU's VNNI units. Instance norm, padding and the I/O conversions stay float.
    """
    from onnxruntime.quantization import CalibrationDataReader, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.batches = iter(images)

        def get_next(self):
            batch = next(self.batches, None)
            return None if batch is None else {INPUT_NAME: batch}

    out_path = Path(out_path)
    root = logging.getLogger()
    level, root.level = root.level, logging.ERROR  # quantize_static logs advice on the root logger; not for users
    try:
        _quantize(quantize_static, Reader(), fp32_path, out_path, metadata)
    finally:
        root.setLevel(level)


def _quantize(quantize_static, reader, fp32_path, out_path: Path, metadata: dict[str, str]) -> None:
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType

    with tempfile.TemporaryDirectory(dir=out_path.parent, prefix=".int8.") as work:
        quantized = Path(work) / "model.onnx"
        quantize_static(str(fp32_path), str(quantized), reader, quant_format=QuantFormat.QDQ,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=True,
                        op_types_to_quantize=["Conv"], calibrate_method=CalibrationMethod.Percentile,
                        extra_options={"ActivationSymmetric": False, "WeightSymmetric": True})
        model = onnx.load(str(quantized))
    # The graph is the fp32 file's, edge margin included: its record of the margin comes along.
    margin = {p.key: p.value for p in onnx.load(str(fp32_path)).metadata_props}.get(EDGE_MARGIN_KEY)
    set_metadata(model, {**metadata, "precision": "int8", **({EDGE_MARGIN_KEY: margin} if margin else {})})
    save_model_atomic(model, out_path)
