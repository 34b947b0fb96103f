"""natgrad: natural-gradient optimisation over exponential families.

A compiled C++17/Eigen core does the heavy linear algebra; this package validates input, owns
state and randomness, and composes the pieces.
"""

from __future__ import annotations

from typing import Any

from . import _core, estimation, flows, functions, graphs, models
from ._validation import AccuracyWarning
from .descent import (
    DescentResult,
    DescentState,
    GradientDescent,
    MirrorDescent,
    NaturalGradientDescent,
    Objective,
)
from .families import (
    Bernoulli,
    Beta,
    BinaryIndependence,
    Binomial,
    Categorical,
    DiagonalGaussian,
    Exponential,
    Gamma,
    Poisson,
)
from .family import ExponentialFamily
from .gaussian import Gaussian
from .gaussian_mrf import GaussianMRF
from .linalg import natural_gradient, woodbury_solve
from .optim import GMRF, IGOCMA, SNES, SNGD, XNES, BinarySNGD, LowRankNES, Optimizer, minimize
from .optim.history import History
from .plotting import plot

__version__ = "0.1.0"


def build_info() -> dict[str, Any]:
    """How the compiled core that is running was built (ISA level, flags, compiler, Eigen, and
    which levels the build made: ``built_levels``, from ``NATGRAD_ISA_LEVELS=levels_requested``)."""
    return {
        "isa_level": _core.isa_level,
        "build_flags": " ".join(str(_core.build_flags).split()),
        "compiler": _core.compiler,
        "eigen_version": _core.eigen_version,
        "eigen_simd": _core.eigen_simd,
        "supported_levels": _core.supported_levels(),
        "built_levels": str(_core.built_levels).split(),
        "levels_requested": str(_core.levels_requested),
    }


__all__ = [
    "AccuracyWarning",
    "Bernoulli",
    "Beta",
    "BinaryIndependence",
    "BinarySNGD",
    "Binomial",
    "Categorical",
    "DescentResult",
    "DescentState",
    "DiagonalGaussian",
    "Exponential",
    "ExponentialFamily",
    "GMRF",
    "Gamma",
    "Gaussian",
    "GaussianMRF",
    "GradientDescent",
    "History",
    "IGOCMA",
    "LowRankNES",
    "MirrorDescent",
    "NaturalGradientDescent",
    "Objective",
    "Optimizer",
    "Poisson",
    "SNES",
    "SNGD",
    "XNES",
    "__version__",
    "build_info",
    "estimation",
    "flows",
    "functions",
    "graphs",
    "minimize",
    "models",
    "natural_gradient",
    "plot",
    "woodbury_solve",
]
