"""Two-point step-size adaptation of igo-cma (``IGOCMA(sigma_rule="tpa")``): the mirrored pair
along the last mean shift is part of the batch, σ follows pycma's CMAAdaptSigmaTPA rule, and the
run converges and reproduces like every other strategy."""

from __future__ import annotations

import numpy as np
import pytest

from natgrad import functions as F
from natgrad.optim import IGOCMA, Optimizer, minimize
from natgrad.optim.igo_cma import tpa_damping


def advanced(strategy, rng, n, lam, generations):
    state = strategy.initial_state(rng.uniform(-2, 2, n), 0.8)
    for _ in range(generations):
        Z = rng.standard_normal((lam, n))
        X = strategy.sample(state, Z)
        state = strategy.update(state, Z, X, F.ellipsoid(X))
    return state


def test_the_pair_lies_along_the_last_mean_shift(rng):
    n, lam = 8, 10
    s = IGOCMA(sigma_rule="tpa")
    state = s.initial_state(rng.standard_normal(n), 0.5)
    Z = rng.standard_normal((lam, n))
    np.testing.assert_array_equal(s.sample(state, Z), IGOCMA().sample(state, Z))  # generation 0
    state = advanced(s, rng, n, lam, 6)
    Z = rng.standard_normal((lam, n))
    X = s.sample(state, Z)
    d0, d1 = X[0] - state.mean, X[1] - state.mean
    np.testing.assert_allclose(d0, -d1, rtol=1e-13, atol=1e-14)
    # in z-coordinates: ±‖noise_0‖ · shift_z / ‖shift_z‖, and the other rows are the plain draws
    z0 = np.linalg.solve(state.factor, d0 / state.sigma)
    u = state.shift_z / np.linalg.norm(state.shift_z)
    np.testing.assert_allclose(z0, np.linalg.norm(Z[0]) * u, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(X[2:], IGOCMA().sample(state, Z)[2:])
    # shift_z is the last generation's z_w: the mean moved by σ A z_w (c_m = 1) from the state
    # before, so A_old shift_z ∝ m_new − m_old
    before = state
    Z = rng.standard_normal((lam, n))
    after = s.update(before, Z, s.sample(before, Z), F.ellipsoid(s.sample(before, Z)))
    np.testing.assert_allclose(
        after.mean - before.mean, before.sigma * before.factor @ after.shift_z, rtol=1e-10
    )


def test_sigma_follows_pycma_two_point_rule(rng):
    """The step-size multipliers equal those of pycma's CMAAdaptSigmaTPA.update2 fed the same
    values (an independent implementation of the rule)."""
    cma = pytest.importorskip("cma")
    n, lam = 12, 11
    es = cma.CMAEvolutionStrategy(
        n * [0.0], 1.0,
        {"AdaptSigma": cma.sigma_adaptation.CMAAdaptSigmaTPA, "popsize": lam, "verbose": -9},
    )  # fmt: skip
    assert es.adapt_sigma.sp.damp == pytest.approx(tpa_damping(n, lam), rel=1e-15)
    s = IGOCMA(sigma_rule="tpa")
    state = advanced(s, rng, n, lam, 1)
    for _ in range(6):
        Z = rng.standard_normal((lam, n))
        X = s.sample(state, Z)
        v = F.sphere(X)
        new = s.update(state, Z, X, v)
        want = es.adapt_sigma.update2(es, function_values=v)
        assert new.sigma / state.sigma == pytest.approx(want, rel=1e-13)
        state = new


def test_csa_states_carry_neutral_tpa_fields(rng):
    s = IGOCMA()
    state = advanced(s, rng, 5, 8, 3)
    assert state.tpa_s == 0.0 and not state.shift_z.any()
    assert repr(IGOCMA(sigma_rule="tpa")) == "IGOCMA(active=True, sigma_rule='tpa', margin=None)"


@pytest.mark.parametrize("rule", ["CSA", "tpa ", None, 1])
def test_bad_sigma_rule_is_a_value_error(rule):
    with pytest.raises(ValueError, match="sigma_rule must be 'csa' or 'tpa'"):
        IGOCMA(sigma_rule=rule)


def test_tiny_population_keeps_csa(rng):
    """λ = 2 leaves no room for the pair besides itself: σ then follows CSA."""
    s, c = IGOCMA(sigma_rule="tpa"), IGOCMA()
    state = advanced(s, rng, 3, 2, 3)
    Z = rng.standard_normal((2, 3))
    X = s.sample(state, Z)
    np.testing.assert_array_equal(X, c.sample(state, Z))
    assert s.update(state, Z, X, F.sphere(X)).sigma == c.update(state, Z, X, F.sphere(X)).sigma


@pytest.mark.parametrize(
    ("name", "runs", "required"), [("sphere", 5, 5), ("ellipsoid", 5, 5), ("rosenbrock", 5, 3)]
)
def test_converges_in_10d(name, runs, required):
    results = [
        minimize(
            F.CONTINUOUS[name],
            np.full(10, 3.0 if name != "rosenbrock" else 0.0),
            1.0 if name != "rosenbrock" else 0.5,
            method="igo-cma",
            options={"sigma_rule": "tpa"},
            ftarget=1e-8,
            max_evals=200_000,
            seed=seed,
            vectorized=True,
        )  # fmt: skip
        for seed in range(runs)
    ]
    assert sum(r.fun <= 1e-8 for r in results) >= required, [
        (r.fun, r.nfev, r.stop_reason) for r in results
    ]


def test_checkpoint_round_trip(tmp_path):
    opt = Optimizer(IGOCMA(sigma_rule="tpa"), np.ones(6), 0.5, seed=3)
    for _ in range(4):
        X = opt.ask()
        opt.tell(X, F.rosenbrock(X))
    opt.save(tmp_path / "tpa.npz")
    back = Optimizer.load(tmp_path / "tpa.npz")
    assert back.strategy.sigma_rule == "tpa"
    for _ in range(3):
        X, Y = opt.ask(), back.ask()
        np.testing.assert_array_equal(X, Y)
        opt.tell(X, F.rosenbrock(X))
        back.tell(Y, F.rosenbrock(Y))
    np.testing.assert_array_equal(opt.state.factor, back.state.factor)
    assert opt.state.tpa_s == back.state.tpa_s


def test_a_huge_last_shift_gives_the_pair_without_an_overflow_warning():
    """|shift_z| beyond ~1e154 overflowed np.linalg.norm (a RuntimeWarning, an error under
    -W error; found by test_fuzz_optim): the pair's direction now comes from the unit vector."""
    s = IGOCMA(sigma_rule="tpa")
    state = s.initial_state(np.zeros(3), 1.0)._replace(shift_z=np.array([0.0, 0.0, 1e300]))
    X = s.sample(state, np.ones((4, 3)))
    np.testing.assert_allclose(X[0], [0.0, 0.0, np.sqrt(3.0)], rtol=1e-15)
    np.testing.assert_array_equal(X[1], -X[0])
