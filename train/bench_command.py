"""Training throughput: images/s of full training steps (forward, perceptual loss, backward, Adam) on random data.

    brushwork bench train                                  # this device: eager vs compiled, fp32 vs AMP, batches
    brushwork bench train --batch-sizes 4 --modes eager --amp auto --steps 10
    flock /tmp/brushwork-bench.lock brushwork bench train  # how the figures in docs/ were measured

The step is the trainer's own (train/loop.py Trainer.step) with the real VGG19 loss network; only the photo
loading is left out (it runs in worker processes during training). Speed goals live here, never in tests.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import torch

from ..config import add_arguments as add_config_arguments
from ..config import from_args, option
from .config import TrainConfig


@dataclass
class TrainBenchConfig:
    """The settings of `brushwork bench train`, and so its flags."""

    target: str = option("train", "what is timed", cli=False)
    size: int = option(256, "image side in pixels")
    batch_sizes: list[int] | None = option(None, "batch sizes to try (default: 4 8 on CPU, 4 8 16 32 on GPU)")
    modes: list[str] = option(help="eager and/or torch.compile", factory=lambda: ["eager", "compiled"],
                              choices=["eager", "compiled"])
    amp: list[str] | None = option(None, "precisions to try (default: off and bf16 on CPU, off and auto on GPU)",
                                   choices=["off", "auto", "bf16", "fp16"])
    budget: str = option("8h", "also say what this much training time buys at the fastest setting")
    arch: str = option("johnson", "transformation network")
    steps: int = option(5, "timed steps per setting")
    warmup: int = option(2, "untimed steps first")
    device: str = option("auto", "auto | cpu | cuda")
    threads: int = option(0, "torch CPU threads (0 = torch's default)")
    channels_last: bool = option(True, "the channels_last memory layout (--no-channels-last: contiguous NCHW)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, TrainBenchConfig)


def make_trainer(device: torch.device, *, size: int, compiled: bool, amp: str, arch: str = "johnson",
                 channels_last: bool = True, batch_size: int = 4):
    """A Trainer as `brushwork train` builds it, with a random style image (speed does not depend on it)."""
    from .loop import Trainer

    cfg = TrainConfig(style="bench.png", data="bench/", arch=arch, image_size=size, amp=amp, compile=compiled,
                      channels_last=channels_last, batch_size=batch_size).with_default_weights()
    style = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(1))
    return Trainer(cfg, device, style)


def images_per_second(trainer, batches: list[torch.Tensor], *, steps: int, warmup: int) -> float:
    """Time `steps` optimizer steps after `warmup` untimed ones; batches are cycled."""
    for i in range(warmup):
        trainer.step(batches[i % len(batches)], i + 1)
    _sync(trainer.device)
    start = time.perf_counter()
    for i in range(steps):
        trainer.step(batches[i % len(batches)], warmup + i + 1)
    _sync(trainer.device)
    return steps * batches[0].shape[0] / (time.perf_counter() - start)


def random_batches(batch_size: int, size: int, count: int = 2, seed: int = 0) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randint(0, 256, (batch_size, 3, size, size), generator=g, dtype=torch.uint8) for _ in range(count)]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _describe(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (torch {torch.__version__})"
    return f"CPU, {torch.get_num_threads()} threads (torch {torch.__version__})"


def run(args: argparse.Namespace) -> int:
    args = from_args(TrainBenchConfig, args)
    from .budget import parse_duration
    from .device import resolve_device
    from .precision import amp_dtype

    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    batch_sizes = args.batch_sizes or ([4, 8] if device.type == "cpu" else [4, 8, 16, 32])
    amps = args.amp or (["off", "bf16"] if device.type == "cpu" else ["off", "auto"])
    budget = parse_duration(args.budget)
    print(f"training step, {args.arch}, {args.size}x{args.size}, {_describe(device)}")
    print(f"{'mode':<9} {'amp':<5} {'batch':>5} {'img/s':>8} {'ms/step':>8}")
    results = {}
    for mode in args.modes:
        for amp in amps:
            dtype = amp_dtype(amp, device)
            label = {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[dtype]
            for batch in batch_sizes:
                trainer = make_trainer(device, size=args.size, compiled=mode == "compiled", amp=amp, arch=args.arch,
                                       channels_last=args.channels_last, batch_size=batch)
                rate = images_per_second(trainer, random_batches(batch, args.size), steps=args.steps,
                                         warmup=args.warmup)
                results[(mode, label, batch)] = rate
                print(f"{mode:<9} {label:<5} {batch:>5} {rate:>8.2f} {1000 * batch / rate:>8.0f}", flush=True)
    best = max(results, key=results.get)
    at4 = {k: v for k, v in results.items() if k[2] == 4}
    if at4:
        best4 = max(at4, key=at4.get)
        print(f"batch 4: {at4[best4]:.2f} img/s ({best4[0]}, {best4[1]})")
    print(f"fastest: {results[best]:.2f} img/s ({best[0]}, {best[1]}, batch {best[2]})")
    auto = {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[amp_dtype("auto", device)]
    print(f"--amp auto picks {auto} here")
    images = results[best] * budget
    print(f"--time-budget {args.budget} buys about {images:,.0f} images at {args.size} px = "
          f"{images / best[2]:,.0f} steps at batch {best[2]} (Johnson et al.: 160,000 images at 256 px)")
    return 0
