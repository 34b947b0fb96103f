"""Stochastic natural gradient on the independence model of {−1, +1}ⁿ (seed 003, the toy model).

p(x; θ) = Π_i exp(θ_i x_i) / (2 cosh θ_i), η_i = E[X_i] = tanh θ_i, P(X_i = +1) = expit(2θ_i).
For F(θ) = E_θ[f] the natural gradient in θ is ∇_η F = Cov(f, x) / (1 − η²) (errata #16: it is
½ ∇_μ F for the marginal probabilities μ = P(X = +1), not ∇_μ F). The strategy estimates it from
one population and descends: θ ← clip(θ − α ∇̃F).

Why "BinarySNGD": it is seed 003's stochastic natural gradient descent, with the same estimator
(Cov(f, T) over the Fisher) and the same options as :class:`natgrad.optim.SNGD`, on the binary
model. With rank utilities it is an instance of IGO on the Bernoulli family (Ollivier, Arnold,
Auger, Hansen 2017, §4.1), which in the expectation parameter gives PBIL / cGA to first order; it
differs from them by moving θ, not P(X = +1).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .. import _core
from .._binary import fisher_natural
from .._validation import FloatArray, as_float
from ._shaping import Shaping, check_shaping, shaped_values
from .strategy import Strategy


class BinarySNGDState(NamedTuple):
    """State of :class:`BinarySNGD` (immutable; ``update`` returns a new record)."""

    theta: FloatArray  #: natural parameters, |θ_i| ≤ θ_max
    mean: FloatArray  #: η = E[X] = tanh θ
    sigma: float  #: sqrt(mean_i Var X_i) = sqrt(mean(1 − η²)), for tolx-style termination
    generation: int


class BinarySNGD(Strategy):
    """Stochastic natural gradient descent on the ±1 independence model (``name="binary-sngd"``).

    Parameters
    ----------
    learning_rate : float, optional
        Step α in θ. Default 0.1 with fitness shaping (then α·λ-free: a step moves η by about
        α Σ_k w_k (x_k − x̄), like PBIL's rate); required when ``fitness_shaping=None`` because
        the step then scales with f.
    fitness_shaping : {"nes", "cma", None}, default "nes"
        Rank-based values (see ``natgrad.optim._shaping``) or raw f.
    margin : float, optional
        P(X_i = +1) is kept in [margin, 1 − margin] by clipping θ to ±½ ln((1 − margin)/margin).
        Default min(1/n, 0.1): the borders 1/n and 1 − 1/n of the cGA / UMDA analyses (Droste
        2006; Sudholt & Witt 2019, "On the choice of the update strength in estimation-of-
        distribution algorithms and ant colony optimization"; the IGO-on-Bernoulli margin of
        Hamano et al. 2022 is 1/(nλ)), capped at 0.1 so that small n keeps room to learn. Without
        a margin a coordinate can fixate on the wrong value and the natural gradient divides by
        1 − η² → 0.

    Notes
    -----
    ``x0`` is the initial η = E[X] ∈ (−1, 1)ⁿ (zeros: the uniform distribution), not a start
    point, and the model has no step size: ``Optimizer(BinarySNGD(), x0, None)`` and
    ``minimize(f, x0, None, method="binary-sngd")`` (a number given as ``sigma0`` is ignored
    with a warning; ``initial_state`` checks it and ignores it). ``noise`` is uniform on
    [0, 1), X_i = +1 where noise < P(X_i = +1). Work per generation: O(λn).

    Example
    -------
    >>> import numpy as np
    >>> s, rng = BinarySNGD(), np.random.default_rng(0)
    >>> state = s.initial_state(np.zeros(10), 1.0)
    >>> for _ in range(200):
    ...     u = rng.random(s.noise_shape(state, 12))
    ...     X = s.sample(state, u)
    ...     state = s.update(state, u, X, -X.sum(axis=1))  # maximise onemax
    >>> bool(np.all(state.mean > 0))
    True
    """

    name = "binary-sngd"
    state_type = BinarySNGDState
    state_fields = {
        "theta": "vector",
        "mean": "vector",
        "sigma": "nonnegative",
        "generation": "count",
    }
    #: the shell draws uniforms on [0, 1) for this strategy (see optim/strategy.py)
    noise_distribution = "uniform"
    domain = "binary"
    option_names = ("learning_rate", "fitness_shaping", "margin")

    def __init__(
        self,
        *,
        learning_rate: float | None = None,
        fitness_shaping: Shaping = "nes",
        margin: float | None = None,
    ) -> None:
        self.fitness_shaping = check_shaping(fitness_shaping)
        if learning_rate is None:
            if self.fitness_shaping is None:
                raise ValueError(
                    "learning_rate must be given when fitness_shaping=None "
                    "(the step scales with f), got None"
                )
            learning_rate = 0.1
        self.learning_rate = as_float("learning_rate", learning_rate, positive=True)
        if margin is not None:
            margin = as_float("margin", margin, positive=True)
            if not margin < 0.5:
                raise ValueError(f"margin must be in (0, 0.5), got {margin!r}")
        self.margin = margin

    def theta_max(self, dim: int) -> float:
        """Bound on |θ_i| that keeps P(X_i = +1) in [margin, 1 − margin]."""
        margin = self.margin if self.margin is not None else min(1.0 / dim, 0.1)
        return 0.5 * math.log((1.0 - margin) / margin)

    def _state(self, theta: FloatArray, generation: int) -> BinarySNGDState:
        var = np.asarray(fisher_natural(theta))  # Var X_i = 1 − η² = I_θ
        return BinarySNGDState(theta, np.tanh(theta), float(np.sqrt(var.mean())), generation)

    def _initial_state(self, x0: FloatArray, sigma0: float) -> BinarySNGDState:
        if not np.all(np.abs(x0) < 1):
            raise ValueError(f"x0 must be the initial E[X], entries in (-1, 1), got {x0}")
        tmax = self.theta_max(x0.size)
        return self._state(np.clip(np.arctanh(x0), -tmax, tmax), 0)

    def _sample(self, state: BinarySNGDState, noise: FloatArray) -> FloatArray:
        p_plus = 0.5 * (1.0 + state.mean)  # P(X = +1) = expit(2θ)
        return np.where(noise < p_plus, 1.0, -1.0)

    def _check_population(self, noise: FloatArray, X: FloatArray) -> None:
        if not np.all((noise >= 0) & (noise < 1)):
            raise ValueError("noise must be uniform draws in [0, 1) for the binary model")
        if not np.all(np.abs(X) == 1):
            raise ValueError("X must have entries -1 or +1 (the binary model's samples)")

    def _update(
        self, state: BinarySNGDState, noise: FloatArray, X: FloatArray, values: FloatArray
    ) -> BinarySNGDState:
        n = state.theta.size
        f = shaped_values(values, self.fitness_shaping, n)
        grad = np.asarray(_core.binary_natural_gradient(X, np.ascontiguousarray(f), state.theta))
        tmax = self.theta_max(n)
        theta = np.clip(state.theta - self.learning_rate * grad, -tmax, tmax)
        return self._state(theta, state.generation + 1)

    def scale_step(self, state: BinarySNGDState, factor: float) -> BinarySNGDState:
        """Unchanged: the binary model has no step size (a discarded generation is redrawn)."""
        return state

    def condition_number(self, state: BinarySNGDState) -> float:
        """Ratio of the largest to the smallest Var X_i; bounded by the margin."""
        var = np.asarray(fisher_natural(state.theta))
        return float(var.max() / var.min())

    def axis_scales(self, state: BinarySNGDState) -> FloatArray:
        """Standard deviations sqrt(1 − η_i²) of the coordinates."""
        return np.sqrt(np.asarray(fisher_natural(state.theta)))
