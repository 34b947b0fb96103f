"""Optimizer.inject and minimize(inject=...): known points enter the next generation as its last
rows, f sees them bit for bit, their draws invert the strategy's sampling (shortened to norm
√n + 2n/(n+2) when far out), the random stream is untouched, checkpoints keep them, and bad
input is refused with nothing queued."""

from __future__ import annotations

import math

import numpy as np
import pytest

import natgrad as ng
from natgrad.functions import sphere
from natgrad.optim import Optimizer

METHODS = ["igo-cma", "xnes", "snes", "sngd"]
N = 6


def advanced(method, generations=8, seed=3, **kwargs):
    """An optimiser whose state is no longer the initial one (a non-diagonal covariance)."""
    rng = np.random.default_rng(seed)
    scales = np.exp(rng.normal(size=N))
    opt = Optimizer(method, np.full(N, 2.0), 0.7, seed=seed, **kwargs)
    for _ in range(generations):
        X = opt.ask()
        opt.tell(X, ((scales * (X - 0.3)) ** 2).sum(axis=1))
    return opt


def limit(n):
    return math.sqrt(n) + 2 * n / (n + 2)


@pytest.mark.parametrize("method", METHODS)
def test_noise_for_inverts_the_sampling(method):
    opt = advanced(method)
    z = np.random.default_rng(0).standard_normal((5, N))
    X = opt.strategy.sample(opt.state, z)  # the public, validated forward map
    back = opt.strategy.noise_for(opt.state, X)
    np.testing.assert_allclose(back, z, rtol=0, atol=1e-10)


@pytest.mark.parametrize("method", METHODS)
def test_injected_points_are_the_last_rows_and_keep_the_stream(method):
    plain, injected = advanced(method), advanced(method)
    points = plain.mean + 0.1 * np.arange(2 * N).reshape(2, N) / N
    given = points.copy()
    injected.inject(points)
    points[:] = 99.0  # the optimiser kept its own copy
    A, B = plain.ask(), injected.ask()
    np.testing.assert_array_equal(B[-2:], given)  # bit for bit
    np.testing.assert_array_equal(B[:-2], A[:-2])  # the other rows: the same draws
    batch = injected._run.pending
    assert batch.injected is not None
    # near the mean the draws are not shortened: sampling them gives the points back
    np.testing.assert_allclose(batch.samples[-2:], given, rtol=0, atol=1e-10)
    assert np.all(np.linalg.norm(batch.noise[-2:], axis=1) < limit(N))
    assert injected._run.injected is None  # consumed by this ask


@pytest.mark.parametrize("method", METHODS)
def test_a_far_point_is_shortened_to_the_limit_and_f_still_sees_it(method):
    opt = advanced(method)
    far = opt.mean + 1e3
    opt.inject(far)
    X = opt.ask()
    np.testing.assert_array_equal(X[-1], far)
    batch = opt._run.pending
    z = batch.noise[-1]
    assert np.linalg.norm(z) == pytest.approx(limit(N), rel=1e-12)
    full = opt.strategy.noise_for(opt.state, far[None, :])[0]
    np.testing.assert_allclose(z / np.linalg.norm(z), full / np.linalg.norm(full), atol=1e-12)
    # the update receives the sample of the shortened draw, not the far point
    np.testing.assert_allclose(
        batch.samples[-1], opt.strategy.sample(opt.state, batch.noise)[-1], rtol=1e-15
    )
    opt.tell(X, sphere(X))
    assert np.isfinite(opt.mean).all()


def test_injected_best_point_becomes_best_x():
    opt = advanced("igo-cma")
    opt.inject(np.full(N, 0.3))
    X = opt.ask()
    values = ((X - 0.3) ** 2).sum(axis=1)
    opt.tell(X, values)
    assert opt.best_f == 0.0
    np.testing.assert_array_equal(opt.best_x, np.full(N, 0.3))


def test_minimize_with_the_optimum_injected_ends_in_the_first_generation():
    res = ng.minimize(
        lambda x: float(((x - 1) ** 2).sum()), np.zeros(10), 0.5, seed=1, inject=np.ones(10),
        ftarget=1e-12,
    )  # fmt: skip
    assert res.fun == 0.0 and res.nit == 1 and res.stop_reason == "ftarget"
    np.testing.assert_array_equal(res.x, np.ones(10))


def test_minimize_inject_with_fixed_variables_takes_full_vectors():
    seen = []

    def f(x):
        seen.append(np.array(x))
        return float(((x - 1) ** 2).sum())

    point = np.array([1.0, 5.0, 1.0, 1.0])  # entry 1 is fixed to 5: ignored in the point
    res = ng.minimize(
        f, np.zeros(4), 0.5, seed=2, fixed_variables={1: 5.0}, inject=point, max_iter=1
    )
    assert any(np.array_equal(x, point) for x in seen)
    assert res.fun == 16.0


def test_injection_survives_a_checkpoint_bit_for_bit(tmp_path):
    def run(opt, generations):
        for _ in range(generations):
            X = opt.ask()
            opt.tell(X, sphere(X - 0.3))
        return opt

    reference = advanced("igo-cma")
    reference.inject(np.full(N, 0.5))
    X = reference.ask()
    reference.tell(X, sphere(X - 0.3))
    run(reference, 5)

    queued = advanced("igo-cma")
    queued.inject(np.full(N, 0.5))
    queued.save(tmp_path / "queued.npz")  # injected, not yet asked
    loaded = Optimizer.load(tmp_path / "queued.npz")
    X = loaded.ask()
    np.testing.assert_array_equal(X[-1], np.full(N, 0.5))
    loaded.tell(X, sphere(X - 0.3))
    run(loaded, 5)
    np.testing.assert_array_equal(loaded.state.mean, reference.state.mean)

    asked = advanced("igo-cma")
    asked.inject(np.full(N, 0.5))
    asked.ask()
    asked.save(tmp_path / "pending.npz")  # asked, not yet told
    loaded = Optimizer.load(tmp_path / "pending.npz")
    X = loaded._run.pending.returned
    np.testing.assert_array_equal(X[-1], np.full(N, 0.5))
    loaded.tell(X, sphere(X - 0.3))
    run(loaded, 5)
    np.testing.assert_array_equal(loaded.state.mean, reference.state.mean)


def test_resume_with_other_injected_points_is_refused(tmp_path):
    path = tmp_path / "run.npz"

    def stop(info):
        if info.nit == 3:
            raise KeyboardInterrupt

    kwargs = {"seed": 4, "max_evals": 2000}
    ng.minimize(sphere, np.full(3, 2.0), 0.5, inject=np.zeros(3), checkpoint=path,
                callback=stop, **kwargs)  # fmt: skip
    with pytest.raises(ValueError, match="inject"):
        ng.minimize(sphere, np.full(3, 2.0), 0.5, inject=np.ones(3), resume=path, **kwargs)
    res = ng.minimize(sphere, np.full(3, 2.0), 0.5, inject=np.zeros(3), resume=path, **kwargs)
    assert res.fun == 0.0


@pytest.mark.parametrize(
    ("points", "match"),
    [
        (np.zeros((2, N + 1)), r"points must have shape \(k, 6\)"),
        (np.zeros((0, N)), "k >= 1"),
        (np.full(N, np.nan), "points must be finite"),
        (np.zeros((10, N)), "at most 9 points"),  # λ = 9 for n = 6
    ],
)
def test_bad_points_are_refused_and_nothing_is_queued(points, match):
    opt = Optimizer("igo-cma", np.zeros(N), 1.0, seed=0)
    with pytest.raises(ValueError, match=match):
        opt.inject(points)
    assert opt._run.injected is None


def test_too_many_counts_the_points_queued_before():
    opt = Optimizer("snes", np.zeros(N), 1.0, seed=0)  # λ = 9 rows
    opt.inject(np.zeros((5, N)))
    with pytest.raises(ValueError, match=r"at most 9 points .* got 10 \(5 queued before\)"):
        opt.inject(np.ones((5, N)))
    assert opt._run.injected.shape == (5, N)


def test_tpa_keeps_its_pair_in_rows_0_and_1():
    tpa = {"options": {"sigma_rule": "tpa"}}
    plain, injected = advanced("igo-cma", **tpa), advanced("igo-cma", **tpa)
    assert np.linalg.norm(plain.state.shift_z) > 0  # the pair is in use
    with pytest.raises(ValueError, match="at most 7 points"):
        injected.inject(np.zeros((8, N)))
    points = plain.mean + 0.01 * np.arange(7 * N).reshape(7, N)
    injected.inject(points)
    A, B = plain.ask(), injected.ask()
    np.testing.assert_array_equal(B[:2], A[:2])
    np.testing.assert_array_equal(B[2:], points)


def test_points_outside_the_bounds_are_refused():
    opt = Optimizer("igo-cma", np.zeros(2), 0.5, bounds=[(-1, 1), (-1, 1)], seed=0)
    with pytest.raises(ValueError, match="inside bounds, got row 1"):
        opt.inject([[0.0, 0.0], [0.0, 2.0]])
    opt.inject([[0.5, 1.0]])  # on the boundary: allowed, and seen as given
    np.testing.assert_array_equal(opt.ask()[-1], [0.5, 1.0])


@pytest.mark.parametrize("method", ["lowrank", "gmrf"])
def test_methods_without_an_inverse_refuse_inject(method):
    opt = Optimizer(method, np.zeros(N), 1.0, seed=0)
    with pytest.raises(ValueError, match=f"inject is not available for method '{method}'"):
        opt.inject(np.zeros(N))
    with pytest.raises(ValueError, match="inject is not available"):
        ng.minimize(sphere, np.zeros(N), 1.0, method=method, inject=np.zeros(N), max_iter=1)


def test_binary_model_and_integers_refuse_inject():
    opt = Optimizer("binary-sngd", np.zeros(N), None, seed=0)
    with pytest.raises(ValueError, match="inject is not available for method 'binary-sngd'"):
        opt.inject(np.ones(N))
    opt = Optimizer("igo-cma", np.zeros(N), 1.0, seed=0, integers=[0, 1])
    with pytest.raises(ValueError, match="integers="):
        opt.inject(np.zeros(N))


def test_minimize_refuses_a_misshapen_inject():
    with pytest.raises(ValueError, match=r"inject must have shape \(k, 3\)"):
        ng.minimize(sphere, np.zeros(3), 1.0, inject=np.zeros(4))
