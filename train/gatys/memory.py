"""How much memory a Gatys optimization needs, estimated before any work, so an absurd --size fails in a second
with a number and a suggestion instead of after minutes of swapping (or an OOM kill).

The cost is dominated by what autograd keeps of the VGG pass for the backward pass: every ReLU output up to
the deepest layer asked for, each pool's output and its int64 argmax indices, plus the gradient buffers in
flight; then the L-BFGS history (two image-sized vectors per correction pair). `ACTIVATION_FACTOR` and
`BASE_BYTES` are calibrated against the peak RSS that benchmarks/gatys.py measured on a CPU: 1.02-1.11 GiB at
384x512 and 0.57 GiB at 256 px, where the estimate was 0.24 GiB high until BASE_BYTES came down to 360 MiB
(docs/benchmarks.md, "Gatys baseline speed and memory").
"""

from __future__ import annotations

import math
import os

import torch

from ... import BrushworkError
from ...models.vgg import CONFIGS, layer_names
from .config import GatysConfig

FLOAT = 4
ACTIVATION_FACTOR = 2.0   # saved activations + gradients in flight, relative to the saved activations alone
BASE_BYTES = 360 << 20    # torch, oneDNN and the process itself (measured RSS 0.22 GiB before the run) + slack
VGG19_CONV_PARAMS = 20_024_384


def _vgg_arch(cfg: GatysConfig) -> str:
    return "vgg16" if cfg.vgg_weights == "torchvision-vgg16" else "vgg19"


def _depth(cfg: GatysConfig, arch: str) -> int:
    """Index (in conv order) of the deepest ReLU the loss reads."""
    names = layer_names(arch)
    return max(names.index(n) for n in (*cfg.content_layers, *cfg.style_layers))


def check_shape(cfg: GatysConfig, path: str, shape: tuple[int, int]) -> None:
    """Every pool halves the map: the deepest layer must still be at least one pixel on the short side."""
    arch = _vgg_arch(cfg)
    depth = _depth(cfg, arch)
    pools = sum(1 for v in CONFIGS[arch][: _config_index(arch, depth)] if v == "M")
    if min(shape) < 2 ** pools:
        flag = "--size" if path == cfg.content else "--style-size/--style-scale"
        raise BrushworkError(f"{path} becomes {shape[1]}x{shape[0]} px, too small for VGG layer "
                             f"{layer_names(arch)[depth]} ({2 ** pools} px needed on the short side); "
                             f"use a larger {flag}")


def _config_index(arch: str, depth: int) -> int:
    """Position in CONFIGS[arch] of conv number `depth`."""
    convs = [i for i, v in enumerate(CONFIGS[arch]) if v != "M"]
    return convs[depth]


def activation_bytes(height: int, width: int, arch: str, depth: int) -> int:
    """Bytes autograd keeps for one image through VGG up to conv number `depth`."""
    total, conv, h, w, last_channels = 0, -1, height, width, 3
    for v in CONFIGS[arch]:
        if conv >= depth:
            break
        if v == "M":
            h, w = h // 2, w // 2
            total += last_channels * h * w * (FLOAT + 8)  # pooled output + int64 argmax indices
        else:
            conv, last_channels = conv + 1, v
            total += v * h * w * FLOAT
    return total


def estimate_bytes(cfg: GatysConfig, shape: tuple[int, int]) -> int:
    """Peak bytes for optimizing an image of `shape` (H, W) under `cfg`."""
    h, w = shape
    arch = _vgg_arch(cfg)
    acts = activation_bytes(h, w, arch, _depth(cfg, arch))
    image = 3 * h * w * FLOAT
    history = 2 * cfg.lbfgs_history * image if cfg.optimizer == "lbfgs" else 3 * image
    return int(ACTIVATION_FACTOR * acts + history + 8 * image + VGG19_CONV_PARAMS * FLOAT + BASE_BYTES)


def available_bytes(device: torch.device) -> int:
    """Free memory: the GPU's free memory, or MemAvailable from /proc/meminfo (Linux), else a generous guess."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") if hasattr(os, "sysconf") else 1 << 40


def check_memory(cfg: GatysConfig, shapes: list[tuple[int, int]], device: torch.device) -> int:
    """Refuse, with the estimate and a size that fits, when the content or a style image would not fit in memory.

    `shapes` are (H, W) of the content image first, then of each style image; returns the estimate in bytes.
    """
    need = _need(cfg, shapes, 1.0)
    have = available_bytes(device)
    if need <= 0.9 * have:
        return need
    scale = 1.0
    while scale * cfg.size >= 16 and _need(cfg, shapes, scale) > 0.9 * have:
        scale *= 0.9
    fits = int(scale * cfg.size) // 16 * 16
    where = "GPU memory" if device.type == "cuda" else "RAM"
    hint = f"use --size {fits} or smaller" if fits >= 16 else "free some memory"
    if fits >= 16 and cfg.style_size:
        hint += f" (and --style-size {fits})"
    raise BrushworkError(f"--size {cfg.size} needs about {_gib(need)} for the VGG activations but only "
                         f"{_gib(have)} of {where} is free; {hint}")


def _need(cfg: GatysConfig, shapes: list[tuple[int, int]], scale: float) -> int:
    """The estimate with every image scaled by `scale` (the fixed --style-size too: the hint names both)."""
    return max(estimate_bytes(cfg, (math.ceil(h * scale), math.ceil(w * scale))) for h, w in shapes)


def _gib(n: float) -> str:
    return f"{n / (1 << 30):.1f} GiB"
