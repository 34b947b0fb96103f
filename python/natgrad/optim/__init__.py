"""Stochastic-relaxation optimisers: natural-gradient descent on a search distribution."""

from .strategy import Strategy
from .utilities import cma_weights, nes_utilities, rank_values

__all__ = ["Strategy", "cma_weights", "nes_utilities", "rank_values"]
