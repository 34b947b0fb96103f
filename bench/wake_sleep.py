"""RWS vs NRWS on the binarised 8 × 8 digits, and the Fisher-block kernel vs its NumPy twin.

Usage::

    python bench/wake_sleep.py [--smoke] [--seeds 3] [--epochs 200] [--nets shallow,deep]
                               [--out bench/results/wake_sleep.json] [--figures docs/figures]

Data: natgrad.models.digits_binary() (1797 images, pixels > 8), shuffled once with seed 0 and
split 1500 train / 297 test. K = 10 training samples, batch 32, plain SGD. Learning rates are
tuned per method and net on a stated grid (``GRID``, or ``--grid``) with one tuning seed (seed
100, not one of the reported seeds) and ``--tune-epochs`` epochs (default ``--epochs``), by the
final test NLL (K = 100), the same rule for both methods; then each method runs ``--seeds`` seeds
for ``--epochs`` epochs with the chosen rate. Per epoch the history records the test NLL with
K = 100 (the curve); at the end the test NLL is estimated with K = 5000. NRWS refreshes its Fisher
blocks once per epoch (``fisher_every`` = steps per epoch), each time from ``--fisher-samples``
fresh samples (``fit``'s ``fisher_samples``; default 1500 training points and 1500 draws from p).

Printed and written (JSON): per net and seed, RWS's final (200-epoch) test NLL, the first epoch
at which NRWS's curve reaches it and the wall seconds until then, both as ratios to RWS's
epochs and seconds; the cost of an NRWS epoch relative to an RWS epoch; the kernel ratio
(twin / compiled) at J = 64, d = 64, N = 320. ``--smoke`` runs a few epochs in seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import adapters  # noqa: E402
from natgrad import _core  # noqa: E402
from natgrad.models import HelmholtzMachine, digits_binary  # noqa: E402
from natgrad.reference import wake_sleep as ref  # noqa: E402

NETS = {"shallow": [64, 32, 16], "deep": [64, 48, 32, 24, 16, 12, 8]}
GRID = {"rws": [0.3, 1.0, 3.0], "nrws": [0.03, 0.1, 0.3, 1.0]}
#: NRWS estimates its Fisher blocks, once per epoch, from this many fresh samples (fit's
#: fisher_samples): 1500 training points with one h ~ q each, and 1500 draws from p
FISHER_SAMPLES = 1500
TUNE_SEED = 100  # distinct from the reported seeds 0, 1, 2


def split() -> tuple[np.ndarray, np.ndarray]:
    X = digits_binary()
    order = np.random.default_rng(0).permutation(len(X))
    return X[order[:1500]], X[order[1500:]]


def kernel_ratio(J: int, d: int, N: int, repeats: int) -> dict[str, Any]:
    """Assemble + factor all J blocks of a layer: compiled kernel vs NumPy twin (interleaved)."""
    rng = np.random.default_rng(1)
    h = (rng.random((N, d)) < 0.3).astype(np.float64)
    a = h @ rng.standard_normal((d, J)) * 0.3
    s = 1.0 / (1.0 + np.exp(-a))
    w = np.ascontiguousarray(s * (1 - s))
    g = rng.standard_normal((J, d + 1))
    out: dict[str, Any] = {"J": J, "d": d, "N": N, "repeats": repeats}
    fac = _core.fisher_blocks_factor(h, w, 0.1)
    n_small = max(2, d // 2)
    hs, ws = h[:n_small], w[:n_small]
    t = adapters.interleaved_medians(
        {
            "factor_core": lambda: _core.fisher_blocks_factor(h, w, 0.1),
            "factor_twin": lambda: ref.fisher_blocks_factor(h, w, 0.1),
            "solve_core": lambda: _core.fisher_blocks_solve(fac, g),
            "solve_twin": lambda: ref.fisher_blocks_solve(fac, g),
            "inverse_core": lambda: _core.fisher_blocks_inverse(fac),
            "inverse_twin": lambda: ref.fisher_blocks_inverse(fac),
            "woodbury_core": lambda: _core.fisher_blocks_woodbury_factor(hs, ws, 0.1),
            "woodbury_twin": lambda: ref.fisher_blocks_woodbury_factor(hs, ws, 0.1),
        },
        repeats,
    )
    out.update(
        factor_core_s=t["factor_core"],
        factor_twin_s=t["factor_twin"],
        factor_ratio=t["factor_twin"] / t["factor_core"],
        solve_core_s=t["solve_core"],
        solve_twin_s=t["solve_twin"],
        solve_ratio=t["solve_twin"] / t["solve_core"],
        inverse_core_s=t["inverse_core"],
        inverse_twin_s=t["inverse_twin"],
        inverse_ratio=t["inverse_twin"] / t["inverse_core"],
        woodbury_N=n_small,
        woodbury_factor_ratio=t["woodbury_twin"] / t["woodbury_core"],
    )
    return out


def run(
    sizes: list[int],
    method: str,
    lr: float,
    seed: int,
    epochs: int,
    train: np.ndarray,
    test: np.ndarray,
    final_k: int,
    curve_k: int,
    curve_every: int = 1,
    fisher_samples: int | None = FISHER_SAMPLES,
) -> dict[str, Any]:
    hm = HelmholtzMachine(sizes, seed=seed)
    steps = -(-len(train) // 32)
    extra = {"fisher_every": steps, "fisher_samples": fisher_samples} if method == "nrws" else {}
    curve: list[float] = []
    curve_epochs: list[int] = []
    curve_seconds: list[float] = []
    eval_rng = np.random.default_rng(seed + 2000)  # not the training stream

    def record(model: HelmholtzMachine, r: Any) -> None:
        if r.epoch % curve_every == 0 or r.epoch == epochs:
            curve.append(-float(np.mean(model.log_likelihood(test, samples=curve_k, rng=eval_rng))))
            curve_epochs.append(r.epoch)
            curve_seconds.append(r.total_seconds)

    hist = hm.fit(
        train,
        method=method,
        epochs=epochs,
        batch_size=32,
        samples=10,
        learning_rate=lr,
        callback=record,
        **extra,
    )
    final = -float(np.mean(hm.log_likelihood(test, samples=final_k, seed=seed + 1000)))
    return {
        "method": method,
        "seed": seed,
        "learning_rate": lr,
        "curve": curve,
        "curve_epochs": curve_epochs,
        "seconds": curve_seconds,
        "epoch_train_seconds": hist.seconds,
        "epoch_seconds": statistics.median(hist.seconds),
        "final_test_nll": final,
        "settings": hist.settings,
        "model": hm,
    }


def reach(
    curve: list[float], epochs: list[int], seconds: list[float], target: float
) -> tuple[int | None, float | None]:
    """First evaluated epoch (and training seconds until then) with curve <= target."""
    for v, e, t in zip(curve, epochs, seconds, strict=True):
        if v <= target:
            return e, t
    return None, None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--smoke", action="store_true", help="a few epochs, seconds in all")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument(
        "--tune-epochs", type=int, default=None, help="epochs of the tuning runs (default --epochs)"
    )
    ap.add_argument(
        "--grid",
        default=None,
        help="learning-rate grids as rws=0.3:1:3,nrws=0.03:0.1:0.3:1 (default GRID)",
    )
    ap.add_argument(
        "--fisher-samples",
        default=str(FISHER_SAMPLES),
        help="NRWS fisher_samples (samples of each Fisher refresh); 'step' for the step's own",
    )
    ap.add_argument("--nets", default="shallow,deep")
    ap.add_argument("--out", default="bench/results/wake_sleep.json")
    ap.add_argument("--figures", default=None, help="folder for the PNG figures")
    ap.add_argument("--curve-every", type=int, default=1, help="test NLL (K = 100) every n epochs")
    ap.add_argument("--rates", default=None, help="skip tuning: learning rates as rws=1.0,nrws=0.3")
    ap.add_argument(
        "--rws-from", default=None, help="JSON of an earlier run: reuse its RWS runs, run NRWS only"
    )
    ap.add_argument(
        "--epoch-cost",
        action="store_true",
        help="only the cost of an NRWS epoch (Fisher once per epoch) against an RWS epoch, "
        "interleaved in one process",
    )
    ap.add_argument("--rounds", type=int, default=5, help="--epoch-cost: rounds of 2 + 2 epochs")
    ap.add_argument(
        "--fisher-error",
        action="store_true",
        help="only the error of the once-per-epoch Fisher blocks (step's samples, 500, 1500)",
    )
    ap.add_argument("--kernel-only", action="store_true", help="only the kernel timing")
    ap.add_argument(
        "--merge",
        default=None,
        help="comma-separated JSON files of earlier runs (one per net): merge them into --out "
        "and draw --figures, without training",
    )
    args = ap.parse_args()
    if args.merge:
        merged: dict[str, Any] = {}
        for name in args.merge.split(","):
            part = json.loads(Path(name).read_text())
            nets = dict(merged.get("nets", {}))
            for net, data in part["nets"].items():  # a rerun of a net keeps its own entry
                nets[net if net not in nets else f"{net} ({Path(name).stem})"] = data
            merged = {**part, "nets": nets}
        Path(args.out).write_text(json.dumps(merged, indent=1))
        print(table(merged))
        if args.figures:
            figures(merged, Path(args.figures), Path(args.merge.split(",")[0]).parent)
        return
    try:  # one BLAS thread: these products are small, and threads only contend on a shared CPU
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
        blas_threads = 1
    except ImportError:
        blas_threads = None
    train, test = split()
    final_k, curve_k = 5000, 100
    epochs, seeds = args.epochs, args.seeds
    tune_epochs = epochs if args.tune_epochs is None else args.tune_epochs
    grid = GRID
    if args.grid:
        grid = {
            k: [float(v) for v in vals.split(":")]
            for k, vals in (p.split("=") for p in args.grid.split(","))
        }
    n_fisher = None if args.fisher_samples == "step" else int(args.fisher_samples)
    if args.smoke:
        train, test = train[:200], test[:50]
        final_k, curve_k, epochs, tune_epochs, seeds = 50, 10, 3, 1, 1
        grid = {"rws": [0.1], "nrws": [0.03]}
    info = {**adapters.environment(), "blas_threads": blas_threads}
    adapters.print_environment(info)
    results: dict[str, Any] = {"info": info, "grid": grid, "settings": vars(args), "nets": {}}
    kr = kernel_ratio(64, 64, 320, 3 if args.smoke else 100)
    results["kernel"] = kr
    print(
        f"kernel J=64 d=64 N=320: assemble+factor twin/compiled = {kr['factor_ratio']:.1f}x "
        f"({kr['factor_twin_s'] * 1e3:.2f} ms / {kr['factor_core_s'] * 1e3:.2f} ms), "
        f"solve {kr['solve_ratio']:.1f}x, inverse {kr['inverse_ratio']:.1f}x "
        f"({kr['inverse_core_s'] * 1e3:.2f} ms), Woodbury factor (N={kr['woodbury_N']}) "
        f"{kr['woodbury_factor_ratio']:.1f}x"
    )
    if args.epoch_cost:
        results["epoch_cost"] = {}
        for net in args.nets.split(","):
            ratios, times = [], {"rws": [], "nrws": []}
            cpu: dict[str, list[float]] = {"rws": [], "nrws": []}
            models = {m: HelmholtzMachine(NETS[net], seed=0) for m in ("rws", "nrws")}
            steps = -(-len(train) // 32)
            load_before = os.getloadavg()[0]
            for _ in range(2 if args.smoke else args.rounds):  # alternate: both see the same load
                for m in ("rws", "nrws"):
                    extra = (
                        {"fisher_every": steps, "fisher_samples": n_fisher} if m == "nrws" else {}
                    )
                    c0 = time.process_time()
                    h = models[m].fit(train, method=m, epochs=2, learning_rate=0.1, **extra)
                    cpu[m].append((time.process_time() - c0) / 2)  # this process's CPU seconds
                    times[m] += h.seconds
                ratios.append(
                    statistics.median(times["nrws"][-2:]) / statistics.median(times["rws"][-2:])
                )
            cost = {
                "rws_epoch_s": statistics.median(times["rws"]),
                "nrws_epoch_s": statistics.median(times["nrws"]),
                "ratio": statistics.median(times["nrws"]) / statistics.median(times["rws"]),
                "round_ratios": ratios,
                "cpu_ratio": statistics.median(cpu["nrws"]) / statistics.median(cpu["rws"]),
                "fisher_samples": n_fisher,
                "load_average": [load_before, os.getloadavg()[0]],
            }
            results["epoch_cost"][net] = cost
            print(
                f"[{net}] epoch cost: RWS {cost['rws_epoch_s']:.3f} s, NRWS {cost['nrws_epoch_s']:.3f} s "
                f"(Fisher once per epoch from {n_fisher or 'the step'} samples): "
                f"x{cost['ratio']:.2f} wall, x{cost['cpu_ratio']:.2f} CPU; "
                f"per round {[round(r, 2) for r in ratios]}; load {load_before:.1f} -> "
                f"{cost['load_average'][1]:.1f}"
            )
        write(results, Path(args.out))
        return
    if args.fisher_error:
        results["fisher_error"] = {
            net: fisher_error(NETS[net], train, 3 if args.smoke else 60, [None, 500, 1500])
            for net in args.nets.split(",")
        }
        write(results, Path(args.out))
        return
    if args.kernel_only:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(results, indent=1, default=float))
        return
    for net in args.nets.split(","):
        sizes = NETS[net]
        tuned: dict[str, float] = {}
        if args.rates:
            tuned = {k: float(v) for k, v in (p.split("=") for p in args.rates.split(","))}
        for method, rates in grid.items():
            if method in tuned or (method == "rws" and args.rws_from):
                continue
            scores = {}
            for lr in rates:
                r = run(
                    sizes,
                    method,
                    lr,
                    TUNE_SEED,
                    tune_epochs,
                    train,
                    test,
                    curve_k,
                    curve_k,
                    tune_epochs,
                    n_fisher,
                )
                scores[lr] = r["final_test_nll"]
                print(f"[{net}] tune {method} lr={lr}: {scores[lr]:.3f}")
            tuned[method] = min(scores, key=lambda k: scores[k])
            results["nets"].setdefault(net, {})[f"tuning_{method}"] = scores
        per_seed = []
        for seed in range(seeds):
            every = args.curve_every
            if args.rws_from:  # the RWS run of an earlier invocation (same net, seed, settings)
                earlier = json.loads(Path(args.rws_from).read_text())["nets"][net]["seeds"]
                rws = next(r["rws"] for r in earlier if r["seed"] == seed)
                tuned["rws"] = rws["learning_rate"]
            else:
                rws = run(
                    sizes, "rws", tuned["rws"], seed, epochs, train, test, final_k, curve_k, every
                )
                rws.pop("model")
            nrws = run(
                sizes,
                "nrws",
                tuned["nrws"],
                seed,
                epochs,
                train,
                test,
                final_k,
                curve_k,
                every,
                n_fisher,
            )
            model = nrws.pop("model")
            out_model = Path(args.out).with_name(f"{Path(args.out).stem}_nrws_seed{seed}.npz")
            out_model.parent.mkdir(parents=True, exist_ok=True)
            model.save(out_model)
            nrws["model_file"] = out_model.name
            target = min(rws["curve"])  # RWS's best curve value over the run
            e, s = reach(nrws["curve"], nrws["curve_epochs"], nrws["seconds"], target)
            e_rws, _ = reach(rws["curve"], rws["curve_epochs"], rws["seconds"], target)
            row = {
                "seed": seed,
                "rws": rws,
                "nrws": nrws,
                "rws_best_curve_nll": target,
                "nrws_epochs_to_rws_best": e,
                "epoch_ratio": None if e is None else e / epochs,
                "time_ratio": None if s is None else s / rws["seconds"][-1],
                "rws_epochs_to_best": e_rws,
                "rws_seconds": rws["seconds"][-1],
                "epoch_cost_ratio": nrws["epoch_seconds"] / rws["epoch_seconds"],
                "final_rws": rws["final_test_nll"],
                "final_nrws": nrws["final_test_nll"],
            }
            per_seed.append(row)
            print(
                f"[{net}] seed {seed}: RWS final {row['final_rws']:.3f} (best curve {target:.3f}), "
                f"NRWS final {row['final_nrws']:.3f}; NRWS reaches RWS's best at epoch {e} "
                f"(epochs x{row['epoch_ratio']}, time x{row['time_ratio']}); "
                f"NRWS epoch costs x{row['epoch_cost_ratio']:.2f} an RWS epoch"
            )
            results["nets"].setdefault(net, {}).update(
                {"sizes": sizes, "tuned": tuned, "seeds": per_seed}
            )
            write(results, Path(args.out))  # after every seed: a stopped run keeps its data
    write(results, Path(args.out))
    if args.figures:
        figures(results, Path(args.figures), Path(args.out).parent)


def fisher_error(
    sizes: list[int], train: np.ndarray, epochs: int, fisher_samples: list[int | None]
) -> dict[str, Any]:
    """How far the blocks of one refresh are from blocks estimated on many samples: after
    ``epochs`` epochs of NRWS (seed 100, lr 0.1, Fisher once per epoch from 1500 samples), the
    natural step of one minibatch's gradient with the blocks of each estimate, against the step
    with blocks from 20000 draws of p and 13 draws h ~ q per training point. None: the step's own
    samples (32 sleep draws; the 32 x 10 wake samples of another minibatch)."""
    from natgrad.models import helmholtz as hmod
    from natgrad.models.fisher_blocks import DampedFisherBlocks

    hm = HelmholtzMachine(sizes, seed=TUNE_SEED)
    steps = -(-len(train) // 32)
    hm.fit(
        train,
        method="nrws",
        epochs=epochs,
        learning_rate=0.1,
        fisher_every=steps,
        fisher_samples=FISHER_SAMPLES,
    )
    p, rng, alpha = hm._params, np.random.default_rng(5), 0.1

    def inverses(hs: list[np.ndarray], acts: list[np.ndarray], shift: int) -> list[np.ndarray]:
        return [
            DampedFisherBlocks(hs[i + shift], hmod._fisher_weight(a, False), alpha).inverse()
            for i, a in enumerate(acts)
        ]

    def q_blocks(x: np.ndarray) -> list[np.ndarray]:
        hs, acts = hmod._sample_q(p, x, rng, False)
        return inverses(hs, acts, 0)

    def p_blocks(n: int) -> list[np.ndarray]:
        hs, acts = hmod._sample_p(p, n, rng, False)
        return inverses(hs, acts, 1)

    ref_p, ref_q = p_blocks(20000), q_blocks(np.repeat(train, 13, axis=0))
    x = train[rng.choice(len(train), 32, replace=False)]  # the gradient's minibatch
    hs, q_acts = hmod._sample_q(p, np.repeat(x, 10, axis=0), rng, False)
    lp, p_acts = hmod._log_p(p, hs, False)
    lq, _ = hmod._log_q(p, hs, False)
    omega = hmod.wake_weights((lp - lq).reshape(32, 10), True)
    g_p = hmod.generative_gradients(p, hs, p_acts, omega, False)[:-1]
    g_q = hmod.recognition_gradients(hs, q_acts, omega, False)

    def steps_of(invs: list[np.ndarray], gs: list[np.ndarray]) -> list[np.ndarray]:
        return [np.matmul(m, g[:, :, None])[:, :, 0] for m, g in zip(invs, gs, strict=True)]

    want = {"p": steps_of(ref_p, g_p), "q": steps_of(ref_q, g_q)}
    out: dict[str, Any] = {"epochs": epochs, "estimates": {}}
    for m in fisher_samples:
        other = train[rng.choice(len(train), 32, replace=False)]
        if m is None:
            est = {"p": p_blocks(32), "q": q_blocks(np.repeat(other, 10, axis=0))}
        else:
            rows = rng.choice(len(train), min(m, len(train)), replace=False)
            est = {"p": p_blocks(m), "q": q_blocks(train[rows])}
        rows_out = []
        for net, grads in (("p", g_p), ("q", g_q)):
            for i, (u, v) in enumerate(zip(steps_of(est[net], grads), want[net], strict=True)):
                norm = float(np.linalg.norm(u) / np.linalg.norm(v))
                err = float(np.linalg.norm(u - v) / np.linalg.norm(v))
                rows_out.append({"network": net, "layer": i, "norm_ratio": norm, "rel_error": err})
                print(
                    f"Fisher from {m or 'the step'!s:>8} samples: {net} layer {i}: "
                    f"|step| / |reference step| = {norm:.2f}, relative error {err:.2f}"
                )
        out["estimates"][str(m or "step")] = rows_out
    return out


def table(results: dict[str, Any]) -> str:
    """The markdown table of BENCHMARKS.md ("Helmholtz machines") from merged results."""

    def fmt(v: Any, spec: str = ".2f") -> str:
        return "never" if v is None else format(v, spec)

    lines = [
        "| net | seed | lr RWS / NRWS | RWS best test NLL (K=100 curve) | RWS final (K=5000) "
        "| NRWS final (K=5000) | NRWS epochs to RWS best (ratio) | NRWS time to RWS best "
        "(ratio to RWS 200 epochs) | NRWS / RWS epoch cost |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for net, data in results["nets"].items():
        for row in data["seeds"]:
            e, ratio = row["nrws_epochs_to_rws_best"], row["epoch_ratio"]
            t = row["time_ratio"]
            lines.append(
                f"| {net} {data['sizes']} | {row['seed']} | {row['rws']['learning_rate']:g} / "
                f"{row['nrws']['learning_rate']:g} | {row['rws_best_curve_nll']:.2f} | "
                f"{row['final_rws']:.2f} | {row['final_nrws']:.2f} | "
                f"{'never' if e is None else f'{e} ({ratio:.2f})'} | {fmt(t)} | "
                f"{row['epoch_cost_ratio']:.2f} |"
            )
    return "\n".join(lines)


def write(results: dict[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, default=float))
    print("wrote", out, flush=True)


def figures(results: dict[str, Any], folder: Path, model_dir: Path | None = None) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # an optional extra: the smoke run (CI) has no matplotlib
        print("(matplotlib not installed: no figures; pip install matplotlib)")
        return

    folder.mkdir(parents=True, exist_ok=True)
    for net, data in results["nets"].items():
        if " " in net:  # a rerun (merge): in the table, not in the figures
            continue
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
        for row in data["seeds"]:
            for method, color in (("rws", "tab:blue"), ("nrws", "tab:red")):
                r = row[method]
                label = method.upper() if row["seed"] == 0 else None
                ax1.plot(r["curve_epochs"], r["curve"], color=color, alpha=0.7, label=label)
                ax2.plot(r["seconds"], r["curve"], color=color, alpha=0.7, label=label)
        for ax, xl in ((ax1, "epoch"), (ax2, "wall seconds (training)")):
            ax.set_xlabel(xl)
            ax.set_ylabel("test NLL (nats, K = 100)")
            ax.legend()
            ax.grid(alpha=0.3)
        fig.suptitle(f"binarised digits, net {data['sizes']}")
        fig.tight_layout()
        fig.savefig(folder / f"wake_sleep_{net}.png", dpi=110)
        plt.close(fig)
    for net, data in results["nets"].items():
        if " " in net:
            continue
        name = data["seeds"][0]["nrws"].get("model_file")
        path = (model_dir or Path("bench/results")) / str(name)
        if not name or not path.exists():
            continue
        x = HelmholtzMachine.load(path).sample(32, np.random.default_rng(0))
        fig, axes = plt.subplots(4, 8, figsize=(6, 3.2))
        for ax, img in zip(axes.ravel(), x, strict=True):
            ax.imshow(img.reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
            ax.axis("off")
        fig.suptitle(f"samples from p after NRWS ({net} net)")
        fig.tight_layout()
        fig.savefig(folder / f"wake_sleep_samples_{net}.png", dpi=110)
        plt.close(fig)
    print("figures in", folder)


if __name__ == "__main__":
    main()
