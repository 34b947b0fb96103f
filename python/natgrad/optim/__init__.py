"""Stochastic-relaxation optimisers: natural-gradient descent on a search distribution."""

from .binary import BinarySNGD, BinarySNGDState
from .gmrf import GMRF, GMRFState
from .igo_cma import IGOCMA, IGOCMAState
from .lowrank import LowRankNES, LowRankNESState
from .minimize import minimize
from .optimizer import BoxTransform, Optimizer
from .registry import DEFAULT_METHOD, METHODS, default_method, get_strategy
from .snes import SNES, SNESState
from .sngd import SNGD, SNGDState
from .strategy import Strategy
from .utilities import cma_weights, nes_utilities, rank_values
from .xnes import XNES, XNESState

__all__ = [
    "DEFAULT_METHOD",
    "GMRF",
    "IGOCMA",
    "METHODS",
    "SNES",
    "SNGD",
    "XNES",
    "BinarySNGD",
    "BinarySNGDState",
    "BoxTransform",
    "GMRFState",
    "IGOCMAState",
    "LowRankNES",
    "LowRankNESState",
    "Optimizer",
    "SNESState",
    "SNGDState",
    "Strategy",
    "XNESState",
    "cma_weights",
    "default_method",
    "get_strategy",
    "minimize",
    "nes_utilities",
    "rank_values",
]
