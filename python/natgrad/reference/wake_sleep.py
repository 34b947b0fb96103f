"""Pure-NumPy twins of the per-unit Fisher block kernels (cpp/src/wake_sleep.cpp).

One unit at a time, written for clarity: block j is ``(1/N) Σ_n w_nj h̃_n h̃_nᵀ`` with
h̃ = (h, 1); the dense path factors ``F_j + damping·I``, the Woodbury path
``K_j = damping·I_N + U_jᵀ U_j`` with ``U_j = H̃ᵀ diag(sqrt(w_j / N))``. Factors are stored as
the kernels store them: row j of a (J, q²) array is unit j's q × q lower factor, row-major.
"""

from __future__ import annotations

import numpy as np

from .linalg import damped_cholesky_solve, woodbury_solve


def _augmented(inputs: np.ndarray) -> np.ndarray:
    return np.hstack([inputs, np.ones((inputs.shape[0], 1))])


def _scores(inputs: np.ndarray, weights: np.ndarray, j: int) -> np.ndarray:
    """U_j = H̃ᵀ diag(sqrt(w_j / N)), (d + 1) × N: F_j = U_j U_jᵀ."""
    return _augmented(inputs).T * np.sqrt(weights[:, j] / inputs.shape[0])


def fisher_blocks_factor(inputs: np.ndarray, weights: np.ndarray, damping: float) -> np.ndarray:
    J, q = weights.shape[1], inputs.shape[1] + 1
    out = np.empty((J, q * q))
    for j in range(J):
        u = _scores(inputs, weights, j)
        out[j] = np.linalg.cholesky(u @ u.T + damping * np.eye(q)).ravel()
    return out


def fisher_blocks_solve(factors: np.ndarray, grads: np.ndarray) -> np.ndarray:
    J, q = grads.shape
    out = np.empty((J, q))
    for j in range(J):
        chol = factors[j].reshape(q, q)
        out[j] = np.linalg.solve(chol.T, np.linalg.solve(chol, grads[j]))
    return out


def fisher_blocks_inverse(factors: np.ndarray) -> np.ndarray:
    J, q2 = factors.shape
    q = int(round(q2**0.5))
    out = np.empty((J, q2))
    for j in range(J):
        inv = np.linalg.inv(factors[j].reshape(q, q))  # L⁻¹
        out[j] = (inv.T @ inv).ravel()
    return out


def fisher_blocks_woodbury_factor(
    inputs: np.ndarray, weights: np.ndarray, damping: float
) -> np.ndarray:
    N, J = weights.shape
    out = np.empty((J, N * N))
    for j in range(J):
        u = _scores(inputs, weights, j)
        out[j] = np.linalg.cholesky(damping * np.eye(N) + u.T @ u).ravel()
    return out


def fisher_blocks_woodbury_solve(
    inputs: np.ndarray,
    weights: np.ndarray,
    factors: np.ndarray,
    grads: np.ndarray,
    damping: float,
) -> np.ndarray:
    N = inputs.shape[0]
    out = np.empty_like(grads)
    for j in range(grads.shape[0]):
        u = _scores(inputs, weights, j)
        chol = factors[j].reshape(N, N)
        y = np.linalg.solve(chol.T, np.linalg.solve(chol, u.T @ grads[j]))
        out[j] = (grads[j] - u @ y) / damping
    return out


def natural_rows(
    inputs: np.ndarray,
    weights: np.ndarray,
    grads: np.ndarray,
    damping: float,
    *,
    woodbury: bool = False,
) -> np.ndarray:
    """(F_j + damping·I)⁻¹ g_j per unit through the foundation's single-matrix solves
    (reference.linalg): a route independent of the factor/solve split above."""
    out = np.empty_like(grads)
    for j in range(grads.shape[0]):
        u = _scores(inputs, weights, j)
        if woodbury:
            out[j] = woodbury_solve(u, grads[j], damping)
        else:
            out[j] = damped_cholesky_solve(u @ u.T, grads[j], damping)
    return out
