"""Stochastic natural gradient descent on the full Gaussian (seed 003, "Stochastic NGD").

The search distribution is N(μ, Σ) with natural parameters θ = (Σ⁻¹μ, −½Σ⁻¹). For the
stochastic relaxation F(θ) = E_θ[f] each generation estimates the natural gradient from the
population and takes one descent step:

* ``fisher="exact"``: ∇̃F = I_η(η(θ)) Ĉov(f, T) (errata #17), evaluated without any m × m
  matrix as the (μ, Σ) tangent vector (Ĉov(f, x), Ĉov(f, (x − μ)(x − μ)ᵀ)) — the IGO / NES form;
  unbiased; O(λn² + n³) per generation.
* ``fisher="empirical"``: the shared-sample estimator (Ĉov(T, T) + δI)⁻¹ Ĉov(f, T), exact
  for f in span(T) when λ > m = n + n(n+1)/2; O(λm² + m³) = O(λn⁴ + n⁶) per generation, which is
  acceptable for the small n this didactic method is meant for (n ≲ 10).

Both estimators are computed in the standardised chart z = L⁻¹(x − μ) (Σ = LLᵀ), where the
statistics of the population are well conditioned, and pushed back exactly (they are tangent
vectors, and T(x) is an invertible affine function of T(z)); the step is then formed without
ever multiplying by Σ⁻¹ (see ``update``).

``coords`` selects the chart in which the step is a straight line: ``"natural"`` (θ ← θ − α∇̃_θF,
the seed's update) or ``"mean_cov"`` ((μ, Σ) ← (μ, Σ) − α∇̃_ξF). Both use the same tangent vector
and differ at second order in α.

Staying in the cone. Σ (equivalently −2Θ = Σ⁻¹) must stay positive definite. A straight step can
leave the cone; the rule is *step halving with a margin*: the whole step (mean and covariance
parts) is halved, up to ``max_halvings`` times, until the new covariance passes a Cholesky test
of Σ' − Σ/κ ≻ 0 in ``"mean_cov"`` (no variance shrinks by more than the factor κ =
``max_change`` in one step) or of Σ'⁻¹ − Σ⁻¹/κ ≻ 0 in ``"natural"`` (no variance grows by more
than κ); each side is the one where its straight line leaves the cone. Plain cone membership
(κ → ∞) is not enough in practice: with the additive (μ, Σ) step and rank weights, steps that
stay barely inside the cone collapse Σ (measured: 2 of 5 runs on the 3-D sphere stalled). If
every trial fails, the state keeps its mean and covariance (the generation still counts).
``SNGDState.halvings`` records how many halvings the last step needed.

SNGD is the didactic method: it factors Σ every generation (O(n³)) and, with the empirical Fisher,
forms the λ × m statistics. For large n use XNES / SNES / IGO-CMA.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import numpy as np

from .. import _core
from .._validation import FloatArray, as_damping, as_float, as_int, check_coords
from . import _common
from ._shaping import Shaping, check_shaping, shaped_values
from .strategy import Strategy
from .xnes import default_rates

#: charts of the straight-line step
COORDS = ("natural", "mean_cov")


class SNGDState(NamedTuple):
    """State of :class:`SNGD` (immutable; ``update`` returns a new record)."""

    mean: FloatArray  #: μ, shape (n,)
    cov: FloatArray  #: Σ, shape (n, n), symmetric positive definite
    chol: FloatArray  #: lower Cholesky factor L of Σ (X = μ + z Lᵀ)
    sigma: float  #: overall scale det(Σ)^(1/2n)
    generation: int
    halvings: int  #: step halvings the last update needed (max_halvings + 1: step rejected)
    #: diagonal A of CMA-ES with margin's encoding of integer coordinates (1 elsewhere; see
    #: :mod:`natgrad.optim.integers`)
    margin_scale: FloatArray


def _packed_size(n: int) -> int:
    return n + n * (n + 1) // 2


def _unpack(packed: FloatArray, n: int) -> tuple[FloatArray, FloatArray]:
    iu, ju = np.triu_indices(n, 1)
    matrix = np.diag(packed[n : 2 * n])
    matrix[iu, ju] = packed[2 * n :]
    matrix[ju, iu] = packed[2 * n :]
    return packed[:n], matrix


def _cholesky(a: FloatArray) -> FloatArray | None:
    if not np.all(np.isfinite(a)):
        return None
    try:
        return np.asarray(np.linalg.cholesky(a), dtype=np.float64)
    except np.linalg.LinAlgError:
        return None


class SNGD(Strategy):
    """Stochastic natural gradient descent on N(μ, Σ) (``name="sngd"``), see the module docstring.

    Parameters
    ----------
    coords : {"natural", "mean_cov"}, default "natural"
        Chart of the straight-line step: the natural parameters θ or (μ, Σ).
    fisher : {"exact", "empirical"}, default "exact"
        Fisher used by the natural gradient.
    damping : float, default 0
        Tikhonov damping δ of the empirical Fisher, applied in the standardised chart
        z = L⁻¹(x − μ) where the statistics are computed (ignored by ``"exact"``).
    fitness_shaping : {"nes", "cma", None}, default "nes"
        Rank-based values (NES utilities or CMA weights, best first; see
        ``natgrad.optim._shaping``) or raw f (the seed's E[f]).
    learning_rate : float, optional
        Step α on the mean part of the (μ, Σ) tangent vector. Default 1 with shaping (the xNES
        value, Wierstra et al. 2014, Table 1); required when ``fitness_shaping=None``, because the
        step then scales with f.
    learning_rate_cov : float, optional
        Step on the covariance part. Default 3(3 + ln n)/(5 n√n) with shaping (xNES's η_B),
        ``learning_rate`` without. Different rates for the two blocks are the natural gradient
        for a metric whose blocks (block-diagonal in (μ, Σ)) are scaled by 1/α; the tangent is
        scaled in (μ, Σ) and then pushed to θ.
    max_halvings : int, default 30
        Step halvings tried before a step that leaves the cone is rejected.
    max_change : float, default 4
        κ of the cone guard (module docstring), > 1.
    margin : float, optional
        With integer coordinates (``Optimizer(..., integers=...)``): the lower bound α on the
        probability that an integer coordinate leaves its current value (CMA-ES with margin,
        :mod:`natgrad.optim.integers`), in (0, 0.5); default 1/(nλ).

    Example
    -------
    >>> import numpy as np
    >>> s, rng = SNGD(), np.random.default_rng(1)
    >>> state = s.initial_state(np.full(3, 2.0), 1.0)
    >>> for _ in range(300):
    ...     z = rng.standard_normal(s.noise_shape(state, 10))
    ...     X = s.sample(state, z)
    ...     state = s.update(state, z, X, (X**2).sum(axis=1))
    >>> bool(np.abs(state.mean).max() < 1e-6)
    True
    """

    name = "sngd"
    state_type = SNGDState
    state_fields = {
        "mean": "vector",
        "cov": "matrix",
        "chol": "matrix",
        "sigma": "step",
        "generation": "count",
        "halvings": "count",
        "margin_scale": "positive_vector",
    }
    option_names = (
        "coords",
        "fisher",
        "damping",
        "fitness_shaping",
        "learning_rate",
        "learning_rate_cov",
        "max_halvings",
        "max_change",
        "margin",
    )

    def __init__(
        self,
        *,
        coords: Literal["natural", "mean_cov"] = "natural",
        fisher: Literal["exact", "empirical"] = "exact",
        damping: float = 0.0,
        fitness_shaping: Shaping = "nes",
        learning_rate: float | None = None,
        learning_rate_cov: float | None = None,
        max_halvings: int = 30,
        max_change: float = 4.0,
        margin: float | None = None,
    ) -> None:
        check_coords(coords, COORDS)
        self.margin = _common.check_margin(margin)
        if fisher not in ("exact", "empirical"):
            raise ValueError(f"fisher must be 'exact' or 'empirical', got {fisher!r}")
        self.coords = coords
        self.fisher = fisher
        self.damping = as_damping(damping)
        self.fitness_shaping = check_shaping(fitness_shaping)
        if learning_rate is None and self.fitness_shaping is None:
            raise ValueError(
                "learning_rate must be given when fitness_shaping=None (the step scales with f), "
                "got None"
            )
        self.learning_rate = (
            None
            if learning_rate is None
            else as_float("learning_rate", learning_rate, positive=True)
        )
        self.learning_rate_cov = (
            None
            if learning_rate_cov is None
            else as_float("learning_rate_cov", learning_rate_cov, positive=True)
        )
        self.max_halvings = as_int("max_halvings", max_halvings, minimum=0)
        self.max_change = as_float("max_change", max_change, positive=True)
        if not self.max_change > 1:
            raise ValueError(f"max_change must be > 1, got {max_change!r}")

    def rates(self, dim: int) -> tuple[float, float]:
        """(α_mean, α_cov) used in dimension ``dim``."""
        if self.learning_rate is None:
            lr_mean, _, lr_cov = default_rates(dim)
        else:
            lr_mean = self.learning_rate
            lr_cov = self.learning_rate
        if self.learning_rate_cov is not None:
            lr_cov = self.learning_rate_cov
        return lr_mean, lr_cov

    def _state(
        self,
        mean: FloatArray,
        cov: FloatArray,
        chol: FloatArray,
        generation: int,
        halvings: int,
        margin_scale: FloatArray,
    ) -> SNGDState:
        n = mean.size
        sigma = float(np.exp(np.log(np.diag(chol)).sum() / n))
        return SNGDState(mean, cov, chol, sigma, generation, halvings, margin_scale)

    def _initial_state(self, x0: FloatArray, sigma0: float) -> SNGDState:
        n = x0.size
        if not np.isfinite(sigma0 * sigma0) or sigma0 * sigma0 == 0.0:
            raise ValueError(
                f"sigma0 must have a finite, non-zero square (Σ = σ0² I), got {sigma0!r}"
            )
        return self._state(x0, sigma0 * sigma0 * np.eye(n), sigma0 * np.eye(n), 0, 0, np.ones(n))

    def default_popsize(self, dim: int) -> int:
        lam = super().default_popsize(dim)
        if self.fisher == "empirical":
            lam = max(lam, 2 * (_packed_size(dim) + 1))  # the empirical Fisher needs λ > m
        return lam

    def _sample(self, state: SNGDState, noise: FloatArray) -> FloatArray:
        # an overflow is reported once, as the boundary's ValueError, not also as a NumPy warning
        with np.errstate(over="ignore", invalid="ignore"):
            return np.asarray(state.mean + noise @ state.chol.T)

    def scale_step(self, state: SNGDState, factor: float) -> SNGDState:
        return state._replace(
            cov=state.cov * (factor * factor), chol=state.chol * factor, sigma=state.sigma * factor
        )

    def noise_for(self, state: SNGDState, X: FloatArray) -> FloatArray:
        """z = L⁻¹ (x − μ) for each row x (the samples are x = μ + L z)."""
        with np.errstate(over="ignore", invalid="ignore"):
            return np.ascontiguousarray(np.linalg.solve(state.chol, (X - state.mean).T).T)

    def standardised_natural_gradient(
        self, state: SNGDState, X: FloatArray, values: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """Estimated natural gradient of E[shaped f] in the standardised chart z = L⁻¹(x − μ).

        Returns (dμ_z, dΣ_z): the (μ, Σ) tangent vector at (0, I); in x coordinates it is
        (L dμ_z, L dΣ_z Lᵀ). T(x) is an invertible affine function of T(z), so the exact-Fisher
        and the undamped empirical-Fisher estimators give the same tangent vector in either
        chart; in z the statistics are well conditioned (in x, x_i² and x_i are nearly collinear
        once σ ≪ |μ|), and so is every step below.
        """
        n = state.mean.size
        f = np.ascontiguousarray(
            shaped_values(np.asarray(values, np.float64), self.fitness_shaping, n)
        )
        Z = np.ascontiguousarray(np.linalg.solve(state.chol, (X - state.mean).T).T)
        if self.fisher == "exact":
            dxi_z = np.asarray(_core.natural_gradient_mean_cov(Z, f, np.zeros(n)))
        else:
            dtheta_z = np.asarray(_core.natural_gradient_theta_empirical(Z, f, self.damping))
            dxi_z = np.asarray(_core.tangent_theta_to_mean_cov(np.zeros(n), np.eye(n), dtheta_z))
        return _unpack(dxi_z, n)

    def _update(
        self, state: SNGDState, noise: FloatArray, X: FloatArray, values: FloatArray
    ) -> SNGDState:
        # overflow in the step (huge states) surfaces as the boundary's ValueError on the
        # non-finite result, not as a NumPy warning
        with np.errstate(over="ignore", invalid="ignore"):
            return self._step(state, X, values)

    def _step(self, state: SNGDState, X: FloatArray, values: FloatArray) -> SNGDState:
        n = state.mean.size
        lr_mean, lr_cov = self.rates(n)
        dmu_z, dS_z = self.standardised_natural_gradient(state, X, values)
        L, eye = state.chol, np.eye(n)
        for halvings in range(self.max_halvings + 1):
            scale = 0.5**halvings
            if self.coords == "natural":
                # θ' = θ − s dθ with dΘ = ½ L⁻ᵀ dΣ_z L⁻¹, dt = L⁻ᵀ dμ_z − 2 dΘ μ gives
                # Σ'⁻¹ = L⁻ᵀ M L⁻¹ with M = I + s dΣ_z, and μ' = Σ' t' = μ − s L M⁻¹ dμ_z.
                M = eye + scale * lr_cov * dS_z
                if _cholesky(M - eye / self.max_change) is None:
                    continue
                chol_m = _cholesky(M)
                if chol_m is None:
                    continue
                K = np.linalg.solve(chol_m, L.T).T  # L R⁻ᵀ with M = R Rᵀ: Σ' = K Kᵀ
                cov = K @ K.T
                mean = state.mean - scale * lr_mean * (L @ np.linalg.solve(M, dmu_z))
            else:
                # (μ, Σ)' = (μ, Σ) − s (L dμ_z, L dΣ_z Lᵀ): Σ' = L M Lᵀ with M = I − s dΣ_z
                M = eye - scale * lr_cov * dS_z
                if _cholesky(M - eye / self.max_change) is None:
                    continue
                cov = L @ M @ L.T
                mean = state.mean - scale * lr_mean * (L @ dmu_z)
            cov = 0.5 * (cov + cov.T)
            chol = _cholesky(cov)
            if chol is not None and np.all(np.isfinite(mean)):
                return self._state(
                    mean, cov, chol, state.generation + 1, halvings, state.margin_scale
                )
        return state._replace(generation=state.generation + 1, halvings=self.max_halvings + 1)

    def scale_coordinates(self, state: SNGDState, scales: FloatArray) -> SNGDState:
        """Σ → D Σ D and L → D L with D = diag(scales); det D = 1 keeps σ = det(Σ)^(1/2n)."""
        cov = scales[:, None] * state.cov * scales[None, :]
        chol = scales[:, None] * state.chol
        return state._replace(cov=np.ascontiguousarray(cov), chol=np.ascontiguousarray(chol))

    def condition_number(self, state: SNGDState) -> float:
        eig = np.linalg.eigvalsh(state.cov)
        return float(eig[-1] / eig[0])

    def axis_scales(self, state: SNGDState) -> FloatArray:
        return np.sqrt(np.diag(state.cov))
