"""Cost of the ask/tell shell itself (f and the strategy update excluded), microseconds per pair.

A strategy whose ``update`` does nothing and whose ``sample`` is one fused NumPy expression isolates
what :class:`natgrad.optim.Optimizer` adds per generation: drawing the noise, copying X, checking
what is told, the NaN policy, best-so-far and termination checks. Run ``python bench/shell_overhead.py``.
"""

from __future__ import annotations

import json
import math
import time
from typing import NamedTuple

import numpy as np

import natgrad
from natgrad.optim import Optimizer


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
    with open("shell_overhead.json", "w") as fh:
        json.dump({"build": natgrad.build_info(), "blas": blas_info(), "rows": rows}, fh, indent=1)
    print("wrote shell_overhead.json")


if __name__ == "__main__":
    main()
