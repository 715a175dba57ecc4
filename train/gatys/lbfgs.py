"""L-BFGS on pixels in a box: the Gatys optimizer's default, monotone by construction.

Nocedal & Wright, "Numerical Optimization" (2nd ed., 2006): the two-loop recursion (Algorithm 7.4) gives the
quasi-Newton direction; a backtracking line search (Algorithm 3.1, quadratic interpolation) accepts a step
only if it lowers the loss enough (Armijo); every trial point is projected onto the valid pixels [0, 1].

Why not torch.optim.LBFGS: without a line search (jcjohnson/neural-style's choice) the loss at 256 px rose
again after ~50 iterations, and a noise start came out noisy: the Gram loss is quartic in the pixels, so an
overlong quasi-Newton step overshoots by orders of magnitude. Its strong-Wolfe search does its cubic
interpolation in float32, which overflows on such a step; it then returns a zero step, and every later
iteration repeats it (measured: tubingen at 96 px stuck from the second iteration on). Here an overlong step
is cut back, and a step that cannot be made to descend resets the curvature history instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import torch


class HasTotal(Protocol):
    total: torch.Tensor


class BoxLBFGS:
    """Minimize f(x) over x in [0, 1]^n; x is a leaf tensor changed in place; closure() evaluates f at x
    (returning an object with a `.total` scalar) and leaves the gradient in x.grad.

    Args:
        history: curvature pairs kept (each costs two x-sized float vectors).
        lr: the first trial step, as a fraction of the quasi-Newton step (1 = the full step).
        max_change: no trial step moves any pixel by more than this (on the 0..1 scale).
        first_change: the largest pixel change of a steepest-descent step (the first, and after a reset).
    """

    def __init__(self, x: torch.Tensor, *, history: int = 100, lr: float = 1.0, max_change: float = 0.25,
                 first_change: float = 0.02, c1: float = 1e-4, max_backtracks: int = 20):
        self.x, self.history, self.lr = x, history, lr
        self.max_change, self.first_change, self.c1, self.max_backtracks = max_change, first_change, c1, max_backtracks
        self.pairs: list[tuple[torch.Tensor, torch.Tensor, float]] = []  # (s, y, 1 / y.s)
        self.f: float | None = None
        self.g: torch.Tensor | None = None
        self.terms = None
        self.evaluations = 0

    def _evaluate(self, closure: Callable[[], HasTotal]) -> tuple[float, torch.Tensor, HasTotal]:
        terms = closure()
        self.evaluations += 1
        return float(terms.total), self.x.grad.detach().flatten().clone(), terms

    def direction(self, g: torch.Tensor) -> torch.Tensor:
        """-H g by the two-loop recursion; steepest descent scaled to `first_change` without history."""
        if not self.pairs:
            return -g * (self.first_change / g.abs().max().clamp_min(1e-30))
        q, alphas = g.clone(), []
        for s, y, rho in reversed(self.pairs):
            alpha = rho * float(s @ q)
            q -= alpha * y
            alphas.append(alpha)
        s, y, _ = self.pairs[-1]
        q *= float(s @ y) / float(y @ y)  # H0 = gamma I (N&W eq. 7.20)
        for (s, y, rho), alpha in zip(self.pairs, reversed(alphas)):
            q += (alpha - rho * float(y @ q)) * s
        return -q

    @torch.no_grad()
    def step(self, closure: Callable[[], HasTotal]) -> HasTotal:
        """One iteration; returns the closure's result at the iteration's starting point."""
        if self.f is None:
            with torch.enable_grad():
                self.f, self.g, self.terms = self._evaluate(closure)
        start_terms, x0 = self.terms, self.x.detach().flatten().clone()
        d = self.direction(self.g)
        if float(self.g @ d) >= 0:  # not a descent direction: the history misleads, drop it
            self.pairs.clear()
            d = self.direction(self.g)
        t = min(self.lr, self.max_change / max(float(d.abs().max()), 1e-30))
        for _ in range(self.max_backtracks):
            x_new = (x0 + t * d).clamp_(0, 1)
            self.x.copy_(x_new.view_as(self.x))
            with torch.enable_grad():
                f_new, g_new, terms = self._evaluate(closure)
            decrease = float(self.g @ (x_new - x0))  # the projected step's first-order decrease (negative)
            if f_new <= self.f + self.c1 * decrease and decrease < 0:
                self._remember(x_new - x0, g_new - self.g)
                self.f, self.g, self.terms = f_new, g_new, terms
                return start_terms
            # Minimize the quadratic through f(0), f'(0) and f(t), kept within [0.1 t, 0.5 t].
            curvature = f_new - self.f - decrease
            t = t * min(0.5, max(0.1, -decrease / (2 * curvature))) if curvature > 0 else t * 0.5
        self.x.copy_(x0.view_as(self.x))  # no acceptable step: stay, and start the curvature model afresh
        self.pairs.clear()
        return start_terms

    def _remember(self, s: torch.Tensor, y: torch.Tensor) -> None:
        sy = float(s @ y)
        if sy > 1e-10 * float(y @ y):  # keep H positive definite: skip pairs without positive curvature
            self.pairs.append((s, y, 1.0 / sy))
            del self.pairs[: -self.history]
