"""Pure-NumPy twins of the search-distribution kernels (IGO-CMA, xNES, SNES), written for clarity.

O(n³) per generation is fine here: the covariance update goes through the n×n matrix
M = aI + U B Uᵀ and ``scipy.linalg.sqrtm``, the xNES update through ``scipy.linalg.expm`` of the
n×n G_B. The compiled core must agree with these to rounding.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg


def sample_full(
    mean: np.ndarray, sigma: float, factor: np.ndarray, noise: np.ndarray
) -> np.ndarray:
    """x_k = m + σ A z_k for each row z_k of ``noise``."""
    return mean + sigma * noise @ factor.T


def sample_diagonal(
    mean: np.ndarray, sigma: float, scales: np.ndarray, noise: np.ndarray
) -> np.ndarray:
    """x_k = m + σ scales ⊙ z_k."""
    return mean + sigma * scales * noise


def _order(values: np.ndarray) -> np.ndarray:
    return np.argsort(values, kind="stable")


def igo_cma_update(
    mean: np.ndarray,
    sigma: float,
    factor: np.ndarray,
    p_sigma: np.ndarray,
    p_c_z: np.ndarray,
    noise: np.ndarray,
    samples: np.ndarray,
    values: np.ndarray,
    generation: int,
    params: Any,
) -> tuple[np.ndarray, float, np.ndarray, np.ndarray, np.ndarray, bool]:
    """One IGO-CMA generation (Hansen 2016 eqs. 41–47) with the symmetric root G = M^{1/2}.

    ``params`` is an ``IGOCMAParameters`` record (weights by rank, c_sigma, d_sigma, c_c, c1,
    cmu, mueff, chi_n), read by name as the compiled kernel reads it. Returns (mean, sigma,
    factor, p_sigma, p_c_z, h_sigma).
    """
    weights, c_sigma, d_sigma, c_c = params.weights, params.c_sigma, params.d_sigma, params.c_c
    c1, cmu, mueff, chi_n = params.c1, params.cmu, params.mueff, params.chi_n
    n = mean.size
    order = _order(values)
    z = noise[order]
    y = (samples[order] - mean) / sigma
    pos = weights > 0
    y_w = weights[pos] @ y[pos]
    z_w = weights[pos] @ z[pos]
    new_mean = mean + sigma * y_w
    new_ps = (1 - c_sigma) * p_sigma + np.sqrt(c_sigma * (2 - c_sigma) * mueff) * z_w
    new_sigma = sigma * np.exp(c_sigma / d_sigma * (np.linalg.norm(new_ps) / chi_n - 1))
    corr = np.sqrt(1 - (1 - c_sigma) ** (2 * (generation + 1)))
    h_sigma = bool(np.linalg.norm(new_ps) / corr < (1.4 + 2 / (n + 1)) * chi_n)
    h = 1.0 if h_sigma else 0.0
    pcz = (1 - c_c) * p_c_z + h * np.sqrt(c_c * (2 - c_c) * mueff) * z_w
    a = 1 + c1 * (1 - h) * c_c * (2 - c_c) - c1 - cmu * weights.sum()
    a = 0.0 if abs(a) < 1e-12 else a  # exactly 0 once c_mu = 1 - c1 (large λ, small n)
    wcirc = np.where(weights < 0, weights * n / np.sum(z**2, axis=1), weights)
    keep = weights != 0
    zk = z[keep]
    beta = cmu * wcirc[keep]
    # M = aI + Σ β_k z_k z_kᵀ + c1 p_c_z p_c_zᵀ, so that C' = A M Aᵀ (eq. 47), and A' = A G for a
    # root G Gᵀ = M: the lower Cholesky factor when n <= K (K = number of rank-one terms), else
    # the symmetric root M^{1/2}. Negative β are halved until M is safely positive definite.
    small_n = n <= zk.shape[0] + 1
    while True:
        M = a * np.eye(n) + (zk.T * beta) @ zk + c1 * np.outer(pcz, pcz)
        if small_n:
            try:
                G = np.linalg.cholesky(M)
            except np.linalg.LinAlgError:
                G = None
            floor = 1e-8 * max(a, 1e-8 * np.max(np.diag(M)))
            if G is not None and np.min(np.diag(G) ** 2) > floor:
                break
        elif np.linalg.eigvalsh(M).min() > 1e-8 * a:
            G = np.real(scipy.linalg.sqrtm(M))
            break
        beta = np.where(beta < 0, 0.5 * beta, beta)
    new_factor = factor @ G
    new_pcz = np.linalg.solve(G, pcz)
    return new_mean, float(new_sigma), new_factor, new_ps, new_pcz, h_sigma


def cma_covariance_update(
    cov: np.ndarray,
    y: np.ndarray,
    z: np.ndarray,
    weights: np.ndarray,
    p_c: np.ndarray,
    h_sigma: bool,
    c_c: float,
    c1: float,
    cmu: float,
) -> np.ndarray:
    """C' = a C + c1 p_c p_cᵀ + c_μ Σ w°_i y_i y_iᵀ (Hansen 2016, eqs. 46–47), rows by rank."""
    n = cov.shape[0]
    h = 1.0 if h_sigma else 0.0
    a = 1 + c1 * (1 - h) * c_c * (2 - c_c) - c1 - cmu * weights.sum()
    a = 0.0 if abs(a) < 1e-12 else a  # exactly 0 once c_mu = 1 - c1 (large λ, small n)
    wcirc = np.where(weights < 0, weights * n / np.sum(z**2, axis=1), weights)
    return a * cov + c1 * np.outer(p_c, p_c) + cmu * (y.T * wcirc) @ y


def xnes_update(
    mean: np.ndarray,
    sigma: float,
    factor: np.ndarray,
    p_sigma: np.ndarray,
    noise: np.ndarray,
    samples: np.ndarray,
    values: np.ndarray,
    params: Any,
) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """One xNES generation (Glasmachers et al. 2010, Alg. 1) with a dense n×n expm.

    ``params`` is an ``XNESParameters`` record, read by name.
    """
    utilities, recombination = params.utilities, params.recombination
    eta_mu, eta_sigma, eta_b, csa = params.eta_mu, params.eta_sigma, params.eta_b, params.csa
    c_sigma, d_sigma, mueff, chi_n = params.c_sigma, params.d_sigma, params.mueff, params.chi_n
    n = mean.size
    order = _order(values)
    z = noise[order]
    grad_delta = utilities @ z
    G_M = (z.T * utilities) @ z - utilities.sum() * np.eye(n)
    G_sigma = np.trace(G_M) / n
    G_B = G_M - G_sigma * np.eye(n)
    new_mean = mean + eta_mu * sigma * factor @ grad_delta
    if csa:
        new_ps = (1 - c_sigma) * p_sigma + np.sqrt(c_sigma * (2 - c_sigma) * mueff) * (
            recombination @ z
        )
        new_sigma = sigma * np.exp(c_sigma / d_sigma * (np.linalg.norm(new_ps) / chi_n - 1))
    else:
        new_ps = p_sigma.copy()
        new_sigma = sigma * np.exp(0.5 * eta_sigma * G_sigma)
    new_factor = factor @ scipy.linalg.expm(0.5 * eta_b * G_B)
    return new_mean, float(new_sigma), new_factor, new_ps


def snes_update(
    mean: np.ndarray,
    sigma: float,
    scales: np.ndarray,
    noise: np.ndarray,
    values: np.ndarray,
    params: Any,
) -> tuple[np.ndarray, float, np.ndarray]:
    """One SNES generation (Schaul et al. 2011, Alg. 1); returns (mean, sigma, scales) with
    the geometric mean of ``scales`` normalised to 1. ``params``: an ``SNESParameters`` record."""
    utilities, eta_mu, eta_sigma = params.utilities, params.eta_mu, params.eta_sigma
    z = noise[_order(values)]
    s = sigma * scales
    new_mean = mean + eta_mu * s * (utilities @ z)
    new_s = s * np.exp(0.5 * eta_sigma * (utilities @ (z**2 - 1)))
    gm = np.exp(np.mean(np.log(new_s)))
    return new_mean, float(gm), new_s / gm
