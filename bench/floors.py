"""Full-covariance generations against their floor: IGO-CMA's ask + tell next to the GEMMs it needs.

For each n (λ = 4 + ⌊3 ln n⌋, the default), in one process and interleaved generation by
generation:

* ``ask`` and ``tell`` of ``natgrad.optim.Optimizer("igo-cma", ...)`` on the sphere (f's time
  excluded), median milliseconds;
* the same run's DGEMM of the sampling shape, (λ × n) · (n × n), through NumPy's BLAS limited to
  one thread (natgrad's core is single-threaded): its median time and GF/s, and the "3-GEMM limit",
  three such products (sampling, and the two products of the rank-λ factor update), which a
  generation cannot beat by much;
* minor page faults per generation (fresh memory the kernel had to map) and the process's peak
  resident size;
* pycma's ``ask`` + ``tell`` at the same n and λ when ``cma`` is importable (fewer generations).

Usage: ``python bench/floors.py [--quick] [--dims 1000,2000,5000] [--out bench/results/floors.json]``.
"""

from __future__ import annotations

import argparse
import math
import resource
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import adapters  # noqa: E402
from natgrad.optim import Optimizer  # noqa: E402

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover
    threadpool_limits = None


def _sphere(X: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", X, X)


def _gemm_time(lam: int, n: int, repeats: int) -> float:
    rng = np.random.default_rng(0)
    Z, A = rng.standard_normal((lam, n)), rng.standard_normal((n, n))
    out = np.empty((lam, n))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.matmul(Z, A.T, out=out)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def measure(n: int, generations: int, pycma_generations: int) -> dict[str, Any]:
    lam = 4 + int(3 * math.log(n))
    opt = Optimizer("igo-cma", np.ones(n), 0.5, popsize=lam, seed=1)
    ask, tell, gemm = [], [], []
    for _ in range(2):  # warm-up: first allocations, BLAS buffers
        X = opt.ask()
        opt.tell(X, _sphere(X))
    faults0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(generations):
        t_ask, t_tell, _ = adapters.timed_generation(opt, _sphere)
        ask.append(t_ask)
        tell.append(t_tell)
        f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        gemm.append(_gemm_time(lam, n, 1))
        faults0 += resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0  # not the GEMM's
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults0) / generations
    gen_ms = 1e3 * statistics.median(a + t for a, t in zip(ask, tell, strict=True))
    gemm_ms = 1e3 * statistics.median(gemm)
    row: dict[str, Any] = {
        "n": n,
        "popsize": lam,
        "generations": generations,
        "ask_ms": 1e3 * statistics.median(ask),
        "tell_ms": 1e3 * statistics.median(tell),
        "generation_ms": gen_ms,
        "generation_mean_ms": 1e3 * (sum(ask) + sum(tell)) / generations,
        "gemm_ms": gemm_ms,
        "gemm_gflops": 2 * lam * n * n / (gemm_ms * 1e-3) / 1e9,
        "limit_3gemm_ms": 3 * gemm_ms,
        "fraction_of_limit": 3 * gemm_ms / gen_ms,
        "page_faults_per_generation": faults,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if pycma_generations:
        try:
            import cma
        except ImportError:
            cma = None
        if cma is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                es = cma.CMAEvolutionStrategy(
                    np.ones(n), 0.5, {"popsize": lam, "seed": 1, "verbose": -9}
                )
                times = []
                for _ in range(pycma_generations):
                    t0 = time.perf_counter()
                    sols = es.ask()
                    t1 = time.perf_counter()
                    vals = [float(x @ x) for x in sols]
                    t2 = time.perf_counter()
                    es.tell(sols, vals)
                    times.append((t1 - t0) + (time.perf_counter() - t2))
            row["pycma_ms"] = 1e3 * statistics.median(times)
            row["pycma_mean_ms"] = 1e3 * sum(times) / len(times)
            row["speedup_vs_pycma_mean"] = row["pycma_mean_ms"] / gen_ms
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds (CI smoke run)")
    parser.add_argument("--dims", default="1000,2000,5000", help="comma-separated n")
    parser.add_argument("--generations", type=int, default=40)
    parser.add_argument("--pycma-generations", type=int, default=20, help="0: skip pycma")
    parser.add_argument("--out", type=Path, default=Path("bench/results/floors.json"))
    parser.add_argument("--figure", type=Path, help="PNG of time per generation against n")
    args = parser.parse_args(argv)
    env = adapters.environment()
    adapters.print_environment(env)
    dims = [200] if args.quick else [int(d) for d in args.dims.split(",")]
    generations = 5 if args.quick else args.generations
    pycma_generations = 2 if args.quick else args.pycma_generations
    if threadpool_limits is None:
        print("# threadpoolctl missing: NumPy's GEMM runs on its default thread count")
        limits = None
    else:
        limits = threadpool_limits(1, user_api="blas")
        print("# NumPy BLAS limited to 1 thread for the GEMM floor (natgrad's core: 1 thread)")
    print(
        f"{'n':>6} {'λ':>3} {'ask ms':>8} {'tell ms':>8} {'gen ms':>8} {'GEMM ms':>8} {'GF/s':>6}"
        f" {'3-GEMM':>7} {'limit/gen':>9} {'faults/gen':>10} {'RSS MiB':>8} {'pycma mean ms':>13}"
    )
    rows = []
    for n in dims:
        gens = max(3, generations // (4 if n >= 5000 else 1))
        row = measure(n, gens, pycma_generations if n <= 5000 else 0)
        pycma = f"{row['pycma_mean_ms']:13.1f}" if "pycma_mean_ms" in row else f"{'-':>13}"
        print(
            f"{n:6d} {row['popsize']:3d} {row['ask_ms']:8.2f} {row['tell_ms']:8.2f}"
            f" {row['generation_ms']:8.2f} {row['gemm_ms']:8.2f} {row['gemm_gflops']:6.1f}"
            f" {row['limit_3gemm_ms']:7.2f} {row['fraction_of_limit']:9.2f}"
            f" {row['page_faults_per_generation']:10.0f} {row['peak_rss_mib']:8.0f} {pycma}"
        )
        rows.append(row)
    if limits is not None:
        limits.restore_original_limits()
    adapters.write_results(args.out, args, rows, env)
    if args.figure is not None:
        figure(rows, args.figure)
        print(f"# wrote {args.figure}")
    return 0


def figure(rows: list[dict[str, Any]], path: Path) -> None:
    """Time per generation against n: natgrad, its 3-GEMM limit and pycma (log-log)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = [r["n"] for r in rows]
    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.loglog(n, [r["generation_ms"] for r in rows], "o-", label="natgrad igo-cma (median)")
    ax.loglog(n, [r["limit_3gemm_ms"] for r in rows], "k--", label="3 one-thread DGEMMs (λ×n×n)")
    with_pycma = [r for r in rows if "pycma_mean_ms" in r]
    if with_pycma:
        ax.loglog(
            [r["n"] for r in with_pycma],
            [r["pycma_mean_ms"] for r in with_pycma],
            "s-",
            label="pycma (mean)",
        )
    ax.set_xlabel("dimension n (λ = 4 + ⌊3 ln n⌋)")
    ax.set_ylabel("ask + tell per generation [ms]")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
