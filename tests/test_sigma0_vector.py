"""sigma0 as a vector (pycma's CMA_stds): per-coordinate initial standard deviations, what each
method makes of it, and the methods that refuse it."""

from __future__ import annotations

import numpy as np
import pytest

import natgrad as ng
from natgrad.functions import sphere
from natgrad.optim import Optimizer

STDS = np.array([0.1, 1.0, 10.0, 2.0])
GEOMETRIC = float(np.exp(np.log(STDS).mean()))


@pytest.mark.parametrize("method", ["igo-cma", "xnes", "snes", "sngd"])
def test_initial_axis_scales_are_sigma0(method):
    opt = Optimizer(method, np.zeros(4), STDS, seed=0)
    np.testing.assert_allclose(opt.strategy.axis_scales(opt.state), STDS, rtol=1e-14)
    np.testing.assert_allclose(opt.sigma, GEOMETRIC, rtol=1e-14)


def test_lowrank_scales_its_diagonal():
    """LowRankNES: D = sigma0 / σ0, the initial direction v kept: σ·D·sqrt(1 + v²)."""
    opt = Optimizer("lowrank", np.zeros(4), STDS, seed=0)
    v = opt.state.v
    np.testing.assert_allclose(opt.state.scales * opt.sigma, STDS, rtol=1e-14)
    np.testing.assert_allclose(
        opt.strategy.axis_scales(opt.state), STDS * np.sqrt(1 + v**2), rtol=1e-14
    )


@pytest.mark.parametrize("method", ["igo-cma", "xnes", "snes", "sngd", "lowrank"])
def test_samples_have_the_per_coordinate_spread(method):
    opt = Optimizer(method, np.zeros(4), STDS, seed=0, popsize=4000)
    X = opt.ask()
    spread = X.std(axis=0)
    expected = opt.strategy.axis_scales(opt.state)
    # 4000 normal draws: the sample standard deviation is within 5 standard errors
    np.testing.assert_allclose(spread, expected, rtol=5 / np.sqrt(2 * 4000))


def test_equal_entries_equal_the_scalar_run():
    a = ng.minimize(sphere, np.ones(5), np.full(5, 0.5), seed=2, max_iter=40, vectorized=True)
    b = ng.minimize(sphere, np.ones(5), 0.5, seed=2, max_iter=40, vectorized=True)
    np.testing.assert_allclose(a.x, b.x, rtol=1e-12)
    np.testing.assert_allclose(a.fun, b.fun, rtol=1e-9)


def test_badly_scaled_problem_is_solved_faster_with_matching_stds():
    scale = np.array([1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0])

    def f(X):
        return sphere(X / scale)

    x0 = 3 * scale
    plain = ng.minimize(f, x0, 1.0, seed=1, ftarget=1e-10, vectorized=True)
    scaled = ng.minimize(f, x0, scale, seed=1, ftarget=1e-10, vectorized=True)
    assert plain.success and scaled.success
    assert scaled.nfev < plain.nfev


@pytest.mark.parametrize("method", ["gmrf", "binary-sngd"])
def test_methods_without_a_meaning_refuse_it(method):
    x0 = np.zeros(4)
    with pytest.raises(ValueError, match=method):
        Optimizer(method, x0, STDS, seed=0)


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (np.ones(3), r"shape \(4,\)"),
        (np.array([1.0, 0.0, 1.0, 1.0]), "> 0"),
        (np.array([1.0, -1.0, 1.0, 1.0]), "> 0"),
        (np.array([1.0, np.nan, 1.0, 1.0]), "sigma0"),
        (np.ones((2, 2)), "sigma0"),
    ],
)
def test_bad_vectors_are_refused(bad, match):
    with pytest.raises(ValueError, match=match):
        Optimizer("igo-cma", np.zeros(4), bad, seed=0)
    with pytest.raises(ValueError, match=match):
        ng.minimize(sphere, np.zeros(4), bad, seed=0, max_iter=2)


def test_input_not_mutated_and_checkpoint_round_trip(tmp_path):
    stds = STDS.copy()
    opt = Optimizer("igo-cma", np.zeros(4), stds, seed=0)
    for _ in range(3):
        X = opt.ask()
        opt.tell(X, sphere(X))
    np.testing.assert_array_equal(stds, STDS)
    opt.save(tmp_path / "c.npz")
    loaded = Optimizer.load(tmp_path / "c.npz")
    np.testing.assert_array_equal(loaded.state.factor, opt.state.factor)
    assert loaded._tolx == opt._tolx
    X, Y = opt.ask(), loaded.ask()
    np.testing.assert_array_equal(X, Y)
