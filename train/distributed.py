"""Process group set-up for `torchrun --nproc-per-node N -m brushwork train ...` (DistributedDataParallel).

One process per device: NCCL on GPUs, gloo on CPU. Without torchrun's environment (WORLD_SIZE unset or 1)
everything here is a no-op, so the same loop serves single-process runs. Only rank 0 writes files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch
import torch.distributed as dist

from .device import resolve_device


@dataclass
class Context:
    """Where this process runs: its rank among world_size processes and its device."""

    rank: int = 0
    world_size: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def setup(device_name: str) -> Context:
    """Join torchrun's process group if there is one, and pick this process's device."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(device_name, local_rank)
    if world_size <= 1:
        return Context(device=device)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return Context(rank=dist.get_rank(), world_size=dist.get_world_size(), device=device)


def any_rank(flag: bool, ctx: Context) -> bool:
    """True if `flag` is true on any rank (e.g. a signal arrived): every rank then takes the same branch."""
    return max_over_ranks(int(flag), ctx) > 0


def max_over_ranks(value: int, ctx: Context) -> int:
    """The largest of the ranks' `value`s (e.g. the number of a signal that arrived, 0 for none)."""
    if not ctx.distributed:
        return value
    t = torch.tensor([float(value)], device=ctx.device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return int(t.item())


def from_main(value: int, ctx: Context) -> int:
    """Rank 0's `value` on every rank: a decision made once (e.g. --amp auto's timing, which differs between
    processes under load) that every rank must share."""
    if not ctx.distributed:
        return value
    t = torch.tensor([value], dtype=torch.int64, device=ctx.device)
    dist.broadcast(t, src=0)
    return int(t.item())


def every_rank(value: float, ctx: Context) -> list[float]:
    """`value` from every rank, in rank order ([value] without DDP): e.g. each rank's loss, so that all ranks see
    a NaN on any one of them and raise together instead of leaving the others in the next all-reduce."""
    if not ctx.distributed:
        return [value]
    t = torch.zeros(ctx.world_size, dtype=torch.float64, device=ctx.device)
    t[ctx.rank] = value
    dist.all_reduce(t)  # a sum in which each rank fills only its own slot (NaN + 0 stays NaN)
    return t.tolist()


def barrier(ctx: Context) -> None:
    if ctx.distributed:
        dist.barrier()


def cleanup(ctx: Context) -> None:
    if ctx.distributed and dist.is_initialized():
        dist.destroy_process_group()
