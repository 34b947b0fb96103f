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
``--quick`` = 8 functions, dims 2,3,5, instances 1-3 (a few minutes); ``--smoke`` = seconds.
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

ALGORITHMS = {
    # name -> adapter label in adapters.all_specs()
    "natgrad": "natgrad igo-cma",
    "pycma": "pycma",
    "cmaes": "cmaes CMA",
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
            f"algorithm_info: '{spec.label}, IPOP restarts (bench/coco.py)'",
        )
        records = []
        t0 = time.perf_counter()
        for index, problem in enumerate(suite):
            problem.observe_with(observer)
            records.append(solve(problem, spec, int(budget * problem.dimension), seed=1 + index))
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
    parser.add_argument("--functions", default=None, help="e.g. 1-24")
    parser.add_argument("--dims", default=None, help="e.g. 2,3,5,10,20")
    parser.add_argument("--instances", default=None, help="e.g. 1-15")
    parser.add_argument("--budget", type=float, default=None, help="evaluations / dimension")
    parser.add_argument("--algorithms", default="natgrad,pycma")
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
    mode_name = "smoke" if args.smoke else "quick" if args.quick else "full"
    if custom:
        mode_name += "-custom"

    info = adapters.environment()
    adapters.print_environment(info)
    try:
        import cocoex  # noqa: F401
    except ImportError as exc:
        print(f"# skipped: cocoex is not installed ({exc}); pip install coco-experiment cocopp")
        return 0
    runnable, skipped = adapters.available_specs(list(ALGORITHMS.values()))
    available = {s.label for s in runnable}
    names = [a for a in args.algorithms.split(",") if ALGORITHMS.get(a) in available]
    for spec in skipped:
        print(f"# skipped {spec.label}: {spec.unavailable}")
    if "natgrad" not in names:
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
    old_runs = json.loads(previous.read_text()).get("runs", {}) if previous.exists() else {}
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
            "sigma0": 2.0,
        },
        "folders": folders,
        "runs": {r["name"]: r["records"] for r in runs},
        "seconds_experiment": time.perf_counter() - t0,
    }
    if not args.no_postprocess:
        import matplotlib

        matplotlib.use("Agg")
        table = ert_table(folders)
        report["ert"] = table
        if len(names) >= 2:
            report["markdown"] = print_ert_ratios(table, dims, functions, names[0], names[1])
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
    out = workdir / "coco.json"
    out.write_text(json.dumps(report, indent=1, default=str))
    print(f"# wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
