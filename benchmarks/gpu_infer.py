"""Model-only stylization speed on a CUDA GPU with torch: fp16 or bf16, channels_last, optionally a CUDA graph.

    python benchmarks/gpu_infer.py                                    # random johnson weights (speed only)
    python benchmarks/gpu_infer.py --model runs/starry_night --sizes 1920x1080 --dtypes fp16 --graph
    python benchmarks/gpu_infer.py --sizes 1920x1080 --dtypes fp16 --layouts channels_last contiguous --profile

The timed region is what a deployed model does per frame once the frame is on the GPU: uint8 HWC -> float
[0, 1] NCHW, the network, clamp and back to uint8 HWC. Decode, upload and encode are not in it (the video
pipeline overlaps them with the model on other threads). Timing uses CUDA events around `--iters` frames
after `--warmup`, median of `--repeats` runs; an end-of-run check compares the output with float32.
"""

from __future__ import annotations

import argparse
import statistics
import sys

import torch


def load_net(model: str | None, arch: str) -> torch.nn.Module:
    from brushwork.models.transformer_net import build_transformer

    if not model:
        return build_transformer(arch).eval()
    from brushwork.models.checkpoint import load_checkpoint, model_from_checkpoint
    from brushwork.models.run_layout import resolve_checkpoint

    return model_from_checkpoint(load_checkpoint(resolve_checkpoint(model)))  # its arch, options and weights


def frame_fn(net: torch.nn.Module, dtype: torch.dtype, layout: torch.memory_format = torch.channels_last):
    def run(frame: torch.Tensor) -> torch.Tensor:  # (B, H, W, 3) uint8 on the GPU
        x = frame.permute(0, 3, 1, 2).to(dtype).div_(255).contiguous(memory_format=layout)
        y = net(x)
        return y.clamp_(0, 1).mul_(255).round_().to(torch.uint8).permute(0, 2, 3, 1).contiguous()
    return run


def time_ms(fn, frame: torch.Tensor, *, iters: int, warmup: int, repeats: int) -> float:
    for _ in range(warmup):
        fn(frame)
    times = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(iters):
            fn(frame)
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end) / iters)
    return statistics.median(times)


def graphed(fn, frame: torch.Tensor):
    """Capture fn on a static input buffer; replays skip the per-kernel launch cost."""
    static_in = frame.clone()
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(3):
            fn(static_in)
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        static_out = fn(static_in)

    def replay(x: torch.Tensor) -> torch.Tensor:
        static_in.copy_(x)
        graph.replay()
        return static_out
    return replay


def profile(fn, frame: torch.Tensor) -> None:
    """The costliest CUDA kernels of a few frames: where the time of a memory-bound network goes."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    with torch_profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(3):
            fn(frame)
        torch.cuda.synchronize()
    print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=15), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="checkpoint or run directory (default: random weights)")
    parser.add_argument("--arch", default="johnson")
    parser.add_argument("--sizes", nargs="+", default=["1280x720", "1920x1080", "3840x2160"])
    parser.add_argument("--dtypes", nargs="+", default=["fp16", "bf16", "fp32"], choices=["fp16", "bf16", "fp32"])
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--graph", action="store_true", help="also time a CUDA-graph replay of the same work")
    parser.add_argument("--layouts", nargs="+", default=["channels_last"], choices=["channels_last", "contiguous"])
    parser.add_argument("--profile", action="store_true", help="print the 15 costliest CUDA kernels of each setting")
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print("gpu_infer: no CUDA device", file=sys.stderr)
        return 2
    torch.backends.cudnn.benchmark = True
    base = load_net(args.model, args.arch).cuda()
    print(f"model-only, {torch.cuda.get_device_name()}, torch {torch.__version__}, batch {args.batch}, "
          f"uint8 in/out on the GPU, median of {args.repeats} x {args.iters} frames")
    print("| size | dtype | layout | eager fps | graph fps | max abs err vs fp32 (0-255) |\n|---|---|---|---|---|---|")
    gen = torch.Generator(device="cuda").manual_seed(0)
    for size in args.sizes:
        w, h = (int(v) for v in size.split("x"))
        frame = torch.randint(0, 256, (args.batch, h, w, 3), generator=gen, device="cuda", dtype=torch.uint8)
        with torch.inference_mode():
            reference = frame_fn(base.float().to(memory_format=torch.channels_last), torch.float32)(frame)
        for name in args.dtypes:
            for layout_name in args.layouts:
                dtype = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}[name]
                layout = torch.channels_last if layout_name == "channels_last" else torch.contiguous_format
                net = load_net(args.model, args.arch).cuda().to(dtype).to(memory_format=layout)
                fn = frame_fn(net, dtype, layout)
                with torch.inference_mode():
                    ms = time_ms(fn, frame, iters=args.iters, warmup=args.warmup, repeats=args.repeats)
                    err = (fn(frame).int() - reference.int()).abs().max().item()
                    if args.profile:
                        profile(fn, frame)
                graph_fps = "-"
                if args.graph:
                    with torch.inference_mode():
                        replay = graphed(fn, frame)
                        graph_ms = time_ms(replay, frame, iters=args.iters, warmup=2, repeats=args.repeats)
                    graph_fps = f"{1000 * args.batch / graph_ms:.1f}"
                print(f"| {size} | {name} | {layout_name} | {1000 * args.batch / ms:.1f} | {graph_fps} | {err} |",
                      flush=True)
                del net
        torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
