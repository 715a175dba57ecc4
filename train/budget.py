"""Train against the clock: `brushwork train --time-budget 8h` plans the step count from measured speed.

The first MEASURE_STEPS steps (after SETTLE_STEPS that pay for start-up: kernel selection, the first
samples) time the machine; the plan is then steps done + remaining time / seconds per step, and it is
re-made every `replan_every` steps from the speed of the whole run so far, so a machine that slows down
still ends on time with the learning rate decayed. The time spent and the current plan go into every
checkpoint: a resumed run keeps its budget and its plan, and only re-times the (maybe different) machine.
A hard stop at the budget backs the plan up.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from .. import BrushworkError

SETTLE_STEPS, MEASURE_STEPS = 3, 20
CLOCK = time.monotonic  # tests replace it with a fake clock
_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """'8h', '90m', '45min', '3600s', '1.5h', '2h30m' or a bare number of seconds -> seconds."""
    text = str(text).strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        seconds = float(text)
    else:
        parts = re.findall(r"(\d+(?:\.\d+)?)\s*(min|[smhd])", text)
        if not parts or re.sub(r"(\d+(?:\.\d+)?)\s*(min|[smhd])", "", text).strip():
            raise BrushworkError(f"--time-budget {text!r}: give a duration such as 8h, 90m, 2h30m or 3600s")
        seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise BrushworkError(f"--time-budget {text!r} must be positive")
    return seconds


class Budget:
    """The clock of one run: elapsed time (across resumes), speed, and the planned number of steps."""

    def __init__(self, seconds: float, *, elapsed: float = 0.0, planned: int | None = None,
                 replan_every: int = 50, clock: Callable[[], float] | None = None):
        self.seconds, self.replan_every, self.clock = seconds, replan_every, clock or CLOCK
        self.elapsed_before, self.planned = elapsed, planned
        self.started = self.clock()
        self._timing_from: tuple[int, float] | None = None  # (step, time) where timing began in this process
        self._steps_seen = 0

    @property
    def elapsed(self) -> float:
        return self.elapsed_before + self.clock() - self.started

    def after_step(self, step: int) -> int | None:
        """Call after each optimizer step; returns the (new) planned total when the plan was made or changed."""
        self._steps_seen += 1
        if self._steps_seen == SETTLE_STEPS:
            self._timing_from = (step, self.clock())
        timed = step - self._timing_from[0] if self._timing_from else 0
        due = timed == MEASURE_STEPS or (timed > MEASURE_STEPS and timed % self.replan_every == 0)
        if not due:
            return None
        seconds_per_step = (self.clock() - self._timing_from[1]) / timed
        remaining = max(0.0, self.seconds - self.elapsed)
        self.planned = step + int(remaining / max(seconds_per_step, 1e-9))
        return self.planned

    def over(self) -> bool:
        return self.elapsed >= self.seconds

    def state(self) -> dict:
        return {"seconds": self.seconds, "elapsed": self.elapsed, "planned": self.planned}
