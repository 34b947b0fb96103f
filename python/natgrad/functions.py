"""Vectorised test functions for black-box optimisers.

Every function takes one point of shape (n,) (and returns a float) or a batch of shape (N, n) (and
returns an (N,) array), so it serves ``natgrad.minimize(f, ...)`` and
``natgrad.minimize(f, ..., vectorized=True)`` alike. All are minimised; the minimum is stated in
each docstring and returned by :func:`optimum`.

Continuous (unshifted forms of the classical suites, e.g. Hansen's CMA-ES test set and BBOB):
``sphere``, ``ellipsoid``, ``rotated_ellipsoid``, ``cigar``, ``discus``, ``rosenbrock``,
``rastrigin``, ``different_powers``. Binary, on {-1, +1}^n: ``onemax``, ``ising``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ._validation import FloatArray, as_float_array, as_int

__all__ = [
    "BINARY",
    "CONTINUOUS",
    "cigar",
    "different_powers",
    "discus",
    "ellipsoid",
    "ising",
    "ising_couplings",
    "onemax",
    "optimum",
    "rastrigin",
    "rosenbrock",
    "rotated_ellipsoid",
    "sphere",
]

#: condition number of ellipsoid, cigar and discus
CONDITION = 1e6

# Instances are drawn from streams of their own, so that a function seeded like the optimiser
# (seed=1 for both, say) is not correlated with the optimiser's draws.
_ROTATION_STREAM = 0x524F54  # "ROT"
_ISING_STREAM = 0x495347  # "ISG"


def _batch(x: ArrayLike, min_dim: int = 1) -> tuple[FloatArray, bool]:
    """(N, n) view of the input and whether it was a single point."""
    arr = np.asarray(x)
    if arr.dtype != np.float64:
        arr = as_float_array("x", arr, finite=False)
    if arr.ndim not in (1, 2):
        raise ValueError(f"x must have shape (n,) or (N, n), got {arr.shape}")
    if arr.shape[-1] < min_dim:
        raise ValueError(f"x must have at least {min_dim} coordinates, got shape {arr.shape}")
    return (arr[np.newaxis, :], True) if arr.ndim == 1 else (arr, False)


def _out(values: FloatArray, single: bool) -> Any:
    return float(values[0]) if single else values


def _scales(n: int) -> FloatArray:
    """CONDITION^((i-1)/(n-1)), i = 1..n (all ones for n = 1)."""
    return CONDITION ** (np.arange(n) / max(n - 1, 1))


def sphere(x: ArrayLike) -> Any:
    """f(x) = Σ x_i²; minimum 0 at x = 0."""
    X, single = _batch(x)
    return _out(np.einsum("ij,ij->i", X, X), single)


def ellipsoid(x: ArrayLike) -> Any:
    """f(x) = Σ 10^(6 (i-1)/(n-1)) x_i² (condition 1e6); minimum 0 at x = 0."""
    X, single = _batch(x)
    # row sums (not a matrix-vector product) so one point and a batch round identically
    return _out((X * X * _scales(X.shape[1])).sum(axis=1), single)


@lru_cache(maxsize=32)
def _rotation(n: int, seed: int) -> FloatArray:
    """Haar-distributed orthogonal matrix (QR of a Gaussian matrix with sign fix)."""
    g = np.random.default_rng([_ROTATION_STREAM, seed]).standard_normal((n, n))
    q, r = np.linalg.qr(g)
    q = q * np.sign(np.diag(r))
    q.setflags(write=False)
    return q


def rotated_ellipsoid(x: ArrayLike, *, seed: int = 0) -> Any:
    """f(x) = ellipsoid(R x) with a random rotation R fixed by ``seed``; minimum 0 at x = 0."""
    X, single = _batch(x)
    R = _rotation(X.shape[1], as_int("seed", seed, minimum=0))
    Y = X @ R.T
    return _out((Y * Y * _scales(X.shape[1])).sum(axis=1), single)


def cigar(x: ArrayLike) -> Any:
    """f(x) = x_1² + 10⁶ Σ_{i>1} x_i²; minimum 0 at x = 0."""
    X, single = _batch(x)
    sq = X * X
    return _out(sq[:, 0] + CONDITION * sq[:, 1:].sum(axis=1), single)


def discus(x: ArrayLike) -> Any:
    """f(x) = 10⁶ x_1² + Σ_{i>1} x_i² (also called tablet); minimum 0 at x = 0."""
    X, single = _batch(x)
    sq = X * X
    return _out(CONDITION * sq[:, 0] + sq[:, 1:].sum(axis=1), single)


def rosenbrock(x: ArrayLike) -> Any:
    """f(x) = Σ_{i<n} 100 (x_{i+1} − x_i²)² + (1 − x_i)², n >= 2; minimum 0 at x = (1, …, 1)."""
    X, single = _batch(x, min_dim=2)
    head, tail = X[:, :-1], X[:, 1:]
    return _out((100.0 * (tail - head * head) ** 2 + (1.0 - head) ** 2).sum(axis=1), single)


def rastrigin(x: ArrayLike) -> Any:
    """f(x) = 10 n + Σ x_i² − 10 cos(2π x_i); minimum 0 at x = 0 (many local minima)."""
    X, single = _batch(x)
    return _out(10.0 * X.shape[1] + (X * X - 10.0 * np.cos(2 * np.pi * X)).sum(axis=1), single)


def different_powers(x: ArrayLike) -> Any:
    """f(x) = Σ |x_i|^(2 + 4 (i-1)/(n-1)); minimum 0 at x = 0."""
    X, single = _batch(x)
    n = X.shape[1]
    powers = 2.0 + 4.0 * np.arange(n) / max(n - 1, 1)
    return _out((np.abs(X) ** powers).sum(axis=1), single)


def _binary_batch(x: ArrayLike) -> tuple[FloatArray, bool]:
    X, single = _batch(x)
    if not np.all(np.abs(X) == 1.0):
        raise ValueError("x must have entries in {-1, +1}")
    return X, single


def onemax(x: ArrayLike) -> Any:
    """Number of −1 entries, Σ (1 − x_i)/2, for x ∈ {−1, +1}^n; minimum 0 at x = (+1, …, +1)."""
    X, single = _binary_batch(x)
    return _out(0.5 * (X.shape[1] - X.sum(axis=1)), single)


@lru_cache(maxsize=32)
def _mattis(n: int, seed: int) -> tuple[FloatArray, FloatArray]:
    rng = np.random.default_rng([_ISING_STREAM, seed])
    ground = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    strength = np.abs(rng.standard_normal((n, n)))
    strength = np.triu(strength, 1)
    strength = strength + strength.T
    couplings = strength * np.outer(ground, ground)
    couplings.setflags(write=False)
    ground.setflags(write=False)
    return couplings, ground


def ising_couplings(dim: int, seed: int = 0) -> tuple[FloatArray, FloatArray]:
    """Couplings J (n × n, symmetric, zero diagonal) of :func:`ising` and its ground state.

    A Mattis spin glass (Mattis, Phys. Lett. A 56, 1976): J_ij = |K_ij| s_i s_j with K_ij standard
    normal and hidden signs s_i = ±1, all drawn from ``seed``. The couplings look random, yet
    every term −J_ij x_i x_j is minimised at once by x = ±s, so the minimum is known exactly:
    −Σ_{i<j} |K_ij|, at x = s and x = −s.
    """
    n = as_int("dim", dim, minimum=1)
    J, s = _mattis(n, as_int("seed", seed, minimum=0))
    return J.copy(), s.copy()


def ising(x: ArrayLike, *, seed: int = 0) -> Any:
    """Ising energy −Σ_{i<j} J_ij x_i x_j on {−1, +1}^n with seeded random couplings.

    See :func:`ising_couplings`: minimum −Σ_{i<j} |J_ij| at the hidden ground state ±s.
    """
    X, single = _binary_batch(x)
    J, _ = _mattis(X.shape[1], as_int("seed", seed, minimum=0))
    return _out(-0.5 * np.einsum("ij,ij->i", X @ J, X), single)


#: continuous test functions by name
CONTINUOUS: dict[str, Callable[..., Any]] = {
    "sphere": sphere,
    "ellipsoid": ellipsoid,
    "rotated_ellipsoid": rotated_ellipsoid,
    "cigar": cigar,
    "discus": discus,
    "rosenbrock": rosenbrock,
    "rastrigin": rastrigin,
    "different_powers": different_powers,
}

#: binary test functions (on {-1, +1}^n) by name
BINARY: dict[str, Callable[..., Any]] = {"onemax": onemax, "ising": ising}


def optimum(name: str, dim: int, *, seed: int = 0) -> tuple[FloatArray, float]:
    """A global minimiser and the minimum of the test function ``name`` in dimension ``dim``.

    ``seed`` selects the instance of ``rotated_ellipsoid`` and ``ising`` (ignored otherwise).
    """
    if name not in CONTINUOUS and name not in BINARY:
        valid = ", ".join(sorted({**CONTINUOUS, **BINARY}))
        raise ValueError(f"name must be one of {valid}, got {name!r}")
    n = as_int("dim", dim, minimum=2 if name == "rosenbrock" else 1)
    if name == "rosenbrock" or name == "onemax":
        return np.ones(n), 0.0
    if name == "ising":
        J, s = ising_couplings(n, seed)
        return s, float(-0.5 * np.abs(J).sum())
    return np.zeros(n), 0.0
