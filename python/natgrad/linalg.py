"""Natural-gradient solves with an assembled Fisher matrix."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from . import _core
from ._validation import FloatArray, as_damping, as_float_array, symmetric


def natural_gradient(fisher: ArrayLike, grad: ArrayLike, damping: float = 0.0) -> FloatArray:
    """Solve ``(fisher + damping * I) x = grad`` by a Cholesky factorisation.

    Parameters
    ----------
    fisher : (m, m) array_like
        Symmetric positive-(semi)definite Fisher information matrix, m >= 1. An asymmetry up to
        ``SYMMETRY_RTOL = 1e-10`` times ``max|fisher|`` (rounding noise of an assembled matrix)
        is removed by symmetrising; a larger one raises ValueError.
    grad : (m,) or (m, k) array_like
        Ordinary gradient(s) in the same coordinates.
    damping : float, default 0
        Tikhonov damping added to the diagonal; use it when ``fisher`` is singular or
        ill-conditioned (an empirical Fisher from fewer samples than coordinates).

    Returns
    -------
    ndarray
        The natural gradient, with the shape of ``grad``.

    Raises
    ------
    ValueError
        On shape mismatch, NaN/Inf, an asymmetric ``fisher``, negative damping, or when the
        Cholesky factorisation fails (the message names the pivot and suggests damping).
    """
    f = as_float_array("fisher", fisher, ndim=2)
    if f.shape[0] != f.shape[1] or f.shape[0] < 1:
        raise ValueError(f"fisher must be square and at least 1 x 1, got shape {f.shape}")
    f = symmetric("fisher", f)
    g = as_float_array("grad", grad)
    if g.ndim not in (1, 2) or g.shape[0] != f.shape[0]:
        raise ValueError(
            f"grad must have shape ({f.shape[0]},) or ({f.shape[0]}, k), got {g.shape}"
        )
    d = as_damping(damping)
    out = _core.damped_cholesky_solve(f, g.reshape(f.shape[0], -1), d)
    return np.asarray(out).reshape(g.shape)


def woodbury_solve(u: ArrayLike, grad: ArrayLike, damping: float) -> FloatArray:
    """Solve ``(damping * I + U U^T) x = grad`` by the Woodbury identity in O(N² m).

    For an empirical Fisher from N score vectors (the columns of U) in m coordinates, N < m:
    only the N × N matrix ``damping * I_N + U^T U`` is factorised (Cholesky), so the m × m
    matrix is never formed:
    ``x = (grad - U (damping I_N + U^T U)^{-1} U^T grad) / damping``.

    Parameters
    ----------
    u : (m, N) array_like
        Columns are the (scaled) score vectors; F = U U^T (divide by sqrt(N) for a mean).
    grad : (m,) or (m, k) array_like
        Right-hand side(s).
    damping : float
        Must be > 0 (without it U U^T is singular when N < m).

    Returns
    -------
    ndarray
        The solution, with the shape of ``grad``.
    """
    uu = as_float_array("u", u, ndim=2)
    g = as_float_array("grad", grad)
    if g.ndim not in (1, 2) or g.shape[0] != uu.shape[0]:
        raise ValueError(
            f"grad must have shape ({uu.shape[0]},) or ({uu.shape[0]}, k), got {g.shape}"
        )
    d = as_damping(damping, positive=True)
    out = _core.woodbury_solve(uu, g.reshape(uu.shape[0], -1), d)
    return np.asarray(out).reshape(g.shape)
