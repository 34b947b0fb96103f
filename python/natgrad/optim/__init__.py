"""Stochastic-relaxation optimisers: natural-gradient descent on a search distribution."""

from .binary import BinarySNGD, BinarySNGDState
from .sngd import SNGD, SNGDState
from .igo_cma import IGOCMA, IGOCMAState
from .snes import SNES, SNESState
from .strategy import Strategy
from .utilities import cma_weights, nes_utilities, rank_values
from .xnes import XNES, XNESState

__all__ = [
    "BinarySNGD",
    "BinarySNGDState",
    "SNGD",
    "SNGDState",
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
