"""Shared Gaussian test cases (not a test module)."""

from __future__ import annotations

import numpy as np


def spd(rng: np.random.Generator, n: int, cond: float = 10.0) -> np.ndarray:
    """A random symmetric positive-definite matrix with condition number ``cond``."""
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    lam = np.geomspace(1.0, 1.0 / cond, n) if n > 1 else np.ones(1)
    s = (q * lam) @ q.T
    return 0.5 * (s + s.T)


def case(rng: np.random.Generator, n: int, cond: float = 10.0) -> tuple[np.ndarray, np.ndarray]:
    return rng.standard_normal(n), spd(rng, n, cond)
