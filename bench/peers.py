"""natgrad against pycma, cmaes and pypop7, measured side by side in one run.

Two tables, both driven through the same ask/tell adapters (``adapters.py``):

(a) time per generation, ``ask()`` + ``tell()`` with f excluded, for n in {10, 100, 1000, 2000},
    with 1 and 2 BLAS threads (threadpoolctl). The mean over the timed generations is the
    amortised cost a user pays (pycma, for one, refreshes its eigendecomposition only every few
    generations, so its median alone would flatter it); the median is printed beside it. A
    library is skipped at a size where one generation exceeds ``--cap`` seconds (and at every
    larger size), and the output says so. For natgrad's full-covariance method the script also
    prints its rate in GF/s against a flop model, next to this machine's DGEMM measured in the
    same run on the generation's GEMM shape and on a square 2000^3 product.
(b) evaluations to f < 1e-8 on sphere, ellipsoid (condition 1e6), rotated ellipsoid and
    Rosenbrock in 10-D and 40-D over several seeds (same x0 and sigma0 for every library,
    library-default population size, each library's own termination criteria, no restarts):
    success rates, medians over successful runs, the expected running time
    ERT = (evaluations summed over all runs) / (successful runs), and ratios natgrad/peer of ERT.

Run ``python bench/peers.py`` (full, about 15 minutes on 2 cores) or ``--quick`` (seconds, for
CI). Writes ``bench/results/peers.json`` (``--out``) and, with ``--figures DIR``, two PNGs.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import statistics
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import adapters  # noqa: E402

TARGET = 1e-8

# ----------------------------------------------------------------------------------------------
# (a) time per generation
# ----------------------------------------------------------------------------------------------

#: timed generations per size (upper bound) and seconds of timed work per cell (soft bound)
GENERATIONS = {10: 300, 100: 150, 1000: 40, 2000: 40}
CELL_SECONDS = {10: 2.0, 100: 3.0, 1000: 8.0, 2000: 10.0}
MIN_GENERATIONS = 5


def time_cell(spec: adapters.Spec, n: int, cap: float, quick: bool) -> dict[str, Any]:
    """Seconds per ask+tell for one library at one size; f (sphere) is computed outside timing."""
    rng = np.random.default_rng(n)
    x0 = rng.uniform(-2.0, 2.0, n)
    gens = 10 if quick else GENERATIONS.get(n, 20)
    budget = 0.3 if quick else CELL_SECONDS.get(n, 5.0)
    opt = spec.make(x0, 1.0, 1)
    # one untimed generation (first-call costs), which is also the cap test
    t0 = time.perf_counter()
    X = opt.ask()
    values = adapters.sphere(X)
    t1 = time.perf_counter()
    opt.tell(X, values)
    first = time.perf_counter() - t1 + (t1 - t0)
    if first > cap:
        return {"skipped": f"one generation took {first:.2f} s > cap {cap} s"}
    asks, tells, restarts = [], [], 0
    while len(asks) < gens:
        if opt.should_stop():  # converged (small n): start afresh, untimed
            opt = spec.make(x0, 1.0, 1 + restarts)
            restarts += 1
        t0 = time.perf_counter()
        X = opt.ask()
        t1 = time.perf_counter()
        values = adapters.sphere(X)
        t2 = time.perf_counter()
        opt.tell(X, values)
        t3 = time.perf_counter()
        asks.append(t1 - t0)
        tells.append(t3 - t2)
        if len(asks) >= MIN_GENERATIONS and sum(asks) + sum(tells) > budget:
            break
    total = [a + t for a, t in zip(asks, tells, strict=True)]
    return {
        "popsize": opt.popsize,
        "generations": len(total),
        "mean_ms": 1e3 * statistics.fmean(total),
        "median_ms": 1e3 * statistics.median(total),
        "max_ms": 1e3 * max(total),
        "ask_median_ms": 1e3 * statistics.median(asks),
        "tell_median_ms": 1e3 * statistics.median(tells),
        "restarts": restarts,
    }


def dgemm_gflops(m: int, k: int, n: int, repeats: int = 5) -> float:
    """Best-of-``repeats`` rate of NumPy's DGEMM (the loaded BLAS) for an (m,k) @ (k,n) product."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((m, k)), rng.standard_normal((k, n))
    out = np.empty((m, n))
    np.matmul(a, b, out=out)
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.matmul(a, b, out=out)
        best = min(best, time.perf_counter() - t0)
    return 2.0 * m * k * n / best / 1e9


def dgemm_pair_gflops(n: int, popsize: int, repeats: int = 5) -> float:
    """NumPy's rate on the two products of a GEMM-form generation, back to back.

    (λ x n) @ (n x n) for sampling and (n x K) @ (K x n), K = λ + 1, for the factor update: the
    same flops as :func:`generation_flops`, so the ratio to it is natgrad's efficiency against
    what the loaded BLAS does with exactly these shapes.
    """
    rng = np.random.default_rng(0)
    k = popsize + 1
    z, a = rng.standard_normal((popsize, n)), rng.standard_normal((n, n))
    u, v = rng.standard_normal((n, k)), rng.standard_normal((k, n))
    x, out = np.empty((popsize, n)), np.empty((n, n))
    np.matmul(z, a, out=x)
    np.matmul(u, v, out=out)
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.matmul(z, a, out=x)
        np.matmul(u, v, out=out)
        best = min(best, time.perf_counter() - t0)
    return generation_flops(n, popsize) / best / 1e9


def generation_flops(n: int, popsize: int) -> float:
    """Flop model of one full-covariance generation in the GEMM form.

    Sampling Y = Z A^T costs 2 λ n^2 and the factor update A' = sqrt(a) A + (A U W) U^T with K =
    λ + 1 columns (every sample has a nonzero weight with active CMA, plus the evolution path)
    costs 2 K n^2: together 2 (2 λ + 1) n^2. Everything else is O(n λ^2).
    """
    return 2.0 * (2 * popsize + 1) * n * n


def timing_table(
    specs: Sequence[adapters.Spec],
    sizes: Sequence[int],
    threads: Sequence[int],
    cap: float,
    quick: bool,
) -> dict[str, Any]:
    out: dict[str, Any] = {"cap_seconds": cap, "sizes": list(sizes), "by_threads": {}}
    for count in threads:
        with adapters.blas_threads(count):
            rows: dict[str, dict[str, Any]] = {}
            for spec in specs:
                rows[spec.label] = {}
                too_slow: str | None = None
                for n in sizes:
                    if too_slow:
                        rows[spec.label][str(n)] = {"skipped": too_slow}
                        continue
                    try:
                        cell = time_cell(spec, n, cap, quick)
                    except Exception as exc:  # report, keep measuring the others
                        cell = {"error": f"{type(exc).__name__}: {exc}"}
                    if "skipped" in cell:
                        too_slow = f"{cell['skipped']} at n={n}"
                    rows[spec.label][str(n)] = cell
                    print(f"  [{count} thread(s)] {spec.label:18s} n={n:5d} {_fmt_cell(cell)}")
                    sys.stdout.flush()
            dgemm: dict[str, Any] = {}
            for n in sizes:
                lam = 4 + int(3 * math.log(n))
                dgemm[str(n)] = {
                    "shape": f"({lam}x{n}) @ ({n}x{n}) then ({n}x{lam + 1}) @ ({lam + 1}x{n})",
                    "gflops": dgemm_pair_gflops(n, lam, repeats=3 if quick else 7),
                }
            square = 300 if quick else 2000
            dgemm["square"] = {
                "shape": f"{square}^3",
                "gflops": dgemm_gflops(square, square, square, repeats=2 if quick else 3),
            }
            out["by_threads"][str(count)] = {"rows": rows, "dgemm": dgemm}
    return out


def _fmt_cell(cell: dict[str, Any]) -> str:
    if "skipped" in cell:
        return f"skipped ({cell['skipped']})"
    if "error" in cell:
        return f"error ({cell['error']})"
    return (
        f"mean {cell['mean_ms']:9.3f} ms  median {cell['median_ms']:9.3f} ms  "
        f"(λ={cell['popsize']}, {cell['generations']} gens)"
    )


def _ms(cell: dict[str, Any] | None) -> str:
    if cell is None:
        return "–"
    if "skipped" in cell:
        return "> cap"
    if "error" in cell:
        return "error"
    mean, median = cell["mean_ms"], cell["median_ms"]
    if mean > 1.3 * median:
        return f"{_num(mean)} ({_num(median)})"
    return _num(mean)


def _num(ms: float) -> str:
    if ms >= 100:
        return f"{ms:.0f}"
    if ms >= 10:
        return f"{ms:.1f}"
    if ms >= 1:
        return f"{ms:.2f}"
    return f"{ms:.3f}"


def print_timing(
    table: dict[str, Any], natgrad_full: str | None, families: dict[str, str]
) -> list[str]:
    """Markdown tables of (a); returns the lines."""
    lines: list[str] = []
    sizes = table["sizes"]
    for count, block in table["by_threads"].items():
        rows = block["rows"]
        lines.append("")
        lines.append(
            f"Time per generation, ask+tell, f excluded, {count} BLAS thread(s): mean ms over the "
            "timed generations (median in parentheses where the mean exceeds it by > 30%); "
            f"'> cap' = one generation took more than {table['cap_seconds']} s, not run."
        )
        lines.append("")
        lines.append("| library | " + " | ".join(f"n = {n}" for n in sizes) + " |")
        lines.append("|---|" + "---|" * len(sizes))
        for label, cells in rows.items():
            lines.append(f"| {label} | " + " | ".join(_ms(cells.get(str(n))) for n in sizes) + " |")
        natgrad_by_family = {
            fam: label
            for label, fam in families.items()
            if label.startswith("natgrad") and label in rows
        }
        peers = [
            label
            for label in rows
            if not label.startswith("natgrad") and families.get(label) in natgrad_by_family
        ]
        if peers:
            lines.append("")
            lines.append(
                "Ratio peer / natgrad method of the same family (mean time; > 1 means natgrad "
                "is faster):"
            )
            lines.append("")
            lines.append("| peer / natgrad | " + " | ".join(f"n = {n}" for n in sizes) + " |")
            lines.append("|---|" + "---|" * len(sizes))
            for label in peers:
                ref_label = natgrad_by_family[families[label]]
                cells, ref = rows[label], rows[ref_label]
                ratios = []
                for n in sizes:
                    a, b = cells.get(str(n), {}), ref.get(str(n), {})
                    if "mean_ms" in a and "mean_ms" in b:
                        ratios.append(f"{a['mean_ms'] / b['mean_ms']:.1f}")
                    elif "skipped" in a and "mean_ms" in b:  # the peer exceeded the cap
                        ratios.append(f"> {1e3 * table['cap_seconds'] / b['mean_ms']:.0f}")
                    else:
                        ratios.append("–")
                lines.append(f"| {label} / {ref_label} | " + " | ".join(ratios) + " |")
        if natgrad_full and natgrad_full in rows:
            ref = rows[natgrad_full]
            dg = block["dgemm"]
            lines.append("")
            lines.append(
                f"{natgrad_full}: rate of one generation (ask + tell, mean) against a flop model "
                f"of 2(2λ+1)n² (sampling GEMM + factor-update GEMM), next to NumPy's DGEMM on "
                f"the same two products, back to back, in this run "
                f"(square {dg['square']['shape']}: {dg['square']['gflops']:.1f} GF/s):"
            )
            lines.append("")
            lines.append(
                "| n | λ | ms/gen | natgrad GF/s | NumPy DGEMM GF/s, same two products | "
                "% of it | % of square DGEMM |"
            )
            lines.append("|---|---|---|---|---|---|---|")
            for n in sizes:
                cell = ref.get(str(n), {})
                if "mean_ms" not in cell:
                    continue
                rate = generation_flops(n, cell["popsize"]) / (cell["mean_ms"] * 1e-3) / 1e9
                same = dg[str(n)]["gflops"]
                cell["gflops"] = rate
                lines.append(
                    f"| {n} | {cell['popsize']} | {_num(cell['mean_ms'])} | {rate:.1f} | "
                    f"{same:.1f} | {100 * rate / same:.0f}% | "
                    f"{100 * rate / dg['square']['gflops']:.0f}% |"
                )
    print("\n".join(lines))
    return lines


# ----------------------------------------------------------------------------------------------
# (b) evaluations to 1e-8
# ----------------------------------------------------------------------------------------------


def run_to_target(
    label: str, fname: str, n: int, seed: int, budget: int, wall_cap: float
) -> dict[str, Any]:
    """One run of one library from the seed's x0 until f <= 1e-8, its own stop, or the budget."""
    with adapters.blas_threads(1):
        spec = next(s for s in adapters.all_specs() if s.label == label)
        f = adapters.FUNCTIONS[fname]
        x0 = np.random.default_rng(1000 * n + seed).uniform(-2.0, 2.0, n)
        t_start = time.perf_counter()
        evals, best, reason = 0, math.inf, "budget"
        try:
            opt = spec.make(x0, 1.0, seed)
            while evals < budget:
                X = opt.ask()
                values = f(X)
                opt.tell(X, values)
                evals += len(values)
                best = min(best, float(values.min()))
                if best <= TARGET:
                    reason = "target"
                    break
                if opt.should_stop():
                    reason = "stopped"
                    break
                if time.perf_counter() - t_start > wall_cap:
                    reason = "wall-cap"
                    break
        except Exception as exc:
            reason = f"error: {type(exc).__name__}: {exc}"
            traceback.print_exc()
        return {
            "label": label,
            "function": fname,
            "n": n,
            "seed": seed,
            "evals": evals,
            "best": best,
            "success": reason == "target",
            "reason": reason,
            "seconds": time.perf_counter() - t_start,
        }


def _run_task(task: tuple[str, str, int, int, int, float]) -> dict[str, Any]:
    return run_to_target(*task)


def counts_table(
    specs: Sequence[adapters.Spec],
    functions: Sequence[str],
    dims: Sequence[int],
    seeds: Sequence[int],
    budget_per_dim: int,
    wall_cap: float,
    jobs: int,
) -> list[dict[str, Any]]:
    tasks = [
        (spec.label, fname, n, seed, budget_per_dim * n, wall_cap)
        for n in dims
        for fname in functions
        for spec in specs
        for seed in seeds
    ]
    # the slowest runs first, so the pool's tail is short
    tasks.sort(key=lambda t: (-t[2], "xnes" not in t[0].lower(), "snes" not in t[0].lower()))
    results = []
    if jobs > 1:
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(jobs) as pool:
            for res in pool.imap_unordered(_run_task, tasks):
                results.append(res)
                _progress(res, len(results), len(tasks))
    else:
        for task in tasks:
            res = _run_task(task)
            results.append(res)
            _progress(res, len(results), len(tasks))
    return results


def _progress(res: dict[str, Any], done: int, total: int) -> None:
    print(
        f"  [{done}/{total}] {res['label']:18s} {res['function']:13s} n={res['n']:3d} "
        f"seed={res['seed']} evals={res['evals']:7d} best={res['best']:.2e} "
        f"{res['reason']} ({res['seconds']:.1f} s)"
    )
    sys.stdout.flush()


def summarise(results: Sequence[dict[str, Any]]) -> dict[tuple[str, int, str], dict[str, Any]]:
    """Per (function, n, label): successes, runs, median evals of successes, ERT."""
    groups: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
    for r in results:
        groups.setdefault((r["function"], r["n"], r["label"]), []).append(r)
    summary = {}
    for key, runs in groups.items():
        ok = [r["evals"] for r in runs if r["success"]]
        total = sum(r["evals"] for r in runs)
        summary[key] = {
            "runs": len(runs),
            "successes": len(ok),
            "median": statistics.median(ok) if ok else None,
            "ert": total / len(ok) if ok else None,
            "total_evals": total,
            "fail_best": sorted(r["best"] for r in runs if not r["success"]),
            "reasons": sorted({r["reason"] for r in runs if not r["success"]}),
        }
    return summary


def print_counts(
    summary: dict[tuple[str, int, str], dict[str, Any]],
    labels: Sequence[str],
    functions: Sequence[str],
    dims: Sequence[int],
    families: dict[str, str],
) -> list[str]:
    lines = [
        "",
        "Evaluations to f < 1e-8: median over successful runs, with successes/runs when not all "
        "succeeded; ERT = all evaluations / successes.",
        "",
        "| function | n | " + " | ".join(labels) + " |",
        "|---|---|" + "---|" * len(labels),
    ]
    for n in dims:
        for fname in functions:
            cells = []
            for label in labels:
                s = summary.get((fname, n, label))
                if s is None:
                    cells.append("–")
                elif s["successes"] == 0:
                    cells.append(f"0/{s['runs']}")
                else:
                    txt = f"{s['median']:,.0f}"
                    if s["successes"] < s["runs"]:
                        txt += f" ({s['successes']}/{s['runs']}, ERT {s['ert']:,.0f})"
                    cells.append(txt)
            lines.append(f"| {fname} | {n} | " + " | ".join(cells) + " |")
    # ratios natgrad / peer of the same family
    pairs = [
        (a, b)
        for a in labels
        if a.startswith("natgrad")
        for b in labels
        if not b.startswith("natgrad") and families.get(a) == families.get(b)
    ]
    if pairs:
        lines += [
            "",
            "Ratio natgrad / peer of ERT (< 1: natgrad needs fewer evaluations; "
            "'inf' = natgrad never reached 1e-8, '0' = the peer never did):",
            "",
            "| function | n | " + " | ".join(f"{a} / {b}" for a, b in pairs) + " |",
            "|---|---|" + "---|" * len(pairs),
        ]
        for n in dims:
            for fname in functions:
                cells = []
                for a, b in pairs:
                    sa, sb = summary.get((fname, n, a)), summary.get((fname, n, b))
                    if sa is None or sb is None:
                        cells.append("–")
                    elif sa["ert"] is None and sb["ert"] is None:
                        cells.append("both fail")
                    elif sa["ert"] is None:
                        cells.append("inf")
                    elif sb["ert"] is None:
                        cells.append("0")
                    else:
                        cells.append(f"{sa['ert'] / sb['ert']:.2f}")
                lines.append(f"| {fname} | {n} | " + " | ".join(cells) + " |")
    print("\n".join(lines))
    return lines


# ----------------------------------------------------------------------------------------------
# figures
# ----------------------------------------------------------------------------------------------


def plot_timing(table: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    blocks = table["by_threads"]
    fig, axes = plt.subplots(1, len(blocks), figsize=(6.2 * len(blocks), 4.8), sharey=True)
    axes = np.atleast_1d(axes)
    labels = list(next(iter(blocks.values()))["rows"])
    colours = {label: plt.get_cmap("tab10")(i % 10) for i, label in enumerate(labels)}
    for ax, (count, block) in zip(axes, blocks.items(), strict=True):
        for label, cells in block["rows"].items():
            ns = [int(n) for n, c in cells.items() if "mean_ms" in c]
            ms = [cells[str(n)]["mean_ms"] for n in ns]
            if not ns:
                continue
            style = "-" if label.startswith("natgrad") else "--"
            width = 2.4 if label.startswith("natgrad") else 1.4
            ax.loglog(ns, ms, style, marker="o", color=colours[label], lw=width, label=label)
            over = [int(n) for n, c in cells.items() if "skipped" in c]
            if over:  # first size over the cap: a triangle on the cap line
                ax.plot(min(over), table["cap_seconds"] * 1e3, "^", color=colours[label], ms=8)
        ax.axhline(table["cap_seconds"] * 1e3, color="grey", lw=0.8, ls=":")
        ax.text(11, table["cap_seconds"] * 1e3 * 1.1, "cap (▲: over it)", color="grey", fontsize=8)
        ax.set_title(f"{count} BLAS thread(s)")
        ax.set_xlabel("dimension n")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("ms per generation (ask + tell, f excluded; mean)")
    axes[-1].legend(fontsize=8, loc="upper left")
    fig.suptitle("Time per generation vs dimension (default λ = 4 + ⌊3 ln n⌋)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_counts(
    summary: dict[tuple[str, int, str], dict[str, Any]],
    labels: Sequence[str],
    functions: Sequence[str],
    dims: Sequence[int],
    path: Path,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(dims), figsize=(7.0 * len(dims), 4.8), sharey=True)
    axes = np.atleast_1d(axes)
    width = 0.8 / max(len(labels), 1)
    colours = {label: plt.get_cmap("tab10")(i % 10) for i, label in enumerate(labels)}
    for ax, n in zip(axes, dims, strict=True):
        top = 1.0
        for j, label in enumerate(labels):
            for i, fname in enumerate(functions):
                s = summary.get((fname, n, label))
                if s is None:
                    continue
                x = i - 0.4 + width * (j + 0.5)
                if s["ert"] is None:
                    ax.plot(x, s["total_evals"] / s["runs"], "x", color=colours[label], ms=7)
                    continue
                ax.bar(
                    x,
                    s["ert"],
                    width,
                    color=colours[label],
                    edgecolor="black" if label.startswith("natgrad") else "none",
                    label=label if i == 0 else None,
                )
                top = max(top, s["ert"])
                if s["successes"] < s["runs"]:
                    ax.text(
                        x,
                        s["ert"] * 1.15,
                        f"{s['successes']}/{s['runs']}",
                        ha="center",
                        fontsize=6,
                        rotation=90,
                    )
        ax.set_yscale("log")
        ax.set_xticks(range(len(functions)))
        ax.set_xticklabels(functions)
        ax.set_title(f"n = {n}")
        ax.grid(True, axis="y", which="both", alpha=0.3)
    axes[0].set_ylabel("ERT: evaluations to f < 1e-8 (× = never reached)")
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="upper center", ncol=min(len(labels), 5), fontsize=8)
    fig.tight_layout(rect=(0, 0, 1, 0.88))
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ----------------------------------------------------------------------------------------------
# main
# ----------------------------------------------------------------------------------------------


def _have_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("# figures skipped: matplotlib is not installed")
        return False
    return True


def _ints(text: str) -> list[int]:
    return [int(t) for t in text.split(",") if t]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, seconds (CI smoke)")
    parser.add_argument(
        "--sizes", type=_ints, default=None, help="n for (a), e.g. 10,100,1000,2000"
    )
    parser.add_argument(
        "--threads", type=_ints, default=None, help="BLAS threads for (a), e.g. 1,2"
    )
    parser.add_argument("--cap", type=float, default=2.0, help="seconds per generation cap (a)")
    parser.add_argument("--dims", type=_ints, default=None, help="n for (b), e.g. 10,40")
    parser.add_argument("--functions", default=None, help="comma list for (b)")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per cell for (b)")
    parser.add_argument("--budget", type=int, default=10_000, help="(b) evaluation budget / n")
    parser.add_argument("--wall-cap", type=float, default=60.0, help="(b) seconds per run cap")
    parser.add_argument("--jobs", type=int, default=2, help="(b) parallel processes")
    parser.add_argument("--only", default=None, help="comma list of labels to run")
    parser.add_argument("--skip-time", action="store_true")
    parser.add_argument("--skip-counts", action="store_true")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "peers.json"))
    parser.add_argument("--figures", default=None, help="folder for the PNG figures")
    args = parser.parse_args(argv)

    quick = args.quick
    sizes = args.sizes or ([10, 100] if quick else [10, 100, 1000, 2000])
    threads = args.threads or ([1] if quick else [1, 2])
    dims = args.dims or ([10] if quick else [10, 40])
    functions = (args.functions or ("sphere" if quick else ",".join(adapters.FUNCTIONS))).split(",")
    seeds = list(range(1, 1 + (args.seeds or (2 if quick else 5))))
    budget = 2_000 if quick and args.budget == 10_000 else args.budget

    info = adapters.environment()
    adapters.print_environment(info)
    only = args.only.split(",") if args.only else None
    specs, skipped = adapters.available_specs(only)
    if not any(s.library == "natgrad" for s in specs):
        print("# natgrad: no optimiser registered in this build (natgrad.optim.registry) - skipped")
    for spec in skipped:
        print(f"# skipped {spec.label}: {spec.unavailable}")
    print("# running: " + ", ".join(f"{s.label}" for s in specs))
    # tables and figures group each natgrad method with the peers of its family
    family_order = {"cma": 0, "xnes": 1, "snes": 2, "other": 3}
    specs.sort(key=lambda s: (family_order.get(s.family, 9), s.library != "natgrad"))
    labels = [s.label for s in specs]
    families = {s.label: s.family for s in specs}
    natgrad_full = next((s.label for s in specs if s.label == "natgrad igo-cma"), None)

    report: dict[str, Any] = {
        "environment": info,
        "skipped": {s.label: s.unavailable for s in skipped},
        "settings": {
            "quick": quick,
            "sizes": sizes,
            "threads": threads,
            "dims": dims,
            "functions": functions,
            "seeds": seeds,
            "budget_per_dim": budget,
            "wall_cap_seconds": args.wall_cap,
            "target": TARGET,
            "x0": "uniform(-2, 2)^n per (n, seed), same for every library",
            "sigma0": 1.0,
        },
    }
    markdown: list[str] = []
    t_start = time.perf_counter()
    if not args.skip_time:
        print("\n## (a) time per generation")
        table = timing_table(specs, sizes, threads, args.cap, quick)
        markdown += print_timing(table, natgrad_full, families)
        report["timing"] = table
        if args.figures and _have_matplotlib():
            Path(args.figures).mkdir(parents=True, exist_ok=True)
            plot_timing(table, Path(args.figures) / "peers_time_per_generation.png")
    if not args.skip_counts:
        print(f"\n## (b) evaluations to {TARGET:g} (budget {budget}·n, seeds {seeds})")
        results = counts_table(
            specs, functions, dims, seeds, budget, args.wall_cap, max(1, args.jobs)
        )
        summary = summarise(results)
        markdown += print_counts(summary, labels, functions, dims, families)
        report["runs"] = results
        report["summary"] = [
            {"function": f, "n": n, "label": label, **s} for (f, n, label), s in summary.items()
        ]
        if args.figures and _have_matplotlib():
            Path(args.figures).mkdir(parents=True, exist_ok=True)
            plot_counts(
                summary, labels, functions, dims, Path(args.figures) / "peers_evaluations.png"
            )
    report["markdown"] = markdown
    report["environment"]["loadavg_end"] = (
        list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    )
    report["seconds"] = time.perf_counter() - t_start
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1, default=str))
    print(f"\n# wrote {out} ({report['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
