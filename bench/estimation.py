"""Benchmark of the Monte Carlo estimation kernels against their NumPy twins (same run).

Usage: python bench/estimation.py [--out results.json] [--quick]

Prints natgrad.build_info(), the BLAS behind NumPy (threadpoolctl), and per case the best-of-k
time of the compiled kernel, of the NumPy twin (natgrad.reference.estimation, which forms the
N x m statistics) and of a NumPy GEMM route for the same formula, with their ratios and the
kernel's GEMM-equivalent rate 2 N n^2 / t (the kernel splits the weighted product into two SYRKs
and so does half those flops). The machine may be shared: compare ratios from one run only.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import natgrad
import natgrad.estimation as est
from natgrad.reference import estimation as ref


def best_time(fn: Callable[[], object], repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def numpy_gemm_cov_f_stats(X: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Same estimator as the kernel, in NumPy GEMMs (no N x m matrix)."""
    n = X.shape[1]
    c = X.mean(axis=0)
    Y = X - c
    fc = (f - f.mean()) / (len(f) - 1)
    g = Y.T @ fc
    C = Y.T @ (fc[:, None] * Y) + np.outer(c, g) + np.outer(g, c)
    iu, ju = np.triu_indices(n, 1)
    return np.concatenate([g, np.diag(C), 2 * C[iu, ju]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="write the results as JSON to this file")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    args = parser.parse_args()

    info: dict[str, Any] = {"build_info": natgrad.build_info()}
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = [
            {k: d.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
            for d in threadpool_info()
        ]
    except ImportError:
        info["blas"] = "threadpoolctl not installed"
    print(json.dumps(info, indent=1))

    rng = np.random.default_rng(0)
    repeat = 3 if args.quick else 7
    rows = []
    sizes = [10, 50, 200] if args.quick else [10, 50, 100, 200, 1000]
    for n in sizes:
        N = max(4 + int(3 * np.log(n)), 2 * n)
        X = rng.standard_normal((N, n))
        f = (X**2).sum(axis=1)
        t_core = best_time(lambda X=X, f=f: est.cov_f_stats(X, f), repeat)
        t_gemm = best_time(lambda X=X, f=f: numpy_gemm_cov_f_stats(X, f), repeat)
        m = n + n * (n + 1) // 2
        twin = N * m <= 5e6  # the twin forms the N x m statistics
        t_twin = best_time(lambda X=X, f=f: ref.cov_f_stats(X, f), repeat) if twin else None
        np.testing.assert_allclose(
            est.cov_f_stats(X, f), numpy_gemm_cov_f_stats(X, f), rtol=1e-9, atol=1e-9
        )
        row = {
            "kernel": "cov_f_stats",
            "n": n,
            "N": N,
            "core_s": t_core,
            "numpy_gemm_s": t_gemm,
            "twin_s": t_twin,
            "gemm_over_core": t_gemm / t_core,
            "twin_over_core": None if t_twin is None else t_twin / t_core,
            "core_gflops": 2 * N * n * n / t_core / 1e9,
        }
        rows.append(row)
        print(json.dumps(row))
        mean = np.zeros(n)
        t_mc = best_time(
            lambda X=X, f=f, mean=mean: est.estimate_natural_gradient(
                X, f, coords="mean_cov", mean=mean
            ),
            repeat,
        )
        t_mc_twin = (
            best_time(lambda X=X, f=f, mean=mean: ref.natural_gradient_mean_cov(X, f, mean), repeat)
            if n <= 200
            else None
        )
        row = {
            "kernel": "natural_gradient_mean_cov",
            "n": n,
            "N": N,
            "core_s": t_mc,
            "twin_s": t_mc_twin,
            "twin_over_core": None if t_mc_twin is None else t_mc_twin / t_mc,
        }
        rows.append(row)
        print(json.dumps(row))
    for n in [3, 5]:
        m = n + n * (n + 1) // 2
        N = 2 * (m + 1)
        X = rng.standard_normal((N, n))
        f = (X**2).sum(axis=1)
        mean, cov = np.zeros(n), np.eye(n)
        t_core = best_time(
            lambda X=X, f=f, mean=mean, cov=cov: est.estimate_natural_gradient(
                X, f, mean=mean, cov=cov
            ),
            repeat,
        )
        t_twin = best_time(
            lambda X=X, f=f, mean=mean, cov=cov: ref.natural_gradient_theta_exact(X, f, mean, cov),
            repeat,
        )
        t_emp = best_time(
            lambda X=X, f=f: est.estimate_natural_gradient(X, f, fisher="empirical"), repeat
        )
        t_emp_twin = best_time(
            lambda X=X, f=f: ref.natural_gradient_theta_empirical(X, f, 0.0), repeat
        )
        for kernel, tc, tt in [
            ("natural_gradient_theta_exact", t_core, t_twin),
            ("natural_gradient_theta_empirical", t_emp, t_emp_twin),
        ]:
            row = {
                "kernel": kernel,
                "n": n,
                "N": N,
                "core_s": tc,
                "twin_s": tt,
                "twin_over_core": tt / tc,
            }
            rows.append(row)
            print(json.dumps(row))
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            json.dump({"info": info, "rows": rows}, fh, indent=1)


if __name__ == "__main__":
    main()
