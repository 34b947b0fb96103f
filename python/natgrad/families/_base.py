"""Shared behaviour of the closed-form families."""

from __future__ import annotations

import numpy as np

from .._validation import FloatArray
from ..family import ExponentialFamily


class ClosedFormFamily(ExponentialFamily):
    """Subclasses implement ``_fisher(coords)``; :meth:`fisher` validates ``coords`` and refuses
    a matrix that float64 cannot represent (an entry overflowing to inf, or a variance underflowing
    to 0 at extreme parameters) instead of returning it silently."""

    def _fisher(self, coords: str) -> FloatArray:
        raise NotImplementedError

    def fisher(self, coords: str = "natural") -> FloatArray:
        """Fisher information matrix in the coordinate system ``coords``."""
        self._check_coords(coords)
        f = self._fisher(coords)
        if not (np.all(np.isfinite(f)) and np.all(np.diag(f) > 0)):
            raise ValueError(
                f"fisher: the Fisher matrix in {coords!r} coordinates is not representable in "
                f"float64 at {self!r} (overflow or underflow)"
            )
        return f
