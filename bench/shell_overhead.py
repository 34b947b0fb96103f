"""Cost of the ask/tell shell, microseconds per ask+tell pair (f excluded).

Part 1: a strategy whose ``update`` does nothing and whose ``sample`` is one fused NumPy
expression isolates what :class:`natgrad.optim.Optimizer` adds per generation (drawing the noise,
copying X, checking what is told, the NaN policy, best-so-far, termination checks), against the
bare draw-and-shift it wraps.

Part 2: every registered continuous strategy at n = 10 on the sphere, ask+tell through the
Optimizer against the same draws, samples and updates made by calling the strategy directly
(identical states, checked), so the difference is the shell's share (f's time subtracted).

Usage: ``python bench/shell_overhead.py [--quick] [--out shell_overhead.json]`` (``--quick``: a
few seconds, for CI smoke runs).
Minimum over repeats (the machine is shared; medians are printed too); part 2 uses the process's
CPU time.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import time
import timeit
from typing import NamedTuple

import numpy as np

import natgrad
from natgrad._random import standard_normal
from natgrad.functions import sphere
from natgrad.optim import METHODS, Optimizer, Strategy, get_strategy


class _State(NamedTuple):
    mean: np.ndarray
    sigma: float
    generation: int


class _Null(Strategy):
    """Sampling only, no update: what is left is the shell's own cost."""

    name = "null"
    state_type = _State
    state_fields = {"mean": "vector", "sigma": "step", "generation": "count"}

    def _initial_state(self, x0, sigma0):
        return _State(x0, sigma0, 0)

    def _sample(self, state, noise):
        return state.mean + state.sigma * noise

    def _update(self, state, noise, X, values):
        return state

    def scale_step(self, state, factor):
        return state._replace(sigma=state.sigma * factor)

    def condition_number(self, state):
        return 1.0

    def axis_scales(self, state):
        return np.full(state.mean.size, state.sigma)


def per_pair(n: int, repeats: int = 20000, bounds=None) -> tuple[float, float]:
    """CPU microseconds per ask+tell with the null strategy, and per bare draw-and-shift."""
    opt = Optimizer(_Null(), np.zeros(n), 1.0, seed=0, bounds=bounds, stagnation=10**9)
    values = np.arange(opt.popsize, dtype=np.float64)
    rng = np.random.default_rng(0)
    mean = np.zeros(n)
    best = floor = math.inf
    for _ in range(5):
        t0 = time.process_time()
        for _ in range(repeats // 5):
            X = opt.ask()
            opt.tell(X, values)
        best = min(best, (time.process_time() - t0) / (repeats // 5))
        # the floor: the same random draw and affine map in bare NumPy
        t0 = time.process_time()
        for _ in range(repeats // 5):
            mean + 1.0 * rng.standard_normal((opt.popsize, n))
        floor = min(floor, (time.process_time() - t0) / (repeats // 5))
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


def real_strategies(repeats: int = 25, number: int = 200) -> list[dict]:
    """Per strategy: ask+tell through the Optimizer vs draw+sample+update called directly.

    Both start every repeat from the same warmed-up state (50 generations on the sphere) and
    run ``number`` generations on the sphere; the sphere's own time is measured and subtracted.
    """
    rows = []
    for name in sorted(METHODS):
        strategy = get_strategy(name)
        if getattr(strategy, "noise_distribution", "normal") != "normal":
            continue
        warm = Optimizer(strategy, np.full(10, 3.0), 1.0, seed=1, tolx=0, tolfun=0)
        for _ in range(50):
            X = warm.ask()
            warm.tell(X, sphere(X))
        lam = warm.popsize
        box: dict = {}

        def reset_shell(box=box, warm=warm) -> None:
            box["opt"] = copy.deepcopy(warm)

        def reset_direct(box=box, warm=warm) -> None:
            box["state"] = warm.state
            box["rng"] = copy.deepcopy(warm._rng)  # the same draws as the shell makes

        def through_shell(box=box) -> None:
            opt = box["opt"]
            X = opt.ask()
            opt.tell(X, sphere(X))

        def direct(box=box, strategy=strategy, lam=lam) -> None:
            state = box["state"]
            Z = standard_normal(box["rng"], strategy.noise_shape(state, lam))
            # the unchecked calls the shell itself makes (the public methods add checks)
            X = strategy._sample(state, Z)
            box["state"] = strategy._update(state, Z, X, sphere(X))

        # both paths make the same draws, so they must reach the same state
        reset_shell()
        reset_direct()
        for _ in range(number):
            through_shell()
            direct()
        if not np.array_equal(box["opt"].state.mean, box["state"].mean):
            raise RuntimeError(f"{name}: the shell and the direct loop diverged")
        X = copy.deepcopy(warm).ask()
        # CPU time of this process: the machine is shared, and wall time counts other jobs
        cpu = time.process_time
        f_us = min(timeit.repeat(lambda X=X: sphere(X), number=number, repeat=repeats, timer=cpu))
        shell = timeit.repeat(
            through_shell, setup=reset_shell, number=number, repeat=repeats, timer=cpu
        )
        alone = timeit.repeat(direct, setup=reset_direct, number=number, repeat=repeats, timer=cpu)
        to_us = 1e6 / number
        row = {
            "method": name,
            "n": 10,
            "popsize": lam,
            "ask_tell_us": round((min(shell) - f_us) * to_us, 2),
            "ask_tell_median_us": round((float(np.median(shell)) - f_us) * to_us, 2),
            "strategy_alone_us": round((min(alone) - f_us) * to_us, 2),
            "strategy_alone_median_us": round((float(np.median(alone)) - f_us) * to_us, 2),
        }
        row["shell_share_us"] = round(row["ask_tell_us"] - row["strategy_alone_us"], 2)
        rows.append(row)
        print(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, a few seconds")
    parser.add_argument("--out", default="shell_overhead.json", help="JSON output path")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    print(json.dumps(natgrad.build_info()))
    print(json.dumps(blas_info()))
    rows = []
    for n, bounds in ((10, None), (10, (-5.0, 5.0)), (100, None), (1000, None)):
        repeats = (20000 if n <= 100 else 2000) // scale
        shell_us, floor_us = per_pair(n, repeats=repeats, bounds=bounds)
        row = {
            "n": n,
            "bounds": bounds is not None,
            "ask_tell_us": round(shell_us, 2),
            "bare_sample_us": round(floor_us, 2),
            "ratio": round(shell_us / floor_us, 2),
        }
        rows.append(row)
        print(row)
    strategies = real_strategies(repeats=25 // (2 * scale) + 1 if args.quick else 25)
    with open(args.out, "w") as fh:
        result = {
            "build": natgrad.build_info(),
            "blas": blas_info(),
            "null_strategy": rows,
            "strategies": strategies,
        }
        json.dump(result, fh, indent=1)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
