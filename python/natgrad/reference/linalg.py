"""Pure-NumPy twins of the compiled dense solves (cpp/src/linalg.cpp)."""

from __future__ import annotations

import numpy as np


def damped_cholesky_solve(fisher: np.ndarray, rhs: np.ndarray, damping: float) -> np.ndarray:
    """(F + damping·I)⁻¹ rhs through LAPACK's Cholesky (numpy.linalg.cholesky) and two solves."""
    chol = np.linalg.cholesky(fisher + damping * np.eye(len(fisher)))
    return np.linalg.solve(chol.T, np.linalg.solve(chol, rhs))


def woodbury_solve(u: np.ndarray, rhs: np.ndarray, damping: float) -> np.ndarray:
    """(damping·I + U Uᵀ)⁻¹ rhs = (rhs − U (damping·I_N + UᵀU)⁻¹ Uᵀ rhs) / damping."""
    small = damping * np.eye(u.shape[1]) + u.T @ u
    return (rhs - u @ np.linalg.solve(small, u.T @ rhs)) / damping
