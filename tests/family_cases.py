"""The one list of family members the parametrised contract tests run over (each family with a
second member of the same family, for KL, descent targets and the like)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import natgrad as ng


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[], ng.ExponentialFamily]
    other: Callable[[], ng.ExponentialFamily]


def _mrf(mean: list[float], coupling: float) -> ng.GaussianMRF:
    """A star (centre 3: not a perfect elimination order as numbered) with a band edge."""
    graph = ng.graphs.from_edges(4, [[0, 3], [1, 3], [2, 3], [0, 1]])
    K = np.diag([1.5, 2.0, 1.2, 2.5])
    for i, j in graph.edges.tolist():
        K[i, j] = K[j, i] = coupling * (1 + 0.1 * i)
    return ng.GaussianMRF(mean, K, graph)


CASES = [
    Case("bernoulli", lambda: ng.Bernoulli(0.3), lambda: ng.Bernoulli(0.75)),
    Case("binomial", lambda: ng.Binomial(12, 0.35), lambda: ng.Binomial(12, 0.6)),
    Case(
        "categorical",
        lambda: ng.Categorical([0.1, 0.2, 0.3, 0.4]),
        lambda: ng.Categorical([0.4, 0.3, 0.2, 0.1]),
    ),
    Case("poisson", lambda: ng.Poisson(3.7), lambda: ng.Poisson(1.2)),
    Case("exponential", lambda: ng.Exponential(1.7), lambda: ng.Exponential(0.4)),
    Case("gamma", lambda: ng.Gamma(2.5, 1.5), lambda: ng.Gamma(4.0, 0.7)),
    Case("beta", lambda: ng.Beta(2.0, 3.5), lambda: ng.Beta(1.5, 1.2)),
    Case(
        "diag_gaussian",
        lambda: ng.DiagonalGaussian([0.5, -1.0], [0.7, 2.0]),
        lambda: ng.DiagonalGaussian([-0.2, 0.3], [1.3, 0.5]),
    ),
    Case(
        "binary",
        lambda: ng.BinaryIndependence([0.3, -1.1, 0.7]),
        lambda: ng.BinaryIndependence([-0.5, 0.2, 1.5]),
    ),
    Case(
        "gaussian_mrf",
        lambda: _mrf([0.5, -1.0, 0.2, 0.1], 0.4),
        lambda: _mrf([0.1, 0.2, -0.3, 0.0], -0.3),
    ),
    Case(
        "gaussian",
        lambda: ng.Gaussian([0.5, -1.0], [[1.0, 0.3], [0.3, 0.8]]),
        lambda: ng.Gaussian([0.1, 0.2], [[0.7, -0.2], [-0.2, 1.5]]),
    ),
]

#: name -> (member, other member)
PAIRS = {case.name: (case.make(), case.other()) for case in CASES}
