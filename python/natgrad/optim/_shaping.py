"""Fitness shaping shared by the SNGD strategies (Gaussian and binary)."""

from __future__ import annotations

from typing import Literal

from .._validation import FloatArray
from .utilities import cma_weights, nes_utilities, rank_values

Shaping = Literal["nes", "cma"] | None


def check_shaping(fitness_shaping: object) -> Shaping:
    if fitness_shaping not in (None, "nes", "cma"):
        raise ValueError(f"fitness_shaping must be None, 'nes' or 'cma', got {fitness_shaping!r}")
    return fitness_shaping


def shaped_values(values: FloatArray, shaping: Shaping, dim: int) -> FloatArray:
    """Values handed to the covariance estimators (lower is better).

    ``None`` keeps f itself (the seed's stochastic relaxation of E[f]). ``"nes"`` / ``"cma"``
    replace f by −(λ − 1)·w(rank) with w the NES utilities or CMA weights (best first): the
    estimators divide by λ − 1, so Ĉov(shaped, T) = −Σ_k w_k (T(x_k) − T̄), the IGO update
    (Ollivier et al. 2017, eq. 11) with the sample mean of T as baseline. Its step scale no
    longer depends on f, and the update is invariant to increasing transformations of f.
    ``"cma"`` uses the positive (truncation) weights of CMA-ES, eq. 49 without the active
    negative part: with the additive covariance steps of SNGD at its default rates the active
    weights collapse Σ (measured on the 3-D sphere: σ ≈ 1e-6 with the mean stuck at 2e-3).
    """
    if shaping is None:
        return values
    lam = values.size
    w = nes_utilities(lam) if shaping == "nes" else cma_weights(lam, dim, active=False)[0]
    return -(lam - 1) * w[rank_values(values)]
