"""minimize(checkpoint=..., resume=...): a run interrupted (Ctrl-C, or its process killed) and
resumed equals the uninterrupted run bit for bit — x, fun, nfev, history — restarts included;
max_iter budgets; bad resume input."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import natgrad as ng
from natgrad.functions import rastrigin, sphere
from natgrad.optim import Optimizer
from natgrad.optim.history import FIELDS

# IPOP on Rastrigin: several restarts within the budget
IPOP = {"seed": 11, "restarts": 4, "max_evals": 5000, "vectorized": True}


def ipop(**kwargs):
    return ng.minimize(rastrigin, np.full(4, 3.0), 1.0, **IPOP, **kwargs)


def assert_same_run(a, b):
    np.testing.assert_array_equal(a.x, b.x)
    assert (a.fun, a.nfev, a.nit, a.stop_reasons) == (b.fun, b.nfev, b.nit, b.stop_reasons)
    assert len(a.history) == len(b.history)
    for name, _ in FIELDS:
        np.testing.assert_array_equal(a.history[name], b.history[name], err_msg=name)
    np.testing.assert_array_equal(a.history.mean, b.history.mean)
    np.testing.assert_array_equal(a.history.scales, b.history.scales)
    np.testing.assert_array_equal(a.optimizer.state.mean, b.optimizer.state.mean)


def interrupt_at(iteration):
    def callback(info):
        if info.nit == iteration:
            raise KeyboardInterrupt

    return callback


def test_the_reference_run_restarts():
    res = ipop()
    assert res.restarts >= 2, res.stop_reasons


@pytest.mark.parametrize("stop_at", [7, 60, 200])
def test_ctrl_c_then_resume_equals_the_uninterrupted_run(tmp_path, stop_at):
    full = ipop()
    path = tmp_path / "run.npz"
    cut = ipop(checkpoint=path, checkpoint_every=1000, callback=interrupt_at(stop_at))
    assert cut.stop_reason == "interrupted" and cut.nit == stop_at
    assert cut.restarts < full.restarts
    resumed = ipop(resume=path)
    assert_same_run(resumed, full)


def test_interrupt_during_an_evaluation_re_evaluates_that_batch(tmp_path):
    full = ipop()
    calls = [0]

    def f(X):
        calls[0] += 1
        if calls[0] == 41:
            raise KeyboardInterrupt
        return rastrigin(X)

    path = tmp_path / "run.npz"
    cut = ng.minimize(f, np.full(4, 3.0), 1.0, **IPOP, checkpoint=path, checkpoint_every=1000)
    assert cut.stop_reason == "interrupted" and cut.nit == 40
    assert cut.optimizer._run.pending is not None  # asked, not told
    resumed = ipop(resume=path)
    assert_same_run(resumed, full)


def test_resume_after_the_process_is_killed(tmp_path):
    """The child checkpoints every 5 generations and kills itself (SIGKILL) mid-run."""
    path = tmp_path / "run.npz"
    child = textwrap.dedent(
        f"""
        import os, signal
        import numpy as np
        import natgrad as ng

        def callback(info):
            if info.nit == 93:
                os.kill(os.getpid(), signal.SIGKILL)

        ng.minimize(ng.functions.rastrigin, np.full(4, 3.0), 1.0, seed=11, restarts=4,
                    max_evals=5000, vectorized=True, checkpoint={str(path)!r},
                    checkpoint_every=5, callback=callback)
        """
    )
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True)
    assert done.returncode == -9, done.stderr
    assert not (tmp_path / "run.npz.partial").exists()
    saved = Optimizer.load(path)  # the optimiser of the current run, readable on its own
    assert saved.evaluations > 0
    resumed = ipop(resume=path)
    assert_same_run(resumed, ipop())


def test_time_based_checkpoints_and_a_finished_checkpoint(tmp_path):
    path = tmp_path / "run.npz"
    full = ipop(checkpoint=path, checkpoint_time=1e-9)  # a checkpoint after every generation
    again = ipop(resume=path)  # the final checkpoint: nothing left to run
    assert_same_run(again, full)


def test_resume_with_other_arguments_is_refused(tmp_path):
    path = tmp_path / "run.npz"
    ipop(checkpoint=path, callback=interrupt_at(10))
    with pytest.raises(ValueError, match="restarts"):
        ng.minimize(rastrigin, np.full(4, 3.0), 1.0, **{**IPOP, "restarts": 1}, resume=path)
    with pytest.raises(ValueError, match="method"):
        ipop(resume=path, method="snes")
    with pytest.raises(ValueError, match="dim"):
        ng.minimize(rastrigin, np.full(5, 3.0), 1.0, **IPOP, resume=path)
    with pytest.raises(ValueError, match="sigma0"):
        ng.minimize(rastrigin, np.full(4, 3.0), 2.0, **IPOP, resume=path)
    with pytest.raises(ValueError, match="bounds"):
        ipop(resume=path, bounds=(-5, 5))
    with pytest.raises(ValueError, match="tolfun"):
        ipop(resume=path, tolfun=1e-3)


def test_resume_needs_a_minimize_checkpoint(tmp_path):
    opt = Optimizer("igo-cma", np.ones(3), 0.5, seed=0)
    opt.save(tmp_path / "opt.npz")
    with pytest.raises(ValueError, match="Optimizer.load"):
        ng.minimize(sphere, np.ones(3), 0.5, resume=tmp_path / "opt.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="checkpoint"):
        ng.minimize(sphere, np.ones(3), 0.5, resume=tmp_path / "junk.npz")


def test_checkpoint_options_are_validated(tmp_path):
    with pytest.raises(ValueError, match="checkpoint_every"):
        ng.minimize(sphere, np.ones(3), 0.5, max_iter=3, checkpoint_every=5)
    with pytest.raises(ValueError, match="checkpoint_every"):
        ng.minimize(sphere, np.ones(3), 0.5, checkpoint=tmp_path / "c.npz", checkpoint_every=0)
    with pytest.raises(ValueError, match="checkpoint_time"):
        ng.minimize(sphere, np.ones(3), 0.5, checkpoint=tmp_path / "c.npz", checkpoint_time=-1)
    with pytest.raises(ValueError, match="checkpoint"):
        ng.minimize(sphere, np.ones(3), 0.5, checkpoint=3)


def test_checkpoint_needs_a_registered_method(tmp_path):
    from es_strategy import CSAES

    with pytest.raises(ValueError, match="registered"):
        ng.minimize(sphere, np.ones(3), 0.5, method=CSAES(), checkpoint=tmp_path / "c.npz")


# ---------------------------------------------------------------------------- max_iter


def test_optimizer_max_iter():
    opt = Optimizer("igo-cma", np.ones(3), 0.5, seed=0, max_iter=12)
    while not opt.should_stop():
        X = opt.ask()
        opt.tell(X, sphere(X))
    assert opt.stop_reason == "max_iter" and opt.generation == 12


def test_minimize_max_iter_is_a_budget_over_restarts():
    res = ng.minimize(rastrigin, np.full(4, 3.0), 1.0, seed=11, restarts=9, max_iter=300,
                      vectorized=True)  # fmt: skip
    assert res.nit == 300 and res.stop_reason == "max_iter" and res.restarts >= 1
    assert res.status == 12 and "max_iter" in res.message
    assert res.history.iteration[-1] == 300


@pytest.mark.parametrize("bad", [0, -3, 2.5, "10"])
def test_bad_max_iter_is_refused(bad):
    with pytest.raises(ValueError, match="max_iter"):
        ng.minimize(sphere, np.ones(3), 0.5, max_iter=bad)
    with pytest.raises(ValueError, match="max_iter"):
        Optimizer("igo-cma", np.ones(3), 0.5, max_iter=bad)


def test_max_iter_survives_a_checkpoint(tmp_path):
    opt = Optimizer("snes", np.ones(3), 0.5, seed=0, max_iter=7)
    opt.save(tmp_path / "o.npz")
    loaded = Optimizer.load(tmp_path / "o.npz")
    assert loaded._max_iter == 7


def test_resume_can_checkpoint_again_to_the_same_file(tmp_path):
    """Interrupted twice, resumed twice, with checkpoints to one file: still the same run."""
    full = ipop()
    path = tmp_path / "run.npz"
    ipop(checkpoint=path, callback=interrupt_at(30))
    second = ipop(resume=path, checkpoint=path, callback=interrupt_at(150))
    assert second.stop_reason == "interrupted" and second.nit == 150
    assert_same_run(ipop(resume=path), full)


@pytest.mark.parametrize("k", [*range(1, 3000, 97), *range(3001, 130_000, 4999)])
def test_interrupt_at_any_line_then_resume(tmp_path, k):
    """Ctrl-C at the k-th natgrad line of a checkpointed run (trace-injected, as in
    test_interrupts.py): the history stays consistent with the result, and resuming from the
    file gives the uninterrupted run."""
    from test_interrupts import interrupt_at as line_interrupt

    args = dict(seed=3, restarts=2, max_evals=1500, vectorized=True)
    full = ng.minimize(rastrigin, np.full(2, 3.0), 1.0, **args)
    path = tmp_path / "run.npz"
    tracer, _ = line_interrupt(k)
    sys.settrace(tracer)
    try:
        cut = ng.minimize(rastrigin, np.full(2, 3.0), 1.0, **args, checkpoint=path,
                          checkpoint_every=4)  # fmt: skip
    except KeyboardInterrupt:
        cut = None  # before the first run, or while writing the final checkpoint
    finally:
        sys.settrace(None)
    if cut is not None:
        assert len(cut.history) == cut.nit
        if cut.nit:
            assert cut.history.evaluations[-1] == cut.nfev
    if not path.exists():
        return
    resumed = ng.minimize(rastrigin, np.full(2, 3.0), 1.0, **args, resume=path)
    assert_same_run(resumed, full)


@pytest.mark.parametrize("damage", ["drop_history", "drop_earlier", "bad_run_index", "bad_regime"])
def test_a_tampered_minimize_part_is_refused(tmp_path, damage):
    import json

    path = tmp_path / "run.npz"
    after_restart = int(ipop().history.restarts[0]) + 5
    ipop(checkpoint=path, callback=interrupt_at(after_restart))
    with np.load(path) as npz:
        arrays = {name: npz[name] for name in npz.files}
    meta = json.loads(arrays["meta"].tobytes().decode())
    part = meta["minimize"]
    assert part["earlier_runs"], "the cut must come after a restart"
    if damage == "drop_history":
        del arrays["minimize.history.sigma"]
    elif damage == "drop_earlier":
        part["earlier_runs"] = []
    elif damage == "bad_run_index":
        part["run"] = 7
    else:
        part["regime"] = "medium"
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="resume"):
        ipop(resume=path)
