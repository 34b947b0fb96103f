"""The one formula for the Fisher information of the ±1 independence model (seed 003's toy model),
shared by :class:`natgrad.BinaryIndependence`, :func:`natgrad.estimation.binary_fisher` and the
binary optimiser."""

from __future__ import annotations

import numpy as np

from . import _core
from ._validation import FloatArray


def fisher_natural(theta: FloatArray) -> FloatArray:
    """I_θ = Var X_i = 1 − tanh²θ_i = 4μ_i(1 − μ_i) elementwise, for a 1-D float64 ``theta``.

    Computed (compiled core) as 4e/(1 + e)² with e = exp(−2|θ|): exact to rounding at any θ, where
    1 − tanh²θ from a rounded tanh loses every digit for |θ| ≳ 10 (SEED_ERRATA §7). It underflows
    to 0 for |θ| ≳ 355. ``theta`` must already be validated (finite, C-contiguous float64).
    """
    return np.asarray(_core.binary_fisher_theta(np.ascontiguousarray(theta, dtype=np.float64)))
