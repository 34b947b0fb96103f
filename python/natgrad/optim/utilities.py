"""Rank-based fitness shaping: values enter the updates only through their ranks.

This makes every strategy invariant to strictly increasing transformations of f.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from .._validation import FloatArray, as_float_array, as_int


def rank_values(values: ArrayLike) -> np.ndarray:
    """Ranks 0..λ-1 of ``values`` (0 = smallest = best); ties broken by position (stable)."""
    v = as_float_array("values", values, ndim=1)
    ranks = np.empty(v.size, dtype=np.intp)
    ranks[np.argsort(v, kind="stable")] = np.arange(v.size)
    return ranks


def nes_utilities(popsize: int) -> FloatArray:
    """NES utilities by rank (Wierstra et al. 2014, eq. in §3.1), zero-sum, best first.

    u_k = max(0, log(λ/2 + 1) − log k) / Σ_j max(0, log(λ/2 + 1) − log j) − 1/λ,  k = 1..λ.
    """
    lam = as_int("popsize", popsize, minimum=2)
    k = np.arange(1, lam + 1)
    raw = np.maximum(0.0, np.log(lam / 2 + 1) - np.log(k))
    return raw / raw.sum() - 1.0 / lam


def cma_weights(popsize: int, dim: int, *, active: bool = True) -> tuple[FloatArray, float]:
    """CMA-ES recombination weights by rank, best first, and μ_eff (Hansen 2016, eqs. 49–53).

    Positive weights sum to 1. With ``active=True`` the negative weights are scaled as in the
    tutorial's default (eq. 53) so that Σ|w⁻| = min(1 + c₁/c_μ, 1 + 2μ_eff⁻/(μ_eff + 2),
    (1 − c₁ − c_μ)/(n c_μ)); otherwise they are zero.
    """
    lam = as_int("popsize", popsize, minimum=2)
    n = as_int("dim", dim, minimum=1)
    raw = np.log((lam + 1) / 2) - np.log(np.arange(1, lam + 1))  # (eq. 49)
    mu = lam // 2
    pos, neg = raw[:mu], raw[mu:]
    mueff = pos.sum() ** 2 / (pos**2).sum()
    weights = np.zeros(lam)
    weights[:mu] = pos / pos.sum()
    if active and neg.size:
        mueff_neg = neg.sum() ** 2 / (neg**2).sum()
        c1 = 2 / ((n + 1.3) ** 2 + mueff)  # (eq. 57)
        cmu = min(1 - c1, 2 * (mueff - 2 + 1 / mueff) / ((n + 2) ** 2 + mueff))  # (eq. 58)
        # μ = 1 (λ ≤ 3) gives μ_eff = 1 and c_μ = 0: no rank-μ update, so eqs. 50 and 52 impose
        # nothing (and would divide by zero)
        alpha_mu = 1 + c1 / cmu if cmu > 0 else math.inf  # (eq. 50)
        alpha_mueff = 1 + 2 * mueff_neg / (mueff + 2)  # (eq. 51)
        alpha_posdef = (1 - c1 - cmu) / (n * cmu) if cmu > 0 else math.inf  # (eq. 52)
        scale = min(alpha_mu, alpha_mueff, alpha_posdef)
        weights[mu:] = scale * neg / np.abs(neg).sum()  # (eq. 53)
    return weights, float(mueff)
