"""The run directory and resuming: the style image's identity, where checkpoints live, which one to continue
from, and every global RNG as plain data so a resumed run draws exactly what the uninterrupted one would.
"""

from __future__ import annotations

import hashlib
import random
import tempfile
from pathlib import Path

import numpy as np
import torch

from .. import BrushworkError
from ..data.images import open_rgb, resize_to_side
from ..models.checkpoint import load_checkpoint
from ..models.run_layout import checkpoints
from .config import TrainConfig


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


def load_style(path: str, size: int) -> tuple[torch.Tensor, dict]:
    """The style image as (1,3,H,W) float [0,1], longest side `size`, and its identity for the checkpoint."""
    try:
        image = resize_to_side(open_rgb(path), size)
    except BrushworkError as e:
        raise BrushworkError(f"--style {e}") from None
    tensor = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255).permute(2, 0, 1)[None].contiguous()
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return tensor, {"name": Path(path).stem, "sha256": digest, "size": list(image.size)}


def check_writable(run_dir: Path) -> None:
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=run_dir):
            pass
    except OSError as e:
        raise BrushworkError(f"--out {run_dir.parent}: cannot write there ({e.strerror}); "
                             "choose a writable folder") from None


def find_resume(cfg: TrainConfig) -> Path | None:
    """The checkpoint to continue from, per --resume (auto | never | PATH)."""
    existing = checkpoints(cfg.run_dir)
    if cfg.resume == "never":
        if existing:
            raise BrushworkError(f"--resume never, but {cfg.run_dir} already holds checkpoints; "
                                 "choose another --name or remove that folder")
        return None
    if cfg.resume == "auto":
        return existing[-1] if existing else None
    path = Path(cfg.resume)
    if path.is_dir():
        found = checkpoints(path)
        if not found:
            raise BrushworkError(f"--resume {path}: no checkpoints/step_*.pt in that run directory")
        return found[-1]
    if not path.is_file():
        raise BrushworkError(f"--resume {path}: no such checkpoint; give a checkpoints/step_*.pt file, "
                             "a run directory, or --resume auto")
    return path


def load_resume(path: Path, cfg: TrainConfig) -> dict:
    ckpt = load_checkpoint(path)
    if ckpt.get("kind") != "checkpoint" or "optimizer" not in ckpt:
        raise BrushworkError(f"--resume {path}: a final model without optimizer state; "
                             "give a checkpoints/step_*.pt file")
    if ckpt["arch"] != cfg.arch:
        raise BrushworkError(f"--resume {path}: trained with --arch {ckpt['arch']}, not {cfg.arch}; "
                             f"pass --arch {ckpt['arch']} or start a new run with another --name")
    return ckpt
