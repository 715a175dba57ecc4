"""The one --device rule of the torch verbs (train, bench train, gatys, evaluate).

    device = resolve_device("auto")                 # the GPU if this torch sees one, else the CPU
    device = resolve_device("cuda", local_rank=1)   # under torchrun: this process's own GPU
    device = resolve_device("cuda:1")               # a GPU asked for by number, which must be there
"""

from __future__ import annotations

import torch

from .. import BrushworkError


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """'auto' -> this process's GPU if there is one, else the CPU; a GPU asked for but absent is the user's error.

    A bare 'cuda' (or 'auto' on a GPU machine) means GPU number `local_rank`, so each torchrun process gets its own.
    """
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except RuntimeError:
        raise BrushworkError(f"--device {name!r} is not a device; use auto, cpu, cuda or cuda:N") from None
    if device.type != "cuda":
        return device
    if not torch.cuda.is_available():
        raise BrushworkError(f"--device {name}: no CUDA GPU is available to this torch (torch {torch.__version__}); "
                             "use --device cpu or auto")
    index = local_rank if device.index is None else device.index
    if index >= torch.cuda.device_count():
        raise BrushworkError(f"--device {name}: only {torch.cuda.device_count()} GPU(s) here")
    return torch.device("cuda", index)
