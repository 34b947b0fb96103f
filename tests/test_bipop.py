"""minimize(..., bipop=True): BIPOP restarts (Hansen 2009) — the regime rule, population sizes,
step sizes and budgets of the small runs, the shared budget, reproducibility and resume."""

from __future__ import annotations

import numpy as np
import pytest

import natgrad as ng
from natgrad.functions import rastrigin

N = 6
LAMBDA0 = 4 + int(3 * np.log(N))  # the default popsize


def bipop_run(seed=0, **kwargs):
    first_sigma = {}

    def callback(info):
        opt = info.optimizer
        if opt.generation == 1:
            first_sigma[len(first_sigma)] = opt._sigma0

    args = dict(seed=seed, restarts=4, bipop=True, ftarget=1e-8, vectorized=True,
                max_evals=2e5, callback=callback)  # fmt: skip
    args.update(kwargs)
    res = ng.minimize(rastrigin, np.full(N, 3.0), 2.0, **args)
    return res, first_sigma


@pytest.mark.parametrize("seed", [0, 1])
def test_regimes_follow_the_budget_rule(seed):
    res, first_sigma = bipop_run(seed)
    h = res.history
    regimes = res.regimes
    assert len(regimes) == res.restarts + 1 == len(first_sigma)
    assert "small" in regimes and regimes[0] == "large"
    evals = [int(h.popsize[h.run == k].sum()) for k in range(len(regimes))]
    popsize = [int(h.popsize[h.run == k][0]) for k in range(len(regimes))]
    large_seen = 1
    for k in range(1, len(regimes)):
        large_budget = sum(e for i, e in enumerate(evals[:k]) if regimes[i] == "large" and i > 0)
        small_budget = sum(e for i, e in enumerate(evals[:k]) if regimes[i] == "small")
        next_large = LAMBDA0 * 2**large_seen
        last_large = max(i for i in range(k) if regimes[i] == "large")
        if regimes[k] == "small":
            assert small_budget < large_budget
            # Hansen 2009: ⌊λ0 (½ λ_l / λ0)^(U²)⌋, at most the last large run's popsize
            assert LAMBDA0 <= popsize[k] <= next_large // 2 == popsize[last_large]
            assert 2.0 / 100 <= first_sigma[k] <= 2.0
            # at most half the last large run's evaluations (whole generations: < λ more)
            assert evals[k] < evals[last_large] // 2 + popsize[k]
        else:
            large_seen += 1
            assert popsize[k] == next_large and first_sigma[k] == 2.0
            assert small_budget >= large_budget or k == len(regimes) - 1
    # `restarts` counts the large restarts; the small runs come on top
    assert regimes.count("large") - 1 <= 4


def test_small_runs_draw_popsize_and_step_size_independently():
    # Hansen 2009 draws one U[0, 1] for the popsize and another for the step size (pycma and
    # DEAP do the same): a small run may pair a small popsize with a small step size. With a
    # single U, among the small runs between the same two large runs (the same popsize range)
    # the popsize grows as the step size shrinks: no two of them would be discordant.
    groups: dict[tuple[int, int], list[tuple[int, float]]] = {}
    for seed in range(4):
        res, first_sigma = bipop_run(seed, ftarget=None, max_evals=None, restarts=6)
        h = res.history
        for k, regime in enumerate(res.regimes):
            if regime == "small":
                large_before = res.regimes[:k].count("large")
                pair = (int(h.popsize[h.run == k][0]), first_sigma[k])
                groups.setdefault((seed, large_before), []).append(pair)
    pairs = [(a, b) for g in groups.values() for a in g for b in g]
    assert sum(len(g) for g in groups.values()) >= 10
    discordant = [(a, b) for a, b in pairs if a[0] > b[0] and a[1] > b[1] * (1 + 1e-12)]
    assert discordant, groups


def test_the_last_run_is_the_last_large_restart():
    res, _ = bipop_run(3, ftarget=None, max_evals=None)
    assert res.regimes.count("large") == 5 and res.regimes[-1] == "large"


def test_shared_budget_and_reproducibility():
    a, _ = bipop_run(1, max_evals=20_000, ftarget=None)
    b, _ = bipop_run(1, max_evals=20_000, ftarget=None)
    assert a.nfev < 20_000 + int(a.history.popsize[-1])
    assert a.history.evaluations[-1] == a.nfev
    np.testing.assert_array_equal(a.x, b.x)
    assert a.regimes == b.regimes and a.nfev == b.nfev


def test_ipop_is_unchanged_by_the_option():
    res = ng.minimize(rastrigin, np.full(N, 3.0), 2.0, seed=0, restarts=3, vectorized=True)
    assert res.regimes == ["large"] * (res.restarts + 1)
    np.testing.assert_array_equal(np.unique(res.history.popsize), LAMBDA0 * 2 ** np.arange(4))


def test_resume_of_a_bipop_run_is_bit_identical(tmp_path):
    full, _ = bipop_run(0)
    k = int(np.flatnonzero(np.array(full.regimes) == "small")[0])
    stop_at = int(full.history.iteration[full.history.run == k][5])  # inside a small run

    def stop(info):
        if info.nit == stop_at:
            raise KeyboardInterrupt

    path = tmp_path / "bipop.npz"
    bipop_run(0, checkpoint=path, callback=stop)
    again = ng.minimize(rastrigin, np.full(N, 3.0), 2.0, seed=0, restarts=4, bipop=True,
                        ftarget=1e-8, vectorized=True, max_evals=2e5, resume=path)  # fmt: skip
    np.testing.assert_array_equal(again.x, full.x)
    assert (again.nfev, again.regimes, again.stop_reasons) == (
        full.nfev, full.regimes, full.stop_reasons,
    )  # fmt: skip
    np.testing.assert_array_equal(again.history.sigma, full.history.sigma)
    with pytest.raises(ValueError, match="bipop"):
        ng.minimize(rastrigin, np.full(N, 3.0), 2.0, seed=0, restarts=4, ftarget=1e-8,
                    vectorized=True, max_evals=2e5, resume=path)  # fmt: skip


def test_bad_bipop_is_refused():
    with pytest.raises(ValueError, match="bipop"):
        ng.minimize(rastrigin, np.ones(3), 1.0, bipop="yes")
