"""Inference speed: model-only fps and end-to-end video fps with per-stage times (no torch).

    brushwork bench starry.onnx                                   # 640x360 .. 3840x2160, model + video
    brushwork bench starry.onnx --also starry16.onnx starry8.onnx --size 1280x720 --device cpu
    brushwork bench starry_night --size 640x360                  # a shipped style: its full model and its student
    flock /tmp/brushwork-bench.lock brushwork bench starry.onnx   # on a shared machine

Model-only: one session.run on uint8 frames already in memory, batch 1 and the best of --batch-sizes.
End to end: a generated clip (moving pattern + AAC tone, encoded first, not timed) through the same threaded
decode -> stylize -> encode pipeline as `brushwork stylize`, with milliseconds per frame for each stage.
Prints markdown tables plus the machine and its load average, so figures can be pasted with their context.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import BrushworkError
from ..config import add_arguments as add_config_arguments
from ..config import from_args, int_list, option

DEFAULT_SIZES = ("640x360", "1280x720", "1920x1080", "3840x2160")


@dataclass
class ModelBenchConfig:
    """The settings of `brushwork bench MODEL`, and so its flags."""

    target: str = option("", "an .onnx file or a shipped style's name", cli=False)
    also: list[Path] = option(help="more .onnx files (e.g. fp16, int8)", factory=list)
    size: list[str] = option(help="WxH, one or more (default: 640x360 1280x720 1920x1080 3840x2160)",
                             factory=lambda: list(DEFAULT_SIZES), action="extend", metavar="WxH")
    device: str = option("auto", "auto, cpu, cuda or cuda:N")
    threads: int | None = option(None, "CPU threads (default: one per core)")
    batch_sizes: list[int] = option(help="batch sizes to try, e.g. 1,2,4", factory=lambda: [1, 2, 4],
                                    parse=int_list)
    seconds: float = option(4.0, "time per measurement")
    no_video: bool = option(False, "model-only numbers", switch=True)
    peer: Path | None = option(None, "also time the peer, pytorch/examples' fast_neural_style network in torch "
                               "eager, from this folder of its checkout (neural_style/)", metavar="DIR")
    preset: str = option("veryfast", "x264 preset end to end")

    def __post_init__(self) -> None:
        self.sizes = [parse_wxh(s) for s in self.size]
        self.batch_sizes = sorted(set(self.batch_sizes))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, ModelBenchConfig)


def run(args: argparse.Namespace) -> int:
    args = from_args(ModelBenchConfig, args)
    from ..styles import model_files
    from .engine.session import Stylizer

    stylizers = [Stylizer(p, device=args.device, threads=args.threads)
                 for p in [*model_files(args.target, "brushwork bench"), *args.also]]
    print(machine_line())
    print("\n| model | precision | provider | size | batch 1 fps | best batch: fps |\n|---|---|---|---|---|---|")
    model_rates = {}
    for stylizer in stylizers:
        for size in args.sizes:
            b1, best_batch, best = model_fps(stylizer, size, args.batch_sizes, args.seconds)
            model_rates[(stylizer.path, size)] = b1
            print(f"| {stylizer.path.name} | {stylizer.metadata.get('precision', '?')} | {stylizer.provider} | "
                  f"{size[0]}x{size[1]} | {b1:.2f} | {best_batch}: {best:.2f} |", flush=True)
    if args.peer is not None:
        peer_table(stylizers, args, model_rates)
    if not args.no_video:
        video_table(stylizers, args, model_rates)
    print(f"\nload average after: {load()}")
    return 0


def parse_wxh(text: str) -> tuple[int, int]:
    w, sep, h = text.lower().partition("x")
    if not (sep and w.isdigit() and h.isdigit()) or min(int(w), int(h)) < 8:
        raise BrushworkError(f"--size {text}: expected WIDTHxHEIGHT, e.g. 1920x1080")
    return int(w), int(h)


def machine_line() -> str:
    import onnxruntime as ort

    cpu = next((line.split(":", 1)[1].strip() for line in _cpuinfo() if line.startswith("model name")), "?")
    return (f"machine: {cpu}, {os.cpu_count()} logical CPUs, {platform.system()}; onnxruntime {ort.__version__}; "
            f"load average before: {load()}")


def _cpuinfo() -> list[str]:
    try:
        return Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return []


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"


def timed_rate(run, items_per_call: int, seconds: float) -> float:
    """Items per second of `run()`, after one warm-up call, over at least `seconds` and 2 calls."""
    run()
    calls, start = 0, time.perf_counter()
    while calls < 2 or time.perf_counter() - start < seconds:
        run()
        calls += 1
    return calls * items_per_call / (time.perf_counter() - start)


def model_fps(stylizer, size: tuple[int, int], batch_sizes: list[int], seconds: float) -> tuple[float, int, float]:
    """(fps at batch 1, best batch size, its fps). Big frames only try batch 1 (memory, and no gain on CPU)."""
    w, h = size
    rng = np.random.default_rng(0)
    rates = {}
    for batch in batch_sizes if w * h <= 1280 * 720 else [1]:
        frames = rng.integers(0, 256, (batch, h, w, 3), dtype=np.uint8)
        rates[batch] = timed_rate(lambda f=frames: stylizer.batch(f), batch, seconds)
    best = max(rates, key=rates.get)
    return rates.get(1, rates[best]), best, rates[best]


def peer_table(stylizers, args: argparse.Namespace, model_rates: dict) -> None:
    """The peer's batch-1 fps per size (timed in a torch process of its own) and each model's speed-up over it."""
    import json
    import subprocess
    import sys

    command = [sys.executable, "-m", "brushwork.train.peer_fps", str(args.peer), "--seconds", str(args.seconds),
               *(f"--size={w}x{h}" for w, h in args.sizes), *(["--threads", str(args.threads)] if args.threads else [])]
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        raise BrushworkError((done.stderr.strip().splitlines() or ["the peer's timing failed"])[-1].removeprefix(
            "error: "))
    peer = json.loads(done.stdout.strip().splitlines()[-1])
    print("\n| size | model | batch 1 fps | vs peer (torch eager) |\n|---|---|---|---|")
    for w, h in args.sizes:
        print(f"| {w}x{h} | peer (torch eager) | {peer[f'{w}x{h}']:.2f} | 1.00x |")
        for stylizer in stylizers:
            fps = model_rates[(stylizer.path, (w, h))]
            print(f"| {w}x{h} | {stylizer.path.name} | {fps:.2f} | {fps / peer[f'{w}x{h}']:.2f}x |", flush=True)


def video_table(stylizers, args: argparse.Namespace, model_rates: dict) -> None:
    from .media.video import stylize_video

    print("\n| model | size | frames | end-to-end fps | ms/frame decode | stylize | post | encode |\n"
          "|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="brushwork-bench.") as work:
        for size in args.sizes:
            # Enough frames for a few seconds of work at the model's speed, at least 8.
            frames = int(np.clip(3 * args.seconds * max(model_rates[(s.path, size)] for s in stylizers), 8, 120))
            clip = make_clip(Path(work) / f"{size[0]}x{size[1]}.mp4", size, frames)
            for stylizer in stylizers:
                stages = stylize_video(clip, Path(work) / "out.mp4", stylizer.batch, batch_size=max(args.batch_sizes),
                                       preset=args.preset, progress=False)
                ms = {k: 1000 * v / max(stages.frames, 1) for k, v in stages.seconds.items()}
                print(f"| {stylizer.path.name} | {size[0]}x{size[1]} | {stages.frames} | "
                      f"{stages.frames / stages.wall:.2f} | {ms['decode']:.1f} | {ms['stylize']:.1f} | "
                      f"{ms['post']:.1f} | {ms['encode']:.1f} |", flush=True)


def make_clip(path: Path, size: tuple[int, int], frames: int, fps: int = 30) -> Path:
    """A synthetic clip: a moving colour pattern plus a 440 Hz AAC tone (so audio copy is part of the work)."""
    import av

    from .media.video_io import add_encoder

    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    with av.open(str(path), "w") as out:
        video = add_encoder(out, "libx264", rate=fps, options={"preset": "ultrafast", "crf": "23"})
        video.width, video.height, video.pix_fmt = w, h, "yuv420p"
        audio = out.add_stream("aac", rate=48000, layout="stereo")
        for i in range(frames):
            phase = i / fps
            rgb = np.stack([np.sin(xx / 37 + 3 * phase), np.cos(yy / 23 - 2 * phase), np.sin((xx + yy) / 51 + phase)],
                           -1)
            frame = av.VideoFrame.from_ndarray(((rgb + 1) * 127.5).astype(np.uint8), format="rgb24")
            for packet in video.encode(frame):
                out.mux(packet)
        encode_tone(out, audio, frames / fps)
        for packet in video.encode(None):
            out.mux(packet)
    return path


def encode_tone(out, stream, seconds: float) -> None:
    """A 440 Hz sine as long as `seconds` into an open audio `stream` of `out`, at the stream's rate and layout."""
    import av

    rate, layout = stream.codec_context.sample_rate, stream.codec_context.layout.name
    channels = len(stream.codec_context.layout.channels)
    t = np.arange(int(rate * seconds)) / rate
    samples = np.repeat((0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None], channels, axis=0)
    for start in range(0, samples.shape[1], 1024):
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[:, start:start + 1024]), format="fltp",
                                           layout=layout)
        frame.sample_rate, frame.pts = rate, start
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode(None):
        out.mux(packet)
