"""Assembled Gaussian Fisher matrices: the compiled core against vectorised NumPy assemblies.

For n = 10, 40 and 100 (m = n + n(n+1)/2 natural parameters, an m × m matrix) and each coordinate
system, interleaved call by call in one process:

* ``natgrad``: ``Gaussian.fisher(coords)``, the public path (the kernel and its checks);
* ``twin``: the pure-NumPy twin ``natgrad.reference.gaussian``, Isserlis' terms broadcast over
  fancy-indexed (m, m) gathers, no Python loop over entries;
* ``kron`` (θ only, n ≤ 40): the same sum from Kronecker products of the augmented (n+1)² × (n+1)²
  matrices and one gather of the packed rows and columns (its tensors need 8 (n+1)⁴ bytes each,
  0.8 GB at n = 100, so it stops at n = 40).

It prints the median milliseconds, nanoseconds per entry (m² entries) and the ratio of the faster
NumPy route to natgrad. Medians, because the machine is shared; the first call of each size is
not timed (it pays for the process's first large allocation).

Usage: ``python bench/fisher.py [--quick] [--out bench/results/fisher.json]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import adapters  # noqa: E402
import natgrad as ng  # noqa: E402
from natgrad.reference import gaussian as ref  # noqa: E402

COORDS = ("natural", "expectation", "mean_cov")


def _pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    iu, ju = np.triu_indices(n, k=1)
    ar = np.arange(n)
    return np.concatenate([ar, ar, iu]), np.concatenate([np.full(n, n), ar, ju])


def kron_natural(mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """I_θ from Kronecker products: [iN+j, kN+l] of kron(S, S) is S_ik S_jl (N = n + 1)."""
    n = len(mean)
    big = n + 1
    s = np.zeros((big, big))
    s[:n, :n] = cov
    m = np.append(mean, 1.0)
    i, j = _pairs(n)
    rows = i * big + j
    swap = rows % big * big + rows // big  # (i, j) -> (j, i)
    ss = np.kron(s, s)
    ms = np.kron(np.outer(m, m), s)  # m_i m_k S_jl
    cov_tt = (
        ss[np.ix_(rows, rows)]
        + ss[np.ix_(rows, swap)]
        + ms[np.ix_(rows, rows)]
        + ms[np.ix_(rows, swap)]
        + ms[np.ix_(swap, rows)]
        + ms[np.ix_(swap, swap)]
    )
    c = np.where(j == n, 1.0, np.where(i == j, 1.0, 2.0))
    return np.outer(c, c) * cov_tt


def _routes(g: ng.Gaussian, coords: str, n: int) -> dict[str, Callable[[], Any]]:
    mean, cov, prec = g.mean, g.cov, g.precision
    twin = {
        "natural": lambda: ref.fisher_natural(mean, cov),
        "expectation": lambda: ref.fisher_expectation(mean, prec),
        "mean_cov": lambda: ref.fisher_mean_cov(prec),
    }[coords]
    routes: dict[str, Callable[[], Any]] = {"natgrad": lambda: g.fisher(coords), "twin": twin}
    if coords == "natural" and n <= 40:
        routes["kron"] = lambda: kron_natural(mean, cov)
    return routes


def measure(n: int, coords: str, seconds: float, min_repeats: int) -> dict[str, Any]:
    rng = np.random.default_rng(n)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    cov = (q * np.geomspace(1.0, 0.01, n)) @ q.T
    g = ng.Gaussian(rng.standard_normal(n), 0.5 * (cov + cov.T))
    routes = _routes(g, coords, n)
    want = routes["natgrad"]()
    for name, route in routes.items():  # untimed first calls, and a check that all agree
        got = route()
        scale = np.sqrt(np.outer(np.diag(want), np.diag(want)))
        if not np.all(np.abs(got - want) <= 1e-9 * scale):
            raise AssertionError(f"{name} disagrees with natgrad at n = {n}, {coords}")
        del got
    times: dict[str, list[float]] = {name: [] for name in routes}
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(times["natgrad"]) < min_repeats:
        for name, route in routes.items():
            t0 = time.perf_counter()
            route()
            times[name].append(time.perf_counter() - t0)
    m = g.num_params
    ms = {name: 1e3 * statistics.median(t) for name, t in times.items()}
    numpy_best = min(v for k, v in ms.items() if k != "natgrad")
    return {
        "n": n,
        "m": m,
        "coords": coords,
        "repeats": len(times["natgrad"]),
        "ms": ms,
        "ns_per_entry": {name: v * 1e6 / (m * m) for name, v in ms.items()},
        "ratio_best_numpy": numpy_best / ms["natgrad"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds (CI smoke run)")
    parser.add_argument("--seconds", type=float, default=3.0, help="time per (n, coords)")
    parser.add_argument("--dims", default="10,40,100", help="comma-separated n")
    parser.add_argument("--out", type=Path, default=Path("bench/results/fisher.json"))
    args = parser.parse_args(argv)
    env = adapters.environment()
    adapters.print_environment(env)
    dims = [10, 40] if args.quick else [int(d) for d in args.dims.split(",")]
    seconds = 0.2 if args.quick else args.seconds
    print(
        f"{'n':>4} {'m':>5} {'coords':>12} {'natgrad ms':>11} {'ns/entry':>9} {'twin ms':>9}"
        f" {'kron ms':>8}  NumPy/natgrad"
    )
    rows = []
    for n in dims:
        for coords in COORDS:
            row = measure(n, coords, seconds, 3 if n >= 100 else 5)
            ms = row["ms"]
            kron = f"{ms['kron']:8.3f}" if "kron" in ms else f"{'-':>8}"
            print(
                f"{n:4d} {row['m']:5d} {coords:>12} {ms['natgrad']:11.3f}"
                f" {row['ns_per_entry']['natgrad']:9.2f} {ms['twin']:9.3f} {kron}"
                f"  {row['ratio_best_numpy']:.1f}x"
            )
            rows.append(row)
    adapters.write_results(args.out, args, rows, env)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
