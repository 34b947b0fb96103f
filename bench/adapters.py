"""One ask/tell interface over natgrad and its peers, for the benchmark scripts in this folder.

Every optimiser the benchmarks compare is wrapped in a small adapter with the same surface::

    opt = spec.make(x0, sigma0, seed, popsize=None)
    X = opt.ask()                 # (popsize, n) float64 array, a fresh copy
    opt.tell(X, values)           # values (popsize,), lower is better
    opt.should_stop()             # the library's own termination criteria, nothing added

The benchmark loop (target, budget, timing) lives in the scripts, so every library is driven the
same way and only the search distribution differs. A peer that is not installed is reported as
unavailable (with the reason) instead of failing the run, so the smoke mode works without the
``bench`` extra.

Adapters
--------
natgrad
    ``natgrad.optim.Optimizer(get_strategy(method), x0, sigma0, popsize=, seed=)``.
pycma (``cma``)
    ``cma.CMAEvolutionStrategy`` with all logging off. pycma treats ``seed=0`` as "seed from the
    clock", so the benchmarks use seeds >= 1 for every library.
cmaes
    ``cmaes.CMA`` and ``cmaes.XNES`` (one ``ask()`` per solution, as the library is designed).
    ``cmaes.DXNESIC`` is listed but unavailable: with numpy >= 2.4 its ``tell`` raises
    ``TypeError: only 0-dimensional arrays can be converted to Python scalars`` (a 1x1 array passed
    to ``math.sqrt`` in ``_dxnesic.py``, cmaes 0.13.1); there is no way around it without patching
    the library, so it is skipped with that reason.
pypop7
    pypop7's optimisers have no ask/tell API: they evaluate inside ``iterate``. The adapter drives
    the library's own ``initialize`` / ``iterate`` / update methods in the order its ``optimize``
    uses, with a placeholder fitness function during ``iterate`` (so sampling, including pypop7's
    per-sample Python loop and its evaluation bookkeeping, is what ``ask`` times) and the told
    values written into the population's fitness array before the update. Restarts are off. Two
    documented deviations from ``optimize``: pypop7's ``XNES`` ignores ``sigma`` (it sets it to
    inf and starts from A = I), so the adapter starts it from A = sigma0 * I, as xNES is defined;
    and ``should_stop`` applies the criteria pypop7 uses to trigger a restart (sigma below 1e-12,
    or no improvement of the best value by 1e-12 within ``10 + ceil(30 n / popsize)`` generations).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

import numpy as np

FloatArray = np.ndarray

# ----------------------------------------------------------------------------------------------
# Test functions (vectorised over rows; independent of natgrad so a bug there cannot hide here)
# ----------------------------------------------------------------------------------------------

CONDITION = 1e6


def sphere(X: FloatArray) -> FloatArray:
    """f(x) = sum x_i^2."""
    return np.einsum("ij,ij->i", X, X)


def _scales(n: int) -> FloatArray:
    return CONDITION ** (np.arange(n) / max(n - 1, 1))


def ellipsoid(X: FloatArray) -> FloatArray:
    """Axis-aligned ellipsoid, f(x) = sum 1e6^((i-1)/(n-1)) x_i^2 (condition 1e6)."""
    return (X * X) @ _scales(X.shape[1])


@lru_cache(maxsize=16)
def rotation(n: int, seed: int = 20261121) -> FloatArray:
    """A fixed Haar-distributed orthogonal matrix per dimension (QR with the sign fix)."""
    q, r = np.linalg.qr(np.random.default_rng(seed + n).standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def rotated_ellipsoid(X: FloatArray) -> FloatArray:
    """The ellipsoid in a fixed random orthonormal basis: f(x) = ellipsoid(R x)."""
    Y = X @ rotation(X.shape[1]).T
    return (Y * Y) @ _scales(X.shape[1])


def rosenbrock(X: FloatArray) -> FloatArray:
    """f(x) = sum 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2; minimum 0 at x = 1, local minimum ~3.99."""
    a, b = X[:, :-1], X[:, 1:]
    return np.sum(100.0 * (b - a * a) ** 2 + (1.0 - a) ** 2, axis=1)


FUNCTIONS: dict[str, Callable[[FloatArray], FloatArray]] = {
    "sphere": sphere,
    "ellipsoid": ellipsoid,
    "rot-ellipsoid": rotated_ellipsoid,
    "rosenbrock": rosenbrock,
}

# ----------------------------------------------------------------------------------------------
# The common interface
# ----------------------------------------------------------------------------------------------


class AskTell(Protocol):
    """What every adapter exposes."""

    popsize: int

    def ask(self) -> FloatArray: ...

    def tell(self, X: FloatArray, values: FloatArray) -> None: ...

    def should_stop(self) -> bool: ...


@dataclass(frozen=True)
class Spec:
    """One optimiser of one library, and how to build its adapter."""

    #: label used in tables, e.g. "pycma" or "natgrad igo-cma"
    label: str
    #: import name of the library ("natgrad", "cma", "cmaes", "pypop7")
    library: str
    #: algorithm family used to pair natgrad with peers ("cma", "xnes", "snes", "other")
    family: str
    #: (x0, sigma0, seed, popsize) -> adapter
    make: Callable[..., AskTell]
    #: a reason this spec cannot run here, or None (computed by :func:`check_available`)
    unavailable: str | None = field(default=None, compare=False)


# ----------------------------------------------------------------------------------------------
# natgrad
# ----------------------------------------------------------------------------------------------


def _natgrad_api() -> tuple[Any, Any]:
    """(Optimizer, get_strategy) from wherever this natgrad version puts them."""
    optim = importlib.import_module("natgrad.optim")
    optimizer = getattr(optim, "Optimizer", None)
    if optimizer is None:
        optimizer = importlib.import_module("natgrad.optim.optimizer").Optimizer
    get_strategy = getattr(optim, "get_strategy", None)
    if get_strategy is None:
        get_strategy = importlib.import_module("natgrad.optim.registry").get_strategy
    return optimizer, get_strategy


def natgrad_methods() -> list[str]:
    """Continuous methods natgrad's registry knows (empty when the optimisers are not installed)."""
    try:
        registry = importlib.import_module("natgrad.optim.registry")
    except ImportError:
        return []
    # binary strategies search {-1, +1}^n and have no place on these continuous benchmarks
    return [m for m in getattr(registry, "METHODS", {}) if "binary" not in m]


class NatgradAdapter:
    """natgrad's ask/tell shell running one registered strategy."""

    def __init__(
        self, method: str, x0: FloatArray, sigma0: float, seed: int, popsize: int | None = None
    ) -> None:
        optimizer, get_strategy = _natgrad_api()
        self._opt = optimizer(get_strategy(method), x0, sigma0, popsize=popsize, seed=seed)
        self.popsize = int(self._opt.popsize)

    def ask(self) -> FloatArray:
        return np.asarray(self._opt.ask())

    def tell(self, X: FloatArray, values: FloatArray) -> None:
        self._opt.tell(X, values)

    def should_stop(self) -> bool:
        return bool(self._opt.should_stop())


# ----------------------------------------------------------------------------------------------
# pycma
# ----------------------------------------------------------------------------------------------


class PycmaAdapter:
    """``cma.CMAEvolutionStrategy`` (pycma's defaults, active CMA on, all output off)."""

    def __init__(
        self, x0: FloatArray, sigma0: float, seed: int, popsize: int | None = None
    ) -> None:
        import cma

        options: dict[str, Any] = {
            "seed": seed,
            "verbose": -9,
            "verb_disp": 0,
            "verb_log": 0,
            "maxfevals": np.inf,
        }
        if popsize is not None:
            options["popsize"] = popsize
        self._es = cma.CMAEvolutionStrategy(np.array(x0, dtype=float), sigma0, options)
        self.popsize = int(self._es.popsize)

    def ask(self) -> FloatArray:
        return np.array(self._es.ask())

    def tell(self, X: FloatArray, values: FloatArray) -> None:
        self._es.tell(list(X), [float(v) for v in values])

    def should_stop(self) -> bool:
        return bool(self._es.stop())


# ----------------------------------------------------------------------------------------------
# cmaes (CyberAgentAILab)
# ----------------------------------------------------------------------------------------------


class CmaesAdapter:
    """``cmaes.CMA`` / ``cmaes.XNES``: one ``ask()`` per solution, ``tell`` takes (x, f) pairs."""

    def __init__(
        self,
        cls_name: str,
        x0: FloatArray,
        sigma0: float,
        seed: int,
        popsize: int | None = None,
    ) -> None:
        import cmaes

        cls = getattr(cmaes, cls_name)
        kwargs: dict[str, Any] = {"mean": np.array(x0, dtype=float), "sigma": sigma0, "seed": seed}
        if popsize is not None:
            kwargs["population_size"] = popsize
        self._opt = cls(**kwargs)
        self.popsize = int(self._opt.population_size)

    def ask(self) -> FloatArray:
        return np.array([self._opt.ask() for _ in range(self.popsize)])

    def tell(self, X: FloatArray, values: FloatArray) -> None:
        self._opt.tell([(x, float(v)) for x, v in zip(X, values, strict=True)])

    def should_stop(self) -> bool:
        return bool(self._opt.should_stop())


# ----------------------------------------------------------------------------------------------
# pypop7
# ----------------------------------------------------------------------------------------------


def _placeholder_fitness(x: FloatArray) -> float:
    return 0.0


class Pypop7Adapter:
    """pypop7's CMAES / XNES / SNES driven through their own methods (module docstring)."""

    def __init__(
        self, algo: str, x0: FloatArray, sigma0: float, seed: int, popsize: int | None = None
    ) -> None:
        n = len(x0)
        problem = {
            "fitness_function": _placeholder_fitness,
            "ndim_problem": n,
            "lower_boundary": np.full(n, -np.inf),
            "upper_boundary": np.full(n, np.inf),
        }
        options: dict[str, Any] = {
            "mean": np.array(x0, dtype=float),
            "sigma": float(sigma0),
            "seed_rng": seed,
            "verbose": 0,
            "saving_fitness": 0,
            "is_restart": False,
        }
        if popsize is not None:
            options["n_individuals"] = popsize
        self.algo = algo
        if algo == "CMAES":
            from pypop7.optimizers.es.cmaes import CMAES

            self._opt = CMAES(problem, options)
            self._state = list(self._opt.initialize())  # x, mean, p_s, p_c, cm, e_ve, e_va, y, d
        elif algo == "XNES":
            from pypop7.optimizers.nes.xnes import XNES

            self._opt = XNES(problem, options)
            x, y, mean, _, _, log_det = self._opt.initialize()
            # pypop7 ignores sigma for XNES (starts at A = I); xNES starts at A = sigma0 I
            a, inv_a = sigma0 * np.eye(n), np.eye(n) / sigma0
            self._state = [x, y, mean, a, inv_a, log_det + n * math.log(sigma0)]
        elif algo == "SNES":
            from pypop7.optimizers.nes.snes import SNES

            self._opt = SNES(problem, options)
            self._state = list(self._opt.initialize())  # s, y, mean, d
        else:
            raise ValueError(f"unknown pypop7 algorithm {algo!r}")
        self._opt.start_time = time.time()
        self.popsize = int(self._opt.n_individuals)
        self._best_history: list[float] = [math.inf]
        self._stagnation = int(10 + math.ceil(30 * n / self.popsize))
        self._sigma0 = sigma0

    def ask(self) -> FloatArray:
        st, opt = self._state, self._opt
        if self.algo == "CMAES":
            x, mean, _, _, _, e_ve, e_va, y, d = st
            st[0], st[7], st[8] = opt.iterate(x, mean, e_ve, e_va, y, d)
            return np.array(st[0])
        if self.algo == "XNES":
            x, y, mean, a = st[0], st[1], st[2], st[3]
            st[0], st[1] = opt.iterate(x, y, mean, a)
            return np.array(st[0])
        s, y, mean, d = st
        st[0], st[1] = opt.iterate(s, y, mean, d)
        return mean + d * st[0]

    def tell(self, X: FloatArray, values: FloatArray) -> None:
        st, opt = self._state, self._opt
        values = np.asarray(values, dtype=float)
        if self.algo == "CMAES":
            st[7][:] = values
            opt._n_generations += 1
            x, _, p_s, p_c, cm, e_ve, e_va, y, d = st
            mean, p_s, p_c, cm, e_ve, e_va = opt.update_distribution(
                x, p_s, p_c, cm, e_ve, e_va, y, d
            )
            st[1:7] = [mean, p_s, p_c, cm, e_ve, e_va]
        elif self.algo == "XNES":
            st[1][:] = values
            x, y, mean, a, inv_a, log_det = st
            st[2:6] = list(opt._update_distribution(x, y, mean, a, inv_a, log_det))
            opt._n_generations += 1
        else:
            st[1][:] = values
            s, y, mean, d = st
            st[2], st[3] = opt._update_distribution(s, y, mean, d)
        self._best_history.append(min(self._best_history[-1], float(values.min())))

    def should_stop(self) -> bool:
        if self.algo == "CMAES" and self._opt.sigma < 1e-12:
            return True
        hist = self._best_history
        if len(hist) > self._stagnation:
            return hist[-self._stagnation - 1] - hist[-1] < 1e-12
        return False


# ----------------------------------------------------------------------------------------------
# Registry of everything the benchmarks can run
# ----------------------------------------------------------------------------------------------

#: cmaes.DXNESIC cannot run under numpy >= 2.4 (see the module docstring)
DXNESIC_REASON = (
    "cmaes.DXNESIC.tell raises TypeError under numpy>=2.4 (1x1 array passed to math.sqrt in "
    "cmaes/_dxnesic.py, cmaes 0.13.1); skipped, no patch-free workaround"
)


def _dxnesic_unavailable(*args: Any, **kwargs: Any) -> AskTell:
    raise RuntimeError(DXNESIC_REASON)


def all_specs() -> list[Spec]:
    """natgrad's registered methods first, then the peers (availability not yet checked)."""
    specs = []
    families = {"igo-cma": "cma", "xnes": "xnes", "snes": "snes"}
    for method in natgrad_methods():
        specs.append(
            Spec(
                f"natgrad {method}",
                "natgrad",
                families.get(method, "other"),
                lambda x0, s0, seed, popsize=None, _m=method: NatgradAdapter(
                    _m, x0, s0, seed, popsize
                ),
            )
        )
    specs += [
        Spec("pycma", "cma", "cma", PycmaAdapter),
        Spec(
            "cmaes CMA",
            "cmaes",
            "cma",
            lambda x0, s0, seed, popsize=None: CmaesAdapter("CMA", x0, s0, seed, popsize),
        ),
        Spec(
            "cmaes XNES",
            "cmaes",
            "xnes",
            lambda x0, s0, seed, popsize=None: CmaesAdapter("XNES", x0, s0, seed, popsize),
        ),
        Spec("cmaes DXNESIC", "cmaes", "xnes", _dxnesic_unavailable, DXNESIC_REASON),
        Spec(
            "pypop7 CMAES",
            "pypop7",
            "cma",
            lambda x0, s0, seed, popsize=None: Pypop7Adapter("CMAES", x0, s0, seed, popsize),
        ),
        Spec(
            "pypop7 XNES",
            "pypop7",
            "xnes",
            lambda x0, s0, seed, popsize=None: Pypop7Adapter("XNES", x0, s0, seed, popsize),
        ),
        Spec(
            "pypop7 SNES",
            "pypop7",
            "snes",
            lambda x0, s0, seed, popsize=None: Pypop7Adapter("SNES", x0, s0, seed, popsize),
        ),
    ]
    return specs


def check_available(spec: Spec) -> Spec:
    """``spec`` with ``unavailable`` set when its library is missing or the adapter fails to start."""
    if spec.unavailable:
        return spec
    try:
        importlib.import_module(spec.library)
    except ImportError as exc:
        return Spec(spec.label, spec.library, spec.family, spec.make, f"not installed ({exc})")
    try:
        opt = spec.make(np.ones(3), 0.5, 1)
        X = opt.ask()
        opt.tell(X, sphere(X))
    except Exception as exc:  # report, never crash the benchmark over one library
        reason = f"adapter failed to start: {type(exc).__name__}: {exc}"
        return Spec(spec.label, spec.library, spec.family, spec.make, reason)
    return spec


def available_specs(labels: list[str] | None = None) -> tuple[list[Spec], list[Spec]]:
    """(runnable, skipped) specs, optionally restricted to ``labels``."""
    runnable, skipped = [], []
    for spec in all_specs():
        if labels is not None and spec.label not in labels:
            continue
        checked = check_available(spec)
        (skipped if checked.unavailable else runnable).append(checked)
    return runnable, skipped


# ----------------------------------------------------------------------------------------------
# What every benchmark prints: machine, versions, build flags, BLAS
# ----------------------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gib() -> float | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def environment() -> dict[str, Any]:
    """Machine, versions, natgrad's build and the BLAS libraries loaded (threadpoolctl)."""
    info: dict[str, Any] = {
        "date_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
        "machine": {
            "cpu": _cpu_model(),
            "nproc": os.cpu_count(),
            "ram_gib": _ram_gib(),
            "platform": platform.platform(),
            "loadavg": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        },
        "python": sys.version.split()[0],
        "versions": {
            dist: _version(dist)
            for dist in (
                "natgrad",
                "numpy",
                "scipy",
                "cma",
                "cmaes",
                "pypop7",
                "coco-experiment",
                "cocopp",
                "threadpoolctl",
            )
        },
    }
    try:
        import natgrad

        info["natgrad_build"] = natgrad.build_info()
    except Exception as exc:  # the report must still print without a working build
        info["natgrad_build"] = f"unavailable: {type(exc).__name__}: {exc}"
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = [
            {k: lib.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
            for lib in threadpool_info()
        ]
    except ImportError:
        info["blas"] = "threadpoolctl not installed"
    return info


def median_time(fn: Any, repeats: int) -> float:
    """Median seconds of ``repeats`` calls of fn, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def interleaved_medians(fns: dict[str, Any], repeats: int) -> dict[str, float]:
    """Median seconds per call of each function, the calls alternating round by round (one
    call of each per round), so that a change of machine load hits all of them alike."""
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) for name, t in times.items()}


def timed_generation(opt: Any, f: Any) -> tuple[float, float, FloatArray]:
    """One ask + tell of a natgrad Optimizer on the batch function f: the seconds of ``ask``, of
    ``tell`` (f's time excluded) and the values told."""
    t0 = time.perf_counter()
    X = opt.ask()
    t1 = time.perf_counter()
    values = f(X)
    t2 = time.perf_counter()
    opt.tell(X, values)
    return t1 - t0, time.perf_counter() - t2, values


def write_results(path: Any, args: Any, results: Any, env: dict[str, Any]) -> None:
    """A benchmark's JSON: the environment, the command-line arguments and the results."""
    from pathlib import Path

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {"environment": env, "args": vars(args), "results": results}
    out.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    print(f"# wrote {out}")


def print_environment(info: dict[str, Any]) -> None:
    """Human-readable summary of :func:`environment`."""
    m = info["machine"]
    print(f"# date {info['date_utc']} UTC")
    print(f"# machine: {m['cpu']}, nproc {m['nproc']}, RAM {m['ram_gib']} GiB, {m['platform']}")
    print(f"# load average at start: {m['loadavg']}")
    versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items() if v)
    print(f"# python {info['python']}; {versions}")
    print(f"# natgrad.build_info(): {info['natgrad_build']}")
    print(f"# BLAS (threadpoolctl): {info['blas']}")


class blas_threads:
    """Context manager limiting BLAS threads (a no-op, reported, without threadpoolctl)."""

    def __init__(self, count: int) -> None:
        self.count = count
        self._ctx: Any = None

    def __enter__(self) -> blas_threads:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            return self
        self._ctx = threadpool_limits(limits=self.count, user_api="blas")
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._ctx is not None:
            self._ctx.restore_original_limits()
