"""SNES: separable natural evolution strategies, diagonal covariance, O(λn) per generation.

Schaul, Glasmachers & Schmidhuber, "High dimensions and heavy tails for natural evolution
strategies", GECCO 2011, Algorithm 1 (also Wierstra et al., JMLR 15 (2014), Algorithm 6). With
x_k = μ + s ⊙ z_k and zero-sum rank utilities u_k:

    ∇_μ J = Σ u_k z_k,   ∇_s J = Σ u_k (z_k² − 1),
    μ ← μ + η_μ s ⊙ ∇_μ J,   s ← s ⊙ exp(η_σ/2 · ∇_s J),

with η_μ = 1 and η_σ = (3 + ln n)/(5√n). natgrad stores s = σ·scales with the geometric mean of
``scales`` equal to 1, so ``sigma`` reports the overall step size; the distribution is the same.
Memory O(n), so n = 10⁵ and beyond is routine. Not rotation invariant (diagonal model).

Limitation: non-separable valleys. On the 10-D Rosenbrock function (x0 = 0, σ0 = 0.5) SNES with
the paper's rates does not reach 1e-8. The update was checked against Algorithm 1 step by step;
the stall is a property of the diagonal model: the valley x_{i+1} ≈ x_i² is curved and not
aligned with the axes, and the rank-based variance step with η_σ = (3 + ln n)/(5√n) ≈ 0.4
shrinks the variance of some coordinates by 10³–10⁶ relative to others, until the run stops with
``"condition"`` near f ≈ 0.2–1.5 after about 10⁵ evaluations (seeds 0–2). A smaller η_σ (0.1)
avoids the collapse but progress stays slow (f ≈ 2e-4 after 2·10⁵ evaluations); a larger
population alone (λ = 40) does not help either (f ≈ 0.05). Use a full-covariance method
(``"igo-cma"``, ``"xnes"``) for non-separable problems.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np

from .. import _core
from .._validation import FloatArray
from . import _common
from .strategy import Strategy
from .utilities import nes_utilities


class SNESState(NamedTuple):
    """State of SNES after ``generation`` generations (immutable).

    Attributes
    ----------
    mean : ndarray (n,)
        Mean μ.
    sigma : float
        Overall step size (geometric mean of the per-coordinate standard deviations).
    scales : ndarray (n,)
        Per-coordinate scales with geometric mean 1: the standard deviations are sigma * scales.
    generation : int
        Completed generations.
    margin_scale : ndarray (n,)
        Diagonal A of CMA-ES with margin's encoding of integer coordinates (1 elsewhere, and
        everywhere in a run without ``integers``; see :mod:`natgrad.optim.integers`).
    """

    mean: FloatArray
    sigma: float
    scales: FloatArray
    generation: int
    margin_scale: FloatArray


class SNESParameters(NamedTuple):
    """Constants of one (n, λ) pair; the kernel takes ``_core.SNESParams(**record._asdict())``."""

    utilities: FloatArray
    eta_mu: float
    eta_sigma: float


def default_rates(dim: int) -> tuple[float, float]:
    """(η_μ, η_σ) = (1, (3 + ln n)/(5√n)) (Schaul et al. 2011, Table 1)."""
    n = _common.check_dim(dim)
    return 1.0, (3 + math.log(n)) / (5 * math.sqrt(n))


@lru_cache(maxsize=64)
def _parameters(
    dim: int, popsize: int, eta_mu: float | None, eta_sigma: float | None
) -> SNESParameters:
    d_mu, d_sigma = default_rates(dim)
    return SNESParameters(
        utilities=_common.readonly(nes_utilities(popsize)),
        eta_mu=d_mu if eta_mu is None else eta_mu,
        eta_sigma=d_sigma if eta_sigma is None else eta_sigma,
    )


@lru_cache(maxsize=64)
def _compiled(dim: int, popsize: int, eta_mu: float | None, eta_sigma: float | None) -> Any:
    """The kernel's C++ copy of the constants (``_core.SNESParams``), built once by name."""
    return _core.SNESParams(**_parameters(dim, popsize, eta_mu, eta_sigma)._asdict())


class SNES(Strategy):
    """Separable natural evolution strategies, diagonal covariance (``"snes"``).

    Parameters
    ----------
    eta_mu, eta_sigma : float, optional
        Learning rates of the mean and of the scales (> 0); defaults 1 and (3 + ln n)/(5√n).
    margin : float, optional
        With integer coordinates (``Optimizer(..., integers=...)``): the lower bound α on the
        probability that an integer coordinate leaves its current value (CMA-ES with margin,
        :mod:`natgrad.optim.integers`), in (0, 0.5); default 1/(nλ).
    """

    name = "snes"
    state_type = SNESState
    state_fields = {
        "mean": "vector",
        "sigma": "step",
        "scales": "positive_vector",
        "generation": "count",
        "margin_scale": "positive_vector",
    }
    option_names = ("eta_mu", "eta_sigma", "margin")

    def __init__(
        self,
        *,
        eta_mu: float | None = None,
        eta_sigma: float | None = None,
        margin: float | None = None,
    ) -> None:
        self.eta_mu = _common.check_rate("eta_mu", eta_mu)
        self.eta_sigma = _common.check_rate("eta_sigma", eta_sigma)
        self.margin = _common.check_margin(margin)

    def parameters(self, dim: int, popsize: int) -> SNESParameters:
        """Constants of SNES for (``dim``, ``popsize``); None rates take the paper's defaults."""
        return _parameters(
            _common.check_dim(dim), _common.check_popsize(popsize), self.eta_mu, self.eta_sigma
        )

    def _initial_state(self, x0: FloatArray, sigma0: float) -> SNESState:
        """Generation 0: mean ``x0``, all standard deviations ``sigma0``."""
        return SNESState(x0, sigma0, np.ones(x0.size), 0, np.ones(x0.size))

    def _sample(self, state: SNESState, noise: FloatArray) -> FloatArray:
        """x_k = μ + σ scales ⊙ z_k (Schaul et al. 2011, Alg. 1)."""
        return _core.sample_diagonal(state.mean, state.sigma, state.scales, noise)

    def _update(
        self, state: SNESState, noise: FloatArray, X: FloatArray, values: FloatArray
    ) -> SNESState:
        """One SNES generation in one compiled call; ``X`` is not needed (z suffices)."""
        p = _compiled(state.mean.size, noise.shape[0], self.eta_mu, self.eta_sigma)
        mean, sigma, scales = _core.snes_update(
            state.mean, state.sigma, state.scales, noise, values, p
        )
        return SNESState(mean, sigma, scales, state.generation + 1, state.margin_scale)

    def scale_step(self, state: SNESState, factor: float) -> SNESState:
        return state._replace(sigma=state.sigma * factor)

    def noise_for(self, state: SNESState, X: FloatArray) -> FloatArray:
        """z = (x − μ) / (σ scales) for each row x."""
        with np.errstate(over="ignore", invalid="ignore"):
            return np.ascontiguousarray((X - state.mean) / (state.sigma * state.scales))

    def scale_coordinates(self, state: SNESState, scales: FloatArray) -> SNESState:
        """scales → scales ⊙ ``scales`` (their geometric mean stays 1, σ0 is the overall step)."""
        return state._replace(scales=np.asarray(state.scales * scales))

    def condition_number(self, state: SNESState) -> float:
        """(max scale / min scale)² of the diagonal covariance."""
        return float((state.scales.max() / state.scales.min()) ** 2)

    def axis_scales(self, state: SNESState) -> FloatArray:
        """σ · scales."""
        return np.asarray(state.sigma * state.scales)
