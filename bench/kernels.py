"""Time every compiled Gaussian / linalg kernel against its pure-NumPy twin, in one run.

Usage: ``python bench/kernels.py [--quick] [--out bench/results/kernels.json]``

Prints natgrad.build_info(), the BLAS in use, and a table of median times and ratios
(reference / compiled; > 1 means the compiled kernel is faster), and writes the table as JSON.
``--quick`` runs a reduced set in a few seconds (CI smoke test).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import natgrad as ng
from natgrad import _core
from natgrad.reference import gaussian as ref
from natgrad.reference import linalg as ref_linalg


def blas_info() -> list[dict[str, Any]] | str:
    try:
        from threadpoolctl import threadpool_info

        return [
            {k: d.get(k) for k in ("internal_api", "version", "num_threads", "architecture")}
            for d in threadpool_info()
            if d.get("user_api") == "blas"
        ]
    except ImportError:
        cfg = np.show_config(mode="dicts")  # type: ignore[call-arg]
        return str(cfg.get("Build Dependencies", {}).get("blas", "unknown"))


def median_time(fn: Callable[[], Any], budget: float) -> float:
    t0 = time.perf_counter()
    fn()  # warm-up
    if time.perf_counter() - t0 > 5.0:  # very slow kernels: one more run is enough
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < 3 or (time.perf_counter() - start < budget and len(times) < 200):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def spd(rng: np.random.Generator, n: int, cond: float = 100.0) -> np.ndarray:
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    s = (q * np.geomspace(1.0, 1.0 / cond, n)) @ q.T
    return np.ascontiguousarray(0.5 * (s + s.T))


def cases(quick: bool) -> list[Case]:
    rng = np.random.default_rng(0)
    out: list[Case] = []
    for n in [2, 10, 40] if quick else [2, 5, 10, 20, 40]:
        out += dim_cases(rng, n)
    return out + large_cases(rng, quick)


Case = tuple[str, int, int, Callable[[], Any], Callable[[], Any] | None]


def dim_cases(rng: np.random.Generator, n: int) -> list[Case]:
    """Every kernel at dimension n (closures bind this call's arrays)."""
    out: list[Case] = []
    if True:
        mean, cov = rng.standard_normal(n), spd(rng, n)
        prec = np.asarray(_core.gaussian_precision_from_cov(cov))
        m = n + n * (n + 1) // 2
        theta = np.asarray(_core.gaussian_natural_from_mean_cov(mean, cov))
        eta = np.asarray(_core.gaussian_expectation_from_mean_cov(mean, cov))
        x = rng.standard_normal((1000, n))
        z = rng.standard_normal((1000, n))
        v = rng.standard_normal(m)
        mq, cq = rng.standard_normal(n), spd(rng, n)

        def add(name: str, core: Callable[[], Any], twin: Callable[[], Any]) -> None:
            out.append((name, n, m, core, twin))

        add(
            "natural_from_mean_cov",
            lambda: _core.gaussian_natural_from_mean_cov(mean, cov),
            lambda: ref.natural_from_mean_cov(mean, cov),
        )
        add(
            "expectation_from_mean_cov",
            lambda: _core.gaussian_expectation_from_mean_cov(mean, cov),
            lambda: ref.expectation_from_mean_cov(mean, cov),
        )
        add(
            "mean_cov_from_natural",
            lambda: _core.gaussian_mean_cov_from_natural(theta),
            lambda: ref.mean_cov_from_natural(theta),
        )
        add(
            "mean_cov_from_expectation",
            lambda: _core.gaussian_mean_cov_from_expectation(eta),
            lambda: ref.mean_cov_from_expectation(eta),
        )
        add(
            "log_partition_natural",
            lambda: _core.gaussian_log_partition_natural(theta),
            lambda: ref.log_partition_natural(theta),
        )
        add(
            "neg_entropy_expectation",
            lambda: _core.gaussian_neg_entropy_expectation(eta),
            lambda: ref.neg_entropy_expectation(eta),
        )
        add("kl", lambda: _core.gaussian_kl(mean, cov, mq, cq), lambda: ref.kl(mean, cov, mq, cq))
        add(
            "log_prob[N=1000]",
            lambda: _core.gaussian_log_prob(mean, cov, x),
            lambda: ref.log_prob(mean, cov, x),
        )
        add(
            "sufficient_stats[N=1000]",
            lambda: _core.gaussian_sufficient_stats(x),
            lambda: ref.sufficient_stats(x),
        )
        add(
            "sample[N=1000]",
            lambda: _core.gaussian_sample(mean, cov, z),
            lambda: ref.sample(mean, cov, z),
        )
        add(
            "fisher_natural",
            lambda: _core.gaussian_fisher_natural(mean, cov),
            lambda: ref.fisher_natural(mean, cov),
        )
        add(
            "fisher_expectation",
            lambda: _core.gaussian_fisher_expectation(mean, prec),
            lambda: ref.fisher_expectation(mean, prec),
        )
        add(
            "fisher_mean_cov",
            lambda: _core.gaussian_fisher_mean_cov(prec),
            lambda: ref.fisher_mean_cov(prec),
        )
        half = list(range(0, m, 2))
        add(
            "fisher_natural[free=m/2]",
            lambda: _core.gaussian_fisher_natural(mean, cov, half),
            lambda: ref.fisher_natural(mean, cov, np.array(half)),
        )
        add(
            "fisher_product_natural",
            lambda: _core.gaussian_fisher_product_natural(mean, cov, v),
            lambda: ref.fisher_product_natural(mean, cov, v),
        )
        add(
            "natural_gradient_mean_cov[d=0.1]",
            lambda: _core.gaussian_natural_gradient_mean_cov(cov, v, 0.1),
            lambda: ref.natural_gradient(mean, cov, v, "mean_cov", 0.1),
        )
        add(
            "natural_gradient_natural[d=0.1]",
            lambda: _core.gaussian_natural_gradient_natural(mean, cov, prec, v, 0.1),
            lambda: ref.natural_gradient(mean, cov, v, "natural", 0.1),
        )
    return out


def large_cases(rng: np.random.Generator, quick: bool) -> list[Case]:
    """Products and solves at large n, dense solves at large m."""
    out: list[Case] = []
    for n in [100] if quick else [100, 300, 1000]:
        mean, cov = rng.standard_normal(n), spd(rng, n)
        prec = np.asarray(_core.gaussian_precision_from_cov(cov))
        m = n + n * (n + 1) // 2
        v = rng.standard_normal(m)
        out += [
            (
                "fisher_product_natural",
                n,
                m,
                lambda mean=mean, cov=cov, v=v: _core.gaussian_fisher_product_natural(mean, cov, v),
                lambda mean=mean, cov=cov, v=v: ref.fisher_product_natural(mean, cov, v),
            ),
            (
                "fisher_product_expectation",
                n,
                m,
                lambda mean=mean, p=prec, v=v: _core.gaussian_fisher_product_expectation(
                    mean, p, v
                ),
                lambda mean=mean, p=prec, v=v: ref.fisher_product_expectation(mean, p, v),
            ),
            (
                "natural_gradient_natural[d=0]",
                n,
                m,
                lambda mean=mean, cov=cov, p=prec, v=v: _core.gaussian_natural_gradient_natural(
                    mean, cov, p, v, 0.0
                ),
                lambda mean=mean, cov=cov, v=v: ref.natural_gradient_undamped(
                    mean, cov, v, "natural"
                ),
            ),
            (
                "natural_gradient_mean_cov[d=0]",
                n,
                m,
                lambda cov=cov, v=v: _core.gaussian_natural_gradient_mean_cov(cov, v, 0.0),
                lambda mean=mean, cov=cov, v=v: ref.natural_gradient_undamped(
                    mean, cov, v, "mean_cov"
                ),
            ),
            (
                "natural_gradient_mean_cov[d=0.1]",
                n,
                m,
                lambda cov=cov, v=v: _core.gaussian_natural_gradient_mean_cov(cov, v, 0.1),
                None,
            ),
            (
                "natural_gradient_natural[d=0.1]",
                n,
                m,
                lambda mean=mean, cov=cov, p=prec, v=v: _core.gaussian_natural_gradient_natural(
                    mean, cov, p, v, 0.1
                ),
                None,
            ),
        ]
    for m in [500] if quick else [500, 2000]:
        a = rng.standard_normal((m, m))
        f = np.ascontiguousarray(a @ a.T / m + np.eye(m))
        g = rng.standard_normal((m, 1))
        out.append(
            (
                "damped_cholesky_solve",
                0,
                m,
                lambda f=f, g=g: _core.damped_cholesky_solve(f, g, 0.1),
                lambda f=f, g=g: ref_linalg.damped_cholesky_solve(f, g, 0.1),
            )
        )
        try:
            from scipy.linalg import cho_factor, cho_solve

            out.append(
                (
                    "damped_cholesky_solve[vs scipy cho_solve]",
                    0,
                    m,
                    lambda f=f, g=g: _core.damped_cholesky_solve(f, g, 0.1),
                    lambda f=f, g=g: cho_solve(cho_factor(f + 0.1 * np.eye(len(f)), lower=True), g),
                )
            )
        except ImportError:
            pass
    for m, samples in [(2000, 50)] if quick else [(2000, 50), (20000, 100)]:
        u = np.ascontiguousarray(rng.standard_normal((m, samples)))
        g = rng.standard_normal((m, 1))
        out.append(
            (
                f"woodbury_solve[N={samples}]",
                0,
                m,
                lambda u=u, g=g: _core.woodbury_solve(u, g, 0.1),
                lambda u=u, g=g: ref_linalg.woodbury_solve(u, g, 0.1),
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="reduced set, a few seconds")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "kernels.json"))
    args = parser.parse_args()
    budget = 0.02 if args.quick else 0.3
    info = ng.build_info()
    blas = blas_info()
    print("natgrad", ng.__version__, info)
    print("BLAS:", blas, "| numpy", np.__version__, "|", platform.processor() or platform.machine())
    header = (
        f"{'kernel':44s} {'n':>5s} {'m':>7s} {'core [ms]':>11s} {'numpy [ms]':>11s} {'ratio':>8s}"
    )
    print(header)
    print("-" * len(header))
    rows = []
    for name, n, m, core, twin in cases(args.quick):
        t_core = median_time(core, budget)
        t_ref = median_time(twin, budget) if twin is not None else None
        ratio = t_ref / t_core if t_ref is not None else None
        rows.append(
            {"kernel": name, "n": n, "m": m, "core_s": t_core, "reference_s": t_ref, "ratio": ratio}
        )
        ref_text = f"{1e3 * t_ref:11.4f}" if t_ref is not None else f"{'n/a':>11s}"
        ratio_text = f"{ratio:8.2f}" if ratio is not None else f"{'':>8s}"
        print(f"{name:44s} {n:5d} {m:7d} {1e3 * t_core:11.4f} {ref_text} {ratio_text}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "build_info": info,
                "blas": blas,
                "numpy": np.__version__,
                "quick": args.quick,
                "results": rows,
            },
            indent=2,
        )
    )
    print("wrote", out)


if __name__ == "__main__":
    main()
