"""Probabilistic models trained with natural gradients: Helmholtz machines (RWS / NRWS)."""

from __future__ import annotations

from .datasets import LINES_ENTROPY, digits_binary, lines_dataset, lines_distribution
from .fisher_blocks import DampedFisherBlocks, fisher_blocks
from .helmholtz import EpochRecord, FitHistory, HelmholtzMachine

__all__ = [
    "LINES_ENTROPY",
    "DampedFisherBlocks",
    "EpochRecord",
    "FitHistory",
    "HelmholtzMachine",
    "digits_binary",
    "fisher_blocks",
    "lines_dataset",
    "lines_distribution",
]
