"""Test-only strategy: a (μ/μ_w, λ)-ES with cumulative step-size adaptation, pure NumPy.

Isotropic Gaussian N(m, σ² I); weights and CSA constants from Hansen (2016), "The CMA Evolution
Strategy: A Tutorial", eqs. (49), (55), (43)-(44). It lets the shell be tested without the real
strategies.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from natgrad.optim import Strategy, cma_weights


class ESState(NamedTuple):
    mean: np.ndarray
    sigma: float
    generation: int
    path: np.ndarray


class CSAES(Strategy):
    """Isotropic (μ/μ_w, λ)-ES with CSA, implementing the Strategy contract."""

    name = "test-csa-es"
    state_type = ESState
    state_fields = {"mean": "vector", "sigma": "step", "generation": "count", "path": "vector"}

    def _initial_state(self, x0: np.ndarray, sigma0: float) -> ESState:
        return ESState(x0.copy(), float(sigma0), 0, np.zeros_like(x0))

    def _sample(self, state: ESState, noise: np.ndarray) -> np.ndarray:
        return state.mean + state.sigma * noise

    def scale_step(self, state: ESState, factor: float) -> ESState:
        return state._replace(sigma=state.sigma * factor)

    def _update(
        self, state: ESState, noise: np.ndarray, X: np.ndarray, values: np.ndarray
    ) -> ESState:
        lam, n = noise.shape
        weights, mueff = cma_weights(lam, n, active=False)
        order = np.argsort(values, kind="stable")
        zw = weights @ noise[order]
        cs = (mueff + 2) / (n + mueff + 5)  # (eq. 55)
        ds = 1 + 2 * max(0.0, math.sqrt((mueff - 1) / (n + 1)) - 1) + cs
        path = (1 - cs) * state.path + math.sqrt(cs * (2 - cs) * mueff) * zw  # (eq. 43)
        chi_n = math.sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n * n))
        sigma = state.sigma * math.exp(cs / ds * (np.linalg.norm(path) / chi_n - 1))  # (eq. 44)
        return ESState(state.mean + state.sigma * zw, sigma, state.generation + 1, path)

    def condition_number(self, state: ESState) -> float:
        return 1.0

    def axis_scales(self, state: ESState) -> np.ndarray:
        return np.full(state.mean.size, state.sigma)


class NullStrategy(CSAES):
    """Sampling only, no update: isolates the shell's own cost and behaviour."""

    name = "test-null"

    def _update(
        self, state: ESState, noise: np.ndarray, X: np.ndarray, values: np.ndarray
    ) -> ESState:
        return state._replace(generation=state.generation + 1)
