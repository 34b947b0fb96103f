"""minimize(..., fixed_variables={index: value}): f sees full vectors with the fixed values, the
search runs on the free coordinates, the result is a full vector; bad input is refused."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import natgrad as ng
from natgrad.functions import sphere

FIXED = {1: 0.5, 4: -2.0}


def shifted(X):
    return sphere(np.asarray(X) - 1.0)


@pytest.mark.parametrize("vectorized", [True, False])
def test_f_sees_full_vectors_and_the_free_coordinates_are_optimised(vectorized):
    seen = []

    def f(X):
        seen.append(np.array(X))
        return shifted(X)

    res = ng.minimize(f, np.zeros(6), 0.5, seed=1, ftarget=9.25 + 1e-10, vectorized=vectorized,
                      fixed_variables=FIXED)  # fmt: skip
    points = np.concatenate([np.atleast_2d(x) for x in seen])
    assert points.shape[1] == 6
    assert np.all(points[:, 1] == 0.5) and np.all(points[:, 4] == -2.0)
    assert res.x.shape == (6,) and res.mean.shape == (6,)
    assert res.x[1] == 0.5 and res.x[4] == -2.0
    np.testing.assert_allclose(res.x[[0, 2, 3, 5]], 1.0, atol=1e-4)
    assert res.fun == shifted(res.x) and res.success
    assert res.optimizer.dim == 4 and res.history.mean.shape[1] == 4


def test_equals_the_run_on_the_reduced_function():
    """Fixing coordinates is the same run as minimising the reduced function directly."""
    free = [0, 2, 3, 5]

    def reduced(Z):
        X = np.empty((len(Z), 6))
        X[:, free] = Z
        X[:, 1], X[:, 4] = 0.5, -2.0
        return shifted(X)

    a = ng.minimize(shifted, np.zeros(6), 0.5, seed=3, max_iter=50, vectorized=True,
                    fixed_variables=FIXED)  # fmt: skip
    b = ng.minimize(reduced, np.zeros(4), 0.5, seed=3, max_iter=50, vectorized=True)
    np.testing.assert_array_equal(a.x[free], b.x)
    assert a.fun == b.fun and a.nfev == b.nfev
    np.testing.assert_array_equal(a.history.sigma, b.history.sigma)


def test_with_bounds_a_vector_sigma0_an_executor_and_a_callback():
    infos = []
    stds = np.array([0.5, 9.0, 0.5, 0.5, 9.0, 0.5])
    with ThreadPoolExecutor(2) as pool:
        res = ng.minimize(shifted, np.zeros(6), stds, seed=2, max_iter=30, executor=pool,
                          bounds=(-3, 0.8), fixed_variables=FIXED, callback=infos.append)  # fmt: skip
    assert np.all(res.x <= 0.8) and res.x[4] == -2.0
    assert infos[-1].x.shape == (6,) and infos[-1].mean.shape == (6,)
    # the fixed coordinates' entries of sigma0 are dropped
    first = ng.optim.Optimizer("igo-cma", np.zeros(4), stds[[0, 2, 3, 5]], seed=0)
    assert np.allclose(first.strategy.axis_scales(first.state), 0.5)


def test_user_input_is_not_mutated():
    fixed = dict(FIXED)
    x0 = np.zeros(6)
    ng.minimize(shifted, x0, 0.5, seed=1, max_iter=5, vectorized=True, fixed_variables=fixed)
    assert fixed == FIXED and np.array_equal(x0, np.zeros(6))


def test_resume_with_fixed_variables(tmp_path):
    path = tmp_path / "run.npz"
    args = dict(seed=4, max_iter=60, vectorized=True, fixed_variables=FIXED)
    full = ng.minimize(shifted, np.zeros(6), 0.5, **args)

    def stop(info):
        if info.nit == 25:
            raise KeyboardInterrupt

    ng.minimize(shifted, np.zeros(6), 0.5, **args, checkpoint=path, callback=stop)
    again = ng.minimize(shifted, np.zeros(6), 0.5, **args, resume=path)
    np.testing.assert_array_equal(again.x, full.x)
    assert again.nfev == full.nfev
    with pytest.raises(ValueError, match="fixed_variables"):
        ng.minimize(shifted, np.zeros(6), 0.5, **{**args, "fixed_variables": {1: 0.0, 4: -2.0}},
                    resume=path)  # fmt: skip


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ([(1, 0.5)], "dict"),
        ({6: 0.0}, "outside"),
        ({-1: 0.0}, "outside"),
        ({1.0: 0.0}, "integer"),
        ({True: 0.0}, "integer"),
        ({1: "0.5"}, "real number"),
        ({1: np.nan}, "finite"),
        ({i: 0.0 for i in range(6)}, "at least one"),
        ({1: 5.0}, "bounds"),
    ],
)
def test_bad_fixed_variables_are_refused(spec, match):
    with pytest.raises(ValueError, match=match):
        ng.minimize(shifted, np.zeros(6), 0.5, max_iter=2, bounds=(-3, 3), fixed_variables=spec)
