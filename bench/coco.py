"""natgrad's default optimiser and pycma on COCO's bbob suite, post-processed offline by cocopp.

Both algorithms run through the same adapters (``adapters.py``) inside one IPOP-style restart
loop, so only the search distribution differs: the first start is the problem's
``initial_solution``, every restart draws x0 uniformly from [-4, 4]^n and doubles the population
size; sigma0 = 2 (a fifth of the [-5, 5] domain, as in COCO's own pycma example); each run ends on
the library's own termination criteria, and the problem ends when the final target (f - f_opt <
1e-8) is hit or after ``budget * n`` evaluations. Data go to standard COCO folders (one per
algorithm) under ``bench/results/coco/<mode>/exdata``; ``cocopp`` then reads those local folders only (no
archived reference data are downloaded; its bundled best-2009 reference is drawn where
available) and writes ECDF figures to ``bench/results/coco/<mode>/ppdata``. The script also prints a
table of ERT(natgrad) / ERT(pycma) at the final target per function and dimension, computed by
``cocopp.load`` from the same folders, and writes it with all settings to
``bench/results/coco/<mode>/coco.json``.

Modes: default = all 24 functions, dims 2,3,5,10,20, instances 1-15, budget 1e4 n (hours);
``--quick`` = 8 functions, dims 2,3,5, instances 1-3 (a few minutes); ``--smoke`` = seconds;
``--bipop`` = IPOP against BIPOP restarts (issue 9): ``natgrad.minimize(..., restarts=9,
bipop=False/True, max_evals=budget * n)`` on f3, f4, f15-f24 in 10-D and 20-D, instances 1-15.

Besides the algorithms of the shared IPOP loop (``natgrad``, ``pycma``, ``cmaes``), three run their
library's own restart loop: ``natgrad-ipop`` and ``natgrad-bipop`` are ``natgrad.minimize`` with
``bipop=False`` / ``True`` (the budget ``budget * n`` shared by all runs as ``max_evals``), and
``pycma-bipop`` is ``cma.fmin2(..., restarts=9, bipop=True)`` with ``maxfevals`` the same budget.
Their x0 and sigma0 follow the same rule as the shared loop (the first start at the problem's
``initial_solution``, each restart from x0 ~ U[-4, 4]^n, sigma0 = 2), and a run stops once COCO's
final target is hit. With two of them, a per-(function, dimension) table gives the instances
solved by each, the ERT ratio where both solve some, and the median final f - f_opt of each
where neither solves any.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import adapters  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "coco"
QUICK_FUNCTIONS = [1, 2, 6, 8, 10, 12, 15, 21]  # sphere, separable ellipsoid, attractive sector,
# Rosenbrock, rotated ellipsoid, bent cigar, rotated Rastrigin, Gallagher 101 peaks

BIPOP_FUNCTIONS = [3, 4, *range(15, 25)]  # where IPOP with 1e4 n evaluations solves few
# instances in 10-D and 20-D (issue 9)
RESTARTS = 9  # large-population restarts of the library loops, as in pycma's fmin2 BIPOP example

ALGORITHMS = {
    # name -> adapter label in adapters.all_specs() (the library it needs)
    "natgrad": "natgrad igo-cma",
    "pycma": "pycma",
    "cmaes": "cmaes CMA",
    "natgrad-ipop": "natgrad igo-cma",
    "natgrad-bipop": "natgrad igo-cma",
    "pycma-bipop": "pycma",
}


def _ranges(text: str) -> list[int]:
    """'1-3,5' -> [1, 2, 3, 5]."""
    out: list[int] = []
    for part in text.split(","):
        if "-" in part:
            lo, hi = part.split("-")
            out += list(range(int(lo), int(hi) + 1))
        elif part:
            out.append(int(part))
    return out


def solve(problem: Any, spec: adapters.Spec, budget: int, seed: int) -> dict[str, Any]:
    """IPOP-style restarts of one adapter on one COCO problem until the target or the budget."""
    n = problem.dimension
    rng = np.random.default_rng(seed)
    popsize: int | None = None
    restarts = 0
    error = None
    while problem.evaluations < budget and not problem.final_target_hit and error is None:
        x0 = problem.initial_solution if restarts == 0 else rng.uniform(-4.0, 4.0, n)
        try:
            opt = spec.make(np.array(x0, dtype=float), 2.0, seed + 1000 * restarts, popsize=popsize)
            while problem.evaluations < budget:
                X = opt.ask()
                values = np.empty(len(X))
                for i, x in enumerate(X):
                    values[i] = problem(x)
                if problem.final_target_hit:
                    break
                opt.tell(X, values)
                if opt.should_stop():
                    break
        except Exception as exc:  # an optimiser error ends the problem; it is counted and reported
            error = f"{type(exc).__name__}: {exc} (restart {restarts}, popsize {popsize})"
            break
        popsize = 2 * opt.popsize
        restarts += 1
    return {
        "id": problem.id,
        "evaluations": int(problem.evaluations),
        "hit": bool(problem.final_target_hit),
        "restarts": max(restarts - 1, 0),
        "error": error,
    }


class _StartPoints:
    """x0 of the restart loops: the problem's initial_solution first, then U[-4, 4]^n draws."""

    def __init__(self, problem: Any, rng: np.random.Generator) -> None:
        self.problem, self.rng, self.calls = problem, rng, 0

    def __call__(self, rng: np.random.Generator | None = None) -> Any:
        self.calls += 1
        if self.calls == 1:
            return np.array(self.problem.initial_solution, dtype=float)
        return (rng if rng is not None else self.rng).uniform(-4.0, 4.0, self.problem.dimension)


def solve_minimize(problem: Any, budget: int, seed: int, bipop: bool) -> dict[str, Any]:
    """``natgrad.minimize`` with its own IPOP or BIPOP restarts and the shared budget."""
    import natgrad

    error = None
    extra: dict[str, Any] = {}
    try:
        res = natgrad.minimize(
            problem,
            _StartPoints(problem, np.random.default_rng(seed)),  # called with minimize's rng
            2.0,
            method="igo-cma",
            restarts=RESTARTS,
            bipop=bipop,
            max_evals=budget,
            seed=seed,
            callback=lambda info: bool(problem.final_target_hit),
        )
        h = res.history
        evals = [int(h.popsize[h.run == k].sum()) for k in range(len(res.regimes))]
        extra = {
            "regimes": "".join(r[0] for r in res.regimes),  # "l" / "s" per run
            "popsizes": [int(h.popsize[h.run == k][0]) for k in range(len(res.regimes))],
            "run_evaluations": evals,
            "small_evaluations": sum(
                e for e, r in zip(evals, res.regimes, strict=True) if r == "small"
            ),
            "stop_reasons": res.stop_reasons,
        }
    except Exception as exc:  # as in solve(): counted and reported, the experiment goes on
        error = f"{type(exc).__name__}: {exc}"
    return {
        "id": problem.id,
        "evaluations": int(problem.evaluations),
        "hit": bool(problem.final_target_hit),
        "restarts": max(len(extra.get("regimes", "")) - 1, 0),
        "error": error,
        **extra,
    }


def solve_pycma_bipop(problem: Any, budget: int, seed: int) -> dict[str, Any]:
    """pycma's BIPOP-CMA-ES (``cma.fmin2(..., restarts=9, bipop=True)``), the shared budget."""
    import cma

    error = None
    extra: dict[str, Any] = {}
    try:
        _, es = cma.fmin2(
            problem,
            _StartPoints(problem, np.random.default_rng(seed)),  # pycma calls it per run
            2.0,
            {
                "maxfevals": budget,
                "seed": seed,
                "verbose": -9,
                "termination_callback": lambda es: bool(problem.final_target_hit),
            },
            restarts=RESTARTS,
            bipop=True,
        )
        extra = {"runs": len(getattr(es, "all_stoppings", [])) or None}
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
    return {
        "id": problem.id,
        "evaluations": int(problem.evaluations),
        "hit": bool(problem.final_target_hit),
        "restarts": max((extra.get("runs") or 1) - 1, 0),
        "error": error,
        **extra,
    }


def solve_problem(name: str, problem: Any, spec: adapters.Spec, budget: int, seed: int) -> Any:
    """One problem with the restart loop of algorithm ``name``."""
    if name in ("natgrad-ipop", "natgrad-bipop"):
        return solve_minimize(problem, budget, seed, bipop=name == "natgrad-bipop")
    if name == "pycma-bipop":
        return solve_pycma_bipop(problem, budget, seed)
    return solve(problem, spec, budget, seed)


def run_algorithm(
    name: str,
    functions: Sequence[int],
    dims: Sequence[int],
    instances: Sequence[int],
    budget: float,
    folder: Path,
) -> dict[str, Any]:
    """One algorithm over the selected bbob problems, logged by COCO's bbob observer."""
    import cocoex

    cocoex.log_level("warning")
    with adapters.blas_threads(1):
        spec = next(s for s in adapters.all_specs() if s.label == ALGORITHMS[name])
        suite = cocoex.Suite(
            "bbob",
            "",
            "function_indices:{} dimensions:{} instance_indices:{}".format(
                ",".join(map(str, functions)),
                ",".join(map(str, dims)),
                ",".join(map(str, instances)),
            ),
        )
        observer = cocoex.Observer(
            "bbob",
            f"result_folder: {folder.name} algorithm_name: {name} "
            f"algorithm_info: '{_info(name, spec)}'",
        )
        records = []
        t0 = time.perf_counter()
        for index, problem in enumerate(suite):
            problem.observe_with(observer)
            budget_n = int(budget * problem.dimension)
            records.append(solve_problem(name, problem, spec, budget_n, seed=1 + index))
            problem.free()
            if (index + 1) % 15 == 0 or index + 1 == len(suite):
                hits = sum(r["hit"] for r in records)
                print(
                    f"  {name}: {index + 1}/{len(suite)} problems, {hits} hit 1e-8, "
                    f"{time.perf_counter() - t0:.0f} s"
                )
                sys.stdout.flush()
        return {
            "name": name,
            "folder": observer.result_folder,
            "records": records,
            "seconds": time.perf_counter() - t0,
        }


def _info(name: str, spec: adapters.Spec) -> str:
    """COCO's algorithm_info: which restart loop ran."""
    if name == "natgrad-ipop":
        return f"natgrad.minimize igo-cma, restarts={RESTARTS}, IPOP (bench/coco.py)"
    if name == "natgrad-bipop":
        return f"natgrad.minimize igo-cma, restarts={RESTARTS}, bipop=True (bench/coco.py)"
    if name == "pycma-bipop":
        return f"cma.fmin2, restarts={RESTARTS}, bipop=True (bench/coco.py)"
    return f"{spec.label}, IPOP restarts (bench/coco.py)"


def _run_algorithm_task(args: tuple[Any, ...]) -> dict[str, Any]:
    name, functions, dims, instances, budget, folder, workdir = args
    os.chdir(workdir)  # COCO writes result_folder under ./exdata
    return run_algorithm(name, functions, dims, instances, budget, folder)


def ert_table(folders: dict[str, str], target: float = 1e-8) -> dict[str, Any]:
    """ERT per (function, dim) for each algorithm, via cocopp.load on the local folders."""
    import cocopp

    table: dict[str, dict[str, Any]] = {}
    for name, folder in folders.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            datasets = cocopp.load(folder)
        for ds in datasets:
            ert = float(ds.detERT([target])[0])
            succ = int(ds.detSuccesses([target])[0])
            key = f"f{ds.funcId}-{ds.dim}D"
            table.setdefault(key, {"function": ds.funcId, "dim": ds.dim})[name] = {
                "ert": None if not np.isfinite(ert) else ert,
                "successes": succ,
                "runs": int(ds.nbRuns()),
                # best f - f_opt of each run (cocopp's finalfunvals), for the unsolved cells
                "final": [float(v) for v in ds.finalfunvals],
            }
    return table


def print_ert_ratios(
    table: dict[str, Any], dims: Sequence[int], functions: Sequence[int], num: str, den: str
) -> list[str]:
    lines = [
        "",
        f"ERT({num}) / ERT({den}) at the final target f - f_opt < 1e-8 (< 1: {num} needs "
        f"fewer evaluations), successful instances {num}/{den} in brackets when not all "
        f"succeeded; 'inf' = only {den} solved it, '0' = only {num} did, '–' = neither.",
        "",
        "| function | " + " | ".join(f"{d}-D" for d in dims) + " |",
        "|---|" + "---|" * len(dims),
    ]
    for f in functions:
        cells = []
        for d in dims:
            row = table.get(f"f{f}-{d}D")
            if row is None or num not in row or den not in row:
                cells.append("n/a")
                continue
            a, b = row[num], row[den]
            if a["ert"] is None and b["ert"] is None:
                text = "–"
            elif a["ert"] is None:
                text = "inf"
            elif b["ert"] is None:
                text = "0"
            else:
                text = f"{a['ert'] / b['ert']:.2f}"
            if a["successes"] < a["runs"] or b["successes"] < b["runs"]:
                text += f" [{a['successes']}/{b['successes']} of {a['runs']}]"
            cells.append(text)
        lines.append(f"| f{f} | " + " | ".join(cells) + " |")
    print("\n".join(lines))
    return lines


def _bipop_split(records: Sequence[dict[str, Any]] | None) -> dict[str, str]:
    """Per 'f<f>-<d>D': the mean share of evaluations in BIPOP's small runs and how many of the
    solved instances were solved by a small run (from natgrad-bipop's records)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for rec in records or []:
        if "regimes" not in rec:
            continue
        _, f, _, d = rec["id"].split("_")  # bbob_f003_i01_d10
        groups.setdefault(f"f{int(f[1:])}-{int(d[1:])}D", []).append(rec)
    out = {}
    for key, recs in groups.items():
        share = np.mean([r["small_evaluations"] / max(r["evaluations"], 1) for r in recs])
        hits = [r for r in recs if r["hit"]]
        small_hits = sum(r["regimes"][-1] == "s" for r in hits)
        out[key] = f"{share:.2f} ({small_hits} of {len(hits)})"
    return out


def print_restart_table(
    table: dict[str, Any],
    dims: Sequence[int],
    functions: Sequence[int],
    names: Sequence[str],
    bipop_records: Sequence[dict[str, Any]] | None = None,
) -> list[str]:
    """One row per (function, dimension): instances solved by each algorithm, the ERT ratio of
    names[1] to names[0] (and of each further algorithm to names[1]) where both solve some, and
    the median final f - f_opt of each algorithm where neither names[0] nor names[1] solves any;
    with ``bipop_records`` (natgrad-bipop's), the share of its evaluations spent in small runs
    and how many of its solved instances a small run solved."""
    num, den = names[1], names[0]
    split = _bipop_split(bipop_records)
    pairs = [(num, den)] + [(other, num) for other in names[2:]]

    def ratio(a: dict[str, Any], b: dict[str, Any]) -> str:
        if a["ert"] is None or b["ert"] is None:
            return "–"
        return f"{a['ert'] / b['ert']:.2f}"

    lines = [
        "",
        f"Instances solved (f - f_opt < 1e-8) by {', '.join(names)}; ERT ratios at 1e-8 where "
        f"both solve some (< 1: the first needs fewer evaluations); where neither {den} nor "
        f"{num} solves any, the median over instances of the best f - f_opt each reached."
        + (
            " 'small share': the mean fraction of natgrad-bipop's evaluations spent in "
            "small-regime runs (in brackets: its solved instances that a small run solved)."
            if split
            else ""
        ),
        "",
        "| function | dim | instances | solved "
        + " / ".join(names)
        + "".join(f" | ERT {a}/{b}" for a, b in pairs)
        + " | median best f - f_opt "
        + " / ".join(names)
        + (" | small share" if split else "")
        + " |",
        "|---|---|---|---|" + "---|" * len(pairs) + "---|" + ("---|" if split else ""),
    ]
    for f in functions:
        for d in dims:
            row = table.get(f"f{f}-{d}D")
            if row is None or any(n not in row for n in (num, den)):
                continue
            solved = " / ".join(str(row[n]["successes"]) if n in row else "n/a" for n in names)
            ratios = "".join(f" | {ratio(row[a], row[b]) if a in row else 'n/a'}" for a, b in pairs)
            if row[num]["successes"] == 0 and row[den]["successes"] == 0:
                medians = " / ".join(
                    f"{np.median(row[n]['final']):.2g}" if n in row else "n/a" for n in names
                )
            else:
                medians = "–"
            counts = sorted({row[n]["runs"] for n in names if n in row})
            runs = "/".join(map(str, counts))
            extra = f" | {split.get(f'f{f}-{d}D', 'n/a')}" if split else ""
            lines.append(f"| f{f} | {d} | {runs} | {solved}{ratios} | {medians}{extra} |")
    print("\n".join(lines))
    return lines


def postprocess(folders: Sequence[str], outdir: Path) -> list[str]:
    """cocopp on local folders only; returns the ECDF PNGs it wrote."""
    import matplotlib

    matplotlib.use("Agg")
    import cocopp

    cocopp.genericsettings.figure_file_formats = ["png"]
    cocopp.genericsettings.verbose = False
    if outdir.exists():
        shutil.rmtree(outdir)
    # every argument is an existing path, so cocopp never consults its online archive; its
    # per-data-set UserWarnings (e.g. "less than 15 instances") are expected in the short modes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        cocopp.main(["--no-svg", "-o", str(outdir), *folders])
    return sorted(str(p) for p in outdir.rglob("pprldmany*.png"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="8 functions, dims 2-5, 3 instances")
    mode.add_argument("--smoke", action="store_true", help="seconds, for CI")
    mode.add_argument(
        "--bipop",
        action="store_true",
        help="natgrad.minimize IPOP vs BIPOP on f3, f4, f15-24, 10-D and 20-D (issue 9)",
    )
    parser.add_argument("--functions", default=None, help="e.g. 1-24")
    parser.add_argument("--dims", default=None, help="e.g. 2,3,5,10,20")
    parser.add_argument("--instances", default=None, help="e.g. 1-15")
    parser.add_argument("--budget", type=float, default=None, help="evaluations / dimension")
    parser.add_argument(
        "--algorithms",
        default=None,
        help="from " + ", ".join(ALGORITHMS) + " (default natgrad,pycma; with --bipop "
        "natgrad-ipop,natgrad-bipop)",
    )
    parser.add_argument(
        "--name",
        default=None,
        help="results subfolder (default: the mode, '-custom' appended when the selection is "
        "changed)",
    )
    parser.add_argument("--jobs", type=int, default=2, help="algorithms run in parallel")
    parser.add_argument(
        "--reuse",
        default="",
        help="algorithms not re-run: their data folders from an earlier run of the same mode "
        "are post-processed with the new ones (e.g. --reuse pycma after a natgrad change)",
    )
    parser.add_argument("--no-postprocess", action="store_true", help="skip cocopp")
    parser.add_argument("--results", default=str(RESULTS), help="output root")
    parser.add_argument(
        "--figures", default=None, help="copy the all-functions ECDF PNG of each dimension here"
    )
    args = parser.parse_args(argv)

    if args.smoke:
        functions, dims, instances, budget = [1, 8], [2], [1], 200.0
    elif args.quick:
        functions, dims, instances, budget = QUICK_FUNCTIONS, [2, 3, 5], [1, 2, 3], 1e4
    elif args.bipop:
        functions, dims, instances, budget = BIPOP_FUNCTIONS, [10, 20], list(range(1, 16)), 1e4
    else:
        functions, dims, instances, budget = (
            list(range(1, 25)),
            [2, 3, 5, 10, 20],
            list(range(1, 16)),
            1e4,
        )
    functions = _ranges(args.functions) if args.functions else functions
    dims = _ranges(args.dims) if args.dims else dims
    instances = _ranges(args.instances) if args.instances else instances
    budget = args.budget or budget
    custom = any(v is not None for v in (args.functions, args.dims, args.instances, args.budget))
    mode_name = (
        "smoke" if args.smoke else "quick" if args.quick else "bipop" if args.bipop else "full"
    )
    if custom:
        mode_name += "-custom"
    mode_name = args.name or mode_name
    algorithms = args.algorithms or (
        "natgrad-ipop,natgrad-bipop" if args.bipop else "natgrad,pycma"
    )

    info = adapters.environment()
    adapters.print_environment(info)
    try:
        import cocoex  # noqa: F401
    except ImportError as exc:
        print(f"# skipped: cocoex is not installed ({exc}); pip install coco-experiment cocopp")
        return 0
    runnable, skipped = adapters.available_specs(list(ALGORITHMS.values()))
    available = {s.label for s in runnable}
    unknown = [a for a in algorithms.split(",") if a not in ALGORITHMS]
    if unknown:
        parser.error(f"unknown algorithm(s) {unknown}; choose from {', '.join(ALGORITHMS)}")
    names = [a for a in algorithms.split(",") if ALGORITHMS[a] in available]
    for spec in skipped:
        print(f"# skipped {spec.label}: {spec.unavailable}")
    if not any(a.startswith("natgrad") for a in names):
        print("# natgrad: no 'igo-cma' optimiser registered in this build - not run")
    if not names:
        print("# nothing to run")
        return 0
    root = Path(args.results).resolve()
    figures = Path(args.figures).resolve() if args.figures else None  # before any chdir
    workdir = root / mode_name  # COCO writes ./exdata/<result_folder> under the working directory
    workdir.mkdir(parents=True, exist_ok=True)
    print(
        f"# bbob: functions {functions}, dims {dims}, instances {instances}, budget {budget:g}·n, "
        f"algorithms {names}"
    )
    reuse = [a for a in args.reuse.split(",") if a]
    tasks = []
    for name in names:
        if name in reuse:
            continue
        folder = workdir / "exdata" / name
        if folder.exists():
            shutil.rmtree(folder)
        tasks.append((name, functions, dims, instances, budget, folder, workdir))
    t0 = time.perf_counter()
    runs: list[dict[str, Any]]
    if args.jobs > 1 and len(tasks) > 1:
        with multiprocessing.get_context("fork").Pool(min(args.jobs, len(tasks))) as pool:
            runs = pool.map(_run_algorithm_task, tasks)
    else:
        runs = [_run_algorithm_task(t) for t in tasks]
    folders = {r["name"]: str(workdir / r["folder"]) for r in runs}
    previous = workdir / "coco.json"
    old_report = json.loads(previous.read_text()) if previous.exists() else {}
    old_runs = old_report.get("runs", {})
    for name in reuse:
        folder = workdir / "exdata" / name
        if not folder.exists() or name not in old_runs:
            print(f"# --reuse {name}: no earlier data in {folder}; run it first")
            return 1
        runs.append(
            {
                "name": name,
                "folder": str(folder),
                "records": old_runs[name],
                "seconds": float("nan"),
            }
        )
        print(f"# {name}: reusing the data of the earlier run in {folder}")
    runs.sort(key=lambda r: names.index(r["name"]))
    folders = {r["name"]: str(workdir / r["folder"]) for r in runs}
    for r in runs:
        print(f"# {r['name']}: {r['seconds']:.0f} s, data in {folders[r['name']]}")
        errors = [rec for rec in r["records"] if rec["error"]]
        if errors:
            print(f"# {r['name']}: {len(errors)} problem(s) ended by an optimiser error, e.g.")
            for rec in errors[:5]:
                print(f"#   {rec['id']}: {rec['error']}")
    report: dict[str, Any] = {
        "environment": info,
        "settings": {
            "mode": mode_name,
            "functions": functions,
            "dims": dims,
            "instances": instances,
            "budget_per_dim": budget,
            "restarts": "IPOP: x0 ~ U[-4,4]^n after the first start, popsize doubled",
            "library_restarts": f"natgrad-ipop, natgrad-bipop, pycma-bipop: restarts={RESTARTS}, "
            "max_evals = budget_per_dim * n over all runs, a run ends on COCO's final target",
            "algorithms": names,
            "jobs": args.jobs,
            "sigma0": 2.0,
        },
        "folders": folders,
        "runs": {r["name"]: r["records"] for r in runs},
        "seconds_experiment": time.perf_counter() - t0,
    }
    if not tasks and old_report:
        # every algorithm reused (a new table from the same data): the experiment's machine,
        # load and wall time stay those of the earlier run; this post-processing is noted apart
        report["environment_postprocess"] = info
        report["environment"] = old_report.get("environment", info)
        report["seconds_experiment"] = old_report.get("seconds_experiment")
    if not args.no_postprocess:
        import matplotlib

        matplotlib.use("Agg")
        table = ert_table(folders)
        report["ert"] = table
        if len(names) >= 2:
            report["markdown"] = print_ert_ratios(table, dims, functions, names[0], names[1])
        if {"natgrad-ipop", "natgrad-bipop"} <= set(names):
            order = ["natgrad-ipop", "natgrad-bipop"] + [
                n for n in names if n not in ("natgrad-ipop", "natgrad-bipop")
            ]
            report["restart_table"] = print_restart_table(
                table, dims, functions, order, report["runs"]["natgrad-bipop"]
            )
        for r in runs:
            errors = [rec for rec in r["records"] if rec["error"]]
            if errors:
                report.setdefault("markdown", []).extend(
                    [
                        "",
                        f"{r['name']}: {len(errors)} of {len(r['records'])} problems ended by "
                        "an optimiser error (counted as unsolved from that evaluation on):",
                        "",
                    ]
                    + [f"* {rec['id']}: {rec['error']}" for rec in errors]
                )
        t1 = time.perf_counter()
        pngs = postprocess(list(folders.values()), workdir / "ppdata")
        report["figures"] = pngs
        report["seconds_postprocess"] = time.perf_counter() - t1
        print(f"# cocopp: {len(pngs)} ECDF figures in {workdir / 'ppdata'}")
        if figures and pngs:
            dest = figures
            dest.mkdir(parents=True, exist_ok=True)
            for png in pngs:  # the all-functions ECDF per dimension
                if png.endswith("noiselessall.png"):
                    shutil.copy(png, dest / f"coco_{mode_name}_{Path(png).name}")
    if tasks:
        report["environment"]["machine"]["loadavg_end"] = list(os.getloadavg())
    out = workdir / "coco.json"
    out.write_text(json.dumps(report, indent=1, default=str))
    print(f"# wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
