"""One model run at a time, a bounded number waiting: the server's only place where the model runs.

onnxruntime already spreads one run over every core, so two runs side by side only slow each other down.
Requests beyond `capacity` (running + waiting) are refused at once with 429 rather than queued without end.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

from .errors import ServeError


class Runner:
    def __init__(self, capacity: int):
        self.capacity = capacity
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="brushwork-model")
        self._lock = threading.Lock()
        self._pending = 0

    @property
    def pending(self) -> int:
        return self._pending

    def reserve(self) -> None:
        """Take a place in the queue (429 when none is left); `submit` then uses it, `release` gives it back."""
        with self._lock:
            if self._pending >= self.capacity:
                raise ServeError(429, f"busy: {self._pending} model runs are queued; try again in a few seconds",
                                 {"Retry-After": "5"})
            self._pending += 1

    def release(self) -> None:
        with self._lock:
            self._pending -= 1

    def submit(self, fn, *args) -> Future:
        """Run fn(*args) on the model thread in a place taken by `reserve`, released when it ends."""
        def run():
            try:
                return fn(*args)
            finally:
                self.release()

        return self._executor.submit(run)

    def call(self, fn, *args):
        """fn(*args) on the model thread, for the holder of a place (a video job, batch by batch), and its result:
        work queued meanwhile (an image) runs before the holder's next call."""
        return self._executor.submit(fn, *args).result()

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


class Slots:
    """A bounded count of things happening at once (uploads being received): 429 when all are taken."""

    def __init__(self, capacity: int, what: str):
        self.capacity, self.what, self.taken = capacity, what, 0
        self._lock = threading.Lock()

    @contextmanager
    def take(self):
        with self._lock:
            if self.taken >= self.capacity:
                raise ServeError(429, f"busy: {self.taken} {self.what}; try again in a few seconds",
                                 {"Retry-After": "5"})
            self.taken += 1
        try:
            yield
        finally:
            with self._lock:
                self.taken -= 1
