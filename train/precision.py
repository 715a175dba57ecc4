"""Which precision a training step runs in: `--amp auto` picks bf16 only where it is really faster.

CPU flags do not say that: on an AMD EPYC (Zen 4, AVX512-BF16) a bf16 step was 1.7x faster than float32, on an
Intel Xeon with AVX512-BF16 but without AMX it was 1.4x slower (128 px, batch 4, `brushwork bench train`). So on
a CPU that has bf16 at all, `auto` times a few convolutions of the training net's shape both ways (~0.3 s,
once per process) and keeps the faster.
"""

from __future__ import annotations

import functools
import time

import torch


def amp_dtype(mode: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for --amp (None = float32): 'auto' is bf16 or fp16 on CUDA (bf16 where supported),
    and on the CPU bf16 where it measures faster than float32."""
    if mode == "off":
        return None
    if mode in ("bf16", "fp16"):
        return torch.bfloat16 if mode == "bf16" else torch.float16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if cpu_bf16_is_faster() else None


def cpu_has_bf16() -> bool:
    cpu = getattr(torch, "cpu", None)
    return any(getattr(cpu, probe, lambda: False)() for probe in ("_is_avx512_bf16_supported",
                                                                   "_is_amx_tile_supported"))


@functools.cache
def cpu_bf16_is_faster() -> bool:
    """Time a 3x3 convolution forward + backward (64 channels at 64x64, as in the net and VGG) in both dtypes."""
    if not cpu_has_bf16():
        return False
    return _conv_seconds(torch.bfloat16) < 0.9 * _conv_seconds(torch.float32)


def _conv_seconds(dtype: torch.dtype, repeats: int = 5) -> float:
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
