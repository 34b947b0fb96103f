import numpy as np
import pytest

import natgrad as ng
from natgrad._validation import as_generator


def test_natural_gradient_matches_numpy_solve(rng):
    a = rng.standard_normal((30, 30))
    fisher = a @ a.T + 0.1 * np.eye(30)
    grad = rng.standard_normal(30)
    expected = np.linalg.solve(fisher + 0.5 * np.eye(30), grad)
    np.testing.assert_allclose(ng.natural_gradient(fisher, grad, damping=0.5), expected, rtol=1e-10)


def test_natural_gradient_failed_cholesky_names_pivot():
    fisher = np.diag([1.0, 2.0, -1.0])
    with pytest.raises(ValueError, match=r"pivot 2.*damping"):
        ng.natural_gradient(fisher, np.ones(3))


@pytest.mark.parametrize(
    ("fisher", "grad", "damping", "match"),
    [
        (np.eye(3), np.ones(2), 0.0, "grad"),
        (np.ones((2, 3)), np.ones(2), 0.0, "fisher"),
        (np.eye(2), [np.nan, 1.0], 0.0, "grad"),
        (np.eye(2), np.ones(2), -1.0, "damping"),
    ],
)
def test_natural_gradient_bad_input(fisher, grad, damping, match):
    with pytest.raises(ValueError, match=match):
        ng.natural_gradient(fisher, grad, damping=damping)


def test_woodbury_matches_dense_and_reference(rng):
    from natgrad.reference import linalg as ref

    m, n_samples = 50, 8
    u = rng.standard_normal((m, n_samples))
    g = rng.standard_normal(m)
    dense = np.linalg.solve(0.3 * np.eye(m) + u @ u.T, g)
    np.testing.assert_allclose(ng.woodbury_solve(u, g, 0.3), dense, rtol=1e-10)
    np.testing.assert_allclose(ref.woodbury_solve(u, g, 0.3), dense, rtol=1e-10)
    np.testing.assert_allclose(ng.natural_gradient(u @ u.T, g, 0.3), dense, rtol=1e-10)
    np.testing.assert_allclose(ref.damped_cholesky_solve(u @ u.T, g, 0.3), dense, rtol=1e-10)
    gg = rng.standard_normal((m, 3))
    np.testing.assert_allclose(
        ng.woodbury_solve(u, gg, 0.3), np.linalg.solve(0.3 * np.eye(m) + u @ u.T, gg), rtol=1e-10
    )
    # rank one: Sherman-Morrison closed form
    v = u[:, :1]
    sm = (g - v[:, 0] * (v[:, 0] @ g) / (0.3 + v[:, 0] @ v[:, 0])) / 0.3
    np.testing.assert_allclose(ng.woodbury_solve(v, g, 0.3), sm, rtol=1e-12)


def test_woodbury_empirical_fisher_of_gaussian_scores(rng):
    # empirical Fisher from N < m score vectors of a Gaussian in theta: T(x) - eta
    g = ng.Gaussian(np.zeros(4), np.eye(4))
    t = g.sufficient_stats(g.sample(6, rng)) - g.expectation()
    u = t.T / np.sqrt(len(t))
    grad = rng.standard_normal(g.num_params)
    dense = ng.natural_gradient(u @ u.T, grad, damping=1e-2)
    np.testing.assert_allclose(ng.woodbury_solve(u, grad, 1e-2), dense, rtol=1e-8)


@pytest.mark.parametrize(
    ("u", "grad", "damping", "match"),
    [
        (np.ones((3, 2)), np.ones(2), 1.0, "grad must have shape"),
        (np.ones((3, 2)), np.ones(3), 0.0, "damping must be > 0"),
        (np.ones(3), np.ones(3), 1.0, "u must be 2-dimensional"),
        (np.full((3, 2), np.nan), np.ones(3), 1.0, "u must be finite"),
    ],
)
def test_woodbury_bad_input(u, grad, damping, match):
    with pytest.raises(ValueError, match=match):
        ng.woodbury_solve(u, grad, damping)


def test_failed_cholesky_large_names_pivot(rng):
    a = rng.standard_normal((300, 300))
    f = a @ a.T
    f[150, 150] = -1.0
    with pytest.raises(ValueError, match=r"pivot \d+.*increase damping"):
        ng.natural_gradient(f, np.ones(300))


def test_natural_gradient_refuses_asymmetric_fisher(rng):
    # The factorisation reads one triangle only: an asymmetric F used to be replaced silently by
    # the symmetric matrix of its upper triangle ([[2, 1], [0, 2]] solved as [[2, 1], [1, 2]]).
    with pytest.raises(ValueError, match=r"fisher must be symmetric"):
        ng.natural_gradient([[2.0, 1.0], [0.0, 2.0]], [1.0, 1.0])
    a = rng.standard_normal((70, 70))  # larger than one 64 x 64 block of the check
    f = a @ a.T + np.eye(70)
    f[3, 68] += 1e-6 * np.abs(f).max()
    with pytest.raises(ValueError, match=r"fisher must be symmetric"):
        ng.natural_gradient(f, np.ones(70))
    # rounding-level asymmetry (<= 1e-10 max|F|) is accepted: the answer moves by ~cond * 1e-10
    f = a @ a.T + np.eye(70)
    want = np.linalg.solve(f, np.ones(70))
    f[3, 68] += 1e-13 * np.abs(f).max()
    np.testing.assert_allclose(
        ng.natural_gradient(f, np.ones(70)), want, rtol=0, atol=1e-11 * np.linalg.cond(f)
    )


def test_natural_gradient_refuses_empty_fisher():
    with pytest.raises(ValueError, match=r"^fisher must be square and at least 1 x 1"):
        ng.natural_gradient(np.zeros((0, 0)), np.zeros(0))


@pytest.mark.parametrize("seed", [-1, "abc", 1.5])
def test_bad_seed_names_the_argument(seed):
    with pytest.raises(ValueError, match="seed must be"):
        as_generator(seed=seed)


# --- errors and accuracy (defect 7) ---


def test_woodbury_with_huge_scores_is_finite_and_right(rng):
    # (d I + U Uᵀ) x = g with σ(U) ~ 1e300 ≫ √d: x = (I − P) g / d up to 1e-600 relative, P the
    # orthogonal projector onto range(U) (computed here by QR, an independent route); U'U used to
    # overflow and every entry came back NaN
    u = rng.standard_normal((6, 3))
    g = rng.standard_normal(6)
    q = np.linalg.qr(u)[0]
    want = g - q @ (q.T @ g)
    got = ng.woodbury_solve(u * 1e300, g, 1.0)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14 * np.abs(want).max())
    # and the same scaling across the overflow threshold agrees with the unscaled route
    np.testing.assert_allclose(
        ng.woodbury_solve(u * 2.0**510, g, 2.0**1020),
        ng.woodbury_solve(u, g, 1.0) / 2.0**1020,
        rtol=1e-12,
    )


def test_woodbury_rank_deficient_huge_scores_raise():
    u = np.ones((4, 2)) * 1e300  # two equal columns: U'U is singular once d/s² underflows
    with pytest.raises(ValueError, match=r"u"):
        ng.woodbury_solve(u, np.arange(4.0), 1.0)


def test_dense_natural_gradient_warns_when_ill_conditioned():
    f = np.diag([1.0, 1e-12])
    with pytest.warns(ng.AccuracyWarning, match="condition number"):
        x = ng.natural_gradient(f, [1.0, 1.0])
    np.testing.assert_allclose(x, [1.0, 1e12], rtol=1e-15)
    ng.natural_gradient(f, [1.0, 1.0], damping=1e-6)  # cond 1e6: no warning
