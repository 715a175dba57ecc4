"""Warm starts: `brushwork train --init SOURCE` begins from another model's weights instead of random ones.

SOURCE is a checkpoint (.pt), a run directory, an exported .onnx file (fp32 or fp16) or the name of a style
that ships with brushwork. Every weight is fine-tuned, with a fresh optimizer and step counter: a new style
starts from the strokes-and-shapes machinery another style already learned, which is most of the work (the
networks of different styles differ mostly in colour and texture).
"""

from __future__ import annotations

import torch

from .. import BrushworkError
from ..models.weights import read_model

WEIGHTLESS_OPTIONS = {"output"}  # architecture options without weights of their own: any value seeds any


def load_init(source: str, arch: str) -> tuple[dict[str, torch.Tensor], dict]:
    """The state dict to start from and a record of where it came from; the architecture must be `arch`."""
    found = read_model(source, "--init")
    if set(found["arch_kwargs"]) - WEIGHTLESS_OPTIONS:
        raise BrushworkError(f"--init {source}: architecture options {found['arch_kwargs']} cannot seed a "
                             "training run")
    if found["arch"] != arch:
        raise BrushworkError(f"--init {source} is a {found['arch']} model and this run's --arch is {arch}; "
                             f"pass --arch {found['arch']} or --init a {arch} model")
    record = {k: found[k] for k in ("source", "path", "sha256", "arch", "step")}
    return found["state"], record


def apply_init(model: torch.nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Load `state` into `model`; every weight must be there with the right shape."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    wrong = [k for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or wrong:
        raise BrushworkError(f"--init {source}: its weights do not fit this network "
                             f"(missing {missing[:3]}, other shapes {wrong[:3]})")
    model.load_state_dict({k: state[k].to(own[k].dtype) for k in own})
