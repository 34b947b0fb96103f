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

Step size: ``sigma_rule="csa"`` (default) is CSA as above. ``sigma_rule="tpa"`` is two-point
step-size adaptation (Hansen, "CMA-ES with two-point step-size adaptation", arXiv:0805.0231,
2008; the variant of pycma's ``CMAAdaptSigmaTPA``, Akimoto & Hansen 2020): from generation 1 on,
rows 0 and 1 of every batch are the mirrored pair x_± = m ± σ A (r u), with u the direction of
the last mean shift in z-coordinates (u ∝ z_w of the previous generation, so that A u ∝ the last
mean shift m − m_old up to that generation's change of A) and r = ‖noise row 0‖ (a length
distributed as that of every other sample). The two are ranked and used for recombination
like every other sample; σ is then multiplied by exp(s/d) with

    z = (#{f < f(x_−)} − #{f < f(x_+)}) / (λ − 1),   s ← (1 − c) s + c · sign(z) |z|^{1/2},

c = 0.3 and d = 0.7 + 2 ln n + 2 ln max(1, λ − n). CSA's path p_σ is still kept for h_σ. The pair
is part of the batch ``ask`` returns (row 1 of ``noise`` is not read), so runs stay
reproducible from the seed and the ask/tell contract is unchanged.
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
    shift_z : ndarray (n,)
        Weighted mean z_w of the last generation's draws (the last mean shift in z-coordinates;
        zeros at generation 0): the direction of TPA's mirrored pair.
    tpa_s : float
        TPA's cumulative rank difference s (0 with ``sigma_rule="csa"``).
    margin_scale : ndarray (n,)
        Diagonal A of CMA-ES with margin's encoding of integer coordinates (1 elsewhere, and
        everywhere in a run without ``integers``; see :mod:`natgrad.optim.integers`).
    """

    mean: FloatArray
    sigma: float
    factor: FloatArray
    p_sigma: FloatArray
    p_c_z: FloatArray
    generation: int
    shift_z: FloatArray
    tpa_s: float
    margin_scale: FloatArray


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


def tpa_damping(dim: int, popsize: int) -> float:
    """d = 0.7 + 2 ln n + 2 ln max(1, λ − n) (pycma 4.5's ``CMAAdaptSigmaTPA`` damping)."""
    return 0.7 + 2 * math.log(dim) + 2 * math.log(max(1, popsize - dim))


#: TPA's averaging coefficient c and the exponent of |z| (pycma 4.5: ``sp.c``, ``z_exponent``)
TPA_C, TPA_Z_EXPONENT = 0.3, 0.5


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
    sigma_rule : {"csa", "tpa"}, default "csa"
        Step-size rule: cumulative step-size adaptation, or two-point adaptation with a mirrored
        pair along the last mean shift as rows 0 and 1 of every batch (module docstring).
    margin : float, optional
        With integer coordinates (``Optimizer(..., integers=...)``): the lower bound α on the
        probability that an integer coordinate leaves its current value (CMA-ES with margin,
        :mod:`natgrad.optim.integers`), in (0, 0.5); default 1/(nλ).

    Notes
    -----
    Stateless apart from its options (and a pool of spare n × n buffers the factor update writes
    into, :class:`natgrad.optim._common.BufferPool`, which changes no result): the state lives in
    :class:`IGOCMAState` records. A minimal
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
        "shift_z": "vector",
        "tpa_s": "real",
        "margin_scale": "positive_vector",
    }
    option_names = ("active", "sigma_rule", "margin")

    def __init__(
        self, *, active: bool = True, sigma_rule: str = "csa", margin: float | None = None
    ) -> None:
        if not isinstance(active, (bool, np.bool_)):
            raise ValueError(f"active must be True or False, got {active!r}")
        if sigma_rule not in ("csa", "tpa"):
            raise ValueError(f"sigma_rule must be 'csa' or 'tpa', got {sigma_rule!r}")
        self.active = bool(active)
        self.sigma_rule = sigma_rule
        self.margin = _common.check_margin(margin)
        self._factors = _common.BufferPool()  # recycled outputs of the factor update

    def parameters(self, dim: int, popsize: int) -> IGOCMAParameters:
        """Constants of IGO-CMA in dimension ``dim`` with population ``popsize``."""
        return _parameters(_common.check_dim(dim), _common.check_popsize(popsize), self.active)

    def _initial_state(self, x0: FloatArray, sigma0: float) -> IGOCMAState:
        """Generation 0: mean ``x0``, step size ``sigma0``, A = I, zero paths."""
        n = x0.size
        return IGOCMAState(
            x0, sigma0, np.eye(n), np.zeros(n), np.zeros(n), 0, np.zeros(n), 0.0, np.ones(n)
        )

    def _draws(self, state: IGOCMAState, noise: FloatArray) -> FloatArray:
        """The z of the candidates: ``noise``, with TPA's pair ±r u in rows 0 and 1 (module doc)."""
        if self.sigma_rule != "tpa" or noise.shape[0] < 3:
            return noise
        # norms of entries beyond ~1e154 overflow: then through the unit vector, and a pair
        # that overflows is refused as any overflowing sample is (by the boundary)
        with np.errstate(over="ignore"):
            norm = float(np.linalg.norm(state.shift_z))
            length = float(np.linalg.norm(noise[0]))
        if not norm > 0.0:  # generation 0 (no mean shift yet): i.i.d. draws only
            return noise
        z = noise.copy()
        if math.isfinite(norm):
            with np.errstate(over="ignore", invalid="ignore"):
                z[0] = (length / norm) * state.shift_z
        else:
            unit = state.shift_z / float(np.max(np.abs(state.shift_z)))
            with np.errstate(over="ignore", invalid="ignore"):
                z[0] = length * (unit / float(np.linalg.norm(unit)))
        z[1] = -z[0]
        return z

    def _sample(self, state: IGOCMAState, noise: FloatArray) -> FloatArray:
        """Candidates x_k = m + σ A z_k (Hansen 2016, eqs. 39–40), as one GEMM X = m + σ Z Aᵀ."""
        z = noise if self.sigma_rule == "csa" else self._draws(state, noise)
        return _core.sample_full(state.mean, state.sigma, state.factor, z)

    def _update(
        self, state: IGOCMAState, noise: FloatArray, X: FloatArray, values: FloatArray
    ) -> IGOCMAState:
        """One generation in one compiled call (ranking, mean, paths, σ, factor; module doc)."""
        n, lam = state.mean.size, noise.shape[0]
        p = _compiled(n, lam, self.active)
        z = noise if self.sigma_rule == "csa" else self._draws(state, noise)
        mean, sigma, factor, p_sigma, p_c_z, _h_sigma, _shrinks = _core.igo_cma_update(
            state.mean,
            state.sigma,
            state.factor,
            state.p_sigma,
            state.p_c_z,
            z,
            X,
            values,
            state.generation,
            p,
            self._factors.take((n, n)),
        )
        if self.sigma_rule == "csa":
            return IGOCMAState(
                mean, sigma, factor, p_sigma, p_c_z, state.generation + 1, state.shift_z, 0.0,
                state.margin_scale,
            )  # fmt: skip
        # z_w from the path recursion p_σ' = (1 − c_σ) p_σ + √(c_σ(2 − c_σ)μ_eff) z_w (eq. 43)
        pp = _parameters(n, lam, self.active)
        shift_z = (p_sigma - (1 - pp.c_sigma) * state.p_sigma) / math.sqrt(
            pp.c_sigma * (2 - pp.c_sigma) * pp.mueff
        )
        # no pair this batch: σ stays (generation 0), or CSA's σ where no pair fits (λ < 3)
        tpa_s, sigma = state.tpa_s, (sigma if lam < 3 else state.sigma)
        if z is not noise:  # this batch carried the pair: its rank difference moves σ
            rank_diff = (np.sum(values < values[1]) - np.sum(values < values[0])) / (lam - 1)
            tpa_s = (1 - TPA_C) * tpa_s + TPA_C * math.copysign(
                abs(rank_diff) ** TPA_Z_EXPONENT, rank_diff
            )
            sigma = state.sigma * math.exp(tpa_s / tpa_damping(n, lam))
        return IGOCMAState(
            mean, sigma, factor, p_sigma, p_c_z, state.generation + 1, shift_z, float(tpa_s),
            state.margin_scale,
        )  # fmt: skip

    def scale_step(self, state: IGOCMAState, factor: float) -> IGOCMAState:
        return state._replace(sigma=state.sigma * factor)

    def noise_for(self, state: IGOCMAState, X: FloatArray) -> FloatArray:
        """z = A⁻¹ (x − m) / σ for each row x."""
        return _common.factor_noise(state.mean, state.sigma, state.factor, X)

    def injectable_rows(self, popsize: int) -> int:
        """All rows but TPA's pair (rows 0 and 1, from λ = 3 on)."""
        return popsize - 2 if self.sigma_rule == "tpa" and popsize >= 3 else popsize

    def scale_coordinates(self, state: IGOCMAState, scales: FloatArray) -> IGOCMAState:
        """A → diag(scales) A: C0 = diag(scales²), so σ0·sqrt(C0_ii) = sigma0[i] (pycma's
        ``CMA_stds``); the paths are in z-coordinates and stay as they are."""
        return state._replace(factor=np.ascontiguousarray(scales[:, None] * state.factor))

    def condition_number(self, state: IGOCMAState) -> float:
        """cond(C) = (s_max/s_min)² from the singular values of A (O(n³): call it sparingly)."""
        return _common.factor_condition_number(state.factor)

    def axis_scales(self, state: IGOCMAState) -> FloatArray:
        """σ √diag(A Aᵀ): the row norms of A times σ (O(n²))."""
        return _common.factor_axis_scales(state.sigma, state.factor)
