"""Where a run continues from: its folder must be writable, --resume picks the checkpoint (auto: the newest one
in the run folder, models/run_layout.py), and the checkpoint must be one this run can continue (optimizer state,
same architecture). The RNG streams that make the continuation exact are rng.py's.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from .. import BrushworkError
from ..models.checkpoint import load_checkpoint
from ..models.run_layout import checkpoints
from .config import TrainConfig


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
