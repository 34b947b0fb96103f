"""xNES: exponential natural evolution strategies, full covariance, in O(λn²) per generation.

Glasmachers, Schaul, Sun, Wierstra & Schmidhuber, "Exponential natural evolution strategies",
GECCO 2010, Algorithm 1; Wierstra et al., JMLR 15 (2014), Algorithm 5. The search distribution is
N(m, σ² A Aᵀ) with det A = 1; in local coordinates z the natural gradients are

    ∇_δ J = Σ u_k z_k,   G_M = Σ u_k (z_k z_kᵀ − I),   G_σ = tr(G_M)/n,   G_B = G_M − G_σ I,

with zero-sum rank utilities u_k, and the update is m ← m + η_μ σ A ∇_δ J,
σ ← σ exp(η_σ/2 · G_σ), A ← A expm(η_B/2 · G_B).

G_B = Zᵀ diag(u) Z − c I has rank ≤ λ plus a multiple of I, so A expm(η_B/2 G_B) is computed as
e^{−η_B c/2} (A + (AU) φ₁(S P) S Uᵀ) with U = Zᵀ, S = diag(η_B u/2), P = UᵀU: a λ×λ φ₁ and one
n×λ×n GEMM, never an n×n expm or eigendecomposition.

Step size rule ``sigma_rule``:

* ``"nes"`` (the paper's default, η_σ = η_B = 3(3 + ln n)/(5n√n)): faithful, but this small rate
  makes xNES need about 4–25× more evaluations than CMA-ES (e.g. 127k vs 5.2k on the 40-D sphere).
* ``"csa"``: σ by cumulative step-size adaptation (Hansen 2016, eqs. 43–44, with the positive part
  of the utilities as recombination weights); reaches CMA-ES's counts on ill-conditioned
  ellipsoids, but still lacks CMA's rank-one path (use ``"igo-cma"`` for that).
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

SIGMA_RULES = ("nes", "csa")


class XNESState(NamedTuple):
    """State of xNES after ``generation`` generations (immutable).

    Attributes
    ----------
    mean : ndarray (n,)
        Mean m.
    sigma : float
        Step size σ (the covariance is σ² A Aᵀ).
    factor : ndarray (n, n)
        Shape factor A; det A stays 1 up to rounding (G_B is traceless).
    p_sigma : ndarray (n,)
        CSA evolution path (zero and unused with ``sigma_rule="nes"``).
    generation : int
        Completed generations.
    margin_scale : ndarray (n,)
        Diagonal A of CMA-ES with margin's encoding of integer coordinates (1 elsewhere, and
        everywhere in a run without ``integers``; see :mod:`natgrad.optim.integers`).
    """

    mean: FloatArray
    sigma: float
    factor: FloatArray
    p_sigma: FloatArray
    generation: int
    margin_scale: FloatArray


class XNESParameters(NamedTuple):
    """Constants of one (n, λ) pair; the kernel takes ``_core.XNESParams(**record._asdict())``."""

    utilities: FloatArray  # zero-sum NES utilities by rank, best first
    recombination: FloatArray  # positive part u_k + 1/λ (sums to 1), for CSA
    mueff: float  # 1 / Σ recombination²
    eta_mu: float
    eta_sigma: float
    eta_b: float
    csa: bool
    c_sigma: float
    d_sigma: float
    chi_n: float


def default_rates(dim: int) -> tuple[float, float, float]:
    """(η_μ, η_σ, η_B) = (1, 3(3 + ln n)/(5n√n), same) (Glasmachers et al. 2010, Table 1)."""
    n = _common.check_dim(dim)
    eta = 3 * (3 + math.log(n)) / (5 * n * math.sqrt(n))
    return 1.0, eta, eta


@lru_cache(maxsize=64)
def _parameters(
    dim: int,
    popsize: int,
    sigma_rule: str,
    eta_mu: float | None,
    eta_sigma: float | None,
    eta_b: float | None,
) -> XNESParameters:
    u = nes_utilities(popsize)
    recombination = np.maximum(u + 1.0 / popsize, 0.0)
    recombination /= recombination.sum()
    mueff = float(1.0 / np.sum(recombination**2))
    d_mu, d_sigma_rate, d_b = default_rates(dim)
    c_sigma, d_sigma = _common.csa_constants(dim, mueff)
    return XNESParameters(
        utilities=_common.readonly(u),
        recombination=_common.readonly(recombination),
        mueff=mueff,
        eta_mu=d_mu if eta_mu is None else eta_mu,
        eta_sigma=d_sigma_rate if eta_sigma is None else eta_sigma,
        eta_b=d_b if eta_b is None else eta_b,
        csa=sigma_rule == "csa",
        c_sigma=c_sigma,
        d_sigma=d_sigma,
        chi_n=_common.expected_norm(dim),
    )


@lru_cache(maxsize=64)
def _compiled(
    dim: int,
    popsize: int,
    sigma_rule: str,
    eta_mu: float | None,
    eta_sigma: float | None,
    eta_b: float | None,
) -> Any:
    """The kernel's C++ copy of the constants (``_core.XNESParams``), built once by name."""
    p = _parameters(dim, popsize, sigma_rule, eta_mu, eta_sigma, eta_b)
    return _core.XNESParams(**p._asdict())


def _check_rule(sigma_rule: str) -> str:
    if sigma_rule not in SIGMA_RULES:
        raise ValueError(f"sigma_rule must be one of {SIGMA_RULES}, got {sigma_rule!r}")
    return sigma_rule


class XNES(Strategy):
    """Exponential natural evolution strategies, full covariance (``"xnes"``).

    Parameters
    ----------
    sigma_rule : {"nes", "csa"}, default "nes"
        Step-size rule: the paper's natural-gradient step on ln σ, or CMA's cumulative step-size
        adaptation. ``"nes"`` is faithful to Glasmachers et al. (2010) but needs 4–25× more
        evaluations than CMA-ES; ``"csa"`` closes most of that gap.
    eta_mu, eta_sigma, eta_b : float, optional
        Learning rates of the mean, step size and shape (> 0); defaults 1 and
        3(3 + ln n)/(5n√n).
    margin : float, optional
        With integer coordinates (``Optimizer(..., integers=...)``): the lower bound α on the
        probability that an integer coordinate leaves its current value (CMA-ES with margin,
        :mod:`natgrad.optim.integers`), in (0, 0.5); default 1/(nλ).
    """

    name = "xnes"
    state_type = XNESState
    state_fields = {
        "mean": "vector",
        "sigma": "step",
        "factor": "matrix",
        "p_sigma": "vector",
        "generation": "count",
        "margin_scale": "positive_vector",
    }
    option_names = ("sigma_rule", "eta_mu", "eta_sigma", "eta_b", "margin")

    def __init__(
        self,
        *,
        sigma_rule: str = "nes",
        eta_mu: float | None = None,
        eta_sigma: float | None = None,
        eta_b: float | None = None,
        margin: float | None = None,
    ) -> None:
        self.sigma_rule = _check_rule(sigma_rule)
        self.margin = _common.check_margin(margin)
        self.eta_mu = _common.check_rate("eta_mu", eta_mu)
        self.eta_sigma = _common.check_rate("eta_sigma", eta_sigma)
        self.eta_b = _common.check_rate("eta_b", eta_b)
        self._factors = _common.BufferPool()  # recycled outputs of the factor update (no state)

    def parameters(self, dim: int, popsize: int) -> XNESParameters:
        """Constants of xNES for (``dim``, ``popsize``); None rates take the paper's defaults."""
        return _parameters(
            _common.check_dim(dim),
            _common.check_popsize(popsize),
            self.sigma_rule,
            self.eta_mu,
            self.eta_sigma,
            self.eta_b,
        )

    def _initial_state(self, x0: FloatArray, sigma0: float) -> XNESState:
        """Generation 0: mean ``x0``, step size ``sigma0``, A = I."""
        n = x0.size
        return XNESState(x0, sigma0, np.eye(n), np.zeros(n), 0, np.ones(n))

    def _sample(self, state: XNESState, noise: FloatArray) -> FloatArray:
        """x_k = m + σ A z_k as one GEMM X = m + σ Z Aᵀ (Glasmachers et al. 2010, Alg. 1)."""
        return _core.sample_full(state.mean, state.sigma, state.factor, noise)

    def _update(
        self, state: XNESState, noise: FloatArray, X: FloatArray, values: FloatArray
    ) -> XNESState:
        """One xNES generation in one compiled call (see the module docstring)."""
        p = _compiled(
            state.mean.size,
            noise.shape[0],
            self.sigma_rule,
            self.eta_mu,
            self.eta_sigma,
            self.eta_b,
        )
        n = state.mean.size
        mean, sigma, factor, p_sigma = _core.xnes_update(
            state.mean, state.sigma, state.factor, state.p_sigma, noise, X, values, p,
            self._factors.take((n, n)),
        )  # fmt: skip
        return XNESState(mean, sigma, factor, p_sigma, state.generation + 1, state.margin_scale)

    def scale_step(self, state: XNESState, factor: float) -> XNESState:
        return state._replace(sigma=state.sigma * factor)

    def noise_for(self, state: XNESState, X: FloatArray) -> FloatArray:
        """z = A⁻¹ (x − m) / σ for each row x."""
        return _common.factor_noise(state.mean, state.sigma, state.factor, X)

    def scale_coordinates(self, state: XNESState, scales: FloatArray) -> XNESState:
        """A → diag(scales) A (det A stays 1: the scales have geometric mean 1)."""
        return state._replace(factor=np.ascontiguousarray(scales[:, None] * state.factor))

    def condition_number(self, state: XNESState) -> float:
        """cond(A Aᵀ) from the singular values of A (O(n³): call it sparingly)."""
        return _common.factor_condition_number(state.factor)

    def axis_scales(self, state: XNESState) -> FloatArray:
        """σ √diag(A Aᵀ)."""
        return _common.factor_axis_scales(state.sigma, state.factor)
