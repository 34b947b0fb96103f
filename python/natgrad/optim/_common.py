"""Helpers shared by the search-distribution strategies (private)."""

from __future__ import annotations

import math
import sys
import threading

import numpy as np

from .._validation import FloatArray, as_float


def _pool_count() -> int:
    """getrefcount of a pool entry nobody else refers to, measured with the loop of
    ``BufferPool.take`` (the list, the loop variable and the call's argument on CPython 3.11;
    measured rather than assumed, as interpreters may borrow some of those references)."""
    arrays = [np.empty(0)]
    for a in arrays:
        return sys.getrefcount(a)
    raise AssertionError("unreachable")


_UNREFERENCED = _pool_count()


class BufferPool:
    """Spare output arrays for a strategy's large per-generation results (the n × n factor).

    A kernel that writes its result into a recycled buffer spares the operating system mapping
    and zeroing fresh pages every generation (48,800 page faults, about half the update's time,
    at n = 5000). A buffer is handed out again only when the pool's own reference is the last one:
    no state record, read-only view, checkpoint, history or variable of the user's refers to it
    (CPython's reference count says so), so nothing anyone can still see is ever overwritten;
    otherwise a new buffer is allocated. Not state: the results, bit for bit, do not depend on it,
    and copies and pickles of a strategy start with an empty pool.
    """

    #: recycle only buffers of at least this many entries (below, allocation is cheap)
    min_size = 128 * 128
    # CPython with the GIL: reference counts are exact (the free-threaded build defers some)
    _counts_references = sys.implementation.name == "cpython" and bool(
        getattr(sys, "_is_gil_enabled", lambda: True)()
    )

    def __init__(self, capacity: int = 3) -> None:
        self._capacity = capacity
        self._arrays: list[np.ndarray] = []
        self._lock = threading.Lock()

    def take(self, shape: tuple[int, int]) -> np.ndarray | None:
        """A writeable C-contiguous float64 array of ``shape`` that nobody else refers to, or
        None for a small shape (let the kernel allocate)."""
        if shape[0] * shape[1] < self.min_size or not self._counts_references:
            return None
        with self._lock:
            for a in self._arrays:
                if a.shape == shape and sys.getrefcount(a) == _UNREFERENCED:
                    a.flags.writeable = True
                    return a
            fresh = np.empty(shape)
            self._arrays.append(fresh)
            if len(self._arrays) > self._capacity:
                del self._arrays[0]
            return fresh

    def __deepcopy__(self, memo: dict[int, object]) -> BufferPool:
        return BufferPool(self._capacity)

    def __reduce__(self) -> tuple[type, tuple[int]]:
        return BufferPool, (self._capacity,)


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


def check_margin(margin: float | None) -> float | None:
    """None (the default α = 1/(nλ)) or CMA-ES with margin's α in (0, 0.5)
    (:mod:`natgrad.optim.integers`)."""
    if margin is None:
        return None
    margin = as_float("margin", margin, positive=True)
    if not margin < 0.5:
        raise ValueError(f"margin must lie in (0, 0.5), got {margin!r}")
    return margin


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
