"""Regenerate the gradient-flow figures of docs/flows.md (seed 003's lecture figures).

Usage (needs the ``plot`` extra: ``pip install "natgrad[plot]"``)::

    python docs/make_figures.py [--out docs/figures]

Writes five PNGs: binary_toy_marginal.png, binary_toy_natural.png, gaussian_1d_quadratic.png,
gaussian_1d_quartic.png and gaussian_2d_quadratic.png. Everything numerical comes from
``natgrad.flows``; this script only draws.
"""

from __future__ import annotations

import argparse
from pathlib import Path

try:
    import matplotlib
except ImportError:  # pragma: no cover - depends on the environment
    raise SystemExit(
        'docs/make_figures.py needs matplotlib: pip install ".[plot]" (from the repository root)'
    ) from None

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from natgrad import flows  # noqa: E402

VANILLA = "tab:blue"
NATURAL = "tab:red"


def toy_f(x: np.ndarray) -> np.ndarray:
    return x[:, 0] + 2 * x[:, 1] + 3 * x[:, 0] * x[:, 1]


def _draw_flow(ax: plt.Axes, xy: np.ndarray, color: str) -> None:
    ax.plot(xy[:, 0], xy[:, 1], color=color, lw=1.3)
    ax.plot(xy[0, 0], xy[0, 1], "o", color=color, ms=3)
    ax.plot(xy[-1, 0], xy[-1, 1], "s", color=color, ms=3.5)


def _legend(
    ax: plt.Axes, labels: list[tuple[str, str]], extra: list[plt.Line2D] | None = None
) -> None:
    handles = [plt.Line2D([], [], color=c, lw=1.5, label=lab) for lab, c in labels] + (extra or [])
    handles += [
        plt.Line2D([], [], ls="", marker="o", color="k", ms=3, label="start"),
        plt.Line2D([], [], ls="", marker="s", color="k", ms=3.5, label="end"),
    ]
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.13),
        ncol=3,
        fontsize=8,
        frameon=False,
    )


def binary_toy(out: Path) -> list[Path]:
    """f = x1 + 2x2 + 3x1x2 on {−1,+1}², minimised: vanilla vs natural flows in μ and in θ."""
    toy = flows.BinaryRelaxation(toy_f, 2)
    written = []
    charts = {
        "marginal": dict(lim=(0.0, 1.0), t_vanilla=1.5, t_natural=3.0, label=r"\mu"),
        "natural": dict(lim=(-3.0, 3.0), t_vanilla=3.0, t_natural=3.0, label=r"\theta"),
    }
    for coords, spec in charts.items():
        lo, hi = spec["lim"]
        grid = np.linspace(lo, hi, 201)
        g1, g2 = np.meshgrid(grid, grid)
        F = np.vectorize(lambda a, b, c=coords: toy.value(np.array([a, b]), c))(g1, g2)
        starts = np.linspace(lo + 0.1 * (hi - lo), hi - 0.1 * (hi - lo), 5)
        fig, axes = plt.subplots(1, 2, figsize=(10.5, 4.8), constrained_layout=True)
        for ax, kind, color in zip(axes, ("vanilla", "natural"), (VANILLA, NATURAL), strict=True):
            cs = ax.contour(g1, g2, F, levels=15, colors="0.55", linewidths=0.6)
            ax.clabel(cs, fontsize=6, fmt="%.1f")
            q = np.linspace(lo + 0.05 * (hi - lo), hi - 0.05 * (hi - lo), 13)
            qx, qy = np.meshgrid(q, q)
            grad = toy.natural_gradient if kind == "natural" else toy.gradient
            v = np.array(
                [
                    -grad(np.array([a, b]), coords)
                    for a, b in zip(qx.ravel(), qy.ravel(), strict=True)
                ]
            )
            ax.quiver(qx, qy, v[:, 0], v[:, 1], color="0.6", width=0.003, angles="xy")
            t_end = spec[f"t_{kind}"]
            for a in starts:
                for b in starts:
                    fl = toy.flow(np.array([a, b]), coords, kind, "descent", t_end=t_end)
                    _draw_flow(ax, fl.xi, color)
            sym = spec["label"]
            ax.set_xlabel(rf"${sym}_1$" + (r" $= P(X_1=+1)$" if coords == "marginal" else ""))
            ax.set_ylabel(rf"${sym}_2$" + (r" $= P(X_2=+1)$" if coords == "marginal" else ""))
            ax.set_xlim(lo - 0.02 * (hi - lo), hi + 0.02 * (hi - lo))
            ax.set_ylim(lo - 0.02 * (hi - lo), hi + 0.02 * (hi - lo))
            ax.set_aspect("equal")
            word = "vanilla" if kind == "vanilla" else "natural"
            ax.set_title(
                rf"{word} descent flow in ${sym}$, $t \in [0, {t_end:g}]$: "
                + (r"$\dot\xi=-\nabla F$" if kind == "vanilla" else r"$\dot\xi=-I^{-1}\nabla F$"),
                fontsize=10,
            )
            _legend(
                ax,
                [(f"{word} flow", color), ("−(gradient) field", "0.6"), ("level sets of F", "0.3")],
            )
            if coords == "marginal":
                for (x1, x2), fv in zip(
                    [(1, 1), (1, 0), (0, 1), (0, 0)], [6, -4, -2, 0], strict=True
                ):
                    ax.annotate(
                        f"f={fv}",
                        (x1, x2),
                        fontsize=8,
                        fontweight="bold",
                        ha="left" if x1 == 0 else "right",
                        va="top" if x2 else "bottom",
                        xytext=(4 if x1 == 0 else -4, -4 if x2 else 4),
                        textcoords="offset points",
                    )
        name = "μ (marginal probabilities)" if coords == "marginal" else "θ (natural parameters)"
        fig.suptitle(
            r"Toy $f = x_1 + 2x_2 + 3x_1x_2$ on $\{-1,+1\}^2$, minimising $F = E[f]$ over the "
            f"independence model, in {name}",
            fontsize=11,
        )
        path = out / f"binary_toy_{coords}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written


def gaussian_1d(
    out: Path,
    coeffs: list[float],
    title: str,
    name: str,
    starts: list[tuple[float, float]],
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    t_vanilla: float,
    t_natural: float,
) -> Path:
    g = flows.GaussianRelaxation1D(coeffs)
    mu = np.linspace(*xlim, 241)
    sigma = np.linspace(max(ylim[0], 1e-3), ylim[1], 200)
    m, s = np.meshgrid(mu, sigma)
    F = np.vectorize(lambda a, b: g.value(np.array([a, b])))(m, s)
    fig, ax = plt.subplots(figsize=(7.5, 5.2), constrained_layout=True)
    levels = np.quantile(F, np.linspace(0.02, 1.0, 25))
    cs = ax.contour(m, s, F, levels=np.unique(levels), colors="0.55", linewidths=0.6)
    ax.clabel(cs, fontsize=6, fmt="%.1f")
    for st in starts:
        _draw_flow(
            ax,
            g.flow(np.array(st), kind="vanilla", direction="ascent", t_end=t_vanilla).xi,
            VANILLA,
        )
        _draw_flow(
            ax,
            g.flow(np.array(st), kind="natural", direction="ascent", t_end=t_natural).xi,
            NATURAL,
        )
    ax.set_xlim(*xlim)
    ax.set_ylim(0, ylim[1])
    ax.set_xlabel(r"mean $\mu$")
    ax.set_ylabel(r"standard deviation $\sigma$")
    ax.set_title(
        title
        + r": ascent flows $\dot\xi = \nabla F$ and $\dot\xi = I^{-1}\nabla F$ in $(\mu,\sigma)$,"
        "\nlevel lines of " + r"$F(\mu,\sigma) = E_{\mu,\sigma}[f]$",
        fontsize=10,
    )
    _legend(
        ax,
        [
            ("vanilla gradient flow", VANILLA),
            ("natural gradient flow", NATURAL),
            ("level lines of F", "0.3"),
        ],
    )
    path = out / name
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def gaussian_2d(out: Path) -> Path:
    b = np.array([1.0, 2.0])
    Q = np.array([[-3.0, -1.0], [-1.0, -2.0]])
    g = flows.GaussianQuadraticRelaxation(b, Q)
    cov0 = np.array([[1.0, -0.5], [-0.5, 2.0]])
    x = np.linspace(-2.5, 2.5, 201)
    x1, x2 = np.meshgrid(x, x)
    fx = g.f(np.column_stack([x1.ravel(), x2.ravel()])).reshape(x1.shape)
    fig, ax = plt.subplots(figsize=(6.8, 6.0), constrained_layout=True)
    cs = ax.contour(
        x1, x2, fx, levels=np.linspace(fx.min(), fx.max(), 30)[10:], colors="0.55", linewidths=0.6
    )
    ax.clabel(cs, fontsize=6, fmt="%.0f")
    angles = np.linspace(0, 2 * np.pi, 10, endpoint=False)
    for a in angles:
        mu0 = 2.0 * np.array([np.cos(a), np.sin(a)])
        xi0 = g.from_mean_cov(mu0, cov0, "mean_cov")
        van = g.flow(xi0, kind="vanilla", direction="ascent", t_end=3.0)
        nat = g.flow(xi0, kind="natural", direction="ascent", t_end=30.0)
        _draw_flow(ax, van.xi[:, :2], VANILLA)
        _draw_flow(ax, nat.xi[:, :2], NATURAL)
    star = -0.5 * np.linalg.solve(Q, b)
    ax.plot(*star, "*", color="k", ms=11)
    ax.set_aspect("equal")
    ax.set_xlim(-2.5, 2.5)
    ax.set_ylim(-2.5, 2.5)
    ax.set_xlabel(r"$\mu_1$")
    ax.set_ylabel(r"$\mu_2$")
    ax.set_title(
        r"$f = x_1 + 2x_2 - 3x_1^2 - 2x_1x_2 - 2x_2^2$: ascent flows in $(\mu,\Sigma)$ projected on"
        "\n"
        + r"$(\mu_1,\mu_2)$, from $\sigma_{11}=1, \sigma_{12}=-0.5, \sigma_{22}=2$; level lines of $f$",
        fontsize=10,
    )
    _legend(
        ax,
        [
            ("vanilla gradient flow (stops where Σ leaves the PD cone)", VANILLA),
            ("natural gradient flow", NATURAL),
            ("level lines of f", "0.3"),
        ],
        [plt.Line2D([], [], ls="", marker="*", color="k", ms=10, label=r"argmax $f = -Q^{-1}b/2$")],
    )
    path = out / "gaussian_2d_quadratic.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "figures")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    written = binary_toy(args.out)
    written.append(
        gaussian_1d(
            args.out,
            [0.0, 1.0, -3.0],
            r"$f = x - 3x^2$",
            "gaussian_1d_quadratic.png",
            [(-2.0, 2.5), (-1.0, 1.0), (1.5, 2.8), (2.0, 0.6), (-2.2, 0.4), (0.5, 2.9)],
            (-2.5, 2.5),
            (0.0, 3.0),
            t_vanilla=3.0,
            t_natural=40.0,
        )
    )
    written.append(
        gaussian_1d(
            args.out,
            [0.0, 6.0, 8.0, -1.0, -2.0],
            r"$f = 6x + 8x^2 - x^3 - 2x^4$",
            "gaussian_1d_quartic.png",
            [
                (-2.5, 1.0),
                (-0.8, 0.3),
                (0.0, 0.2),
                (-0.3, 1.6),
                (2.5, 1.2),
                (0.8, 1.8),
                (-2.0, 0.3),
            ],
            (-3.0, 3.0),
            (0.0, 2.0),
            t_vanilla=2.0,
            t_natural=40.0,
        )
    )
    written.append(gaussian_2d(args.out))
    for p in written:
        print(p)


if __name__ == "__main__":
    main()
