"""``minimize(..., fixed_variables={index: value})``: the search runs on the free coordinates.

As pycma's ``fixed_variables`` option: f always receives full n-vectors (the fixed coordinates
hold their values), the search distribution, its step sizes, bounds and history live in the
k = n − len(fixed) free coordinates, and the result's ``x`` and ``mean`` are full vectors again.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .._validation import FloatArray, as_float_array
from .optimizer import parse_bounds

__all__ = ["FixedVariables", "WithFixed"]


class FixedVariables:
    """Which coordinates are fixed, to what, and how to go between full and free vectors."""

    def __init__(self, spec: Any, dim: int, bounds: Any) -> None:
        if not isinstance(spec, Mapping):
            raise ValueError(
                "fixed_variables must be a dict {index: value}, got "
                f"{type(spec).__name__}: {spec!r:.80}"
            )
        indices, values = [], []
        for key, value in spec.items():
            if isinstance(key, bool) or not isinstance(key, numbers.Integral):
                raise ValueError(f"fixed_variables keys must be integer indices, got {key!r}")
            if not 0 <= int(key) < dim:
                raise ValueError(f"fixed_variables index {key!r} is outside 0 <= index < n = {dim}")
            if isinstance(value, (bool, str, bytes)) or not isinstance(value, numbers.Real):
                raise ValueError(f"fixed_variables[{key}] must be a real number, got {value!r:.80}")
            if not math.isfinite(float(value)):
                raise ValueError(f"fixed_variables[{key}] must be finite, got {value!r}")
            indices.append(int(key))
            values.append(float(value))
        if len(indices) >= dim:
            raise ValueError(
                f"fixed_variables fixes all {dim} coordinates: at least one must stay free, "
                f"got {spec!r:.80}"
            )
        order = np.argsort(indices)
        self.dim = dim
        self.fixed = np.array(indices, dtype=np.intp)[order]
        self.values = np.array(values, dtype=np.float64)[order]
        mask = np.ones(dim, dtype=bool)
        mask[self.fixed] = False
        self.free = np.flatnonzero(mask)
        sides = parse_bounds(bounds, dim)
        self.bounds: Any = None
        if sides is not None:
            lower, upper = sides
            outside = (self.values < lower[self.fixed]) | (self.values > upper[self.fixed])
            if outside.any():
                i = int(self.fixed[np.argmax(outside)])
                raise ValueError(
                    f"fixed_variables[{i}] = {spec[i]!r} lies outside bounds "
                    f"[{lower[i]!r}, {upper[i]!r}]"
                )
            self.bounds = (lower[self.free], upper[self.free])

    def as_pairs(self) -> list[list[float]]:
        """[[index, value], ...] in index order (for the resume signature)."""
        return [[int(i), float(v)] for i, v in zip(self.fixed, self.values, strict=True)]

    def reduce(self, x: FloatArray) -> FloatArray:
        """The free coordinates of a full vector."""
        return np.ascontiguousarray(x[..., self.free])

    def reduce_sigma0(self, sigma0: Any) -> Any:
        """A vector sigma0 of length n restricted to the free coordinates (a number as it is)."""
        if sigma0 is None or np.ndim(sigma0) == 0:
            return sigma0
        stds = as_float_array("sigma0", sigma0, ndim=1)
        if stds.shape != (self.dim,):
            raise ValueError(
                f"sigma0 must be a number or have shape ({self.dim},) (one step size per "
                f"coordinate of x0), got shape {stds.shape}"
            )
        return stds[self.free]

    def expand(self, x: FloatArray) -> FloatArray:
        """Full vectors (any leading shape) from free ones, the fixed values filled in."""
        full = np.empty((*x.shape[:-1], self.dim))
        full[..., self.free] = x
        full[..., self.fixed] = self.values
        return full


class WithFixed:
    """f of the free coordinates: f(full vector). Picklable (for process pools)."""

    def __init__(self, f: Callable[..., Any], fixed: FixedVariables) -> None:
        self.f = f
        self.fixed = fixed
        self.__name__ = getattr(f, "__name__", type(f).__name__)

    def __call__(self, x: FloatArray) -> Any:
        return self.f(self.fixed.expand(np.asarray(x, dtype=np.float64)))
