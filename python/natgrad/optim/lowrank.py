"""LowRankNES: a restricted-covariance natural evolution strategy in O(λn) per generation.

The search distribution is N(m, σ² D (I + v vᵀ) D) with D diagonal (> 0) and one vector v:
CR-FM-NES (Nomura & Ono, "Fast Moving Natural Evolution Strategy for High-Dimensional Problems",
CEC 2022, arXiv:2201.11422). Its update is the natural gradient of the rank-weighted expected
fitness on the (v, D) manifold (the closed form of VD-CMA: Akimoto, Auger & Hansen, "Comparison-
based natural gradient optimization in high dimension", GECCO 2014), combined with FM-NES's
rules for sample efficiency: mirrored sampling, distance weights while the distribution moves
(‖p_σ‖ ≥ χ_n), a learning rate of σ switched between the move, stagnation and convergence
phases, and a rank-one term from the evolution path p_c. ``rank=0`` drops v: the diagonal model
N(m, σ² D²) with the same step-size rules and the diagonal natural gradient D ← D (1 + Σ w (z² −
1)/2) (a separable CR-FM-NES).

Work per generation O(λn) (sampling, ranking, the natural gradient and the update are two
compiled calls, each one pass over the λ × n draws); memory O(n) beyond the batch.

Rank: only k = 1 (the paper's model) and k = 0. The closed-form natural gradient for k ≥ 2
(VkD-CMA, Akimoto & Hansen, GECCO 2016) is a different derivation with its own step-size rule;
it is not implemented here.

Invariance: the update uses f only through the ranks of the values, so it is invariant to
strictly increasing transformations of f; it is invariant to translations, and to permutations
and sign flips of the coordinates only up to the initial v. It is *not* rotation invariant: the
model D (I + v vᵀ) D cannot represent a rotated ill-conditioned Hessian with more than one long
or short axis (see ``docs/large_scale.md`` for the negative control).

Deviations from the reference implementation (crfmnes 1.0.0), all stated:

* v at generation 0 is the deterministic v_i = (−1)^i / √n (|v| = 1), not a random draw: a
  strategy draws no random numbers, and any fixed direction of norm 1 serves (the paper draws
  v ~ N(0, I/n), whose norm is ≈ 1).
* The paper's c₁ = c₁^CMA (n − 5)/6 is ≤ 0 for n ≤ 5; natgrad uses max(0, ·) (no rank-one term
  in 5 or fewer dimensions).
* Non-finite values are ranked worst by the Optimizer, so λ_F (the number of feasible samples in
  the paper's rates) is λ.
* An odd λ is allowed: the last draw of the batch is then not mirrored.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np

from .. import _core
from .._validation import FloatArray
from . import _common
from .strategy import Strategy, default_popsize


class LowRankNESState(NamedTuple):
    """State of LowRankNES after ``generation`` generations (immutable).

    Attributes
    ----------
    mean : ndarray (n,)
        Mean m.
    sigma : float
        Step size σ.
    scales : ndarray (n,)
        Diagonal D (> 0); every update normalises it so that det(D (I + v vᵀ)^{1/2}) = 1.
    v : ndarray (n,)
        The low-rank direction (zeros with ``rank=0``): covariance σ² D (I + v vᵀ) D.
    p_sigma : ndarray (n,)
        Evolution path of the phase test ‖p_σ‖ ≥ χ_n (in z-coordinates).
    p_c : ndarray (n,)
        Evolution path of the rank-one term (in x/σ coordinates).
    generation : int
        Completed generations.
    margin_scale : ndarray (n,)
        Diagonal A of CMA-ES with margin's encoding of integer coordinates (1 elsewhere, and
        everywhere in a run without ``integers``; see :mod:`natgrad.optim.integers`).
    """

    mean: FloatArray
    sigma: float
    scales: FloatArray
    v: FloatArray
    p_sigma: FloatArray
    p_c: FloatArray
    generation: int
    margin_scale: FloatArray


class LowRankNESParameters(NamedTuple):
    """Constants of one (n, λ, rank); the kernel takes ``_core.LowRankNESParams(**record)``."""

    w_rank_hat: FloatArray
    w_rank: FloatArray
    mueff: float
    c_s: float
    c_c: float
    c1: float
    chi_n: float
    alpha_dist: float
    eta_m: float
    eta_move_sigma: float
    eta_stag_sigma: float
    eta_conv_sigma: float
    eta_b: float
    rank: int


def distance_weight_root(dim: int) -> float:
    """h⁻¹(n): the a > 0 with (1 + a²) e^{a²/2} / 0.24 = 10 + n (the distance-weight scale).

    Solved by damped Newton steps as in the reference implementation, then by bisection to
    machine precision (the function is increasing in a > 0).
    """
    n = _common.check_dim(dim)

    def f(a: float) -> float:
        return (1 + a * a) * math.exp(a * a / 2) / 0.24 - 10 - n

    lo, hi = 0.0, 1.0
    while f(hi) < 0:
        hi *= 2
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if f(mid) < 0:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-15 * hi:
            break
    return 0.5 * (lo + hi)


@lru_cache(maxsize=64)
def _parameters(dim: int, popsize: int, rank: int) -> LowRankNESParameters:
    n, lam = dim, popsize
    w_hat = np.maximum(0.0, math.log(lam / 2 + 1) - np.log(np.arange(1, lam + 1)))
    w_rank = w_hat / w_hat.sum() - 1 / lam
    mueff = 1 / float(np.sum((w_rank + 1 / lam) ** 2))
    c1_cma = 2 / ((n + 1.3) ** 2 + mueff)
    return LowRankNESParameters(
        w_rank_hat=_common.readonly(w_hat),
        w_rank=_common.readonly(w_rank),
        mueff=mueff,
        c_s=(mueff + 2) / (n + mueff + 5),
        c_c=(4 + mueff / n) / (n + 4 + 2 * mueff / n),
        c1=max(0.0, c1_cma * (n - 5) / 6),
        chi_n=_common.expected_norm(n),
        alpha_dist=distance_weight_root(n) * min(1.0, math.sqrt(lam / n)),
        eta_m=1.0,
        eta_move_sigma=1.0,
        eta_stag_sigma=math.tanh((0.024 * lam + 0.7 * n + 20) / (n + 12)),
        eta_conv_sigma=2 * math.tanh((0.025 * lam + 0.75 * n + 10) / (n + 4)),
        eta_b=math.tanh((min(0.02 * lam, 3 * math.log(n)) + 5) / (0.23 * n + 25)),
        rank=rank,
    )


@lru_cache(maxsize=64)
def _compiled(dim: int, popsize: int, rank: int) -> Any:
    """The kernel's C++ copy of the constants (``_core.LowRankNESParams``), built once."""
    return _core.LowRankNESParams(**_parameters(dim, popsize, rank)._asdict())


#: up to this n, ``condition_number`` uses dense eigenvalues (O(n³), called sparingly)
DENSE_CONDITION_MAX = 1000


def initial_direction(dim: int) -> FloatArray:
    """v at generation 0: v_i = (−1)^i / √n (norm 1; see the module docstring)."""
    n = _common.check_dim(dim)
    return np.where(np.arange(n) % 2 == 0, 1.0, -1.0) / math.sqrt(n)


class LowRankNES(Strategy):
    """Restricted-covariance natural evolution strategy, σ² D (I + v vᵀ) D (``"lowrank"``).

    Parameters
    ----------
    rank : {1, 0}, default 1
        1: CR-FM-NES's model D (I + v vᵀ) D; 0: the diagonal model D² with the same step-size
        rules (cheapest; for separable problems).
    margin : float, optional
        With integer coordinates (``Optimizer(..., integers=...)``): the lower bound α on the
        probability that an integer coordinate leaves its current value (CMA-ES with margin,
        :mod:`natgrad.optim.integers`), in (0, 0.5); default 1/(nλ).

    Notes
    -----
    The default λ is 4 + ⌊3 ln n⌋ rounded up to an even number (the draws come in mirrored
    pairs: row h + k of a batch is the mirror image of row k, h = ⌊λ/2⌋). ``noise`` has shape
    (λ, n) as for every strategy; rows h..2h − 1 of it are not read (the kernels read the mirror
    of row k as −row k), and ``natgrad.Optimizer`` fills them with −rows 0..h − 1, drawing only
    the rows read (``mirrored = True``). A minimal loop::

        s = LowRankNES(); st = s.initial_state(x0, 1.0); lam = s.default_popsize(len(x0))
        for _ in range(200):
            Z = rng.standard_normal(s.noise_shape(st, lam))
            X = s.sample(st, Z)
            st = s.update(st, Z, X, f(X))
    """

    name = "lowrank"
    state_type = LowRankNESState
    mirrored = True
    state_fields = {
        "mean": "vector",
        "sigma": "step",
        "scales": "positive_vector",
        "v": "vector",
        "p_sigma": "vector",
        "p_c": "vector",
        "generation": "count",
        "margin_scale": "positive_vector",
    }
    option_names = ("rank", "margin")

    def __init__(self, *, rank: int = 1, margin: float | None = None) -> None:
        if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) or rank not in (0, 1):
            raise ValueError(
                f"rank must be 0 (diagonal) or 1 (D(I + vvᵀ)D; rank >= 2 is not implemented), "
                f"got {rank!r}"
            )
        self.rank = int(rank)
        self.margin = _common.check_margin(margin)

    def default_popsize(self, dim: int) -> int:
        """4 + ⌊3 ln n⌋ rounded up to even (mirrored pairs)."""
        lam = default_popsize(dim)
        return lam + lam % 2

    def parameters(self, dim: int, popsize: int) -> LowRankNESParameters:
        """Constants for (``dim``, ``popsize``) (Nomura & Ono 2022, Table of parameters)."""
        return _parameters(_common.check_dim(dim), _common.check_popsize(popsize), self.rank)

    def _initial_state(self, x0: FloatArray, sigma0: float) -> LowRankNESState:
        """Generation 0: mean ``x0``, step ``sigma0``, D = I, v as in the module doc, zero paths.

        As in the reference implementation, D is first normalised by the first update.
        """
        n = x0.size
        v = initial_direction(n) if self.rank == 1 else np.zeros(n)
        return LowRankNESState(x0, sigma0, np.ones(n), v, np.zeros(n), np.zeros(n), 0, np.ones(n))

    def _sample(self, state: LowRankNESState, noise: FloatArray) -> FloatArray:
        """x_k = m + σ D (z_k + (√(1 + |v|²) − 1) v̄ v̄ᵀ z_k), z mirrored (module docstring)."""
        return _core.lowrank_nes_sample(
            state.mean, state.sigma, state.scales, state.v, noise, self.rank
        )

    def _update(
        self, state: LowRankNESState, noise: FloatArray, X: FloatArray, values: FloatArray
    ) -> LowRankNESState:
        """One generation in one compiled call; ``X`` is not needed (the draws suffice)."""
        p = _compiled(state.mean.size, noise.shape[0], self.rank)
        mean, sigma, scales, v, p_sigma, p_c = _core.lowrank_nes_update(
            state.mean, state.sigma, state.scales, state.v, state.p_sigma, state.p_c, noise,
            values, p,
        )  # fmt: skip
        return LowRankNESState(
            mean, sigma, scales, v, p_sigma, p_c, state.generation + 1, state.margin_scale
        )

    def scale_step(self, state: LowRankNESState, factor: float) -> LowRankNESState:
        return state._replace(sigma=state.sigma * factor)

    def scale_coordinates(self, state: LowRankNESState, scales: FloatArray) -> LowRankNESState:
        """D → D ⊙ ``scales``; the low-rank direction v (in D-scaled coordinates) is kept, so
        σ0·sqrt(C0_ii) = sigma0[i]·sqrt(1 + v_i²) (v is small at the start)."""
        return state._replace(scales=np.asarray(state.scales * scales))

    def condition_number(self, state: LowRankNESState) -> float:
        """cond(D (I + v vᵀ) D) = cond(D² + u uᵀ), u = D v.

        Up to n = ``DENSE_CONDITION_MAX`` (1000) exactly (dense eigenvalues); beyond, the largest eigenvalue is the root
        of the secular equation 1 + Σ u_i² / (d_i − λ) = 0 above max d_i (bisection, O(n) per
        step) and the smallest is bounded below by min d_i, so the value may overestimate the
        exact one by at most a factor d_(2) / d_(1) of the two smallest D².
        """
        d = state.scales**2
        u = state.scales * state.v
        n = d.size
        if n <= DENSE_CONDITION_MAX:
            eig = np.linalg.eigvalsh(np.diag(d) + np.outer(u, u))
            return float(eig[-1] / eig[0]) if eig[0] > 0 else math.inf
        u2 = u * u
        lo, hi = float(d.max()), float(d.max() + u2.sum())
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            with np.errstate(divide="ignore"):
                f = 1 + float(np.sum(u2 / (d - mid)))
            if f < 0:
                lo = mid
            else:
                hi = mid
            if hi - lo <= 1e-13 * hi:
                break
        return float(hi / d.min())

    def axis_scales(self, state: LowRankNESState) -> FloatArray:
        """σ D √(1 + v²) (the square roots of the diagonal of σ² D (I + v vᵀ) D)."""
        return np.asarray(state.sigma * state.scales * np.sqrt(1 + state.v**2))
