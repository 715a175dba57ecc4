"""The layout of a `brushwork train` run directory, known here and nowhere else: what training writes, and where
export, evaluate, --init and --resume look.

    OUT/NAME/
        config.yaml                  the resolved TrainConfig
        checkpoints/step_0004000.pt  every --ckpt-every steps, the last --keep-last kept (resume from these)
        model.pt                     the final model, written when the run ends (export this)
        samples/step_0004000.png     the validation photos, stylized every --sample-every steps
        events.out.tfevents.*        TensorBoard

Paths only: no torch, so the runtime's side may name a run directory too.
"""

from __future__ import annotations

import os
from pathlib import Path

from .. import BrushworkError

CONFIG_FILE, MODEL_FILE, CHECKPOINT_DIR, SAMPLE_DIR = "config.yaml", "model.pt", "checkpoints", "samples"
STEP_DIGITS = 7  # step_0004000: names sort by step up to 10 million steps


def config_path(run_dir: Path) -> Path:
    return Path(run_dir) / CONFIG_FILE


def model_path(run_dir: Path) -> Path:
    return Path(run_dir) / MODEL_FILE


def checkpoint_path(run_dir: Path, step: int) -> Path:
    return Path(run_dir) / CHECKPOINT_DIR / f"step_{step:0{STEP_DIGITS}d}.pt"


def sample_path(run_dir: Path, step: int) -> Path:
    return Path(run_dir) / SAMPLE_DIR / f"step_{step:0{STEP_DIGITS}d}.png"


def checkpoints(run_dir: Path) -> list[Path]:
    """The run's step checkpoints, oldest first by step number (temp files of an interrupted save are not listed:
    they end in .tmp)."""
    return sorted((Path(run_dir) / CHECKPOINT_DIR).glob("step_*.pt"), key=step_number)


def step_number(path: Path) -> int:
    """step_0004000.pt -> 4000 (-1 for a name that is not a step number)."""
    digits = Path(path).stem.removeprefix("step_")
    return int(digits) if digits.isdigit() else -1


def resolve_checkpoint(path: str | os.PathLike) -> Path:
    """A run directory means <run>/model.pt, or its newest checkpoints/step_*.pt if there is no model.pt or the
    checkpoint was written after it (a finished run that was extended and then interrupted); a file means itself."""
    path = Path(path)
    if path.is_file():
        return path
    if not path.is_dir():
        raise BrushworkError(f"{path}: no such run directory or checkpoint; give a run folder or a .pt file")
    final, steps = model_path(path), checkpoints(path)
    if final.is_file() and (not steps or final.stat().st_mtime >= steps[-1].stat().st_mtime):
        return final
    if not steps:
        raise BrushworkError(f"{path}: no model.pt and no checkpoints/step_*.pt; is this a `brushwork train` run?")
    return steps[-1]
