"""What a training run shows and records: the tqdm bar, a compact log line, TensorBoard scalars and image grids.

    step 1200 | total 4.1e+05 | content 2.3e+05 | style 1.7e+05 | tv 1.2e+03 | 2.9 img/s | lr 1e-03

Every --log-every steps: that line, and scalars (loss/*, style/<layer>, perf/images_per_s, lr) in TensorBoard.
Every --sample-every steps: the fixed validation photos (top row) and their stylized versions (bottom row) as one
grid, in TensorBoard and as samples/step_XXXXXXX.png for people without TensorBoard. Only rank 0 has a Monitor
that writes; the others get `enabled=False` and stay silent.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ..data.images import write_image
from ..models.run_layout import sample_path


def log_line(step: int, scalars: dict[str, float], images_per_s: float, lr: float) -> str:
    terms = " | ".join(f"{k} {v:.3g}" for k, v in scalars.items() if "/" not in k)
    return f"step {step} | {terms} | {images_per_s:.3g} img/s | lr {lr:.3g}"


def image_grid(originals: torch.Tensor, stylized: torch.Tensor) -> np.ndarray:
    """uint8 (K,3,S,S) originals over float (K,3,S,S) stylized in [0,1] -> one uint8 (2S, K*S, 3) image."""
    styl = (stylized.detach().float().clamp(0, 1) * 255).round().to(torch.uint8).cpu()
    rows = [torch.cat(list(t), dim=2) for t in (originals.cpu(), styl)]  # each (3, S, K*S)
    return torch.cat(rows, dim=1).permute(1, 2, 0).numpy()


class Monitor:
    """The progress bar plus TensorBoard; `enabled=False` (ranks other than 0) makes every call a no-op."""

    def __init__(self, run_dir: Path, *, total_steps: int | None, start_step: int, log_every: int,
                 enabled: bool = True):
        self.run_dir, self.log_every, self.enabled = Path(run_dir), log_every, enabled
        self.bar, self.writer = None, None
        self._window_start, self._window_images, self._rate = time.perf_counter(), 0, 0.0
        if not enabled:
            return
        from torch.utils.tensorboard import SummaryWriter  # slow import: only where it is used

        self.writer = SummaryWriter(str(self.run_dir))
        self.bar = tqdm(total=total_steps, initial=start_step, unit="step", dynamic_ncols=True, smoothing=0.1)

    def step(self, step: int, scalars: dict[str, float], images: int, lr: float) -> None:
        """Call after each optimizer step with that step's loss terms and the images it processed."""
        if not self.enabled:
            return
        self._window_images += images
        elapsed = time.perf_counter() - self._window_start
        rate = self._window_images / elapsed if elapsed > 0 else 0.0
        self.bar.update(1)
        shown = " ".join(f"{k} {scalars[k]:.3g}" for k in ("content", "style", "l1") if k in scalars)
        self.bar.set_postfix_str(f"loss {scalars['total']:.3g} {shown} {rate:.3g} img/s", refresh=False)
        if step % self.log_every == 0:
            self._rate = rate
            self.bar.write(log_line(step, scalars, rate, lr))
            for key, value in scalars.items():
                self.writer.add_scalar(key if "/" in key else f"loss/{key}", value, step)
            self.writer.add_scalar("perf/images_per_s", rate, step)
            self.writer.add_scalar("lr", lr, step)
            self._window_start, self._window_images = time.perf_counter(), 0

    def sample(self, step: int, originals: torch.Tensor, stylized: torch.Tensor) -> Path | None:
        """Record the validation grid; returns the PNG's path."""
        if not self.enabled:
            return None
        grid = image_grid(originals, stylized)
        path = sample_path(self.run_dir, step)
        write_image(path, grid)
        self.writer.add_image("samples", grid, step, dataformats="HWC")
        return path

    def set_total(self, total: int | None) -> None:
        """A new planned step count (--time-budget); None while it is not known yet."""
        if self.bar is not None and self.bar.total != total:
            self.bar.total = total
            self.bar.refresh()

    def message(self, text: str) -> None:
        if self.enabled:
            (self.bar.write if self.bar is not None else print)(text)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        if self.writer is not None:
            self.writer.flush()
            self.writer.close()
