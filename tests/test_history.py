"""res.history: consistent with the run (evaluations, best values, σ, mean, restarts), its files
(.csv, .npz), its cost schedule at large n, and natgrad.plot's figure."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import natgrad as ng
from natgrad.functions import ellipsoid, rastrigin, sphere
from natgrad.optim.history import FIELDS, SCALES_EVERY, VECTOR_MAX_DIM, History, condition_every


def recorded_run(method="igo-cma", n=6, **kwargs):
    """A run whose every told batch, and the optimiser after every generation, are kept."""
    batches, sigmas, means, scales = [], [], [], []

    def f(X):
        values = ellipsoid(X)
        batches.append(values)
        return values

    def callback(info):
        opt = info.optimizer
        sigmas.append(opt.sigma)
        means.append(opt.mean)
        scales.append(opt.strategy.axis_scales(opt.state))

    args = {"seed": 3, "ftarget": 1e-8, "vectorized": True, "callback": callback}
    args.update(kwargs)
    res = ng.minimize(f, np.full(n, 1.0), 0.5, method=method, **args)
    return res, batches, np.array(sigmas), np.array(means), np.array(scales)


@pytest.mark.parametrize("method", ["igo-cma", "snes", "xnes", "lowrank", "gmrf"])
def test_history_matches_the_run(method):
    res, batches, sigmas, means, scales = recorded_run(method)
    h = res.history
    assert isinstance(h, ng.History) and len(h) == res.nit == len(batches)
    np.testing.assert_array_equal(h.iteration, np.arange(1, res.nit + 1))
    np.testing.assert_array_equal(h.generation, np.arange(1, res.nit + 1))
    np.testing.assert_array_equal(h.run, np.zeros(res.nit))
    # evaluations: cumulative, one popsize per generation, ending at nfev
    np.testing.assert_array_equal(np.diff(h.evaluations, prepend=0), h.popsize)
    assert h.evaluations[-1] == res.nfev
    # the generation's own values, and the best so far ending at res.fun
    np.testing.assert_array_equal(h.f_best, [b.min() for b in batches])
    np.testing.assert_array_equal(h.f_median, [np.median(b) for b in batches])
    np.testing.assert_array_equal(h.f_worst, [b.max() for b in batches])
    np.testing.assert_array_equal(h.f_best_so_far, np.minimum.accumulate(h.f_best))
    assert h.f_best_so_far[-1] == res.fun
    # the optimiser's σ, mean and axis scales after each generation
    np.testing.assert_array_equal(h.sigma, sigmas)
    np.testing.assert_array_equal(h.mean, means)
    np.testing.assert_array_equal(h.scales, scales)
    np.testing.assert_array_equal(h.scale_min, scales.min(axis=1))
    np.testing.assert_array_equal(h.scale_max, scales.max(axis=1))


def test_condition_is_the_strategys_on_its_schedule():
    conditions = {}

    def callback(info):
        opt = info.optimizer
        if opt.generation % condition_every(opt.dim) == 0:
            conditions[opt.generation] = opt.strategy.condition_number(opt.state)

    res = ng.minimize(
        ellipsoid, np.ones(5), 0.5, seed=1, ftarget=1e-8, vectorized=True, callback=callback
    )
    h = res.history
    every = condition_every(5)
    assert every == 10 and len(conditions) == res.nit // every >= 5
    recorded = np.isfinite(h.condition)
    np.testing.assert_array_equal(h.generation[recorded], sorted(conditions))
    np.testing.assert_array_equal(
        h.condition[recorded], [conditions[g] for g in sorted(conditions)]
    )
    # the ellipsoid's condition 1e6 is learnt
    assert 1e5 < h.condition[recorded][-1] < 1e7


def test_history_across_ipop_restarts_stays_consistent():
    res = ng.minimize(
        rastrigin, np.full(4, 3.0), 1.0, seed=5, restarts=3, max_evals=6000, vectorized=True
    )
    h = res.history
    assert res.restarts >= 2 and len(h) == res.nit
    runs = h.run
    assert list(np.unique(runs)) == list(range(res.restarts + 1))
    assert np.all(np.diff(runs) >= 0)
    starts = h.restarts
    assert len(starts) == res.restarts
    np.testing.assert_array_equal(runs[starts], np.arange(1, res.restarts + 1))
    # each run counts its generations from 1 and doubles the population size
    assert np.all(h.generation[starts] == 1) and h.generation[0] == 1
    for k in range(res.restarts + 1):
        assert np.all(h.popsize[runs == k] == h.popsize[0] * 2**k)
    np.testing.assert_array_equal(np.diff(h.evaluations, prepend=0), h.popsize)
    assert h.evaluations[-1] == res.nfev
    assert h.f_best_so_far[-1] == res.fun
    assert np.all(np.diff(h.f_best_so_far) <= 0)
    # σ restarts at sigma0 (within the first generation's adaptation) after each restart
    assert np.all(h.sigma[starts] > 0.5)


def test_large_n_records_scales_every_few_generations_and_no_vectors():
    n = VECTOR_MAX_DIM + 20
    res = ng.minimize(sphere, np.ones(n), 0.5, method="snes", seed=0, max_iter=35, vectorized=True)
    h = res.history
    assert len(h) == 35 and h.mean is None and h.scales is None
    recorded = np.flatnonzero(np.isfinite(h.scale_min))
    expected = [g - 1 for g in range(1, 36) if g == 1 or g % SCALES_EVERY == 0 or g == 35]
    np.testing.assert_array_equal(recorded, expected)
    assert np.all(np.isnan(h.condition))  # condition_every(120) = 1440 generations
    # the last row's scales are the final optimiser's
    final = res.optimizer.strategy.axis_scales(res.optimizer.state)
    assert h.scale_max[-1] == final.max() and h.scale_min[-1] == final.min()


@pytest.mark.parametrize("suffix", [".csv", ".npz"])
def test_log_file_round_trips(tmp_path, suffix):
    path = tmp_path / f"run{suffix}"
    res = ng.minimize(sphere, np.ones(4), 0.5, seed=2, max_iter=30, vectorized=True, log=path)
    loaded = History.load(path)
    assert len(loaded) == 30
    for name, _ in FIELDS:
        np.testing.assert_array_equal(loaded[name], res.history[name], err_msg=name)
        assert loaded[name].dtype == res.history[name].dtype
    np.testing.assert_array_equal(loaded.mean, res.history.mean)
    np.testing.assert_array_equal(loaded.scales, res.history.scales)


def test_csv_has_a_header_and_one_line_per_generation(tmp_path):
    path = tmp_path / "run.csv"
    ng.minimize(sphere, np.ones(3), 0.5, seed=2, max_iter=12, vectorized=True, log=path)
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    assert header[: len(FIELDS)] == [name for name, _ in FIELDS]
    assert header[len(FIELDS) :] == ["mean_0", "mean_1", "mean_2", "scale_0", "scale_1", "scale_2"]
    assert len(lines) == 13


def test_structured_array_view():
    res = ng.minimize(sphere, np.ones(3), 0.5, seed=2, max_iter=7, vectorized=True)
    table = res.history.to_structured()
    assert table.shape == (7,) and table.dtype.names == tuple(name for name, _ in FIELDS)
    np.testing.assert_array_equal(table["sigma"], res.history.sigma)
    assert "7 generations" in repr(res.history)
    with pytest.raises(KeyError):
        res.history["nope"]


@pytest.mark.parametrize("bad", ["run.txt", 3, ""])
def test_bad_log_path_is_refused(bad):
    with pytest.raises(ValueError, match="log"):
        ng.minimize(sphere, np.ones(3), 0.5, seed=2, max_iter=3, vectorized=True, log=bad)


def test_history_stays_consistent_after_ctrl_c():
    def callback(info):
        if info.nit == 17:
            raise KeyboardInterrupt

    res = ng.minimize(sphere, np.ones(5), 0.5, seed=1, vectorized=True, callback=callback)
    assert res.stop_reason == "interrupted" and res.nit == 17 == len(res.history)
    assert res.history.f_best_so_far[-1] == res.fun
    assert res.history.evaluations[-1] == res.nfev


def test_all_invalid_generation_has_nan_values_but_counts():
    calls = []

    def f(X):
        calls.append(1)
        return np.full(len(X), np.nan) if len(calls) == 3 else sphere(X)

    res = ng.minimize(f, np.ones(4), 0.5, seed=1, max_iter=6, vectorized=True)
    h = res.history
    assert np.isnan(h.f_best[2]) and np.isnan(h.f_median[2]) and np.isnan(h.f_worst[2])
    assert np.isfinite(h.f_best_so_far[2]) and h.evaluations[-1] == res.nfev


def test_plot_writes_a_png_with_four_panels(tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    res = ng.minimize(
        rastrigin, np.full(4, 3.0), 1.0, seed=5, restarts=2, max_evals=4000, vectorized=True
    )
    path = tmp_path / "run.png"
    fig = ng.plot(res, path, title="rastrigin")
    assert len(fig.axes) == 4
    assert path.stat().st_size > 10_000
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # a restart line in every panel (dotted vertical lines at the restarts)
    for ax in fig.axes:
        assert sum(line.get_linestyle() == ":" for line in ax.lines) == res.restarts
    # a log file plots as well
    log = tmp_path / "run.npz"
    res.history.save(log)
    assert len(ng.plot(log).axes) == 4
    import matplotlib.pyplot as plt

    plt.close("all")


def test_plot_refuses_what_is_not_a_history():
    with pytest.raises(ValueError, match="history"):
        ng.plot(42)


def test_plot_without_matplotlib_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    res = ng.minimize(sphere, np.ones(3), 0.5, seed=2, max_iter=3, vectorized=True)
    with pytest.raises(ImportError, match=r'pip install "natgrad\[plot\]"'):
        ng.plot(res)


def test_history_can_be_switched_off(tmp_path):
    on = ng.minimize(sphere, np.ones(4), 0.5, seed=2, max_iter=30, vectorized=True)
    off = ng.minimize(sphere, np.ones(4), 0.5, seed=2, max_iter=30, vectorized=True, history=False)
    assert off.history is None
    np.testing.assert_array_equal(off.x, on.x)  # the run itself is the same
    with pytest.raises(ValueError, match="history=True"):
        ng.minimize(sphere, np.ones(4), 0.5, max_iter=3, history=False, log=tmp_path / "a.csv")
    with pytest.raises(ValueError, match="history"):
        ng.minimize(sphere, np.ones(4), 0.5, max_iter=3, history="yes")
    # resumable without a history as well
    path = tmp_path / "c.npz"

    def stop(info):
        if info.nit == 12:
            raise KeyboardInterrupt

    args = dict(seed=2, max_iter=30, vectorized=True, history=False)
    ng.minimize(sphere, np.ones(4), 0.5, **args, checkpoint=path, callback=stop)
    again = ng.minimize(sphere, np.ones(4), 0.5, **args, resume=path)
    np.testing.assert_array_equal(again.x, on.x)
    assert again.history is None and again.nfev == on.nfev


def test_median_of_two_values_near_the_float64_limit_does_not_overflow():
    # an even batch whose middle values are near -1.8e308 (an f unbounded below): the median is
    # their mean, computed without overflowing to -inf (a RuntimeWarning, an error here)
    from natgrad.optim.history import Recorder

    opt = ng.Optimizer("snes", np.zeros(3), 1.0, seed=0, popsize=6)
    values = np.full(6, -1.7e308)
    opt.tell(opt.ask(), values)
    recorder = Recorder(3)
    recorder.record(opt, values, 0, opt.evaluations)
    row = recorder.history()
    assert row.f_median[0] == -1.7e308 and row.f_best[0] == -1.7e308


def test_scale_extremes_of_a_nan_scale_are_nan_wherever_it_is():
    """Defect: scale_min and scale_max were Python's min and max of the scales, which skip a NaN
    after the first entry ([1, nan] gave 1); they are NumPy's, as documented and as ``scales``."""
    from es_strategy import CSAES

    class NaNScales(CSAES):
        name = "test-nan-scales"

        def axis_scales(self, state):
            scales = np.full(state.mean.size, state.sigma)
            scales[1] = np.nan
            return scales

    res = ng.minimize(sphere, np.ones(4), 0.5, method=NaNScales(), seed=0, max_evals=40)
    h = res.history
    assert len(h) >= 3
    np.testing.assert_array_equal(h.scale_min, h.scales.min(axis=1))
    np.testing.assert_array_equal(h.scale_max, h.scales.max(axis=1))
    assert np.all(np.isnan(h.scale_min)) and np.all(np.isnan(h.scale_max))
