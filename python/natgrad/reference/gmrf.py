"""Pure-NumPy twins of the Gaussian Markov random field kernels (natgrad.GaussianMRF, GMRF).

Indices are *positions* of a perfect elimination order (``natgrad.graphs.Elimination``):
position p holds vertex ``perm[p]``; its higher neighbours C_p = ``rows[colptr[p]:colptr[p+1]]``
form a clique; the pattern slot of (p, q ∈ C_p) is its index in ``rows``. Moments S on the
pattern are ``s_diag`` (n, S_pp) and ``s_off`` (|E|, S_pq by slot).

Maximum-entropy completion (Dempster's covariance selection; for a chordal pattern in closed
form, Vandenberghe & Andersen, "Chordal graphs and semidefinite optimization", Found. Trends
Optim. 1 (2015), §10.2): the unique K = Σ⁻¹, zero off the pattern, whose inverse matches S on the
pattern is K = L D⁻¹ Lᵀ, L unit lower triangular with column p equal to −b_p on C_p, where

    b_p = S_{C_p C_p}⁻¹ S_{C_p p},      d_p = S_pp − S_{p C_p} b_p.

Equivalently x_p = b_pᵀ x_{C_p} + √d_p z_p for p = n−1 … 0 with z standard normal: a sample of
N(0, K⁻¹) by back substitution, O(|E|) per sample.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._validation import FloatArray


def complete(s_diag: FloatArray, s_off: FloatArray, elim: Any) -> tuple[FloatArray, FloatArray]:
    """(b by slot, d by position) of the maximum-entropy completion of the moments S."""
    n = s_diag.size
    b = np.zeros(s_off.size)
    d = np.zeros(n)
    for p in range(n):
        lo, hi = elim.colptr[p], elim.colptr[p + 1]
        if hi == lo:
            d[p] = s_diag[p]
            continue
        _, block = elim.clique(p, s_diag, s_off)
        r = s_off[lo:hi]
        bp = np.linalg.solve(block, r)
        b[lo:hi] = bp
        d[p] = s_diag[p] - r @ bp
    if not np.all(d > 0):
        raise ValueError("the moments are not positive definite on a clique")
    return b, d


def factor(k_diag: FloatArray, k_off: FloatArray, elim: Any) -> tuple[FloatArray, FloatArray]:
    """(b by slot, d by position) with K = L D⁻¹ Lᵀ for the precision K on the pattern (k_diag by
    position, k_off by slot): the no-fill sparse LDLᵀ, pivot by pivot (``_core.gmrf_factor``)."""
    kd, ko = k_diag.astype(np.float64).copy(), k_off.astype(np.float64).copy()
    n = kd.size
    b, d = np.empty(ko.size), np.empty(n)
    for p in range(n):
        delta = kd[p]
        if not (delta > 0 and np.isfinite(delta)):
            raise ValueError(
                f"precision is not positive definite (pivot {delta!r} at vertex "
                f"{int(elim.perm[p])})"
            )
        lo, hi = elim.colptr[p], elim.colptr[p + 1]
        if hi > lo:
            ell = ko[lo:hi] / delta
            c = elim.rows[lo:hi]
            kd[c] -= delta * ell**2
            k = hi - lo
            if k > 1:
                a_idx, c_idx = np.triu_indices(k, 1)
                pairs = elim.pairs[elim.pair_ptr[p] : elim.pair_ptr[p + 1]]
                ko[pairs] -= delta * ell[a_idx] * ell[c_idx]
            b[lo:hi] = -ell
        d[p] = 1.0 / delta
    return b, d


def solve(b: FloatArray, d: FloatArray, h: FloatArray, elim: Any) -> FloatArray:
    """K⁻¹ h for K = L D⁻¹ Lᵀ, h and the result by position (``_core.gmrf_solve``)."""
    n = d.size
    u = h.astype(np.float64).copy()
    for p in range(n):  # L u = h: column p of L is −b_p on C_p
        lo, hi = elim.colptr[p], elim.colptr[p + 1]
        if hi > lo:
            u[elim.rows[lo:hi]] += b[lo:hi] * u[p]
    v = d * u
    y = np.empty(n)
    for p in range(n - 1, -1, -1):  # Lᵀ y = v
        lo, hi = elim.colptr[p], elim.colptr[p + 1]
        y[p] = v[p] + (b[lo:hi] @ y[elim.rows[lo:hi]] if hi > lo else 0.0)
    return y


def precision_off(b: FloatArray, d: FloatArray, elim: Any) -> FloatArray:
    """K_qp on the slots of K = L D⁻¹ Lᵀ (``_core.gmrf_precision_off``)."""
    n = d.size
    cols = np.repeat(np.arange(n), np.diff(elim.colptr))
    ko = -b / d[cols]
    # K_qp for q in C_p: −b_{p,q}/d_p plus Σ_{r: p,q ∈ C_r} b_{r,p} b_{r,q}/d_r
    for r in range(n):
        lo, hi = elim.colptr[r], elim.colptr[r + 1]
        k = hi - lo
        if k > 1:
            br = b[lo:hi]
            a_idx, c_idx = np.triu_indices(k, 1)
            slots = elim.pairs[elim.pair_ptr[r] : elim.pair_ptr[r + 1]]
            ko[slots] += br[a_idx] * br[c_idx] / d[r]
    return ko


def pattern_covariance(b: FloatArray, d: FloatArray, elim: Any) -> tuple[FloatArray, FloatArray]:
    """Σ = K⁻¹ on the pattern, (diagonal by position, off by slot), by Takahashi's recursion
    (``_core.gmrf_pattern_covariance``; the inverse of :func:`complete`)."""
    n = d.size
    sd, so = np.zeros(n), np.zeros(b.size)
    for p in range(n - 1, -1, -1):
        lo, hi = elim.colptr[p], elim.colptr[p + 1]
        if hi == lo:
            sd[p] = d[p]
            continue
        _, block = elim.clique(p, sd, so)
        s_cp = block @ b[lo:hi]
        so[lo:hi] = s_cp
        sd[p] = d[p] + b[lo:hi] @ s_cp
    return sd, so


def precision(b: FloatArray, d: FloatArray, elim: Any) -> FloatArray:
    """Dense K = L D⁻¹ Lᵀ in vertex order (small n only)."""
    n = d.size
    L = np.eye(n)
    for p in range(n):
        lo, hi = elim.colptr[p], elim.colptr[p + 1]
        L[elim.rows[lo:hi], p] = -b[lo:hi]
    Kp = L @ np.diag(1 / d) @ L.T
    K = np.empty_like(Kp)
    perm = elim.perm
    K[np.ix_(perm, perm)] = Kp
    return K


def whiten_positions(Y: FloatArray, b: FloatArray, d: FloatArray, elim: Any) -> FloatArray:
    """z = D^{-1/2} Lᵀ y for rows y of Y (position order): the inverse of :func:`color`."""
    Z = Y.copy()
    for p in range(d.size):
        lo, hi = elim.colptr[p], elim.colptr[p + 1]
        Z[:, p] = (Y[:, p] - Y[:, elim.rows[lo:hi]] @ b[lo:hi]) / math.sqrt(d[p])
    return Z


def color(Z: FloatArray, b: FloatArray, d: FloatArray, elim: Any) -> FloatArray:
    """Y with rows y = L⁻ᵀ D^{1/2} z (position order), by back substitution from p = n − 1."""
    n = d.size
    Y = np.zeros_like(Z)
    for p in range(n - 1, -1, -1):
        lo, hi = elim.colptr[p], elim.colptr[p + 1]
        Y[:, p] = math.sqrt(d[p]) * Z[:, p] + Y[:, elim.rows[lo:hi]] @ b[lo:hi]
    return Y


def sample(
    mean: FloatArray, sigma: float, b: FloatArray, d: FloatArray, noise: FloatArray, elim: Any
) -> FloatArray:
    """x_k = m + σ P L⁻ᵀ D^{1/2} z_k: column p of ``noise`` drives position p (vertex perm[p])."""
    Y = color(noise, b, d, elim)
    X = np.empty_like(Y)
    X[:, elim.perm] = Y
    return mean + sigma * X


def pattern_moments(
    Yp: FloatArray, weights: FloatArray, elim: Any
) -> tuple[FloatArray, FloatArray]:
    """Σ_k w_k y_k y_kᵀ restricted to the pattern: (diagonal by position, off-diagonal by slot)."""
    diag = weights @ (Yp * Yp)
    cols = np.repeat(np.arange(Yp.shape[1]), np.diff(elim.colptr))
    off = weights @ (Yp[:, cols] * Yp[:, elim.rows])
    return diag, off


def gmrf_update(
    mean: FloatArray,
    sigma: float,
    s_diag: FloatArray,
    s_off: FloatArray,
    p_sigma: FloatArray,
    p_c: FloatArray,
    noise: FloatArray,
    X: FloatArray,
    values: FloatArray,
    generation: int,
    params: Any,
    elim: Any,
) -> tuple[Any, ...]:
    """One GMRF generation (natgrad.optim.gmrf): the twin of ``_core.gmrf_update``.

    Returns (mean, sigma, s_diag, s_off, p_sigma, p_c, b, d, h_sigma).
    """
    n = mean.size
    order = np.argsort(values, kind="stable")
    w = np.zeros(values.size)
    w[order] = params.weights
    Y = (X - mean) / sigma  # vertex order
    y_w = w @ Y
    z_w = w @ noise
    new_mean = mean + sigma * y_w
    cs = params.c_sigma
    ps = (1 - cs) * p_sigma + math.sqrt(cs * (2 - cs) * params.mueff) * z_w
    norm_ps = float(np.linalg.norm(ps))
    h_sigma = (
        norm_ps / math.sqrt(1 - (1 - cs) ** (2 * (generation + 1)))
        < (1.4 + 2 / (n + 1)) * params.chi_n
    )
    cc = params.c_c
    pc = (1 - cc) * p_c + (math.sqrt(cc * (2 - cc) * params.mueff) if h_sigma else 0.0) * y_w
    delta = 0.0 if h_sigma else cc * (2 - cc)
    keep = 1 - params.c1 - params.cmu + params.c1 * delta
    Yp = Y[:, elim.perm]
    mu_diag, mu_off = pattern_moments(Yp, w, elim)
    pcp = pc[elim.perm]
    one_diag, one_off = pattern_moments(pcp[None, :], np.ones(1), elim)
    new_diag = keep * s_diag + params.c1 * one_diag + params.cmu * mu_diag
    new_off = keep * s_off + params.c1 * one_off + params.cmu * mu_off
    new_sigma = sigma * math.exp((cs / params.d_sigma) * (norm_ps / params.chi_n - 1))
    b, d = complete(new_diag, new_off, elim)
    return new_mean, new_sigma, new_diag, new_off, ps, pc, b, d, h_sigma
