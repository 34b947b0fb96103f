"""natgrad.minimize: result fields, evaluation paths (vectorised, threads, processes, Dask),
callbacks, progress, logging, restarts, the NaN and exception policies, bad input."""

from __future__ import annotations

import logging
import sys
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest

import natgrad
from es_strategy import CSAES
from natgrad.functions import rastrigin, sphere
from natgrad.optim import METHODS, Optimizer, get_strategy, minimize
from natgrad.optim.minimize import STATUS


def run_sphere(**kwargs):
    args = {"method": CSAES(), "seed": 4, "ftarget": 1e-10}
    args.update(kwargs)
    return minimize(sphere, np.full(6, 2.0), 0.5, **args)


def test_result_fields_on_sphere():
    res = run_sphere()
    assert res.success and res.status == STATUS["ftarget"] == 0
    assert res.stop_reason == "ftarget" and res.stop_reasons == ["ftarget"]
    assert res.fun <= 1e-10 and res.fun == sphere(res.x)
    assert res.nfev == res.nit * res.popsize
    assert res.restarts == 0 and res.method == "test-csa-es"
    assert res.sigma > 0 and res.mean.shape == (6,)
    assert "ftarget" in res.message


def test_exported_from_package():
    assert natgrad.minimize is minimize
    assert "minimize" in natgrad.__all__ and "Optimizer" in natgrad.__all__
    assert "functions" in natgrad.__all__


def test_reproducible_from_seed_or_generator():
    a, b = run_sphere(seed=9), run_sphere(seed=9)
    np.testing.assert_array_equal(a.x, b.x)
    assert a.nfev == b.nfev
    c = run_sphere(seed=np.random.default_rng(9))
    np.testing.assert_array_equal(a.x, c.x)


def test_vectorized_calls_f_once_per_generation_and_matches_serial():
    calls = []

    def batch_f(X):
        calls.append(X.shape)
        return sphere(X)

    res_vec = minimize(
        batch_f, np.full(6, 2.0), 0.5, method=CSAES(), seed=4, ftarget=1e-10, vectorized=True
    )
    res_ser = run_sphere()
    assert len(calls) == res_vec.nit and all(s == (res_vec.popsize, 6) for s in calls)
    np.testing.assert_array_equal(res_vec.x, res_ser.x)
    assert res_vec.nfev == res_ser.nfev


def test_thread_executor_matches_serial():
    with ThreadPoolExecutor(max_workers=2) as pool:
        res = run_sphere(executor=pool)
    ref = run_sphere()
    np.testing.assert_array_equal(res.x, ref.x)
    assert res.nfev == ref.nfev


def test_process_executor_matches_serial():
    # f must be picklable: a module-level function
    with ProcessPoolExecutor(max_workers=2) as pool:
        res = run_sphere(executor=pool, ftarget=None, max_evals=200)
    ref = run_sphere(ftarget=None, max_evals=200)
    np.testing.assert_array_equal(res.x, ref.x)
    assert res.nfev == ref.nfev >= 200


def test_dask_executor_matches_serial():
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            processes=False,
            host="127.0.0.1",
            protocol="tcp",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        res = run_sphere(executor=client.get_executor(), ftarget=None, max_evals=120)
    ref = run_sphere(ftarget=None, max_evals=120)
    np.testing.assert_array_equal(res.x, ref.x)
    assert res.nfev == ref.nfev


def test_callback_receives_progress_and_can_stop():
    seen = []

    def callback(info):
        seen.append((info.nit, info.nfev, info.fun, info.sigma))
        assert info.optimizer.generation == info.nit
        assert info.fun == sphere(info.x)
        return info.nit == 5

    res = run_sphere(callback=callback)
    assert res.stop_reason == "callback" and res.status == STATUS["callback"]
    assert not res.success
    assert [s[0] for s in seen] == [1, 2, 3, 4, 5] and res.nit == 5
    assert [s[2] for s in seen] == sorted((s[2] for s in seen), reverse=True)


def test_callback_stop_iteration():
    def callback(info):
        if info.nit == 3:
            raise StopIteration

    assert run_sphere(callback=callback).nit == 3


def test_callback_returning_numpy_true_stops():
    # a comparison of NumPy values gives np.True_, which `is True` missed: the run went on
    res = run_sphere(callback=lambda info: info.nit >= np.int64(3))
    assert res.stop_reason == "callback" and res.nit == 3


def test_callback_returning_none_does_not_stop():
    assert run_sphere(callback=lambda info: None).stop_reason == "ftarget"


def test_progress_bar_with_tqdm(capsys):
    pytest.importorskip("tqdm")
    res = run_sphere(progress=True, max_evals=300, ftarget=None)
    assert res.nfev >= 300
    assert "natgrad test-csa-es" in capsys.readouterr().err


def test_progress_without_tqdm_warns_and_runs(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    with pytest.warns(UserWarning, match="needs tqdm"):
        res = run_sphere(progress=True)
    assert res.success


def test_logging(caplog):
    with caplog.at_level(logging.DEBUG, logger="natgrad"):
        res = run_sphere()
    messages = [r.getMessage() for r in caplog.records if r.name == "natgrad"]
    assert any("run 0" in m and "popsize" in m for m in messages)
    assert any("stopped (ftarget)" in m for m in messages)
    assert sum(m.startswith("gen ") for m in messages) == res.nit


def test_ipop_restarts_double_popsize():
    res = minimize(
        sphere,
        np.full(4, 2.0),
        1.0,
        method=CSAES(),
        seed=0,
        restarts=2,
        tolx=1e-3,
        popsize=5,
    )
    assert res.stop_reasons == ["tolx", "tolx", "tolx"] and res.restarts == 2
    assert res.popsize == 20
    assert res.fun == sphere(res.x)


def test_restarts_stop_at_ftarget_and_respect_budget():
    res = run_sphere(restarts=5)
    assert res.restarts == 0  # reached ftarget in the first run
    res = minimize(
        rastrigin,
        np.full(3, 3.0),
        1.0,
        method=CSAES(),
        seed=0,
        restarts=9,
        max_evals=2000,
        tolx=1e-4,
    )
    assert 2000 <= res.nfev < 2000 + res.popsize
    assert res.stop_reasons[-1] == "max_evals"
    assert res.fun == rastrigin(res.x)


def test_best_over_restarts_is_returned():
    values = []

    def f(x):
        values.append(rastrigin(x))
        return values[-1]

    res = minimize(f, np.full(3, 3.0), 2.0, method=CSAES(), seed=1, restarts=3, tolx=1e-6)
    assert res.fun == min(values) and res.nfev == len(values)


def test_nan_region_is_avoided():
    def f(x):
        return np.nan if x[0] > 1.0 else sphere(x)

    res = minimize(f, np.full(4, 0.5), 1.0, method=CSAES(), seed=2, ftarget=1e-8)
    assert res.success and np.isfinite(res.fun)


def test_f_returning_none_and_numpy_scalars():
    def f(x):
        if x[1] > 2.5:
            return None
        return np.float32(sphere(x)) if x[0] > 0 else np.array(sphere(x))

    res = minimize(f, np.full(3, 1.0), 1.0, method=CSAES(), seed=2, ftarget=1e-6)
    assert res.success


class Boom(Exception):
    pass


@pytest.mark.parametrize("mode", ["serial", "vectorized", "threads"])
def test_exception_in_f_propagates_unchanged(mode):
    error = Boom("broken f")
    calls = {"n": 0}

    def f(x):
        calls["n"] += 1
        if calls["n"] > 30:
            raise error
        return sphere(x)

    kwargs = {"vectorized": mode == "vectorized"}
    with ThreadPoolExecutor(2) as pool:
        if mode == "threads":
            kwargs["executor"] = pool
        with pytest.raises(Boom) as info:
            minimize(f, np.ones(3), 1.0, method=CSAES(), seed=0, **kwargs)
    assert info.value is error


def test_bounds_through_minimize():
    res = minimize(sphere, np.full(3, 2.0), 1.0, method=CSAES(), seed=0, bounds=(1.0, 3.0))
    np.testing.assert_allclose(res.x, np.ones(3), atol=1e-5)
    assert np.all(res.x >= 1.0)


def test_options_one_way(monkeypatch):
    """Defect: popsize was an options key of minimize but a keyword of Optimizer and the CLI,
    and a mistyped option did not list the valid ones. Now: the optimiser's settings are
    keywords of both, options= holds the strategy's options (with a method name), in both."""

    class Configurable(CSAES):
        option_names = ("flavour",)

        def __init__(self, flavour="plain"):
            self.flavour = flavour

    monkeypatch.setitem(METHODS, "configurable", Configurable)
    res = minimize(
        sphere, np.ones(3), 1.0, method="configurable", seed=0, max_evals=40, popsize=8,
        options={"flavour": "x"},
    )  # fmt: skip
    assert res.popsize == 8 and res.method == "test-csa-es"
    assert res.optimizer.strategy.flavour == "x"
    opt = Optimizer("configurable", np.ones(3), 1.0, popsize=8, options={"flavour": "x"})
    assert opt.popsize == 8 and opt.strategy.flavour == "x"
    with pytest.raises(
        ValueError, match=r"not valid for method 'configurable' \(its options: flavour\)"
    ):
        minimize(sphere, np.ones(3), 1.0, method="configurable", options={"colour": 1})
    with pytest.raises(ValueError, match=r"its options: active"):
        Optimizer("igo-cma", np.ones(3), 1.0, options={"activ": False})
    misplaced = "popsize is a setting of the optimiser.*popsize=..."
    with pytest.raises(ValueError, match=misplaced):
        minimize(sphere, np.ones(3), 1.0, options={"popsize": 8})
    with pytest.raises(ValueError, match=misplaced):
        Optimizer("igo-cma", np.ones(3), 1.0, options={"popsize": 8})
    with pytest.raises(ValueError, match="need a method name"):
        minimize(sphere, np.ones(3), 1.0, method=CSAES(), options={"flavour": "x"})


def test_registry():
    assert all(callable(factory) for factory in METHODS.values())
    with pytest.raises(ValueError, match="method must be one of") as info:
        get_strategy("no-such-method")
    for name in METHODS:
        assert repr(name) in str(info.value)
    for name, factory in METHODS.items():
        strategy = get_strategy(name)
        assert isinstance(strategy, natgrad.optim.Strategy) and strategy.name == name
        assert type(strategy) is type(factory())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"x0": [[1.0]]}, "x0 must be 1-dimensional"),
        ({"f": 3}, "f must be callable"),
        ({"method": "nope"}, "method must be one of"),
        ({"method": 3}, "method must be a method name or a Strategy"),
        ({"restarts": -1}, "restarts must be >= 0"),
        ({"callback": 1}, "callback must be callable"),
        ({"executor": 1}, "executor must be a concurrent.futures.Executor"),
        ({"options": {"bogus": 1}}, "options \\['bogus'\\] need a method name"),
        ({"popsize": 1}, "popsize must be >= 2"),
        ({"max_evals": -5}, "max_evals must be >= 1"),
        ({"max_evals": "many"}, "max_evals must be an integer"),
        ({"max_evals": 10.5}, "max_evals must be an integer"),
        ({"sigma0": -1.0}, "sigma0 must be > 0"),
        ({"seed": -1}, "seed must be None, a non-negative integer"),
        ({"seed": "abc"}, "seed must be None, a non-negative integer"),
        ({"seed": 1.5}, "seed must be None, a non-negative integer"),
    ],
)
def test_bad_arguments(kwargs, match):
    args = {"f": sphere, "x0": np.ones(2), "sigma0": 1.0, "method": CSAES()}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        minimize(args.pop("f"), args.pop("x0"), args.pop("sigma0"), **args)


def test_wrong_number_of_values_from_vectorized_f():
    with pytest.raises(ValueError, match="one value per row"):
        minimize(lambda X: np.zeros(3), np.ones(2), 1.0, method=CSAES(), vectorized=True)
    with pytest.raises(ValueError, match="f must return real numbers"):
        minimize(lambda x: "a", np.ones(2), 1.0, method=CSAES())


@pytest.mark.parametrize("vectorized", [False, True])
def test_f_may_modify_its_input(vectorized):
    def f(x):
        value = sphere(x)
        x *= 0.0  # scribbles on its argument
        return value

    res = minimize(
        f, np.full(3, 1.0), 1.0, method=CSAES(), seed=0, vectorized=vectorized, ftarget=1e-8
    )
    ref = minimize(sphere, np.full(3, 1.0), 1.0, method=CSAES(), seed=0, ftarget=1e-8)
    np.testing.assert_array_equal(res.x, ref.x)


def test_callable_x0_is_drawn_at_every_restart():
    starts = []

    def x0(rng):
        assert isinstance(rng, np.random.Generator)
        starts.append(rng.uniform(-4, 4, size=3))
        return starts[-1]

    res = minimize(rastrigin, x0, 1.0, method=CSAES(), seed=5, restarts=3, tolx=1e-3)
    assert len(starts) == res.restarts + 1 == 4
    assert len({tuple(s) for s in starts}) == 4
    again = minimize(
        rastrigin,
        lambda rng: rng.uniform(-4, 4, size=3),
        1.0,
        method=CSAES(),
        seed=5,
        restarts=3,
        tolx=1e-3,
    )
    np.testing.assert_array_equal(res.x, again.x)


def test_integral_float_popsize_option():
    assert run_sphere(popsize=8.0, max_evals=16).popsize == 8


@pytest.mark.parametrize("vectorized", [False, True])
def test_numeric_strings_from_f_are_refused(vectorized):
    # np.asarray(["1.5"], dtype=float) parses text: f returning strings must not pass as numbers
    def f(x):
        return np.array([str(v) for v in sphere(x)]) if vectorized else str(sphere(x))

    with pytest.raises(ValueError, match="f must return real numbers"):
        minimize(f, np.ones(2), 1.0, method=CSAES(), seed=0, vectorized=vectorized, max_evals=20)


def test_values_with_none_and_per_point_arrays_are_accepted():
    def f(x):
        return None if x[0] > 1.5 else np.array([sphere(x)])  # shape (1,) per point, or None

    res = minimize(f, np.ones(2), 0.5, method=CSAES(), seed=0, ftarget=1e-8)
    assert res.stop_reason == "ftarget" and res.fun == sphere(res.x)


# --- what scipy, pycma and cmaes users expect (issue 9, defects 1-3 and 5) ---------------------


def test_scipy_bounds_forms_are_read_as_scipy_reads_them():
    """Defect: in 2-D, [(-1, 1), (2, 5)] was read as lower=(-1, 1), upper=(2, 5); f was called
    outside the intended box and the answer was wrong. scipy.optimize.Bounds was refused."""
    from scipy.optimize import Bounds

    seen = []

    def f(x):
        seen.append(np.array(x))
        return float(np.sum((x - np.array([3.0, 0.0])) ** 2))  # optimum on the box: (1, 2)

    res = minimize(f, np.array([0.0, 3.0]), 0.5, bounds=Bounds([-1, 2], [1, 5]), seed=0,
                   max_evals=3000)  # fmt: skip
    pts = np.array(seen)
    assert pts[:, 0].min() >= -1 and pts[:, 0].max() <= 1
    assert pts[:, 1].min() >= 2 and pts[:, 1].max() <= 5
    np.testing.assert_allclose(res.x, [1.0, 2.0], atol=1e-6)
    # the same box as (min, max) pairs can also be read as (lower, upper) in 2-D: refused,
    # with both readings shown
    for ambiguous in ([(-1, 1), (2, 5)], np.array([[-1, 1], [2, 5]])):
        with pytest.raises(
            ValueError, match=r"ambiguous.*lower=\[-1.0, 2.0\].*lower=\[-1.0, 1.0\]"
        ):
            minimize(f, np.array([0.0, 3.0]), 0.5, bounds=ambiguous, seed=0)
    # valid one way only ((lower, upper) = ((0, 5), (1, 2)) has 5 > 2): read as pairs
    res = minimize(f, np.array([0.5, 1.5]), 0.5, bounds=[(0, 5), (1, 2)], seed=0, max_evals=3000)
    np.testing.assert_allclose(res.x, [3.0, 1.0], atol=1e-6)
    # in 3-D the pair list is unambiguous; None is a free side, as in scipy.optimize.minimize
    res = minimize(
        lambda x: f(x[:2]) + x[2] ** 2, np.array([0.0, 3.0, 1.0]), 0.5, seed=0,
        bounds=[(-1, 1), (2, 5), (None, None)], max_evals=4000,
    )  # fmt: skip
    np.testing.assert_allclose(res.x, [1.0, 2.0, 0.0], atol=1e-5)


def test_f_without_return_is_a_clear_error():
    """Defect: an f returning None everywhere ran 10 generations and ended with fun=inf."""

    def f(x):
        np.sum(x**2)  # forgot `return`

    with pytest.raises(ValueError, match=r"returned None or NaN/Inf for all 7 points.*return"):
        minimize(f, np.ones(3), 0.5, seed=0)
    # occasional invalid values keep the documented policy
    calls = [0]

    def g(x):
        calls[0] += 1
        return None if calls[0] % 3 == 0 else float(np.sum(x**2))

    assert minimize(g, np.ones(3), 0.5, seed=0, max_evals=300).fun < 1.0


def test_vectorized_with_an_executor_is_refused():
    """Defect: the executor was silently ignored when vectorized=True."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool, pytest.raises(ValueError, match="exclude each other"):
        minimize(sphere, np.ones(3), 0.5, vectorized=True, executor=pool)


def test_binary_model_takes_no_step_size():
    """Defect: binary-sngd required sigma0 and ignored it: None now, a number is ignored with
    a warning; the continuous methods still require it."""
    from natgrad.functions import onemax

    res = minimize(onemax, np.zeros(8), None, method="binary-sngd", seed=0, vectorized=True,
                   max_evals=400)  # fmt: skip
    with pytest.warns(UserWarning, match="sigma0=1.0 is ignored by 'binary-sngd'"):
        again = minimize(onemax, np.zeros(8), 1.0, method="binary-sngd", seed=0, vectorized=True,
                         max_evals=400)  # fmt: skip
    np.testing.assert_array_equal(res.x, again.x)
    with pytest.raises(ValueError, match="sigma0 must be given"):
        minimize(sphere, np.ones(3), None, vectorized=True)


class _EverBetter:
    """f that improves with every call, whatever x is: no stopping criterion but a budget or a
    generation cap ever ends a run on it (tolfun and stagnation never hold)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, x: np.ndarray) -> float:
        self.calls += 1
        return -float(self.calls)


def pycma_maxiter(n: int, popsize: int) -> int:
    # pycma 4.5.0's default option 'maxiter': '100 + 150 * (N+3)**2 // popsize**0.5'
    return int(100 + 150 * (n + 3) ** 2 // popsize**0.5)


def test_each_run_is_capped_at_pycmas_maxiter_and_the_next_restart_begins():
    n, lam = 2, 6
    res = minimize(
        _EverBetter(), np.zeros(n), 1.0, seed=3, popsize=lam, restarts=1, max_evals=40_000,
        tolx=0.0, max_condition=1e300,
    )  # fmt: skip
    cap0, cap1 = pycma_maxiter(n, lam), pycma_maxiter(n, 2 * lam)
    assert (cap0, cap1) == (1630, 1182)
    assert res.stop_reasons == ["run_max_iter", "run_max_iter"]
    assert res.nit == cap0 + cap1 and res.nfev == cap0 * lam + cap1 * 2 * lam
    assert res.status == 13 and "run_max_iter" in res.message and not res.success


def test_run_max_iter_is_a_setting_and_none_lifts_the_cap():
    res = minimize(
        _EverBetter(), np.zeros(2), 1.0, seed=3, popsize=6, restarts=3, max_evals=3000,
        tolx=0.0, max_condition=1e300, run_max_iter=100,
    )  # fmt: skip
    # IPOP: 100 generations of 6, then of 12, then the budget ends the third run (λ = 24)
    assert res.stop_reasons == ["run_max_iter", "run_max_iter", "max_evals"]
    assert res.nit == 250 and res.nfev == 3000
    res = minimize(
        _EverBetter(), np.zeros(2), 1.0, seed=3, popsize=6, restarts=3, max_evals=12_000,
        tolx=0.0, max_condition=1e300, run_max_iter=None,
    )  # fmt: skip
    assert res.stop_reasons == ["max_evals"] and res.nfev == 12_000
    # the overall budget of generations still ends everything
    res = minimize(
        _EverBetter(), np.zeros(2), 1.0, seed=3, popsize=6, restarts=3, tolx=0.0,
        max_condition=1e300, run_max_iter=100, max_iter=250,
    )  # fmt: skip
    assert res.stop_reasons == ["run_max_iter", "run_max_iter", "max_iter"] and res.nit == 250


@pytest.mark.parametrize("bad", [0, -5, 2.5, "often", True])
def test_a_bad_run_max_iter_is_a_value_error(bad):
    with pytest.raises(ValueError, match="run_max_iter"):
        minimize(sphere, np.zeros(2), 1.0, run_max_iter=bad)
