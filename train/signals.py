"""Ctrl-C and SIGTERM during `brushwork train`: a flag that the loop reads between steps, so the run can save a
checkpoint and stop cleanly (on every rank alike: train/loop.py agrees on the flag across ranks)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator


class StopSignal:
    """Ctrl-C / SIGTERM set a flag that the loop checks after each step; a second signal acts at once."""

    def __init__(self):
        self.signum: int | None = None
        self._previous: dict[int, object] = {}

    def __enter__(self) -> StopSignal:  # noqa: PYI034
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        self.signum = signum
        signal.signal(signum, self._previous[signum])

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def next_batch(self, batches: Iterator):
        """The next batch, or None if a signal broke the loader (Ctrl-C also reaches its worker processes)."""
        try:
            return next(batches)
        except Exception:
            if self.signum is not None:
                return None
            raise
