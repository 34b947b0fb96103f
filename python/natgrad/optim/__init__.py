"""Stochastic-relaxation optimisers: natural-gradient descent on a search distribution."""

from .minimize import minimize
from .optimizer import BoxTransform, Optimizer
from .registry import DEFAULT_METHOD, METHODS, get_strategy
from .strategy import Strategy
from .utilities import cma_weights, nes_utilities, rank_values

__all__ = [
    "DEFAULT_METHOD",
    "METHODS",
    "BoxTransform",
    "Optimizer",
    "Strategy",
    "cma_weights",
    "get_strategy",
    "minimize",
    "nes_utilities",
    "rank_values",
]
