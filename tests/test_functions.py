"""natgrad.functions: each against a plain-loop definition, its stated minimum, batch shapes."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from natgrad import functions as F


def loop_definitions(name: str, x: np.ndarray) -> float:
    """The textbook formula, one coordinate at a time (independent of the vectorised code)."""
    n = len(x)
    if name == "sphere":
        return sum(v * v for v in x)
    if name == "ellipsoid":
        return sum(1e6 ** (i / (n - 1)) * x[i] ** 2 for i in range(n)) if n > 1 else x[0] ** 2
    if name == "cigar":
        return x[0] ** 2 + 1e6 * sum(v * v for v in x[1:])
    if name == "discus":
        return 1e6 * x[0] ** 2 + sum(v * v for v in x[1:])
    if name == "rosenbrock":
        return sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(n - 1))
    if name == "rastrigin":
        return 10 * n + sum(v * v - 10 * math.cos(2 * math.pi * v) for v in x)
    if name == "different_powers":
        return sum(abs(x[i]) ** (2 + 4 * i / (n - 1)) for i in range(n)) if n > 1 else x[0] ** 2
    raise KeyError(name)


PLAIN = ["sphere", "ellipsoid", "cigar", "discus", "rosenbrock", "rastrigin", "different_powers"]


@pytest.mark.parametrize("name", PLAIN)
@pytest.mark.parametrize("dim", [2, 7])
def test_matches_loop_definition(name, dim, rng):
    X = rng.standard_normal((5, dim)) * 2
    f = F.CONTINUOUS[name]
    batch = f(X)
    assert batch.shape == (5,)
    for row, value in zip(X, batch, strict=True):
        expected = loop_definitions(name, row)
        assert f(row) == pytest.approx(expected, rel=1e-12)
        assert value == f(row)
    assert isinstance(f(X[0]), float)


@pytest.mark.parametrize("name", sorted(F.CONTINUOUS))
@pytest.mark.parametrize("dim", [2, 5, 20])
def test_known_minimum(name, dim, rng):
    x_opt, f_opt = F.optimum(name, dim)
    f = F.CONTINUOUS[name]
    assert f(x_opt) == pytest.approx(f_opt, abs=1e-12)
    # every random point and every small perturbation of the minimiser is worse
    points = np.vstack(
        [rng.standard_normal((50, dim)) * 3, x_opt + 1e-3 * rng.standard_normal((50, dim))]
    )
    assert np.all(f(points) > f_opt)


def test_one_dimensional_forms():
    for name in ["sphere", "ellipsoid", "different_powers", "rastrigin"]:
        assert F.CONTINUOUS[name](np.array([0.5])) == pytest.approx(
            loop_definitions(name, [0.5]) if name != "ellipsoid" else 0.25
        )


def test_condition_numbers():
    n = 6
    e = np.eye(n)
    ell = F.ellipsoid(e)
    assert ell.max() / ell.min() == pytest.approx(1e6, rel=1e-12)
    np.testing.assert_allclose(F.cigar(e), [1.0] + [1e6] * (n - 1))
    np.testing.assert_allclose(F.discus(e), [1e6] + [1.0] * (n - 1))


def test_rotated_ellipsoid(rng):
    n = 5
    R = F._rotation(n, 3)
    np.testing.assert_allclose(R @ R.T, np.eye(n), atol=1e-13)
    Y = rng.standard_normal((4, n))
    # f(Rᵀ y) = ellipsoid(y): the rotation is applied before the ellipsoid
    np.testing.assert_allclose(F.rotated_ellipsoid(Y @ R, seed=3), F.ellipsoid(Y), rtol=1e-12)
    x = rng.standard_normal(n)
    assert F.rotated_ellipsoid(x, seed=3) == F.rotated_ellipsoid(x, seed=3)
    assert F.rotated_ellipsoid(x, seed=3) != F.rotated_ellipsoid(x, seed=4)
    # its eigenvalues are those of the ellipsoid: the Hessian is 2 Rᵀ D R
    H = np.array(
        [
            [
                0.5
                * (
                    F.rotated_ellipsoid(e1 + e2, seed=3)
                    - F.rotated_ellipsoid(e1, seed=3)
                    - F.rotated_ellipsoid(e2, seed=3)
                )
                for e2 in np.eye(n)
            ]
            for e1 in np.eye(n)
        ]
    )
    np.testing.assert_allclose(np.linalg.eigvalsh(H), 1e6 ** (np.arange(n) / (n - 1)), rtol=1e-9)


def test_onemax(rng):
    X = np.where(rng.random((10, 9)) < 0.5, -1.0, 1.0)
    np.testing.assert_array_equal(F.onemax(X), (X == -1).sum(axis=1))
    assert F.onemax(np.ones(9)) == 0.0
    assert F.optimum("onemax", 9) == (pytest.approx(np.ones(9)), 0.0)


@pytest.mark.parametrize("seed", [0, 5])
def test_ising_minimum_by_enumeration(seed):
    n = 9
    J, s = F.ising_couplings(n, seed)
    np.testing.assert_array_equal(J, J.T)
    np.testing.assert_array_equal(np.diag(J), 0.0)
    all_x = np.array(list(itertools.product([-1.0, 1.0], repeat=n)))
    energies = F.ising(all_x, seed=seed)
    # against the double loop −Σ_{i<j} J_ij x_i x_j
    x = all_x[37]
    loop = -sum(J[i, j] * x[i] * x[j] for i in range(n) for j in range(i + 1, n))
    assert energies[37] == pytest.approx(loop, rel=1e-12)
    x_opt, f_opt = F.optimum("ising", n, seed=seed)
    assert energies.min() == pytest.approx(f_opt, rel=1e-12)
    winners = all_x[np.isclose(energies, energies.min(), rtol=1e-12)]
    assert {tuple(w) for w in winners} == {tuple(s), tuple(-s)}
    np.testing.assert_array_equal(x_opt, s)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: F.sphere(np.zeros((2, 2, 2))), r"x must have shape \(n,\) or \(N, n\)"),
        (lambda: F.sphere(np.zeros((3, 0))), "at least 1 coordinates"),
        (lambda: F.rosenbrock(np.zeros(1)), "at least 2 coordinates"),
        (lambda: F.sphere(["a", "b"]), "x must contain real numbers"),
        (lambda: F.onemax(np.array([1.0, 0.0])), r"x must have entries in \{-1, \+1\}"),
        (lambda: F.ising(np.array([1.0, 2.0])), r"x must have entries in \{-1, \+1\}"),
        (lambda: F.rotated_ellipsoid(np.zeros(3), seed=-1), "seed must be >= 0"),
        (lambda: F.optimum("nope", 3), "name must be one of"),
        (lambda: F.optimum("rosenbrock", 1), "dim must be >= 2"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_inputs_not_mutated_and_lists_accepted():
    X = np.arange(6.0).reshape(2, 3)
    keep = X.copy()
    for f in F.CONTINUOUS.values():
        f(X)
    np.testing.assert_array_equal(X, keep)
    assert F.sphere([1, 2, 3]) == 14.0
    assert F.rosenbrock([[1, 1], [0, 0]]).tolist() == [0.0, 1.0]


def test_instances_are_not_correlated_with_a_same_seeded_optimizer():
    """The hidden ground state of ising(seed=k) is not the first sample of default_rng(k)."""
    for seed in range(5):
        _, s = F.ising_couplings(16, seed)
        first = np.where(np.random.default_rng(seed).random(16) < 0.5, 1.0, -1.0)
        assert abs(first @ s) < 16
