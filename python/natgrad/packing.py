"""Packed Gaussian coordinates (MATH.md layout), the same layout as the compiled core's packing.hpp.

A packed vector of length m = n + n(n+1)/2 is [vector (n) | diagonal (n) | pairs i<j row-major].
"""

from __future__ import annotations

import numpy as np


def packed_size(n: int) -> int:
    return n + n * (n + 1) // 2


def dim_from_packed_size(m: int) -> int:
    """n with n + n(n+1)/2 = m; ValueError when m has no such form."""
    n = int((np.sqrt(9 + 8 * m) - 3) / 2)
    for c in (n - 1, n, n + 1):
        if c >= 0 and packed_size(c) == m:
            return c
    raise ValueError(f"length {m} is not n + n(n+1)/2 for any n")


def pair_indices(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices (i, j), i < j, in row-major order of the upper triangle."""
    return np.triu_indices(n, k=1)


def pack(vector: np.ndarray, matrix: np.ndarray, offdiag_scale: float = 1.0) -> np.ndarray:
    """[vector | diag(matrix) | offdiag_scale * matrix[i, j] for i < j]."""
    iu, ju = pair_indices(len(vector))
    return np.concatenate([vector, np.diag(matrix), offdiag_scale * matrix[iu, ju]])


def unpack(packed: np.ndarray, offdiag_scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`pack`: (vector, symmetric matrix)."""
    n = dim_from_packed_size(len(packed))
    iu, ju = pair_indices(n)
    matrix = np.diag(packed[n : 2 * n]).astype(float)
    matrix[iu, ju] = packed[2 * n :] / offdiag_scale
    matrix[ju, iu] = matrix[iu, ju]
    return packed[:n].copy(), matrix
