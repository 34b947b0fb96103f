"""Helpers shared by the search-distribution strategies (private)."""

from __future__ import annotations

import math

import numpy as np

from .._validation import FloatArray, as_float


def check_dim(dim: int) -> int:
    """``dim`` as an int >= 1, or ValueError."""
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
        raise ValueError(f"dim must be an integer >= 1, got {dim!r}")
    return int(dim)


def check_popsize(popsize: int) -> int:
    """``popsize`` as an int >= 2, or ValueError."""
    if isinstance(popsize, bool) or not isinstance(popsize, (int, np.integer)) or popsize < 2:
        raise ValueError(f"popsize must be an integer >= 2, got {popsize!r}")
    return int(popsize)


def expected_norm(dim: int) -> float:
    """χ_n = E‖N(0, I_n)‖ ≈ √n (1 − 1/(4n) + 1/(21n²)) (Hansen 2016, below eq. 44)."""
    return math.sqrt(dim) * (1 - 1 / (4 * dim) + 1 / (21 * dim * dim))


def csa_constants(dim: int, mueff: float) -> tuple[float, float]:
    """c_σ and d_σ of cumulative step-size adaptation (Hansen 2016, eq. 55)."""
    c_sigma = (mueff + 2) / (dim + mueff + 5)
    d_sigma = 1 + 2 * max(0.0, math.sqrt((mueff - 1) / (dim + 1)) - 1) + c_sigma
    return c_sigma, d_sigma


def readonly(a: np.ndarray) -> FloatArray:
    """Freeze a cached constant array so no caller can change it for the others."""
    a = np.ascontiguousarray(a, dtype=np.float64)
    a.flags.writeable = False
    return a


def check_rate(name: str, value: float | None) -> float | None:
    """None (the default rule) or a finite learning rate > 0."""
    if value is None:
        return None
    return as_float(name, value, positive=True)


def factor_condition_number(factor: FloatArray) -> float:
    """cond(A Aᵀ) = (s_max/s_min)² from the singular values of A (O(n³): call it sparingly)."""
    s = np.linalg.svd(factor, compute_uv=False)
    return float((s[0] / s[-1]) ** 2) if s[-1] > 0 else float("inf")


def factor_axis_scales(sigma: float, factor: FloatArray) -> FloatArray:
    """σ √diag(A Aᵀ): the row norms of A times σ (O(n²))."""
    return np.asarray(sigma * np.sqrt(np.einsum("ij,ij->i", factor, factor)))


def factor_noise(mean: FloatArray, sigma: float, factor: FloatArray, X: FloatArray) -> FloatArray:
    """The draws z with X = m + σ A z row by row (the inverse of ``_core.sample_full``): one LU
    solve A Zᵀ = (X − m)ᵀ / σ, O(n³ + kn²) for k rows (``Optimizer.inject``, not the hot loop)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.ascontiguousarray(np.linalg.solve(factor, ((X - mean) / sigma).T).T)
