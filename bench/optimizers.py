"""Benchmark of the search-distribution strategies (IGO-CMA, xNES, SNES).

1. Time per generation of ask + tell (``sample`` + ``update``; f excluded, standard normal draws
   reported separately) for n in {10, 100, 1000, 2000}, against the pure-NumPy twin in
   ``natgrad.reference.search`` and (when importable) pycma, with GF/s of the full-covariance
   generation and this machine's DGEMM GF/s measured in the same run.
2. Evaluations to f < 1e-8 on sphere / ellipsoid (cond 1e6) / Rosenbrock in 10-D and 40-D: median
   over successful seeds and success rate (Rosenbrock's local minimum counts as a failure), with
   pycma's count in the same run when ``cma`` is importable.

The strategies are driven by a minimal ask/tell loop below (the optimiser shell adds bounds,
termination and restarts on top and is not what is measured here).

Usage: ``python bench/optimizers.py [--quick] [--seeds 5] [--out bench/results/optimizers.json]``
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

import natgrad
from natgrad import _core
from natgrad.functions import ellipsoid, rosenbrock, sphere
from natgrad.optim import IGOCMA, SNES, XNES
from natgrad.reference import search as ref

try:
    from threadpoolctl import threadpool_info, threadpool_limits
except ImportError:  # pragma: no cover
    threadpool_info = None
    threadpool_limits = None

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    try:
        import cma
    except ImportError:  # pragma: no cover
        cma = None


FUNCTIONS = {"sphere": sphere, "ellipsoid": ellipsoid, "rosenbrock": rosenbrock}


TIME_SCALE = 1.0  # --quick shortens every timing loop
WALL: list[float] = []  # wall-clock minimum of the last best_time call

# --- timing -----------------------------------------------------------------------------------


def best_time(fn, min_total: float = 0.2, max_reps: int = 2000, rounds: int = 3) -> float:
    """Best-of-rounds mean CPU time per call.

    The machine is shared, so wall time includes waiting for a core; CPU time of this process
    (BLAS and Eigen run on one thread here) is the cost of the work, and the minimum over rounds
    filters the remaining interference. The wall-clock minimum is kept in ``WALL[-1]``. A call
    slower than ``min_total`` (the O(n³) twins at large n) is timed once after a warm-up.
    """
    min_total *= TIME_SCALE
    fn()
    w0, c0 = time.perf_counter(), time.process_time()
    fn()
    one, one_wall = time.process_time() - c0, time.perf_counter() - w0
    if one > max(min_total, 0.5):
        WALL.append(one_wall)
        return max(one, 1e-9)
    reps = int(min(max_reps, max(1, min_total / max(one, 1e-7) / rounds)))
    best, best_wall = math.inf, math.inf
    for _ in range(rounds):
        w0, c0 = time.perf_counter(), time.process_time()
        for _ in range(reps):
            fn()
        best = min(best, (time.process_time() - c0) / reps)
        best_wall = min(best_wall, (time.perf_counter() - w0) / reps)
    WALL.append(best_wall)
    return max(best, 1e-9)


def dgemm_gflops(n: int = 1000) -> dict[str, float]:
    """Square n x n DGEMM on one thread: NumPy's BLAS and natgrad's Eigen (via sample_full)."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    mean = np.zeros(n)
    flops = 2.0 * n**3
    t_blas = best_time(lambda: a @ b, min_total=1.0, rounds=3)
    t_eigen = best_time(lambda: _core.sample_full(mean, 1.0, b, a), min_total=1.0, rounds=3)
    return {"numpy_blas": flops / t_blas / 1e9, "eigen": flops / t_eigen / 1e9}


def random_factor(rng: np.random.Generator, n: int) -> np.ndarray:
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return np.ascontiguousarray(q * np.geomspace(1.0, 10.0, n))


def time_strategies(dims: list[int], twin_max_n: int) -> list[dict[str, Any]]:
    rows = []
    rng = np.random.default_rng(1)
    for n in dims:
        lam = IGOCMA().default_popsize(n)
        # generations are timed through _sample/_update, the unchecked calls the Optimizer makes;
        # the public sample/update add the boundary's O(n^2) checks of state and population
        A = random_factor(rng, n) if n <= 2000 else None
        Z = rng.standard_normal((lam, n))
        t_rng = best_time(lambda shape=(lam, n): rng.standard_normal(shape))
        cases = []
        # IGO-CMA
        igo = IGOCMA()
        st_c = igo.initial_state(np.ones(n), 0.5)._replace(factor=A)
        X = igo.sample(st_c, Z)
        v = sphere(X)
        p = igo.parameters(n, lam)
        k_cma = int(np.count_nonzero(p.weights)) + 1

        def cma_gen(st=st_c, v=v, Z=Z, igo=igo):
            igo._update(st, Z, igo._sample(st, Z), v)

        def cma_twin(st=st_c, v=v, p=p, Z=Z):
            Xt = ref.sample_full(st.mean, st.sigma, st.factor, Z)
            ref.igo_cma_update(st.mean, st.sigma, st.factor, st.p_sigma, st.p_c_z, Z, Xt, v, 3, p)

        cases.append(("igo-cma", cma_gen, cma_twin, 2.0 * (lam + k_cma) * n * n))
        # xNES
        xn = XNES()
        st_x = xn.initial_state(np.ones(n), 0.5)._replace(factor=A)
        px = xn.parameters(n, lam)

        def xnes_gen(st=st_x, v=v, Z=Z, xn=xn):
            xn._update(st, Z, xn._sample(st, Z), v)

        def xnes_twin(st=st_x, v=v, p=px, Z=Z):
            Xt = ref.sample_full(st.mean, st.sigma, st.factor, Z)
            ref.xnes_update(st.mean, st.sigma, st.factor, st.p_sigma, Z, Xt, v, p)

        cases.append(("xnes", xnes_gen, xnes_twin, 4.0 * lam * n * n))
        # SNES
        sn = SNES()
        st_s = sn.initial_state(np.ones(n), 0.5)
        ps = sn.parameters(n, lam)

        def snes_gen(st=st_s, v=v, Z=Z, sn=sn):
            sn._update(st, Z, sn._sample(st, Z), v)

        def snes_twin(st=st_s, v=v, p=ps, Z=Z):
            ref.sample_diagonal(st.mean, st.sigma, st.scales, Z)
            ref.snes_update(st.mean, st.sigma, st.scales, Z, v, p)

        cases.append(("snes", snes_gen, snes_twin, None))

        for name, gen, twin, flops in cases:
            t = best_time(gen, min_total=0.3 if n < 1000 else 1.0)
            t_wall = WALL[-1]
            tt = (
                best_time(twin, min_total=0.3 if n < 1000 else 0.0, rounds=3 if n < 1000 else 1)
                if n <= twin_max_n
                else None
            )
            row = {
                "n": n,
                "popsize": lam,
                "strategy": name,
                "ask_tell_us": t * 1e6,
                "ask_tell_wall_us": t_wall * 1e6,
                "twin_us": None if tt is None else tt * 1e6,
                "speedup_vs_twin": None if tt is None else tt / t,
                "gflops": None if flops is None else flops / t / 1e9,
                "rng_draw_us": t_rng * 1e6,
            }
            rows.append(row)
            print(
                f"  n={n:5d} lam={lam:3d} {name:8s} ask+tell {t * 1e6:10.1f} us"
                + (f"   twin {tt * 1e6:12.1f} us  x{tt / t:7.1f}" if tt is not None else "")
                + (f"   {flops / t / 1e9:6.1f} GF/s" if flops is not None else "")
            )
        if cma is not None and n <= 1000:
            es = cma.CMAEvolutionStrategy(np.ones(n), 0.5, {"verbose": -9, "seed": 1})
            times = []
            for _ in range(30 if n >= 1000 else 200):
                t0 = time.process_time()
                Xc = es.ask()
                es.tell(Xc, list(sphere(np.asarray(Xc))))
                times.append(time.process_time() - t0)
            row = {
                "n": n,
                "popsize": es.popsize,
                "strategy": "pycma",
                "ask_tell_us": float(np.median(times) * 1e6),
                "ask_tell_mean_us": float(np.mean(times) * 1e6),
            }
            rows.append(row)
            print(
                f"  n={n:5d} lam={es.popsize:3d} pycma    ask+tell {row['ask_tell_us']:10.1f} us "
                f"(median; mean {row['ask_tell_mean_us']:.1f} us)"
            )
    return rows


# --- evaluations to target --------------------------------------------------------------------


def run_strategy(strategy, f, x0, sigma0, seed, budget, ftarget=1e-8):
    rng = np.random.default_rng(seed)
    state = strategy.initial_state(x0, sigma0)
    lam = strategy.default_popsize(x0.size)
    evals = 0
    while evals < budget:
        Z = rng.standard_normal((lam, x0.size))
        X = strategy.sample(state, Z)
        v = f(X)
        evals += lam
        if v.min() < ftarget:
            return evals
        state = strategy.update(state, Z, X, v)
    return None


def run_pycma(f, x0, sigma0, seed, budget, ftarget=1e-8):
    es = cma.CMAEvolutionStrategy(
        x0, sigma0, {"verbose": -9, "seed": seed + 1, "maxfevals": budget, "tolflatfitness": 1e9}
    )
    evals = 0
    while evals < budget and not es.stop():
        X = np.asarray(es.ask())
        v = f(X)
        evals += len(X)
        if v.min() < ftarget:
            return evals
        es.tell(list(X), list(v))
    return None


def count_evaluations(dims, seeds, methods) -> list[dict[str, Any]]:
    rows = []
    for n in dims:
        for fname, f in FUNCTIONS.items():
            budget = 100_000 * n // 10 * (2 if fname == "rosenbrock" else 1)
            for mname, runner in methods.items():
                if mname == "snes" and fname == "rosenbrock":
                    budget_m = 20_000 * n // 10  # diagonal model: expected to fail, kept short
                else:
                    budget_m = budget
                counts = []
                t0 = time.perf_counter()
                for seed in range(seeds):
                    x0 = np.random.default_rng(1000 + seed).uniform(-1, 1, n)
                    counts.append(runner(f, x0, 0.5, seed, budget_m))
                ok = [c for c in counts if c is not None]
                row = {
                    "n": n,
                    "function": fname,
                    "method": mname,
                    "median_evals": float(np.median(ok)) if ok else None,
                    "successes": len(ok),
                    "runs": seeds,
                    "budget": budget_m,
                    "evals": counts,
                    "seconds": time.perf_counter() - t0,
                }
                rows.append(row)
                med = f"{row['median_evals']:9.0f}" if ok else "        -"
                print(
                    f"  n={n:3d} {fname:10s} {mname:9s} median {med}  success {len(ok)}/{seeds}"
                    f"  ({row['seconds']:.1f} s)"
                )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="seconds-long smoke run")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    global TIME_SCALE
    TIME_SCALE = 0.2 if args.quick else 1.0
    out = args.out or Path(__file__).parent / "results" / (
        "optimizers-quick.json" if args.quick else "optimizers.json"
    )

    info = natgrad.build_info()
    print("natgrad build:", info)
    pools = threadpool_info() if threadpool_info is not None else []
    for pool in pools:
        print(
            "BLAS:",
            pool.get("internal_api"),
            pool.get("version"),
            pool.get("architecture"),
            "threads",
            pool.get("num_threads"),
        )
    print("load average:", os.getloadavg())

    limiter = threadpool_limits(1) if threadpool_limits is not None else None
    try:
        print("DGEMM, one thread, n = 1000:")
        gemm = dgemm_gflops(1000 if not args.quick else 400)
        print(f"  NumPy BLAS {gemm['numpy_blas']:.1f} GF/s, Eigen {gemm['eigen']:.1f} GF/s")
        dims = [10, 100] if args.quick else [10, 100, 1000, 2000]
        print("ask + tell per generation (f excluded; CPU time, best of 3 rounds):")
        timing = time_strategies(dims, twin_max_n=100 if args.quick else 2000)

        methods: dict[str, Any] = {
            "igo-cma": lambda *a: run_strategy(IGOCMA(), *a),
            "xnes-csa": lambda *a: run_strategy(XNES(sigma_rule="csa"), *a),
            "xnes": lambda *a: run_strategy(XNES(), *a),
            "snes": lambda *a: run_strategy(SNES(), *a),
        }
        if cma is not None:
            methods["pycma"] = run_pycma
        seeds = 2 if args.quick else args.seeds
        print(f"evaluations to f < 1e-8 (x0 ~ U(-1, 1)^n, sigma0 = 0.5, {seeds} seeds):")
        evals = count_evaluations([10] if args.quick else [10, 40], seeds, methods)
    finally:
        if limiter is not None:
            limiter.unregister()

    ratios = {}
    for row in evals:
        if row["method"] == "igo-cma" and row["median_evals"]:
            peer = next(
                (
                    r
                    for r in evals
                    if r["method"] == "pycma"
                    and r["n"] == row["n"]
                    and r["function"] == row["function"]
                ),
                None,
            )
            if peer and peer["median_evals"]:
                key = f"{row['function']}-{row['n']}"
                ratios[key] = row["median_evals"] / peer["median_evals"]
    if ratios:
        print("IGO-CMA / pycma median evaluations:", {k: round(v, 3) for k, v in ratios.items()})
    gen1000 = next((r for r in timing if r["strategy"] == "igo-cma" and r["n"] == 1000), None)
    if gen1000:
        print(
            f"IGO-CMA generation at n=1000: {gen1000['ask_tell_us'] / 1e3:.2f} ms, "
            f"{gen1000['gflops']:.1f} GF/s = {gen1000['gflops'] / gemm['eigen']:.0%} of Eigen DGEMM, "
            f"{gen1000['gflops'] / gemm['numpy_blas']:.0%} of BLAS DGEMM measured in this run"
        )

    result = {
        "build_info": info,
        "threadpools": pools,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "pycma": getattr(cma, "__version__", None),
        "load_average": os.getloadavg(),
        "dgemm_gflops": gemm,
        "timing": timing,
        "evaluations": evals,
        "igo_cma_over_pycma": ratios,
        "quick": args.quick,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, default=float))
    print("wrote", out)


if __name__ == "__main__":
    main()
