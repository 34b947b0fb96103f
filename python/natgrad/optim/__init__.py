"""Stochastic-relaxation optimisers: natural-gradient descent on a search distribution."""

from .igo_cma import IGOCMA, IGOCMAState
from .snes import SNES, SNESState
from .strategy import Strategy
from .utilities import cma_weights, nes_utilities, rank_values
from .xnes import XNES, XNESState

__all__ = [
    "IGOCMA",
    "IGOCMAState",
    "SNES",
    "SNESState",
    "Strategy",
    "XNES",
    "XNESState",
    "cma_weights",
    "nes_utilities",
    "rank_values",
]
