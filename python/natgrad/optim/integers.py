"""Integer coordinates for the continuous strategies: CMA-ES with margin.

Hamano, Saito, Nomura & Shirakawa, "CMA-ES with Margin: Lower-Bounding Marginal Probability for
Mixed-Integer Black-Box Optimization", GECCO 2022 (arXiv:2205.13482), written anew for natgrad's
strategies (cmaes's ``CMAwM`` is the authors' reference code).

The search distribution N(m, σ²C) stays continuous. An integer coordinate j is *encoded* for f:

    x̄_j = Enc_j(m_j + A_j (x_j − m_j))        (the paper's affine transformation A x + (I − A) m)

Enc_j the nearest integer in the coordinate's bounds, A a diagonal matrix (``margin_scale`` in
the strategy's state, 1 on continuous coordinates). f sees x̄; the update sees the raw x, so the
covariance learns as on a continuous problem. Rounding alone lets σ²C_jj collapse far below the
lattice's spacing before the optimum is reached, and the coordinate is frozen. The *margin
correction*, applied after every update, keeps the marginal probability that x̄_j differs from
the integer v_j nearest to m_j at least α (default α = 1/(nλ), the paper's recommendation):

* v_j with a neighbour on both sides (cell [v_j − ½, v_j + ½]): each tail probability
  P(x̄_j < v_j) and P(x̄_j > v_j) under the encoded marginal N(m_j, (A_j σ√C_jj)²) is raised to
  at least α/2, the excess taken from the three cell probabilities in proportion to their
  excess over α/2 (the paper's margin correction for integer variables); then m_j and A_j are solved from the two tail
  probabilities (a Gaussian is fixed by the probabilities of two thresholds), σ and C unchanged.
* v_j at a bound (one neighbour: the binary case): if P(x̄_j leaves v_j) < α, the mean moves
  towards the threshold until it is exactly α (its correction for binary variables), A_j unchanged.

Coordinates that already meet the bound are not touched (the correction is then an identity).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import ndtr, ndtri

from .._validation import FloatArray

__all__ = ["IntegerLattice", "marginal_probabilities", "parse_integers"]


def parse_integers(integers: Any, dim: int) -> np.ndarray | None:
    """The sorted indices of the integer coordinates (an int64 array), or None for none.

    ``integers`` is a sequence of distinct indices in [-n, n) or a boolean mask of length n
    (NumPy arrays of either kind too); anything else is a ValueError naming it.
    """
    if integers is None:
        return None
    if isinstance(integers, (str, bytes, dict)) or np.ndim(integers) != 1:
        raise ValueError(
            f"integers must be a sequence of coordinate indices or a boolean mask of length "
            f"{dim}, got {integers!r:.80}"
        )
    arr = np.asarray(integers)
    items = list(integers) if isinstance(integers, (list, tuple)) else []
    if arr.dtype != np.bool_ and any(isinstance(v, (bool, np.bool_)) for v in items):
        raise ValueError(f"integers must not mix indices and booleans, got {integers!r:.80}")
    if arr.dtype == np.bool_:
        if arr.shape != (dim,):
            raise ValueError(
                f"integers as a boolean mask must have length {dim} (one per coordinate), got "
                f"{arr.shape[0]}"
            )
        idx = np.flatnonzero(arr)
    elif arr.size == 0:
        idx = np.zeros(0, dtype=np.int64)
    else:
        if arr.dtype.kind not in "iu":
            raise ValueError(
                f"integers must hold integer indices (or be a boolean mask), got {integers!r:.80}"
            )
        if arr.min() < -dim or arr.max() >= dim:
            raise ValueError(f"integers must be indices in [-{dim}, {dim}), got {arr.tolist()}")
        idx = np.where(arr < 0, arr + dim, arr)
        if np.unique(idx).size != idx.size:
            raise ValueError(f"integers must not repeat a coordinate, got {arr.tolist()}")
    idx = np.sort(idx.astype(np.int64))
    return idx if idx.size else None


class IntegerLattice:
    """The integer coordinates of a problem: which ones, and the integers they may take.

    Parameters
    ----------
    index : (k,) int array
        The integer coordinates (sorted, distinct).
    lower, upper : (k,) float arrays
        Their bounds, ``-inf`` / ``inf`` for none; each must admit at least two integers.
    """

    def __init__(self, index: np.ndarray, lower: FloatArray, upper: FloatArray) -> None:
        self.index = np.asarray(index, dtype=np.int64)
        with np.errstate(invalid="ignore"):
            self.lower = np.ceil(lower)  # the smallest admitted integer (or -inf)
            self.upper = np.floor(upper)
        too_narrow = ~(self.upper - self.lower >= 1)
        if too_narrow.any():
            j = int(self.index[np.argmax(too_narrow)])
            raise ValueError(
                f"bounds of integer coordinate {j} must admit at least two integers, got "
                f"[{lower[np.argmax(too_narrow)]!r}, {upper[np.argmax(too_narrow)]!r}]"
            )

    def nearest(self, values: FloatArray) -> FloatArray:
        """The admitted integer nearest to each value (last axis: the k integer coordinates)."""
        return np.clip(np.floor(values + 0.5), self.lower, self.upper)

    def encode(self, X: FloatArray, mean: FloatArray, margin_scale: FloatArray) -> FloatArray:
        """X (λ, n) with each integer coordinate replaced by Enc(m + A (x − m)) (a new array)."""
        out = np.array(X, dtype=np.float64)
        j = self.index
        m = mean[j]
        out[..., j] = self.nearest(m + margin_scale[j] * (out[..., j] - m))
        return out

    def thresholds(self, mean: FloatArray) -> tuple[FloatArray, FloatArray]:
        """The cell [v − ½, v + ½] of the integer v nearest to the mean, per integer coordinate;
        −inf / inf on a side without a neighbour (v at a bound)."""
        v = self.nearest(mean[self.index])
        low = np.where(v > self.lower, v - 0.5, -np.inf)
        high = np.where(v < self.upper, v + 0.5, np.inf)
        return low, high

    def correct(
        self, mean: FloatArray, axis_scales: FloatArray, margin_scale: FloatArray, alpha: float
    ) -> tuple[FloatArray, FloatArray]:
        """The margin correction (module docstring): new (mean, margin_scale), as new arrays."""
        j = self.index
        m, A = mean[j].copy(), margin_scale[j].copy()
        spread = A * axis_scales[j]  # the encoded marginal's standard deviation A_j σ √C_jj
        low, high = self.thresholds(mean)
        p_low, p_high = marginal_probabilities(m, spread, low, high)
        two_sided = np.isfinite(low) & np.isfinite(high)
        half = alpha / 2
        # integer variables: both tails at least α/2
        fix = two_sided & (np.minimum(p_low, p_high) < half)
        if fix.any():
            lo, hi = np.maximum(p_low[fix], half), np.maximum(p_high[fix], half)
            mid = 1.0 - p_low[fix] - p_high[fix]
            excess = lo + hi + mid - 1.0  # ≥ 0: what the raised tails added
            share = excess / (lo + hi + mid - 3 * half)
            lo, hi = lo - share * (lo - half), hi - share * (hi - half)
            # a Gaussian with tails lo below ℓ_low and hi above ℓ_high: ℓ_low = m − q_lo t,
            # ℓ_high = m + q_hi t with q = Φ⁻¹(1 − p)
            tiny = 1e-300
            q_lo = ndtri(1.0 - np.clip(lo, tiny, 0.5 - 1e-12))
            q_hi = ndtri(1.0 - np.clip(hi, tiny, 0.5 - 1e-12))
            width = high[fix] - low[fix]
            t = width / (q_lo + q_hi)
            m[fix] = (low[fix] * q_hi + high[fix] * q_lo) / (q_lo + q_hi)
            A[fix] = t / axis_scales[j][fix]
        # binary variables (one neighbour): P(leave) at least α by moving the mean
        one_sided = ~two_sided
        leave = np.where(np.isfinite(low), p_low, p_high)
        fix = one_sided & (leave < alpha)
        if fix.any():
            q = ndtri(1.0 - alpha)
            m[fix] = np.where(
                np.isfinite(high[fix]), high[fix] - q * spread[fix], low[fix] + q * spread[fix]
            )
        new_mean, new_scale = np.array(mean, dtype=np.float64), np.array(margin_scale)
        new_mean[j], new_scale[j] = m, A
        return new_mean, new_scale

    def leave_probabilities(
        self, mean: FloatArray, axis_scales: FloatArray, margin_scale: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """P(x̄_j below v_j) and P(x̄_j above v_j) for each integer coordinate (0 on a side
        without a neighbour): what the margin keeps away from 0."""
        j = self.index
        low, high = self.thresholds(mean)
        return marginal_probabilities(mean[j], margin_scale[j] * axis_scales[j], low, high)


def marginal_probabilities(
    mean: FloatArray, spread: FloatArray, low: FloatArray, high: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """P(X < low) and P(X > high) for X ~ N(mean, spread²), elementwise (0 for ∓inf)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        below = np.where(np.isfinite(low), ndtr((low - mean) / spread), 0.0)
        above = np.where(np.isfinite(high), ndtr((mean - high) / spread), 0.0)
    return np.asarray(below), np.asarray(above)


def default_margin(dim: int, popsize: int) -> float:
    """α = 1/(nλ) (Hamano et al. 2022's recommended margin; cmaes's default)."""
    return 1.0 / (dim * popsize)
