"""Pure-NumPy twins of the Monte Carlo estimation kernels (cpp/src/estimation.cpp).

Written for clarity, by the most direct route: the N x m statistics matrix, dense Fisher matrices
from Isserlis' theorem and dense solves. They serve as independent routes in the tests.
"""

from __future__ import annotations

import numpy as np

from ..packing import pack, packed_size, pair_indices, unpack


def sufficient_stats(X: np.ndarray) -> np.ndarray:
    """T(x) for every row of X: (N, m) with columns [x_i | x_i^2 | 2 x_i x_j (i<j)]."""
    iu, ju = pair_indices(X.shape[1])
    return np.hstack([X, X**2, 2.0 * X[:, iu] * X[:, ju]])


def cov_f_stats(X: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Sample covariance Cov^(f, T) with divisor N - 1."""
    S = sufficient_stats(X)
    return (S - S.mean(axis=0)).T @ (f - f.mean()) / (len(f) - 1)


def empirical_fisher(X: np.ndarray) -> np.ndarray:
    """Sample covariance Cov^(T, T) with divisor N - 1."""
    return np.atleast_2d(np.cov(sufficient_stats(X), rowvar=False, ddof=1))


def natural_gradient_theta_empirical(X: np.ndarray, f: np.ndarray, damping: float) -> np.ndarray:
    """(Cov^(T,T) + damping I)^{-1} Cov^(f, T) by a dense solve."""
    F = empirical_fisher(X)
    return np.linalg.solve(F + damping * np.eye(len(F)), cov_f_stats(X, f))


def fisher_theta(mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Exact I_theta = Cov(T, T) under N(mean, cov) by Isserlis' theorem (MATH.md)."""
    n = len(mean)
    iu, ju = pair_indices(n)
    # index pairs (a, b) and scale s of each statistic: T_k = s * x_a x_b, or x_a alone
    lin = np.arange(n)
    a = np.concatenate([lin, lin, iu])
    b = np.concatenate([lin, lin, ju])
    s = np.concatenate([np.ones(n), np.ones(n), 2.0 * np.ones(len(iu))])
    m = packed_size(n)
    F = np.empty((m, m))
    mu, S = mean, cov
    for k in range(m):
        for q in range(m):
            if k < n and q < n:
                v = S[k, q]
            elif k < n:
                i, j = a[q], b[q]
                v = s[q] * (mu[i] * S[k, j] + mu[j] * S[k, i])
            elif q < n:
                i, j = a[k], b[k]
                v = s[k] * (mu[i] * S[q, j] + mu[j] * S[q, i])
            else:
                i, j, p, r = a[k], b[k], a[q], b[q]
                v = (
                    s[k]
                    * s[q]
                    * (
                        S[i, p] * S[j, r]
                        + S[i, r] * S[j, p]
                        + mu[i] * mu[p] * S[j, r]
                        + mu[i] * mu[r] * S[j, p]
                        + mu[j] * mu[p] * S[i, r]
                        + mu[j] * mu[r] * S[i, p]
                    )
                )
            F[k, q] = v
    return F


def natural_gradient_theta_exact(
    X: np.ndarray, f: np.ndarray, mean: np.ndarray, cov: np.ndarray
) -> np.ndarray:
    """I_eta Cov^(f, T) = I_theta^{-1} Cov^(f, T) with the dense Isserlis Fisher (errata #17)."""
    return np.linalg.solve(fisher_theta(mean, cov), cov_f_stats(X, f))


def natural_gradient_mean_cov(X: np.ndarray, f: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """(Cov^(f, x), Cov^(f, (x - mean)(x - mean)^T)) packed with off-diagonal scale 1."""
    fc = (f - f.mean()) / (len(f) - 1)
    Y = X - mean
    return pack(Y.T @ fc, np.einsum("s,si,sj->ij", fc, Y, Y))


def tangent_mean_cov_to_theta(mean: np.ndarray, cov: np.ndarray, dxi: np.ndarray) -> np.ndarray:
    """Push-forward of a (mu, Sigma) tangent vector to theta = (Sigma^-1 mu, -1/2 Sigma^-1)."""
    P = np.linalg.inv(cov)
    dmu, dS = unpack(dxi)
    dP = -P @ dS @ P
    return pack(P @ dmu + dP @ mean, -0.5 * dP)


def tangent_theta_to_mean_cov(mean: np.ndarray, cov: np.ndarray, dtheta: np.ndarray) -> np.ndarray:
    """Inverse of :func:`tangent_mean_cov_to_theta`."""
    P = np.linalg.inv(cov)
    dt, dTheta = unpack(dtheta)
    dS = 2.0 * cov @ dTheta @ cov
    return pack(np.linalg.solve(P, dt - (-2.0 * dTheta) @ mean), dS)


def binary_cov_f_x(X: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Cov^(f, x) with divisor N - 1."""
    return (X - X.mean(axis=0)).T @ (f - f.mean()) / (len(f) - 1)


def binary_fisher_theta(theta: np.ndarray) -> np.ndarray:
    """1 - tanh^2 theta written as 1 / cosh^2 theta (no cancellation either)."""
    return 1.0 / np.cosh(theta) ** 2


def binary_natural_gradient(X: np.ndarray, f: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Cov^(f, x) / (1 - eta^2) = grad_eta F estimate."""
    return binary_cov_f_x(X, f) / binary_fisher_theta(theta)
