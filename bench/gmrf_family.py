"""natgrad.GaussianMRF at large n: construction and coordinate maps, compiled against the NumPy twin.

The family's O(n + |E|) routes (the no-fill LDLᵀ of a given precision, the solve for the mean,
K and Σ on the pattern) are compiled kernels; ``natgrad.reference.gmrf`` holds their NumPy
twins (``factor``, ``solve``, ``precision_off``, ``pattern_covariance``), Python loops over the
vertices. For a band-2 precision at each n this prints the family's times (construction from a
dense-pattern ``scipy.sparse`` precision, ``from_natural``, ``natural()``, ``expectation()``,
``from_expectation``) and, up to ``--twin-max`` vertices, each kernel against its twin on the
same input, interleaved (medians). One thread; v-level and BLAS kernel printed.

    python bench/gmrf_family.py                 # n = 1e3, 1e4, 1e5 (twins up to 1e4)
    python bench/gmrf_family.py --quick         # seconds (bench/smoke.sh)

Writes JSON (``--out``, default bench/results/gmrf_family.json).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

sys.path.insert(0, str(Path(__file__).resolve().parent))
import adapters  # noqa: E402
import natgrad as ng  # noqa: E402
from natgrad import _core, graphs  # noqa: E402
from natgrad.reference import gmrf as twin  # noqa: E402


def band2_precision(n: int) -> Any:
    K = sparse.diags([np.full(n, 3.0), np.full(n - 1, -0.8), np.full(n - 2, 0.3)], [0, 1, 2])
    return (K + sparse.triu(K, 1).T).tocsr()


def measure(n: int, twin_max: int, reps: int) -> dict[str, Any]:
    """The family's times at n (band 2) and, up to ``twin_max``, each kernel against its twin."""
    graph = graphs.band(n, 2)
    K = band2_precision(n)
    mean = np.linspace(-1.0, 1.0, n)
    p = ng.GaussianMRF(mean, K, graph)
    theta, eta = p.natural(), p.expectation()
    family = {
        "GaussianMRF(mean, K)": adapters.median_time(lambda: ng.GaussianMRF(mean, K, graph), reps),
        "from_natural": adapters.median_time(
            lambda: ng.GaussianMRF.from_natural(theta, graph), reps
        ),
        "natural()": adapters.median_time(lambda: ng.GaussianMRF(mean, K, graph).natural(), reps),
        "expectation()": adapters.median_time(
            lambda: ng.GaussianMRF(mean, K, graph).expectation(), reps
        ),
        "from_expectation": adapters.median_time(
            lambda: ng.GaussianMRF.from_expectation(eta, graph), reps
        ),
    }
    row: dict[str, Any] = {"n": n, "family_seconds": family, "kernels": {}}
    print(f"n = {n}, band 2: " + ", ".join(f"{k} {1e3 * v:.2f} ms" for k, v in family.items()))
    if n > twin_max:
        return row
    el, st = graph.elimination(), graph.compiled()
    b, d = p._b, p._d
    kd = _core.gmrf_precision_diagonal(b, d, st)
    ko = _core.gmrf_precision_off(b, d, st)
    h = np.ascontiguousarray(mean[el.perm])
    pairs = {
        "factor": (lambda: _core.gmrf_factor(kd, ko, st), lambda: twin.factor(kd, ko, el)),
        "solve": (lambda: _core.gmrf_solve(b, d, h, st), lambda: twin.solve(b, d, h, el)),
        "precision_off": (
            lambda: _core.gmrf_precision_off(b, d, st),
            lambda: twin.precision_off(b, d, el),
        ),
        "pattern_covariance": (
            lambda: _core.gmrf_pattern_covariance(b, d, st),
            lambda: twin.pattern_covariance(b, d, el),
        ),
    }
    for name, (compiled, numpy_twin) in pairs.items():
        t = adapters.interleaved_medians(
            {"compiled": compiled, "twin": numpy_twin}, max(2, reps // 2)
        )
        tc, tt = t["compiled"], t["twin"]
        row["kernels"][name] = {"compiled": tc, "twin": tt, "ratio": tt / tc}
        print(
            f"    {name:20s} compiled {1e3 * tc:9.3f} ms  twin {1e3 * tt:9.1f} ms"
            f"  ({tt / tc:,.0f}x)"
        )
    return row


def main(argv: list[str] | None = None) -> int:
    here = Path(__file__).resolve().parent
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="seconds (CI smoke run)")
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--twin-max", type=int, default=10_000, help="largest n timed with the twin")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", type=Path, default=here / "results" / "gmrf_family.json")
    args = ap.parse_args(argv)
    if args.quick:
        args.sizes, args.twin_max, args.repeats = "200,2000", 2000, 2

    env = adapters.environment()
    adapters.print_environment(env)
    with adapters.blas_threads(1):
        results = [measure(int(s), args.twin_max, args.repeats) for s in args.sizes.split(",")]
    adapters.write_results(args.out, args, results, env)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
