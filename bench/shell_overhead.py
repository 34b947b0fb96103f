"""Cost of the ask/tell shell, microseconds per ask+tell pair (f excluded).

Part 1: a strategy whose ``update`` does nothing and whose ``sample`` is one fused NumPy
expression isolates what :class:`natgrad.optim.Optimizer` adds per generation (drawing the noise,
copying X, checking what is told, the NaN policy, best-so-far, termination checks), against the
bare draw-and-shift it wraps.

Part 2: every registered continuous strategy at n = 10 on the sphere, ask+tell through the
Optimizer against the same draws, samples and updates made by calling the strategy directly
(identical states, checked), so the difference is the shell's share.

Run ``python bench/shell_overhead.py``; writes ``shell_overhead.json`` in the working directory.
Minimum over repeats (the machine is shared; medians are printed too).
"""

from __future__ import annotations

import json
import math
import time
from typing import NamedTuple

import numpy as np

import natgrad
from natgrad.functions import sphere
from natgrad.optim import METHODS, Optimizer, get_strategy


class _State(NamedTuple):
    mean: np.ndarray
    sigma: float
    generation: int


class _Null:
    name = "null"

    def initial_state(self, x0, sigma0):
        return _State(x0, sigma0, 0)

    def default_popsize(self, dim):
        return 4 + int(3 * math.log(dim))

    def noise_shape(self, state, popsize):
        return (popsize, state.mean.size)

    def sample(self, state, noise):
        return state.mean + state.sigma * noise

    def update(self, state, noise, X, values):
        return state

    def condition_number(self, state):
        return 1.0

    def axis_scales(self, state):
        return np.full(state.mean.size, state.sigma)


def per_pair(n: int, repeats: int = 20000, bounds=None) -> tuple[float, float]:
    opt = Optimizer(_Null(), np.zeros(n), 1.0, seed=0, bounds=bounds, stagnation=10**9)
    values = np.arange(opt.popsize, dtype=np.float64)
    rng = np.random.default_rng(0)
    best = math.inf
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(repeats // 5):
            X = opt.ask()
            opt.tell(X, values)
        best = min(best, (time.perf_counter() - t0) / (repeats // 5))
    # the floor: the same random draw and affine map in bare NumPy
    t0 = time.perf_counter()
    mean = np.zeros(n)
    for _ in range(repeats):
        mean + 1.0 * rng.standard_normal((opt.popsize, n))
    floor = (time.perf_counter() - t0) / repeats
    return best * 1e6, floor * 1e6


def blas_info() -> list[dict]:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return [{"note": "threadpoolctl not installed"}]
    return [
        {k: d.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
        for d in threadpool_info()
    ]


def _shell_run(strategy, generations: int = 300) -> tuple[float, np.ndarray]:
    opt = Optimizer(strategy, np.full(10, 3.0), 1.0, seed=1, stagnation=10**9, tolx=0, tolfun=0)
    total = 0.0
    for _ in range(generations):
        t0 = time.perf_counter()
        X = opt.ask()
        t1 = time.perf_counter()
        values = sphere(X)
        t2 = time.perf_counter()
        opt.tell(X, values)
        total += (t1 - t0) + (time.perf_counter() - t2)
    return total / generations * 1e6, opt.state.mean


def _direct_run(strategy, generations: int = 300) -> tuple[float, np.ndarray]:
    state = strategy.initial_state(np.full(10, 3.0), 1.0)
    rng = np.random.default_rng(1)
    lam = strategy.default_popsize(10)
    total = 0.0
    for _ in range(generations):
        t0 = time.perf_counter()
        Z = rng.standard_normal(strategy.noise_shape(state, lam))
        X = strategy.sample(state, Z)
        t1 = time.perf_counter()
        values = sphere(X)
        t2 = time.perf_counter()
        state = strategy.update(state, Z, X, values)
        total += (t1 - t0) + (time.perf_counter() - t2)
    return total / generations * 1e6, state.mean


def real_strategies(repeats: int = 15) -> list[dict]:
    rows = []
    for name in sorted(METHODS):
        strategy = get_strategy(name)
        if getattr(strategy, "noise_distribution", "normal") != "normal":
            continue
        shell, direct = [], []
        for _ in range(repeats):
            (ts, ms), (td, md) = _shell_run(strategy), _direct_run(strategy)
            if not np.array_equal(ms, md):
                raise RuntimeError(f"{name}: the shell and the direct loop diverged")
            shell.append(ts)
            direct.append(td)
        row = {
            "method": name,
            "n": 10,
            "ask_tell_us": round(min(shell), 2),
            "ask_tell_median_us": round(float(np.median(shell)), 2),
            "strategy_alone_us": round(min(direct), 2),
            "strategy_alone_median_us": round(float(np.median(direct)), 2),
            "shell_share_us": round(min(shell) - min(direct), 2),
        }
        rows.append(row)
        print(row)
    return rows


def main() -> None:
    print(json.dumps(natgrad.build_info()))
    print(json.dumps(blas_info()))
    rows = []
    for n, bounds in ((10, None), (10, (-5.0, 5.0)), (100, None), (1000, None)):
        shell_us, floor_us = per_pair(n, repeats=20000 if n <= 100 else 2000, bounds=bounds)
        row = {
            "n": n,
            "bounds": bounds is not None,
            "ask_tell_us": round(shell_us, 2),
            "bare_sample_us": round(floor_us, 2),
            "ratio": round(shell_us / floor_us, 2),
        }
        rows.append(row)
        print(row)
    strategies = real_strategies()
    with open("shell_overhead.json", "w") as fh:
        result = {
            "build": natgrad.build_info(),
            "blas": blas_info(),
            "null_strategy": rows,
            "strategies": strategies,
        }
        json.dump(result, fh, indent=1)
    print("wrote shell_overhead.json")


if __name__ == "__main__":
    main()
