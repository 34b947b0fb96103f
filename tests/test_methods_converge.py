"""Every registered continuous method, run through natgrad.minimize: convergence with success
counts on 10-D sphere, ellipsoid and Rosenbrock, reproducibility and pickle-resume."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from natgrad import functions as F
from natgrad.optim import METHODS, Optimizer, get_strategy, minimize

CONTINUOUS_METHODS = sorted(
    name
    for name in METHODS
    if getattr(get_strategy(name), "noise_distribution", "normal") == "normal"
)

# (function, runs, successes required): Rosenbrock has a local minimum near x_1 = -1 that a
# run may settle in (about 20 % of runs for CMA-ES in 10-D), so not every run must succeed there.
PROBLEMS = [("sphere", 5, 5), ("ellipsoid", 5, 5), ("rosenbrock", 5, 3)]


def solve(method: str, name: str, seed: int):
    f = F.CONTINUOUS[name]
    return minimize(
        f,
        np.full(10, 3.0 if name != "rosenbrock" else 0.0),
        1.0 if name != "rosenbrock" else 0.5,
        method=method,
        ftarget=1e-8,
        max_evals=200_000,
        seed=seed,
        vectorized=True,
    )


#: (method, function) pairs known not to converge, kept as strict xfails so a fix is noticed
KNOWN_FAILURES = {
    ("snes", "rosenbrock"): "diagonal covariance: in Rosenbrock's curved valley some variances "
    "collapse and SNES stops with 'condition' near f ~ 0.2-1.5 after ~1e5 evaluations in 10-D "
    "(inherent to the model, see natgrad.optim.snes); its own tests cover separable problems",
}


def cases():
    for method in CONTINUOUS_METHODS:
        for name, runs, required in PROBLEMS:
            reason = KNOWN_FAILURES.get((method, name))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            yield pytest.param(method, name, runs, required, marks=marks, id=f"{method}-{name}")


@pytest.mark.parametrize(("method", "name", "runs", "required"), list(cases()))
def test_reaches_1e_minus_8_in_10d(method, name, runs, required):
    results = [solve(method, name, seed) for seed in range(runs)]
    successes = sum(r.fun <= 1e-8 for r in results)
    for r in results:
        assert r.fun == F.CONTINUOUS[name](r.x)
        assert r.success == (r.fun <= 1e-8)
    assert successes >= required, [(r.fun, r.nfev, r.stop_reason) for r in results]


@pytest.mark.parametrize("method", sorted(METHODS))
def test_reproducible_and_pickle_resume(method):
    strategy = get_strategy(method)
    binary = strategy.domain == "binary"
    f = F.onemax if binary else F.rosenbrock
    x0 = np.zeros(12)  # binary strategies read x0 as E[X]: zeros is the uniform distribution

    def make():
        return Optimizer(get_strategy(method), x0, None if binary else 0.5, seed=3)

    def step(opt, k):
        out = []
        for _ in range(k):
            X = opt.ask()
            out.append(X)
            opt.tell(X, f(X))
        return out

    a = make()
    step(a, 7)
    b = pickle.loads(pickle.dumps(a))
    for Xa, Xb in zip(step(a, 25), step(b, 25), strict=True):
        np.testing.assert_array_equal(Xa, Xb)
    c = make()
    step(c, 32)
    np.testing.assert_array_equal(a.mean, c.mean)
    assert a.best_f == c.best_f and a.sigma == c.sigma


def test_ipop_restarts_solve_rastrigin_with_default_method():
    """IPOP (Auger & Hansen 2005): single runs end in local minima of 5-D Rastrigin; restarts
    with doubling population reach 1e-8, each run's popsize twice the previous one's."""
    single, ipop = [], []
    for seed in range(5):
        kwargs = {"seed": seed, "ftarget": 1e-8, "vectorized": True}
        single.append(minimize(F.rastrigin, np.full(5, 3.0), 2.0, **kwargs))
        ipop.append(minimize(F.rastrigin, np.full(5, 3.0), 2.0, restarts=8, **kwargs))
    assert sum(r.success for r in single) <= 1
    assert sum(r.success for r in ipop) >= 4
    for r in ipop:
        base = get_strategy("igo-cma").default_popsize(5)
        assert r.popsize == base * 2**r.restarts
        assert r.fun == F.rastrigin(r.x)


@pytest.mark.parametrize("method", CONTINUOUS_METHODS)
def test_bounded_optimum_on_the_boundary(method):
    """Sphere restricted to [1, 4]^5: the answer is the corner (1, ..., 1), f = 5."""
    res = minimize(
        F.sphere,
        np.full(5, 3.0),
        1.0,
        method=method,
        bounds=(1.0, 4.0),
        seed=0,
        ftarget=5 + 1e-8,
        max_evals=100_000,
        vectorized=True,
    )
    assert res.success, (res.fun, res.stop_reason)
    assert np.all(res.x >= 1.0) and np.all(res.x <= 4.0)
    np.testing.assert_allclose(res.x, 1.0, atol=1e-4)


@pytest.mark.parametrize("method", CONTINUOUS_METHODS)
def test_nan_half_space_is_avoided(method):
    """f is NaN wherever x_0 > 0.5; starting inside the valid half, the run converges to 0."""

    def f(X):
        out = F.sphere(X)
        out[X[:, 0] > 0.5] = np.nan
        return out

    res = minimize(
        f,
        np.full(5, -1.0),
        0.5,
        method=method,
        seed=0,
        ftarget=1e-8,
        max_evals=100_000,
        vectorized=True,
    )
    assert res.success and np.isfinite(res.fun), (res.fun, res.stop_reason)


BINARY_METHODS = sorted(set(METHODS) - set(CONTINUOUS_METHODS))


@pytest.mark.parametrize("method", BINARY_METHODS)
@pytest.mark.parametrize("name", ["onemax", "ising"])
def test_binary_methods_find_the_known_minimum(method, name):
    """Through minimize: onemax in 30-D and a 16-spin Mattis glass (known ground state ±s) are
    solved exactly in 5 of 5 seeds; x0 = 0 is E[X] of the uniform distribution."""
    n = 30 if name == "onemax" else 16
    for seed in range(5):
        x_opt, f_opt = F.optimum(name, n, seed=seed)

        def f(X, seed=seed):
            return F.ising(X, seed=seed) if name == "ising" else F.onemax(X)

        res = minimize(
            f,
            np.zeros(n),
            None,  # the binary model has no step size
            method=method,
            seed=seed,
            vectorized=True,
            ftarget=f_opt + 1e-9 * abs(f_opt),
            max_evals=50_000,
        )
        assert res.success, (seed, res.fun, f_opt, res.stop_reason)
        assert set(np.unique(res.x)) <= {-1.0, 1.0}
        if name == "onemax":
            np.testing.assert_array_equal(res.x, x_opt)
        else:
            assert abs(res.x @ x_opt) == n  # the ground state or its mirror image
