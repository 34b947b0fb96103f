"""SNGD on the full Gaussian: one step against the NumPy twin, the seed's flow, convergence."""

from __future__ import annotations

import numpy as np
import pytest

from _strategy_loop import run_strategy
from natgrad.optim import SNGD, Strategy
from natgrad.optim.utilities import nes_utilities, rank_values
from natgrad.packing import pack, unpack
from natgrad.reference import estimation as ref


def sphere(X):
    return (X**2).sum(axis=1)


def ellipsoid(X):
    n = X.shape[1]
    return (10 ** (3 * np.arange(n) / max(n - 1, 1)) * X**2).sum(axis=1)


def theta_of(mean, cov):
    P = np.linalg.inv(cov)
    return pack(P @ mean, -0.5 * P)


def one_step(rng, strategy, n=3, lam=30):
    state = strategy.initial_state(np.array([1.0, -2.0, 0.5])[:n], 0.7)
    # a non-isotropic state so that the charts differ
    state = strategy.update(
        state,
        *(lambda z: (z, strategy.sample(state, z)))(rng.standard_normal((lam, n))),
        rng.normal(size=lam),
    )
    z = rng.standard_normal((lam, n))
    X = strategy.sample(state, z)
    values = ellipsoid(X)
    return state, z, X, values, strategy.update(state, z, X, values)


def nes_shaped(values):
    return -(len(values) - 1) * nes_utilities(len(values))[rank_values(values)]


@pytest.mark.parametrize("coords", ["natural", "mean_cov"])
@pytest.mark.parametrize("fisher", ["exact", "empirical"])
def test_one_step_equals_reference(rng, coords, fisher):
    s = SNGD(coords=coords, fisher=fisher, learning_rate=0.05)
    assert isinstance(s, Strategy)
    state, z, X, values, new = one_step(rng, s)
    assert new.halvings == 0
    np.testing.assert_allclose(X, state.mean + z @ np.linalg.cholesky(state.cov).T, rtol=1e-13)
    f = nes_shaped(values)
    if fisher == "exact":
        dxi = ref.natural_gradient_mean_cov(X, f, state.mean)
        dtheta = ref.tangent_mean_cov_to_theta(state.mean, state.cov, dxi)
    else:
        # the twin regresses on T(x) directly; the strategy works in the standardised chart
        # z = L^-1 (x - mu): equal by chart invariance of the undamped estimator
        dtheta = ref.natural_gradient_theta_empirical(X, f, 0.0)
        dxi = ref.tangent_theta_to_mean_cov(state.mean, state.cov, dtheta)
    if coords == "natural":
        t, Theta = unpack(theta_of(state.mean, state.cov) - 0.05 * dtheta)
        want_cov = np.linalg.inv(-2 * Theta)
        want_mean = want_cov @ t
    else:
        dmu, dS = unpack(dxi)
        want_mean, want_cov = state.mean - 0.05 * dmu, state.cov - 0.05 * dS
    # cond(Sigma) ~ 10 here, empirical route: a 9 x 9 solve in two different charts
    rtol = 1e-10 if fisher == "exact" else 1e-8
    np.testing.assert_allclose(new.mean, want_mean, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(new.cov, want_cov, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(new.chol @ new.chol.T, new.cov, rtol=1e-13, atol=1e-15)
    assert new.generation == state.generation + 1


def test_seed_flow_is_straight_line_in_theta(rng):
    """Raw f in span(T), empirical Fisher, N > m: each step is theta <- theta - lr c exactly."""
    n = 2
    b = np.array([1.0, -2.0])
    Q = np.array([[2.0, 0.5], [0.5, 1.0]])
    c = pack(b, Q)
    s = SNGD(fisher="empirical", fitness_shaping=None, learning_rate=0.5)
    state = s.initial_state(np.array([3.0, 3.0]), 1.0)
    theta0 = theta_of(state.mean, state.cov)
    for k in range(1, 41):
        z = rng.standard_normal((12, n))
        X = s.sample(state, z)
        state = s.update(state, z, X, 0.7 + X @ b + np.einsum("si,ij,sj->s", X, Q, X))
        assert state.halvings == 0
        if k in (1, 10, 40):
            # the strategy maps theta -> (mu, Sigma) each step: rounding grows with cond(Sigma)
            np.testing.assert_allclose(
                theta_of(state.mean, state.cov), theta0 - 0.5 * k * c, rtol=1e-8, atol=1e-8
            )
    # FOGA'15: mu -> argmin = -Q^-1 b / 2, Sigma -> 0 like 1/k
    x_star = -np.linalg.solve(Q, b) / 2
    assert np.linalg.norm(state.mean - x_star) < 0.05
    assert np.linalg.eigvalsh(state.cov).max() < 0.05


CONFIGS = [
    {},
    {"coords": "mean_cov"},
    {"fisher": "empirical"},
    {"fisher": "empirical", "coords": "mean_cov"},
    {"fitness_shaping": "cma"},
]


@pytest.mark.parametrize("kwargs", CONFIGS)
@pytest.mark.parametrize(("f", "n"), [(sphere, 2), (sphere, 5), (ellipsoid, 4)])
def test_converges(kwargs, f, n):
    successes = 0
    for seed in range(3):
        _, best, gens, evals = run_strategy(
            SNGD(**kwargs), np.full(n, 2.0), 1.0, f, seed=seed, generations=1500, target=1e-10
        )
        successes += best <= 1e-10
    # measured (3-D sphere / 4-D ellipsoid): 80-330 generations, every run converged
    assert successes == 3


def test_monotone_invariance(rng):
    s = SNGD()
    a, *_ = run_strategy(s, np.full(3, 1.0), 1.0, sphere, seed=3, generations=30)
    b, *_ = run_strategy(
        s, np.full(3, 1.0), 1.0, lambda X: np.exp(sphere(X)), seed=3, generations=30
    )
    np.testing.assert_array_equal(a.mean, b.mean)
    np.testing.assert_array_equal(a.cov, b.cov)


def test_step_halving_keeps_cov_positive_definite(rng):
    s = SNGD(coords="mean_cov", fitness_shaping=None, learning_rate=50.0)
    state = s.initial_state(np.zeros(2), 1.0)
    z = rng.standard_normal((20, 2))
    X = s.sample(state, z)
    values = sphere(X)
    new = s.update(state, z, X, values)
    assert new.halvings > 0
    assert np.all(np.linalg.eigvalsh(new.cov) > state.cov[0, 0] / 4)  # the kappa = 4 margin
    dmu, dS = unpack(ref.natural_gradient_mean_cov(X, values, state.mean))
    step = 50.0 * 0.5**new.halvings
    np.testing.assert_allclose(new.mean, state.mean - step * dmu, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(new.cov, state.cov - step * dS, rtol=1e-12, atol=1e-14)
    # with no halvings allowed the step is rejected and the state kept
    strict = SNGD(coords="mean_cov", fitness_shaping=None, learning_rate=50.0, max_halvings=0)
    kept = strict.update(state, z, X, values)
    assert kept.halvings == 1 and kept.generation == 1
    np.testing.assert_array_equal(kept.cov, state.cov)


def test_theta_step_halving(rng):
    s = SNGD(fitness_shaping=None, learning_rate=50.0)
    state = s.initial_state(np.zeros(2), 1.0)
    z = rng.standard_normal((20, 2))
    X = s.sample(state, z)
    new = s.update(state, z, X, -sphere(X))  # maximising |x|: the precision shrinks
    assert new.halvings > 0
    assert np.all(np.linalg.eigvalsh(np.linalg.inv(new.cov)) > 1 / 4 - 1e-12)


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"coords": "eta"}, "coords"),
        ({"fisher": "fisher"}, "fisher"),
        ({"damping": -1.0}, "damping"),
        ({"fitness_shaping": None}, "learning_rate"),
        ({"fitness_shaping": "rank"}, "fitness_shaping"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"learning_rate_cov": -1.0}, "learning_rate_cov"),
        ({"max_halvings": -1}, "max_halvings"),
        ({"max_change": 1.0}, "max_change"),
    ],
)
def test_bad_options(kwargs, word):
    with pytest.raises(ValueError, match=word):
        SNGD(**kwargs)


def test_bad_initial_state():
    with pytest.raises(ValueError, match="sigma0"):
        SNGD().initial_state(np.zeros(2), -1.0)
    with pytest.raises(ValueError, match="x0"):
        SNGD().initial_state([[0.0]], 1.0)
    assert SNGD(fisher="empirical").default_popsize(3) > 9  # lambda > m = 9


def test_pickle_round_trip_continues_identically():
    import pickle

    s = SNGD(fisher="empirical", coords="mean_cov")
    state, *_ = run_strategy(s, np.full(3, 1.0), 1.0, sphere, seed=5, generations=10)
    s2, state2 = pickle.loads(pickle.dumps((s, state)))
    z = np.random.default_rng(9).standard_normal((s.default_popsize(3), 3))
    X = s.sample(state, z)
    a = s.update(state, z, X, sphere(X))
    b = s2.update(state2, z, s2.sample(state2, z), sphere(X))
    np.testing.assert_array_equal(a.cov, b.cov)
    np.testing.assert_array_equal(a.mean, b.mean)
