"""brushwork's training step side by side with the peer, pytorch/examples fast_neural_style, in one process.

    # once: a checkout of pytorch/examples OUTSIDE this repository (its code is run, never copied here)
    git clone --depth 1 https://github.com/pytorch/examples /tmp/peer
    flock /tmp/brushwork-bench.lock python benchmarks/train_peer.py --peer /tmp/peer/fast_neural_style

The peer's own `train(args)` runs unchanged (its TransformerNet, Vgg16, utils and training loop), fed the same
random 256x256 batches as ours through a small stand-in for torchvision (unusable here): VGG16's layer list with
random weights (speed does not depend on the values), an in-memory ImageFolder, identity transforms. Its Adam is
swapped for a subclass that only records when each step ends, so the timing covers exactly its loop.
brushwork is timed with its own Trainer.step (train/bench_command.py) at the peer's settings (batch 4, 256x256) with
the defaults `brushwork train` uses (bf16 autocast where the CPU has it, channels_last). Same thread count.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

CLOCK = [time.perf_counter]  # --cpu-time swaps in time.process_time
VGG16 = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]


def vgg16_features() -> nn.Sequential:
    """torchvision's vgg16().features layer list (same indices: the peer slices it at 4, 9, 16, 23)."""
    layers, in_ch = [], 3
    for v in VGG16:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(in_ch, v, 3, padding=1), nn.ReLU(inplace=True)]
            in_ch = v
    return nn.Sequential(*layers)


def install_torchvision_stub(batches: list[torch.Tensor]) -> None:
    """Just enough of torchvision for the peer's train(): models.vgg16, datasets.ImageFolder, transforms."""
    tv = types.ModuleType("torchvision")
    models = types.ModuleType("torchvision.models")
    models.VGG16_Weights = types.SimpleNamespace(IMAGENET1K_V1=None)
    models.vgg16 = lambda weights=None: types.SimpleNamespace(features=vgg16_features())
    datasets = types.ModuleType("torchvision.datasets")
    samples = [(img.float(), 0) for batch in batches for img in batch]  # 0..255 floats, as the peer's transform

    class ImageFolder(torch.utils.data.Dataset):
        def __init__(self, root, transform=None):
            pass

        def __len__(self):
            return len(samples)

        def __getitem__(self, i):
            return samples[i]

    datasets.ImageFolder = ImageFolder
    transforms = types.ModuleType("torchvision.transforms")
    transforms.Compose = lambda fns: (lambda x: _apply(fns, x))
    transforms.Resize = transforms.CenterCrop = lambda size: (lambda x: x)
    transforms.ToTensor = lambda: (lambda im: torch.from_numpy(np.asarray(im, np.float32) / 255).permute(2, 0, 1))
    transforms.Lambda = lambda fn: fn
    tv.models, tv.datasets, tv.transforms = models, datasets, transforms
    sys.modules.update({"torchvision": tv, "torchvision.models": models, "torchvision.datasets": datasets,
                        "torchvision.transforms": transforms})


def _apply(fns, x):
    for fn in fns:
        x = fn(x)
    return x


def time_peer(peer: Path, batches: list[torch.Tensor], *, warmup: int, size: int, device: torch.device) -> float:
    """images/s of the peer's train() loop over `batches`, skipping the first `warmup` steps."""
    install_torchvision_stub(batches)
    sys.path.insert(0, str(peer / "neural_style"))
    neural_style = importlib.import_module("neural_style")
    stamps: list[float] = []

    class TimedAdam(torch.optim.Adam):
        def step(self, closure=None):
            out = super().step(closure)
            _sync(device)  # CUDA steps are asynchronous (the peer's per-step .item() syncs before this anyway)
            stamps.append(CLOCK[0]())
            return out

    neural_style.Adam = TimedAdam
    with tempfile.TemporaryDirectory() as tmp:
        style = Path(tmp) / "style.png"
        Image.fromarray(np.random.default_rng(1).integers(0, 256, (size, size, 3), dtype=np.uint8)).save(style)
        args = argparse.Namespace(accel=device.type == "cuda", seed=42, image_size=size, dataset=tmp,
                                  batch_size=batches[0].shape[0], lr=1e-3, style_image=str(style), style_size=None,
                                  epochs=1, content_weight=1e5,
                                  style_weight=1e10, log_interval=10**9, checkpoint_model_dir=None,
                                  checkpoint_interval=10**9, save_model_dir=tmp)
        neural_style.train(args)
    timed = len(stamps) - warmup
    return timed * batches[0].shape[0] / (stamps[-1] - stamps[warmup - 1])


def time_brushwork(batches: list[torch.Tensor], *, warmup: int, size: int, amp: str, compiled: bool,
                   device: torch.device) -> float:
    from brushwork.train.bench_command import make_trainer

    trainer = make_trainer(device, size=size, compiled=compiled, amp=amp, batch_size=batches[0].shape[0])
    for i in range(warmup):
        trainer.step(batches[i], i + 1)
    _sync(device)
    start = CLOCK[0]()
    for i in range(warmup, len(batches)):
        trainer.step(batches[i], i + 1)
    _sync(device)
    return (len(batches) - warmup) * batches[0].shape[0] / (CLOCK[0]() - start)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _row(name: str, rate: float, peer: float) -> None:
    print(f"{name:<32} {rate:6.2f} img/s  {rate / peer:4.2f}x peer", flush=True)  # img/CPU-s with --cpu-time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peer", type=Path, default=Path("/tmp/peer/fast_neural_style"),
                        help="pytorch/examples fast_neural_style checkout (default: %(default)s)")
    parser.add_argument("--steps", type=int, default=6, help="timed steps each (default: %(default)s)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first (default: %(default)s)")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2, help="torch threads for both (default: %(default)s)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                        help="where both train (cuda: the peer's --accel) (default: %(default)s)")
    parser.add_argument("--compile", action="store_true", help="also time brushwork with torch.compile")
    parser.add_argument("--cpu-time", action="store_true",
                        help="images per CPU-second of this process instead of per wall-second: steadier on a "
                             "machine shared with other jobs (use with --threads 1)")
    args = parser.parse_args(argv)
    if args.cpu_time:
        CLOCK[0] = time.process_time
    if not (args.peer / "neural_style" / "neural_style.py").is_file():
        parser.error(f"--peer {args.peer}: no neural_style/neural_style.py there (see the docstring)")
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    batches = [torch.randint(0, 256, (args.batch_size, 3, args.size, args.size), generator=g, dtype=torch.uint8)
               for _ in range(args.warmup + args.steps)]
    print(f"training step, {args.size}x{args.size}, batch {args.batch_size}, {args.device}, "
          f"{torch.cuda.get_device_name() if args.device == 'cuda' else ''} {torch.get_num_threads()} threads, "
          f"torch {torch.__version__}, {args.steps} timed steps after {args.warmup}, "
          f"{'CPU' if args.cpu_time else 'wall'} time")
    device = torch.device(args.device)
    peer = time_peer(args.peer, batches, warmup=args.warmup, size=args.size, device=device)
    _row("peer pytorch/examples (fp32)", peer, peer)
    settings = [("brushwork fp32", "off", False), ("brushwork default (amp auto)", "auto", False)]
    if args.compile:
        settings.append(("brushwork amp auto + compile", "auto", True))
    for name, amp, compiled in settings:
        _row(name, time_brushwork(batches, warmup=args.warmup, size=args.size, amp=amp, compiled=compiled,
                                   device=device), peer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
