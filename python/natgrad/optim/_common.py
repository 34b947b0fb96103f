"""Helpers shared by the search-distribution strategies (private)."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from .. import _core
from .._validation import FloatArray, as_float, as_float_array


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


def default_popsize(dim: int) -> int:
    """λ = 4 + ⌊3 ln n⌋ (Hansen 2016, eq. 48; Wierstra et al. 2014, Table 1)."""
    return 4 + int(math.floor(3 * math.log(check_dim(dim))))


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


def start(x0: ArrayLike, sigma0: float) -> tuple[FloatArray, float]:
    """Validated copy of the start point (1-D, finite, non-empty) and step size (> 0)."""
    mean = as_float_array("x0", x0, ndim=1)
    if mean.size == 0:
        raise ValueError("x0 must have at least one coordinate, got an empty array")
    return mean, as_float("sigma0", sigma0, positive=True)


def population(
    noise: ArrayLike, X: ArrayLike, values: ArrayLike, dim: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Cheap shape checks of one generation's (noise, X, values), as float64 C-contiguous arrays.

    Arrays that already are float64 and C-contiguous are passed through without a copy (the
    compiled core only reads them).
    """
    z = np.ascontiguousarray(noise, dtype=np.float64)
    if z.ndim != 2 or z.shape[1] != dim or z.shape[0] < 2:
        raise ValueError(f"noise must have shape (popsize >= 2, {dim}), got {z.shape}")
    x = np.ascontiguousarray(X, dtype=np.float64)
    if x.shape != z.shape:
        raise ValueError(f"X must have shape {z.shape} like noise, got {x.shape}")
    v = np.ascontiguousarray(values, dtype=np.float64)
    if v.shape != (z.shape[0],):
        raise ValueError(f"values must have shape ({z.shape[0]},), got {v.shape}")
    return z, x, v


def check_rate(name: str, value: float | None) -> float | None:
    """None (the default rule) or a finite learning rate > 0."""
    if value is None:
        return None
    return as_float(name, value, positive=True)


def sample_full_covariance(
    mean: FloatArray, sigma: float, factor: FloatArray, noise: ArrayLike
) -> FloatArray:
    """x_k = m + σ A z_k for every row z_k of ``noise``, as one GEMM X = m + σ Z Aᵀ."""
    z = np.ascontiguousarray(noise, dtype=np.float64)
    if z.ndim != 2 or z.shape[1] != mean.size:
        raise ValueError(f"noise must have shape (popsize, {mean.size}), got {z.shape}")
    return _core.sample_full(mean, sigma, factor, z)
