"""Ctrl-C at any line of ask/tell leaves the optimiser as it was (or as after the call), and
minimize returns the best point so far; max_time and eval_timeout end runs cleanly.

The interrupt is injected with a trace function that raises KeyboardInterrupt at the k-th line
executed inside natgrad during the call, for every k until the call completes: this reaches
every line of ``tell`` and of the strategy code it runs, which is where a SIGINT is delivered
(Python runs signal handlers between bytecodes, never inside a compiled kernel).
"""

from __future__ import annotations

import copy
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import natgrad as ng
from natgrad.functions import sphere
from natgrad.optim import Optimizer

PACKAGE = os.path.dirname(ng.__file__)
METHODS = ["igo-cma", "xnes", "snes", "sngd", "binary-sngd", "lowrank"]


def interrupt_at(k: int):
    """A trace function raising KeyboardInterrupt at the k-th natgrad line (None if never)."""
    count = [0]

    def local(frame, event, arg):
        if event == "line":
            count[0] += 1
            if count[0] == k:
                raise KeyboardInterrupt
        return local

    def tracer(frame, event, arg):
        return local if frame.f_code.co_filename.startswith(PACKAGE) else None

    return tracer, count


def call_interrupted(k, fn, *args):
    """Run fn(*args) with an interrupt at natgrad line k; True if it was interrupted."""
    tracer, _ = interrupt_at(k)
    sys.settrace(tracer)
    try:
        fn(*args)
    except KeyboardInterrupt:
        return True
    finally:
        sys.settrace(None)
    return False


def values_for(opt, X):
    v = sphere(X)
    if opt.generation % 3 == 1:  # also exercise the invalid-value branch
        v = v.astype(object)
        v[1] = None
    return v


def make(method, **kwargs):
    binary = method == "binary-sngd"
    x0 = np.zeros(4) if binary else np.linspace(-1, 1, 4)
    opt = Optimizer(method, x0, None if binary else 0.5, seed=11, **kwargs)
    for _ in range(3):
        X = opt.ask()
        opt.tell(X, values_for(opt, X))
    return opt


def fingerprint(opt):
    run = opt._run
    arrays = [a for a in run.state if isinstance(a, np.ndarray)]
    return (
        run.evaluations, run.generation, run.best_f, run.stop_reason, run.history,
        run.nonfinite_run, [a.tobytes() for a in arrays], opt._rng.bit_generator.state,
        None if run.pending is None else run.pending.noise.tobytes(),
    )  # fmt: skip


@pytest.mark.parametrize("method", METHODS)
def test_interrupt_at_every_line_of_tell(method):
    reference = make(method)
    X = reference.ask()
    v = values_for(reference, X)
    done = copy.deepcopy(reference)
    done.tell(X, v)
    lines = 0
    for k in range(1, 10_000):
        opt = copy.deepcopy(reference)
        batch = opt._run.pending.returned
        before, run_before = fingerprint(opt), opt._run
        if not call_interrupted(k, opt.tell, batch, v):
            lines = k
            break
        # interrupted: nothing changed, the batch is still pending and can be told
        assert opt._run is run_before, k
        assert fingerprint(opt) == before, k
        opt.tell(batch, v)
        assert fingerprint(opt) == fingerprint(done), k
        X2 = opt.ask()
        np.testing.assert_array_equal(X2, copy.deepcopy(done).ask())
    assert lines > 10  # the injection reached the body of tell and the strategy's update


@pytest.mark.parametrize("method", ["igo-cma", "binary-sngd"])
def test_interrupt_at_every_line_of_ask(method):
    reference = make(method)
    want = copy.deepcopy(reference).ask()
    for k in range(1, 10_000):
        opt = copy.deepcopy(reference)
        before, run_before = fingerprint(opt), opt._run
        if not call_interrupted(k, opt.ask):
            break
        # no trace, also when the interrupt comes after the batch was committed (the return):
        # no pending batch whose draws the rewound generator would draw again
        assert opt._run is run_before, k
        assert fingerprint(opt) == before, k
        # the generator is rewound: the next ask draws the batch the uninterrupted run drew
        np.testing.assert_array_equal(opt.ask(), want)
    else:  # pragma: no cover
        pytest.fail("ask never completed")


def test_interrupt_in_f_returns_best_so_far():
    calls = [0]

    def f(X):
        calls[0] += 1
        if calls[0] == 6:
            raise KeyboardInterrupt
        return sphere(X)

    res = ng.minimize(f, np.ones(5), 0.5, seed=1, vectorized=True)
    assert res.stop_reason == "interrupted" and not res.success
    assert res.status == 9 and "interrupted" in res.message
    assert res.nit == 5 and res.nfev == 5 * res.popsize
    # the same five generations without an interrupt give the same best point
    ref = ng.minimize(sphere, np.ones(5), 0.5, seed=1, vectorized=True, max_evals=5 * res.popsize)
    np.testing.assert_array_equal(res.x, ref.x)
    # and the returned optimiser continues exactly as an uninterrupted run
    opt = res.optimizer
    X = opt.ask()
    opt.tell(X, sphere(X))
    assert opt.generation == 6


@pytest.mark.parametrize("k", range(1, 400, 7))
def test_interrupt_anywhere_in_minimize_is_consistent(k):
    """An interrupt at any natgrad line of minimize: either propagates before the first run
    or gives a result whose optimiser is consistent and whose best point was evaluated."""
    seen = {}

    def f(X):
        v = sphere(X)
        for x, y in zip(X, v, strict=True):
            seen[x.tobytes()] = y
        return v

    tracer, _ = interrupt_at(k)
    sys.settrace(tracer)
    try:
        res = ng.minimize(f, np.ones(3), 0.5, seed=2, vectorized=True, max_evals=200)
    except KeyboardInterrupt:
        return
    finally:
        sys.settrace(None)
    if res.stop_reason == "interrupted":
        assert res.nfev == res.optimizer.evaluations
        if np.isfinite(res.fun):
            assert seen[np.asarray(res.x).tobytes()] == res.fun


def test_max_time_stops_the_run():
    def slow(X):
        time.sleep(0.01)
        return sphere(X)

    start = time.monotonic()
    res = ng.minimize(slow, np.ones(3), 0.5, seed=0, vectorized=True, max_time=0.2, restarts=5)
    elapsed = time.monotonic() - start
    assert res.stop_reason == "max_time" and res.status == 10 and not res.success
    assert 0.2 <= elapsed < 2.0 and res.restarts == 0
    with pytest.raises(ValueError, match="max_time must be > 0"):
        ng.minimize(sphere, np.ones(3), 0.5, max_time=0)


def test_eval_timeout_ends_a_hung_run():
    release = threading.Event()
    calls = [0]
    lock = threading.Lock()

    def f(x):
        with lock:
            calls[0] += 1
            hang = calls[0] == 30
        if hang:
            release.wait(10)  # a hung worker
        return float(np.sum(x**2))

    with ThreadPoolExecutor(max_workers=2) as pool:
        start = time.monotonic()
        res = ng.minimize(f, np.ones(3), 0.5, seed=0, executor=pool, eval_timeout=0.3)
        elapsed = time.monotonic() - start
        release.set()
    assert res.stop_reason == "eval_timeout" and res.status == 11 and not res.success
    assert elapsed < 5.0
    assert np.isfinite(res.fun) and res.nit == 29 // res.popsize
    assert res.optimizer._run.pending is not None  # the untold batch is still pending


def test_eval_timeout_needs_an_executor():
    with pytest.raises(ValueError, match="eval_timeout needs an executor"):
        ng.minimize(sphere, np.ones(3), 0.5, eval_timeout=1.0)
    with ThreadPoolExecutor(1) as pool, pytest.raises(ValueError, match="exclude each other"):
        ng.minimize(sphere, np.ones(3), 0.5, eval_timeout=1.0, executor=pool, vectorized=True)
