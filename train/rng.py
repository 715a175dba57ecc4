"""Every global random number generator as plain data, saved in each checkpoint, so that a resumed run draws
exactly what the uninterrupted one would have (torch.load(weights_only=True) reads it back).
"""

from __future__ import annotations

import random

import numpy as np
import torch


def rng_state() -> dict:
    """Every global RNG as plain data (torch.load(weights_only=True) reads it back)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {"torch": torch.get_rng_state(), "python": random.getstate(),
             "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached]}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    # A checkpoint from a machine with more GPUs (or none) resumes here: each GPU this machine has takes the state of
    # the GPU with its number, if there was one (the stream a GPU draws from then goes on exactly; extra ones start
    # as seeded). Only the stability loss draws on the GPU, and it reseeds its generator every step.
    saved = list(state.get("cuda") or [])
    if torch.cuda.is_available():
        for index, cuda_state in enumerate(saved[: torch.cuda.device_count()]):
            torch.cuda.set_rng_state(cuda_state, index)
