"""Pure-NumPy twin of the restricted-covariance NES kernels (CR-FM-NES and its diagonal case).

Written per sample, as the update reads in Nomura & Ono (CEC 2022, arXiv:2201.11422, Alg. 1):
the matrices t and s of the (v, D) natural gradient are formed column by column (one column per
sample plus the rank-one column p_c / D) and only then weighted, whereas the compiled kernel
accumulates the weighted sums in one pass. The two must agree to rounding.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def mirrored(noise: np.ndarray) -> np.ndarray:
    """z_k = noise_k, z_{h+k} = −noise_k for k < h = ⌊λ/2⌋; the last row of an odd λ as drawn."""
    lam = noise.shape[0]
    h = lam // 2
    z = noise.copy()
    z[h : 2 * h] = -noise[:h]
    return z


def lowrank_nes_sample(
    mean: np.ndarray,
    sigma: float,
    scales: np.ndarray,
    v: np.ndarray,
    noise: np.ndarray,
    rank: int,
) -> np.ndarray:
    """x_k = m + σ D (I + v vᵀ)^{1/2} z_k, with (I + v vᵀ)^{1/2} = I + (√(1+|v|²) − 1) v̄ v̄ᵀ."""
    z = mirrored(noise)
    if rank == 0:
        return mean + sigma * scales * z
    normv2 = float(v @ v)
    vbar = v / np.sqrt(normv2)
    y = z + (np.sqrt(1 + normv2) - 1) * np.outer(z @ vbar, vbar)
    return mean + sigma * scales * y


def lowrank_nes_update(
    mean: np.ndarray,
    sigma: float,
    scales: np.ndarray,
    v: np.ndarray,
    p_sigma: np.ndarray,
    p_c: np.ndarray,
    noise: np.ndarray,
    values: np.ndarray,
    params: Any,
) -> tuple[np.ndarray, float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One generation; returns (mean, sigma, scales, v, p_sigma, p_c).

    ``params`` is a ``LowRankNESParameters`` record, read by name as the compiled kernel reads it.
    """
    p = params
    n = mean.size
    lam = noise.shape[0]
    order = np.argsort(values, kind="stable")
    z = mirrored(noise)[order].T  # n x λ, columns best first
    if p.rank == 1:
        normv2 = float(v @ v)
        normv = np.sqrt(normv2)
        vbar = (v / normv)[:, None]
        y = z + (np.sqrt(1 + normv2) - 1) * vbar @ (vbar.T @ z)
    else:
        y = z
    ps = (1 - p.c_s) * p_sigma + np.sqrt(p.c_s * (2 - p.c_s) * p.mueff) * (z @ p.w_rank)
    ps_norm = np.linalg.norm(ps)
    norms = np.linalg.norm(z, axis=0)
    w_tmp = p.w_rank_hat * np.exp(p.alpha_dist * norms)
    w_dist = w_tmp / w_tmp.sum() - 1 / lam
    moving = ps_norm >= p.chi_n
    weights = w_dist if moving else p.w_rank
    if moving:
        eta_sigma = p.eta_move_sigma
    elif ps_norm >= 0.1 * p.chi_n:
        eta_sigma = p.eta_stag_sigma
    else:
        eta_sigma = p.eta_conv_sigma
    D = scales[:, None]
    wxm = sigma * (D * y) @ weights
    pc = (1 - p.c_c) * p_c + np.sqrt(p.c_c * (2 - p.c_c) * p.mueff) * wxm / sigma
    new_mean = mean + p.eta_m * wxm
    ex_y = np.hstack([y, (pc / scales)[:, None]])  # n x (λ+1)
    exw = np.append(p.eta_b * weights, p.c1)
    if p.rank == 1:
        normv4 = normv2**2
        gamma = 1 + normv2
        vbb = vbar * vbar
        yy = ex_y * ex_y
        ip = vbar.T @ ex_y
        yvbar = ex_y * vbar
        alpha = min(1.0, np.sqrt(normv4 + (2 * gamma - np.sqrt(gamma)) / vbb.max()) / (2 + normv2))
        t = ex_y * ip - vbar * (ip**2 + gamma) / 2
        b = -(1 - alpha**2) * normv4 / gamma + 2 * alpha**2
        inv_h = 1 / (2 - (b + 2 * alpha**2) * vbb)
        s1 = yy - normv2 / gamma * (yvbar * ip) - 1
        s2 = s1 - alpha / gamma * ((2 + normv2) * (t * vbar) - normv2 * vbb @ (vbar.T @ t))
        q = inv_h * vbb
        s = s2 * inv_h - b / (1 + b * (vbb.T @ q)) * q @ (q.T @ s2)
        t = t - alpha * ((2 + normv2) * (s * vbar) - vbar @ (vbb.T @ s))
        new_v = v + (t @ exw) / normv
    else:
        s = (ex_y * ex_y - 1) / 2
        new_v = v.copy()
    new_scales = scales + (s @ exw) * scales
    log_det = np.mean(np.log(new_scales))
    if p.rank == 1:
        log_det += np.log(1 + new_v @ new_v) / (2 * n)
    new_scales = new_scales / np.exp(log_det)
    g_sigma = np.sum((z * z - 1) @ weights) / n
    new_sigma = sigma * np.exp(eta_sigma / 2 * g_sigma)
    return new_mean, float(new_sigma), new_scales, new_v, ps, pc
