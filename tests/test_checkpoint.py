"""Optimizer.save / Optimizer.load: a resumed run is bit-identical to the uninterrupted one, in
a fresh process, for every method; a truncated or tampered file is refused with a ValueError."""

from __future__ import annotations

import io
import json
import pickle
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest

import natgrad as ng
from natgrad.optim import METHODS, Optimizer

RUN = textwrap.dedent(
    """
    import hashlib, sys
    import numpy as np
    import natgrad as ng

    def f(X, binary):
        return -X.sum(axis=1) if binary else ng.functions.rosenbrock(X)

    def digest(opt):
        parts = [a.tobytes() for a in opt.state if isinstance(a, np.ndarray)]
        parts += [repr((opt.sigma, opt.best_f, opt.evaluations, opt.stop_reason)).encode()]
        return hashlib.sha256(b"".join(parts)).hexdigest()

    def advance(opt, binary, generations, ask_last=False):
        for _ in range(generations):
            if opt.should_stop():
                break
            X = opt.ask()
            opt.tell(X, f(X, binary))
        if ask_last:
            opt.ask()

    mode, method, path = sys.argv[1], sys.argv[2], sys.argv[3]
    binary = method == "binary-sngd"
    if mode == "save":  # run 7 generations, ask an 8th, save with the batch pending
        x0 = np.zeros(6) if binary else np.full(6, 0.5)
        bounds = None if binary else (-3.0, 3.0)
        sigma0 = None if binary else 0.4
        opt = ng.Optimizer(method, x0, sigma0, seed=5, bounds=bounds, max_evals=5000)
        advance(opt, binary, 7, ask_last=True)
        opt.save(path)
        X = opt._run.pending.returned
        opt.tell(X, f(X, binary))
        advance(opt, binary, 25)
    else:  # load in a fresh process and continue
        opt = ng.Optimizer.load(path)
        X = opt._run.pending.returned
        opt.tell(X, f(X, binary))
        advance(opt, binary, 25)
    print(digest(opt))
    """
)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_resume_in_a_fresh_process_is_bit_identical(tmp_path, method):
    path = str(tmp_path / "run.npz")

    def run(mode):
        return subprocess.run(
            [sys.executable, "-c", RUN, mode, method, path],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip

    uninterrupted = run("save")
    assert run("load") == uninterrupted


def _checkpoint(tmp_path, method="igo-cma", **kwargs):
    x0, sigma0 = (np.zeros(3), None) if method == "binary-sngd" else (np.ones(3), 0.5)
    opt = Optimizer(method, x0, sigma0, seed=1, **kwargs)
    for _ in range(4):
        X = opt.ask()
        opt.tell(X, ng.functions.sphere(X))
    path = tmp_path / "c.npz"
    opt.save(path)
    return opt, path


def _rewrite(path, change):
    """Apply ``change(arrays, meta)`` to the checkpoint at ``path``."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(arrays.pop("meta").tobytes())
    change(arrays, meta)
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(path, **arrays)


def test_save_load_round_trip_in_process(tmp_path):
    opt, path = _checkpoint(tmp_path, "sngd", bounds=([-1, -2, -3], [4, 5, np.inf]))
    back = Optimizer.load(path)
    assert repr(back) == repr(opt)
    assert back.strategy.options() == opt.strategy.options()
    for a, b in zip(back.state, opt.state, strict=True):
        np.testing.assert_array_equal(a, b)
    assert back._rng.bit_generator.state == opt._rng.bit_generator.state
    np.testing.assert_array_equal(back.ask(), opt.ask())


def test_generators_other_than_pcg64(tmp_path):
    opt = Optimizer("snes", np.ones(3), 0.5, rng=np.random.Generator(np.random.MT19937(4)))
    path = tmp_path / "mt.npz"
    opt.save(path)
    np.testing.assert_array_equal(Optimizer.load(path).ask(), opt.ask())


TAMPERINGS = {
    "version": (lambda a, m: m.update(version=2), "version 2 is not supported"),
    "format": (lambda a, m: m.update(format="other"), "format must be"),
    "strategy": (lambda a, m: m.update(strategy="os.system"), "unknown strategy"),
    "option": (lambda a, m: m["options"].update(active="yes"), "active must be"),
    "extra option": (lambda a, m: m["options"].update(code="1"), "options"),
    "popsize": (lambda a, m: m["settings"].update(popsize=1), "popsize must be >= 2"),
    "nan in state": (lambda a, m: a["state.factor"].__setitem__((0, 0), np.nan), "finite"),
    "state shape": (lambda a, m: a.update({"state.mean": np.ones(4)}), "state"),
    "negative sigma": (lambda a, m: m["scalars"]["state"].update(sigma=-1.0), "sigma"),
    "count": (lambda a, m: m["run"].update(generation=-3), "run.generation"),
    "stop reason": (lambda a, m: m["run"].update(stop_reason="rm -rf"), "stop_reason"),
    "best_x": (lambda a, m: a.update(best_x=np.ones(5)), "best_x"),
    "missing": (lambda a, m: a.pop("state.p_sigma"), "p_sigma"),
    "unexpected": (lambda a, m: a.update(extra=np.ones(2)), "unexpected entries"),
    "int dtype": (lambda a, m: a.update({"state.mean": np.ones(3, dtype=np.int64)}), "float64"),
    "generator": (lambda a, m: m["rng"].update(bit_generator="Evil"), "bit generator"),
    "generator state": (lambda a, m: m["rng"]["state"].update(state=None), "checkpoint"),
    "history": (lambda a, m: m["run"].update(history=["x"]), "history"),
}


@pytest.mark.parametrize("case", sorted(TAMPERINGS))
def test_tampered_checkpoints_are_refused(tmp_path, case):
    change, match = TAMPERINGS[case]
    _, path = _checkpoint(tmp_path)
    _rewrite(path, change)
    with pytest.raises(ValueError, match=match):
        Optimizer.load(path)


def test_truncated_and_foreign_files_are_refused(tmp_path):
    _, path = _checkpoint(tmp_path)
    data = path.read_bytes()
    for size in (0, 10, len(data) // 2, len(data) - 1):
        bad = tmp_path / f"cut{size}.npz"
        bad.write_bytes(data[:size])
        with pytest.raises(ValueError, match="checkpoint"):
            Optimizer.load(bad)
    pickled = tmp_path / "pickle.npz"
    pickled.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(ValueError, match="checkpoint"):
        Optimizer.load(pickled)
    # an object array (which only a pickle could rebuild) is refused without unpickling
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z, z.open("meta.npy", "w") as entry:
        np.lib.format.write_array(entry, np.array([object()], dtype=object), allow_pickle=True)
    objfile = tmp_path / "object.npz"
    objfile.write_bytes(buf.getvalue())
    with pytest.raises(ValueError, match="checkpoint"):
        Optimizer.load(objfile)
    with pytest.raises(ValueError, match="checkpoint"):
        Optimizer.load(tmp_path / "missing.npz")


def test_only_registered_strategies_are_saved(tmp_path):
    from es_strategy import CSAES

    opt = Optimizer(CSAES(), np.ones(2), 0.5, seed=0)
    with pytest.raises(ValueError, match="only registered strategies"):
        opt.save(tmp_path / "x.npz")
    assert not (tmp_path / "x.npz").exists()


def test_a_file_from_before_max_iter_still_loads(tmp_path):
    """Checkpoints written before the max_iter setting existed (no such key) load with None."""
    opt = Optimizer("snes", np.ones(3), 0.5, seed=2)
    X = opt.ask()
    opt.tell(X, ng.functions.sphere(X))
    path = tmp_path / "new.npz"
    opt.save(path)
    with np.load(path) as npz:
        arrays = {name: npz[name] for name in npz.files}
    meta = json.loads(arrays["meta"].tobytes().decode())
    assert meta["settings"].pop("max_iter") is None
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    old = tmp_path / "old.npz"
    np.savez(old, **arrays)
    back = Optimizer.load(old)
    assert back._max_iter is None and back.generation == 1
    np.testing.assert_array_equal(back.ask(), opt.ask())
