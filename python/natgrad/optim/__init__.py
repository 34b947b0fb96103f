"""Stochastic-relaxation optimisers: natural-gradient descent on a search distribution."""

from .binary import BinarySNGD, BinarySNGDState
from .sngd import SNGD, SNGDState
from .strategy import Strategy
from .utilities import cma_weights, nes_utilities, rank_values

__all__ = [
    "BinarySNGD",
    "BinarySNGDState",
    "SNGD",
    "SNGDState",
    "Strategy",
    "cma_weights",
    "nes_utilities",
    "rank_values",
]
