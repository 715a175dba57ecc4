"""Which precision a training run computes in: `--amp auto|bf16|fp16|off`, decided once per run and recorded.

CPU flags do not say which is faster: on an AMD EPYC (Zen 4, AVX512-BF16) a bf16 step was 1.7x faster than
float32, on an Intel Xeon with AVX512-BF16 but without AMX it was 1.4x slower (128 px, batch 4, `brushwork bench
train`). So on a CPU that has bf16 at all, `auto` times a few convolutions of the training net's shape both ways
(~0.3 s) and keeps the faster. That timing depends on the machine's load, so a run decides once (rank 0, sent to
the other ranks), records the answer in config.yaml and every checkpoint, and a resumed run keeps it.

On CUDA, `auto` is bf16 where the GPU computes it natively (compute capability 8.0 and newer: A100, H100, RTX 30xx
on), else fp16 with the gradient scaler: torch also calls bf16 "supported" on a T4 or V100, where it is emulated
in float32 and slower than fp16's tensor cores.
"""

from __future__ import annotations

import time

import torch

DTYPES = {"off": None, "bf16": torch.bfloat16, "fp16": torch.float16}
NAMES = {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}  # how logs and tables print a dtype

# The fp16 gradient scaler's first scale. torch's default (65536) assumes losses near 1; ours are 1e5-1e7 (Caffe-scale
# VGG features, squared), and the fp16 gradients of the VGG overflowed for ~20 steps, each skipped, while the scale
# halved its way down. Probed at 64 px on random photos (larger losses than real ones): 1.0 still overflowed, 2^-10
# and 2^-20 stepped from the first step. The scaler grows it again every 2000 steps where the gradients leave room.
FP16_INIT_SCALE = 2.0**-10


def choose(mode: str, device: torch.device) -> tuple[str, str]:
    """The precision for --amp `mode` on `device`: ('off' | 'bf16' | 'fp16', why in a few words)."""
    if mode in DTYPES:
        return mode, "as asked"
    if device.type == "cuda":
        if torch.cuda.is_bf16_supported(including_emulation=False):
            return "bf16", "this GPU computes bf16 natively"
        return "fp16", "this GPU has no native bf16"
    if not cpu_has_bf16():
        return "off", "this CPU has no bf16 instructions"
    bf16, fp32 = _conv_seconds(torch.bfloat16), _conv_seconds(torch.float32)
    if bf16 < 0.9 * fp32:
        return "bf16", f"bf16 measured {fp32 / bf16:.1f}x faster than fp32 on this CPU"
    return "off", f"bf16 measured {bf16 / fp32:.1f}x the time of fp32 on this CPU"


def amp_dtype(mode: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for --amp `mode` (None = float32)."""
    return DTYPES[choose(mode, device)[0]]


def cpu_has_bf16() -> bool:
    cpu = getattr(torch, "cpu", None)
    return any(getattr(cpu, probe, lambda: False)() for probe in ("_is_avx512_bf16_supported",
                                                                   "_is_amx_tile_supported"))


def _conv_seconds(dtype: torch.dtype, repeats: int = 5) -> float:
    """A 3x3 convolution forward + backward (64 channels at 64x64, as in the net and VGG), best of `repeats`."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(4, 64, 64, 64, generator=gen).to(memory_format=torch.channels_last).requires_grad_(True)
    conv = torch.nn.Conv2d(64, 64, 3, padding=1).to(memory_format=torch.channels_last)
    best = float("inf")
    for _ in range(repeats + 1):  # the first run pays oneDNN's kernel selection; keep the best of the rest
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=dtype, enabled=dtype != torch.float32):
            conv(x).float().square().mean().backward()
        best = min(best, time.perf_counter() - start)
    return best
