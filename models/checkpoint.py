"""Checkpoints are plain dicts of tensors and plain Python data, written atomically, loaded with
`torch.load(weights_only=True)` (no pickled code runs when a file is opened).

    {
      "format_version": 1,
      "brushwork_version": "0.1.0",
      "kind": "checkpoint" | "model",   # "model" = the final weights only, what `export` reads
      "arch": "johnson", "arch_kwargs": {"output": "tanh"},   # no "output": trained unbounded ("linear")
      "model": state_dict,
      "optimizer": ..., "scaler": ..., "step": int, "rng": {...}, "data_position": {...},  # checkpoint only
      "config": {...},                   # the TrainConfig as a dict
      "style": {"name": "starry_night", "sha256": "..."},
    }
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import torch

from .. import BrushworkError, __version__
from ..data.files import atomic_write
from .transformer_net import ARCHITECTURES, TransformerNet, build_transformer

FORMAT_VERSION = 1


def save_checkpoint(path: str | os.PathLike, ckpt: dict) -> None:
    """Write `ckpt` to `path` atomically (temp file + fsync + os.replace): a kill -9 leaves the old file."""
    ckpt = {"format_version": FORMAT_VERSION, "brushwork_version": __version__, **ckpt}
    buffer = io.BytesIO()
    torch.save(ckpt, buffer)
    atomic_write(path, lambda f: f.write(buffer.getbuffer()))


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Load and validate a checkpoint or model file; BrushworkError with what to do if it is not one."""
    path = Path(path)
    if not path.is_file():
        raise BrushworkError(f"{path}: no such checkpoint")
    if path.suffix.lower() == ".onnx":
        raise BrushworkError(f"{path} is an exported ONNX model; give the training checkpoint (.pt) or run directory")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # noqa: BLE001 -- any unpickling failure means "not a usable checkpoint"
        raise BrushworkError(f"{path}: not a brushwork checkpoint or it is corrupt ({type(e).__name__}); "
                             "use another file from the run's checkpoints/ folder") from None
    if not isinstance(ckpt, dict) or "format_version" not in ckpt or "model" not in ckpt:
        raise BrushworkError(f"{path}: not a brushwork checkpoint (no format_version/model keys)")
    if ckpt["format_version"] > FORMAT_VERSION:
        raise BrushworkError(f"{path}: checkpoint format {ckpt['format_version']} is newer than this brushwork "
                             f"understands ({FORMAT_VERSION}); upgrade with `pip install -U brushwork`")
    if ckpt.get("arch") not in ARCHITECTURES:
        raise BrushworkError(f"{path}: architecture {ckpt.get('arch')!r} is unknown to this brushwork "
                             f"(known: {', '.join(ARCHITECTURES)})")
    return ckpt


def arch_kwargs(ckpt: dict) -> dict:
    """The network options of a checkpoint; those written before the bounded output existed are unbounded."""
    return {"output": "linear", **ckpt.get("arch_kwargs", {})}


def deployable_weights(ckpt: dict) -> dict:
    """The weights to run: a training checkpoint's moving average when the run kept one (train/ema.py), else its
    weights. A finished model.pt holds the average as its weights already."""
    average = (ckpt.get("ema") or {}).get("weights")
    if not average:
        return ckpt["model"]
    return {k: average[k].to(v.dtype) for k, v in ckpt["model"].items()}


def model_from_checkpoint(ckpt: dict) -> TransformerNet:
    """Rebuild the exact network a checkpoint was trained with and load its weights."""
    model = build_transformer(ckpt["arch"], **arch_kwargs(ckpt))
    missing, unexpected = model.load_state_dict(deployable_weights(ckpt), strict=False)
    if missing or unexpected:
        raise BrushworkError(f"checkpoint weights do not fit architecture {ckpt['arch']!r} "
                             f"{ckpt.get('arch_kwargs', {})}: missing {missing[:3]}, unexpected {unexpected[:3]}")
    return model.eval()
