"""GMRF (sparse-precision) search against full-covariance and diagonal methods, and its cost.

Part 1, evaluations: median evaluations to f < 1e-8 on the banded quadratic
f(x) = ½ xᵀAx, A = S T S (T tridiagonal with 1 and −0.49, S = diag(10^(2i/(n−1)))), x0 = 3·1,
σ0 = 1, for natgrad's band-1 and band-2 GMRF, igo-cma and snes, and pycma full and separable
(``CMA_diagonal``) when pycma is installed. Runs are interleaved seed by seed.

Part 2, time per generation (ask + tell, f excluded) of the band-2 GMRF at n = 10³ … 10⁵ and of
igo-cma at n = 10³, measured through the Optimizer shell (interleaved, medians), with the
standard-normal draws (natgrad's compiled generator, as ``Optimizer.ask`` draws them) timed
separately.

    python bench/gmrf.py                 # the full table (tens of minutes)
    python bench/gmrf.py --quick         # seconds: the smoke run of bench/smoke.sh

Writes JSON (``--out``, default bench/results/gmrf.json) and, with matplotlib, the figure
docs/figures/bench/gmrf_evaluations.png.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import adapters  # noqa: E402
import natgrad as ng  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TARGET = 1e-8


def banded_quadratic(n: int) -> Any:
    s = 10 ** (2 * np.arange(n) / (n - 1))
    diag, off = s * s, -0.49 * s[:-1] * s[1:]

    def f(X: np.ndarray) -> np.ndarray:  # ½ xᵀAx for a tridiagonal A in O(n) per row
        return 0.5 * (X * X) @ diag + (X[:, :-1] * X[:, 1:]) @ off

    return f


class _Natgrad:
    def __init__(self, strategy: Any, x0: np.ndarray, seed: int) -> None:
        self.opt = ng.Optimizer(strategy, x0, 1.0, seed=seed)

    def ask(self) -> np.ndarray:
        return np.asarray(self.opt.ask())

    def tell(self, X: np.ndarray, v: np.ndarray) -> None:
        self.opt.tell(X, v)

    def stop(self) -> bool:
        return bool(self.opt.should_stop())


class _Pycma:
    def __init__(self, x0: np.ndarray, seed: int, diagonal: bool) -> None:
        import cma

        # pycma's separable mode warns each generation that some z are large: not our concern
        warnings.filterwarnings("ignore", message="elements of z2", category=UserWarning)
        opts: dict[str, Any] = {"seed": seed, "verbose": -9, "verb_disp": 0, "verb_log": 0}
        if diagonal:
            opts["CMA_diagonal"] = True
        self.es = cma.CMAEvolutionStrategy(x0, 1.0, opts)

    def ask(self) -> np.ndarray:
        return np.array(self.es.ask())

    def tell(self, X: np.ndarray, v: np.ndarray) -> None:
        self.es.tell(list(X), [float(a) for a in v])

    def stop(self) -> bool:
        return bool(self.es.stop())


def methods(n: int, with_pycma: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "natgrad gmrf band-1": lambda x0, s: _Natgrad(ng.GMRF(graph=ng.graphs.band(n, 1)), x0, s),
        "natgrad gmrf band-2": lambda x0, s: _Natgrad(ng.GMRF(graph=ng.graphs.band(n, 2)), x0, s),
        "natgrad igo-cma": lambda x0, s: _Natgrad(ng.IGOCMA(), x0, s),
        "natgrad snes": lambda x0, s: _Natgrad(ng.SNES(), x0, s),
    }
    if with_pycma:
        out["pycma full"] = lambda x0, s: _Pycma(x0, s, False)
        out["pycma separable"] = lambda x0, s: _Pycma(x0, s, True)
    return out


def run(make: Any, n: int, seed: int, budget: int, max_seconds: float) -> dict[str, Any]:
    f = banded_quadratic(n)
    opt = make(np.full(n, 3.0), seed)
    evals, best, start = 0, np.inf, time.perf_counter()
    while evals < budget:
        X = opt.ask()
        v = f(X)
        evals += len(v)
        best = min(best, float(v.min()))
        if best < TARGET:
            break
        opt.tell(X, v)
        if opt.stop() or time.perf_counter() - start > max_seconds:
            break
    return {
        "evals": evals,
        "solved": best < TARGET,
        "best": best,
        "seconds": time.perf_counter() - start,
    }


def evaluations(
    sizes: list[int],
    seeds: int,
    budget: int,
    max_seconds: float,
    skip: set[tuple[str, int]],
    only: set[str] | None = None,
) -> list[dict[str, Any]]:
    try:
        import cma  # noqa: F401

        with_pycma = True
    except ImportError:
        print("# pycma not installed: its columns are skipped (pip install cma)")
        with_pycma = False
    rows = []
    for n in sizes:
        specs = {
            k: v
            for k, v in methods(n, with_pycma).items()
            if (k, n) not in skip and (only is None or k in only)
        }
        results: dict[str, list[dict[str, Any]]] = {k: [] for k in specs}
        for seed in range(1, seeds + 1):  # interleaved: every method for a seed, then the next
            for label, make in specs.items():
                # natgrad's generations are cheap: its runs end by the budget, not by the clock
                cap = 10 * max_seconds if label.startswith("natgrad") else max_seconds
                results[label].append(run(make, n, seed, budget, cap))
        for label, res in results.items():
            solved = [r["evals"] for r in res if r["solved"]]
            row = {
                "n": n,
                "method": label,
                "solved": len(solved),
                "runs": len(res),
                "median_evals": statistics.median(solved) if len(solved) == len(res) else None,
                "evals": [r["evals"] for r in res],
                "best": [r["best"] for r in res],
                "seconds": [r["seconds"] for r in res],
            }
            rows.append(row)
            med = row["median_evals"]
            print(
                f"n={n:6d} {label:22s} solved {row['solved']}/{row['runs']}  median evals "
                f"{'—' if med is None else f'{med:,.0f}'}  (max {max(row['seconds']):.1f} s)",
                flush=True,
            )
    return rows


def generation_time(strategy: Any, n: int, repeats: int) -> dict[str, float]:
    """Median ms of ask+tell (f excluded) through the Optimizer, and of its draws alone (the
    compiled normals ``Optimizer.ask`` takes, into a fresh (λ, n) array as there)."""
    from natgrad._random import standard_normal

    opt = ng.Optimizer(strategy, np.zeros(n), 1.0, seed=1)
    rng = np.random.default_rng(0)
    values = rng.standard_normal(opt.popsize)
    X = opt.ask()
    opt.tell(X, values)
    step, draws = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        X = opt.ask()
        opt.tell(X, values)
        t1 = time.perf_counter()
        standard_normal(rng, (opt.popsize, n))
        t2 = time.perf_counter()
        step.append(t1 - t0)
        draws.append(t2 - t1)
    return {
        "ask_tell_ms": 1e3 * statistics.median(step),
        "normals_ms": 1e3 * statistics.median(draws),
        "popsize": opt.popsize,
    }


def timings(sizes: list[int], repeats: int) -> list[dict[str, Any]]:
    rows = []
    for n in sizes:
        for label, strategy in [("natgrad gmrf band-2", ng.GMRF(graph=2))] + (
            [("natgrad igo-cma", ng.IGOCMA())] if n <= 1000 else []
        ):
            t = generation_time(strategy, n, repeats)
            rows.append({"n": n, "method": label, **t})
            print(
                f"n={n:6d} {label:22s} λ={t['popsize']:3d}  ask+tell {t['ask_tell_ms']:8.2f} ms"
                f"  (of which ~{t['normals_ms']:.2f} ms normals)",
                flush=True,
            )
    return rows


def figure(rows: list[dict[str, Any]], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("# matplotlib not installed: no figure (pip install matplotlib)")
        return
    fig, ax = plt.subplots(figsize=(6, 4))
    for label in sorted({r["method"] for r in rows}):
        pts = [(r["n"], r["median_evals"]) for r in rows if r["method"] == label]
        pts = [(n, e) for n, e in pts if e is not None]
        if pts:
            ax.plot(*zip(*pts, strict=True), "o-", label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("dimension n")
    ax.set_ylabel("median evaluations to f < 1e-8")
    ax.set_title("banded quadratic (tridiagonal A, diag 1 … 10⁴)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    print(f"# figure: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="seconds-long smoke run")
    ap.add_argument("--sizes", type=int, nargs="*", default=None)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--budget", type=int, default=3_000_000)
    ap.add_argument("--max-seconds", type=float, default=300.0, help="per run, peers")
    ap.add_argument("--time-sizes", type=int, nargs="*", default=None)
    ap.add_argument(
        "--large", type=int, default=None, help="also solve at this n with band-1 (one seed)"
    )
    ap.add_argument("--large-only", action="store_true", help="only the --large run")
    ap.add_argument("--skip-counts", action="store_true", help="only the time per generation")
    ap.add_argument(
        "--only", default=None, help='comma-separated method labels, e.g. "natgrad gmrf band-1"'
    )
    ap.add_argument(
        "--merge",
        type=Path,
        nargs="+",
        default=None,
        help="draw the figure from these JSON files (runs of different sizes) and exit",
    )
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "gmrf.json")
    ap.add_argument("--figure", type=Path, default=ROOT / "docs/figures/bench/gmrf_evaluations.png")
    args = ap.parse_args(argv)
    if args.merge:
        merged = []
        for path in args.merge:
            data = json.loads(path.read_text())
            merged += data.get("evaluations", [])
            large = data.get("large")
            if large and large["solved"]:  # the single-seed --large run
                merged.append(
                    {"n": large["n"], "method": large["method"], "median_evals": large["evals"]}
                )
        figure(merged, args.figure)
        return 0
    info = adapters.environment()
    adapters.print_environment(info)
    if args.quick:
        sizes, seeds, time_sizes, repeats = [10], 1, [1000], 3
        skip: set[tuple[str, int]] = set()
    else:
        sizes = args.sizes or [30, 100, 300, 1000]
        time_sizes = args.time_sizes or [1000, 10_000, 100_000]
        seeds, repeats = args.seeds, 15
        # full covariance at n = 1000 does not finish in the budget of a run (issue table)
        skip = {("natgrad igo-cma", 1000), ("pycma full", 1000), ("pycma full", 300)}
    rows: list[dict[str, Any]] = []
    times: list[dict[str, Any]] = []
    if not args.large_only:
        if not args.skip_counts:
            only = None if args.only is None else {m.strip() for m in args.only.split(",")}
            rows = evaluations(sizes, seeds, args.budget, args.max_seconds, skip, only)
        times = timings(time_sizes, repeats)
    large = None
    if args.large:
        n = args.large
        make = methods(n, False)["natgrad gmrf band-1"]
        large = {"n": n, "method": "natgrad gmrf band-1", "seed": 1}
        large.update(run(make, n, 1, 10**9, 24 * 3600.0))
        print(
            f"n={n} band-1 GMRF: solved {large['solved']} after {large['evals']:,} evaluations "
            f"in {large['seconds']:.0f} s (f = {large['best']:.3g})",
            flush=True,
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {"environment": info, "evaluations": rows, "timings": times, "large": large},
            indent=1,
        )
    )
    print(f"# wrote {args.out}")
    if rows and not args.quick:
        figure(rows, args.figure)
    return 0


if __name__ == "__main__":
    sys.exit(main())
