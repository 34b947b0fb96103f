"""Stochastic-relaxation optimisers: natural-gradient descent on a search distribution."""

from .binary import BinarySNGD, BinarySNGDState
from .strategy import Strategy
from .utilities import cma_weights, nes_utilities, rank_values

__all__ = [
    "BinarySNGD",
    "BinarySNGDState",
    "Strategy",
    "cma_weights",
    "nes_utilities",
    "rank_values",
]
