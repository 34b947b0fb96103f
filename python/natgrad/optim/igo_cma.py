"""IGO-CMA: CMA-ES read as an information-geometric (natural-gradient) optimiser, in O(λn²).

The mean step and the rank-μ covariance step are one Monte-Carlo natural-gradient step of
E_θ[W_f(x)] on θ = (m, C) with rank-based weights (the IGO reading of CMA-ES: Akimoto, Nagata,
Ono & Kobayashi, PPSN 2010 and arXiv:1206.0730; Ollivier, Arnold, Auger & Hansen, JMLR 18, 2017).
To it are added the rank-one update from the evolution path p_c (a MAP-IGO natural gradient:
Hamano, Shirakawa & Nomura, arXiv:2406.16506), active negative weights, and cumulative step-size
adaptation (CSA) with the h_σ stall, all with the defaults of Hansen, "The CMA Evolution
Strategy: A Tutorial", arXiv:1604.00772 (2016), eqs. 41–58.

The covariance is kept as a factor C = A Aᵀ and updated in the GEMM form
A' = √a·A + (AU·W)·Uᵀ with a K×K matrix square root (K ≤ λ+1): two n×K×n GEMMs per generation
(sampling and update), no n×n eigendecomposition or matrix exponential. CSA uses A⁻¹y_w = z_w in
place of C^{-1/2}y_w (Krause, Arbonès & Igel, NeurIPS 2016), which needs no solve.

Work per generation O(λn²); memory O(n²).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np

from .. import _core
from .._validation import FloatArray
from . import _common
from .strategy import Strategy
from .utilities import cma_weights


class IGOCMAState(NamedTuple):
    """State of IGO-CMA after ``generation`` generations (immutable; ``update`` returns a new one).

    Attributes
    ----------
    mean : ndarray (n,)
        Mean m of the search distribution N(m, σ² A Aᵀ).
    sigma : float
        Step size σ.
    factor : ndarray (n, n)
        Factor A of the covariance shape C = A Aᵀ (not triangular in general).
    p_sigma : ndarray (n,)
        Conjugate evolution path of CSA (in z-coordinates).
    p_c_z : ndarray (n,)
        Evolution path of the rank-one update in z-coordinates: p_c = A p_c_z.
    generation : int
        Completed generations.
    """

    mean: FloatArray
    sigma: float
    factor: FloatArray
    p_sigma: FloatArray
    p_c_z: FloatArray
    generation: int


class IGOCMAParameters(NamedTuple):
    """Constants of one (n, λ) pair (Hansen 2016, Table 1 / eqs. 49–58).

    The compiled kernel takes them as ``_core.IGOCMAParams(**record._asdict())``, a C++ struct
    with the same fields built by keyword, so no two constants can be swapped by position.
    """

    weights: FloatArray  # by rank, best first; negative (active) weights for ranks > μ
    mueff: float
    c_sigma: float
    d_sigma: float
    c_c: float
    c1: float
    cmu: float
    chi_n: float


def cma_parameters(
    dim: int, popsize: int, *, active: bool, rate_dim: float | None = None, rate_scale: float = 1.0
) -> IGOCMAParameters:
    """CMA-ES's constants (Hansen 2016, eqs. 49–58) for dimension ``dim`` and ``popsize``.

    The covariance learning rates c₁ and c_μ use ``rate_dim`` in place of n (default n) and are
    multiplied by ``rate_scale``: a restricted model with fewer covariance parameters (the GMRF
    strategy) learns them faster. IGO-CMA uses the defaults.
    """
    weights, mueff = cma_weights(popsize, dim, active=active)  # (eqs. 49–53)
    c_sigma, d_sigma = _common.csa_constants(dim, mueff)  # (eq. 55)
    c_c = (4 + mueff / dim) / (dim + 4 + 2 * mueff / dim)  # (eq. 56)
    n_c = dim if rate_dim is None else rate_dim
    c1 = min(1.0, rate_scale * 2 / ((n_c + 1.3) ** 2 + mueff))  # (eq. 57)
    cmu = min(1 - c1, rate_scale * 2 * (mueff - 2 + 1 / mueff) / ((n_c + 2) ** 2 + mueff))  # (58)
    return IGOCMAParameters(
        weights=_common.readonly(weights),
        mueff=mueff,
        c_sigma=c_sigma,
        d_sigma=d_sigma,
        c_c=c_c,
        c1=c1,
        cmu=cmu,
        chi_n=_common.expected_norm(dim),
    )


@lru_cache(maxsize=64)
def _parameters(dim: int, popsize: int, active: bool) -> IGOCMAParameters:
    return cma_parameters(dim, popsize, active=active)


@lru_cache(maxsize=64)
def _compiled(dim: int, popsize: int, active: bool) -> Any:
    """The kernel's C++ copy of the constants (``_core.IGOCMAParams``), built once by name."""
    return _core.IGOCMAParams(**_parameters(dim, popsize, active)._asdict())


class IGOCMA(Strategy):
    """Full-covariance natural-gradient optimiser with CMA-ES's sample efficiency (``"igo-cma"``).

    Parameters
    ----------
    active : bool, default True
        Use the negative (active) recombination weights for the covariance update
        (Hansen 2016, eq. 53); ``False`` gives the classic positive-weight rank-μ update.

    Notes
    -----
    Stateless apart from its options: the state lives in :class:`IGOCMAState` records. A minimal
    loop, with ``f`` mapping a (λ, n) batch to λ values::

        s = IGOCMA(); st = s.initial_state(x0, 0.5); lam = s.default_popsize(len(x0))
        for _ in range(200):
            Z = rng.standard_normal(s.noise_shape(st, lam))
            X = s.sample(st, Z)
            st = s.update(st, Z, X, f(X))
    """

    name = "igo-cma"
    state_type = IGOCMAState
    state_fields = {
        "mean": "vector",
        "sigma": "step",
        "factor": "matrix",
        "p_sigma": "vector",
        "p_c_z": "vector",
        "generation": "count",
    }
    option_names = ("active",)

    def __init__(self, *, active: bool = True) -> None:
        if not isinstance(active, (bool, np.bool_)):
            raise ValueError(f"active must be True or False, got {active!r}")
        self.active = bool(active)

    def parameters(self, dim: int, popsize: int) -> IGOCMAParameters:
        """Constants of IGO-CMA in dimension ``dim`` with population ``popsize``."""
        return _parameters(_common.check_dim(dim), _common.check_popsize(popsize), self.active)

    def _initial_state(self, x0: FloatArray, sigma0: float) -> IGOCMAState:
        """Generation 0: mean ``x0``, step size ``sigma0``, A = I, zero paths."""
        n = x0.size
        return IGOCMAState(x0, sigma0, np.eye(n), np.zeros(n), np.zeros(n), 0)

    def _sample(self, state: IGOCMAState, noise: FloatArray) -> FloatArray:
        """Candidates x_k = m + σ A z_k (Hansen 2016, eqs. 39–40), as one GEMM X = m + σ Z Aᵀ."""
        return _core.sample_full(state.mean, state.sigma, state.factor, noise)

    def _update(
        self, state: IGOCMAState, noise: FloatArray, X: FloatArray, values: FloatArray
    ) -> IGOCMAState:
        """One generation in one compiled call (ranking, mean, paths, σ, factor; module doc)."""
        p = _compiled(state.mean.size, noise.shape[0], self.active)
        mean, sigma, factor, p_sigma, p_c_z, _h_sigma, _shrinks = _core.igo_cma_update(
            state.mean,
            state.sigma,
            state.factor,
            state.p_sigma,
            state.p_c_z,
            noise,
            X,
            values,
            state.generation,
            p,
        )
        return IGOCMAState(mean, sigma, factor, p_sigma, p_c_z, state.generation + 1)

    def scale_step(self, state: IGOCMAState, factor: float) -> IGOCMAState:
        return state._replace(sigma=state.sigma * factor)

    def condition_number(self, state: IGOCMAState) -> float:
        """cond(C) = (s_max/s_min)² from the singular values of A (O(n³): call it sparingly)."""
        return _common.factor_condition_number(state.factor)

    def axis_scales(self, state: IGOCMAState) -> FloatArray:
        """σ √diag(A Aᵀ): the row norms of A times σ (O(n²))."""
        return _common.factor_axis_scales(state.sigma, state.factor)
