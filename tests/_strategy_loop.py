"""A tiny private ask/tell loop that drives a Strategy in tests (no shell, no termination logic)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def run_strategy(
    strategy: Any,
    x0: np.ndarray,
    sigma0: float,
    f: Callable[[np.ndarray], np.ndarray],
    *,
    seed: int,
    generations: int,
    popsize: int | None = None,
    target: float | None = None,
    binary: bool = False,
) -> tuple[Any, float, int, int]:
    """Run up to ``generations``; returns (state, best value, generations used, evaluations).

    Stops early once a sampled value is <= ``target``.
    """
    rng = np.random.default_rng(seed)
    state = strategy.initial_state(np.asarray(x0, dtype=float), sigma0)
    lam = popsize or strategy.default_popsize(len(x0))
    best, evals = np.inf, 0
    for g in range(generations):
        shape = strategy.noise_shape(state, lam)
        noise = rng.random(shape) if binary else rng.standard_normal(shape)
        X = strategy.sample(state, noise)
        values = np.asarray(f(X), dtype=float)
        evals += len(values)
        best = min(best, float(values.min()))
        if target is not None and best <= target:
            return state, best, g, evals
        state = strategy.update(state, noise, X, values)
    return state, best, generations, evals
