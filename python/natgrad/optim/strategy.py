"""The contract between a search-distribution update and the ask/tell machinery.

A *strategy* is the mathematics of one optimiser (XNES, SNES, IGO-CMA, SNGD, the binary model):
a typed, immutable state record and pure functions of it. Everything else an optimiser does —
asking and telling, checking shapes, the NaN/Inf policy, box bounds, termination, restarts,
pickling, the random generator — lives once, in :class:`natgrad.optim.Optimizer`, and serves every
strategy. So a test can feed fixed standard normals to ``sample`` and fixed values to ``update`` and
check one step exactly against the pure-NumPy twin in :mod:`natgrad.reference`.

Conventions
-----------
* ``state`` is a frozen dataclass or NamedTuple of NumPy arrays and floats (picklable, never
  mutated: ``update`` returns a new record). It always has ``mean`` (n,), ``sigma`` (float) and
  ``generation`` (int).
* Randomness never enters a strategy: ``sample`` receives the standard draws ``noise`` (from the
  optimiser's ``numpy.random.Generator``, shape ``noise_shape(state, popsize)``) and returns the
  candidates X of shape (popsize, n). For continuous strategies ``noise`` is standard normal; the
  binary strategy receives uniforms on [0, 1).
* ``update(state, noise, X, values)`` receives the same ``noise`` and ``X`` that ``sample``
  produced (the shell keeps them; strategies need not recover z from x) and ``values`` (popsize,)
  with every entry finite: the shell has already applied the NaN/Inf policy. Lower is better.
* Work per generation follows the strategy's stated complexity (e.g. O(λn²) for full covariance):
  the heavy lifting is one call into the compiled core.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from .._validation import FloatArray


@runtime_checkable
class Strategy(Protocol):
    """Pure update rules of one search distribution (see the module docstring)."""

    #: short name used by ``natgrad.minimize(method=...)`` and the command line
    name: str
    # A strategy may set ``noise_distribution = "uniform"`` (the binary model); the default,
    # when the attribute is absent, is "normal" (standard normal noise).

    def initial_state(self, x0: FloatArray, sigma0: float) -> Any:
        """State at generation 0 with mean ``x0`` and step size ``sigma0`` (already validated)."""

    def default_popsize(self, dim: int) -> int:
        """λ used when the user gives none."""

    def noise_shape(self, state: Any, popsize: int) -> tuple[int, ...]:
        """Shape of the standard draws ``sample`` needs for one generation."""

    def sample(self, state: Any, noise: FloatArray) -> FloatArray:
        """Candidates X, shape (popsize, n), from the standard draws ``noise``."""

    def update(self, state: Any, noise: FloatArray, X: FloatArray, values: FloatArray) -> Any:
        """New state after one generation; ``values`` are finite, lower is better."""

    def condition_number(self, state: Any) -> float:
        """Condition number of the search covariance (for the conditioning guard)."""

    def axis_scales(self, state: Any) -> FloatArray:
        """Per-coordinate standard deviations σ·sqrt(diag C) (for tolx and reporting)."""


def is_finite_state(state: Any) -> bool:
    """True when every array and float in the state record is finite."""
    fields = state._asdict().values() if hasattr(state, "_asdict") else vars(state).values()
    for value in fields:
        if isinstance(value, (float, np.floating, np.ndarray)) and not np.all(np.isfinite(value)):
            return False
    return True
