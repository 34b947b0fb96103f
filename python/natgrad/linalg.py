"""Natural-gradient solves with an assembled Fisher matrix."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.linalg import cho_factor, cho_solve

from . import _core
from ._validation import (
    FloatArray,
    as_damping,
    as_float_array,
    not_representable,
    symmetric,
    warn_if_inaccurate,
)

#: above this max|U| (2**500 ~ 3e150) the Gram matrix UᵀU could overflow: woodbury_solve rescales
_WOODBURY_SCALE_LIMIT = 2.0**500


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
        On shape mismatch, NaN/Inf, an asymmetric ``fisher``, negative damping, when the
        Cholesky factorisation fails (the message names the pivot and suggests damping), or when
        the solution is not representable in float64.

    Warns
    -----
    AccuracyWarning
        When the condition number of ``fisher + damping * I`` is at least
        (max diag + damping)/(min diag + damping) (a lower bound, from the diagonal) and that
        times ε exceeds 1e-6: the solution may then carry a relative error above 1e-6.
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
    diag = np.diag(f)
    lowest = float(diag.min()) + d
    if lowest > 0:  # else the factorisation below fails and names the pivot
        # Python floats: a huge ratio is inf (then warned about), not a NumPy overflow warning
        warn_if_inaccurate("natural_gradient: fisher + damping·I", (float(diag.max()) + d) / lowest)
    out = np.asarray(_core.damped_cholesky_solve(f, g.reshape(f.shape[0], -1), d))
    if not np.all(np.isfinite(out)):
        raise not_representable("natural_gradient", "rescale fisher or grad")
    return out.reshape(g.shape)


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

    Raises
    ------
    ValueError
        On bad input, when ``damping * I_N + UᵀU`` is not positive definite, or when the
        solution is not representable. Scores so large that UᵀU would overflow
        (max|U| > 2**500) are handled by an exact power-of-two rescaling of U and damping.
    """
    uu = as_float_array("u", u, ndim=2)
    g = as_float_array("grad", grad)
    if g.ndim not in (1, 2) or g.shape[0] != uu.shape[0]:
        raise ValueError(
            f"grad must have shape ({uu.shape[0]},) or ({uu.shape[0]}, k), got {g.shape}"
        )
    d = as_damping(damping, positive=True)
    rhs = g.reshape(uu.shape[0], -1)
    big = float(np.max(np.abs(uu), initial=0.0))
    if big > _WOODBURY_SCALE_LIMIT:
        out = _woodbury_rescaled(uu, rhs, d, big)
    else:
        out = np.asarray(_core.woodbury_solve(uu, rhs, d))
    if not np.all(np.isfinite(out)):
        raise not_representable("woodbury_solve", "rescale u, grad or damping")
    return out.reshape(g.shape)


def _woodbury_rescaled(u: FloatArray, rhs: FloatArray, damping: float, big: float) -> FloatArray:
    """Woodbury with U = s·Ũ, s a power of two near max|U| (exact scaling):
    x = (g − Ũ (d/s² I_N + ŨᵀŨ)⁻¹ Ũᵀ g) / d, where d/s² may underflow (then ŨᵀŨ must be
    positive definite by itself: the columns of U independent)."""
    s = 2.0 ** np.frexp(big)[1]
    ut = u / s
    dt = (damping / s) / s
    k = ut.T @ ut
    k[np.diag_indices_from(k)] += dt
    try:
        factor = cho_factor(k, lower=True)
    except np.linalg.LinAlgError as exc:
        raise ValueError(
            f"u: damping*I + U'U is not positive definite in float64: max|u| = {big:.3g} is so "
            f"large against damping = {damping!r} that damping/max|u|^2 underflows and the "
            "columns of u are linearly dependent; rescale u or increase damping"
        ) from exc
    y = cho_solve(factor, ut.T @ rhs)
    with np.errstate(over="ignore"):  # an overflow here is reported by woodbury_solve
        return np.asarray((rhs - ut @ y) / damping)
