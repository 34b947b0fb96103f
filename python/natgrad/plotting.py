"""``natgrad.plot``: pycma's four-panel figure of a run's history (needs matplotlib)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .optim.history import History

__all__ = ["plot"]

_HINT = 'natgrad.plot needs matplotlib: pip install "natgrad[plot]"'


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(_HINT) from exc
    return plt


def _as_history(result: Any) -> History:
    if isinstance(result, History):
        return result
    history = getattr(result, "history", None)
    if history is None and isinstance(result, dict):
        history = result.get("history")
    if isinstance(history, History):
        return history
    if isinstance(result, (str, os.PathLike)):
        return History.load(result)
    raise ValueError(
        "plot needs the result of natgrad.minimize (with .history), a natgrad History, or the "
        f"path of a log file written with log=, got {type(result).__name__}"
    )


def plot(
    result: Any, path: str | os.PathLike[str] | None = None, *, title: str | None = None
) -> Any:
    """Plot a run's history in pycma's four panels; return the matplotlib Figure.

    Parameters
    ----------
    result : OptimizeResult, History, or path
        The result of :func:`natgrad.minimize`, its ``history``, or a ``.csv``/``.npz`` file
        written with ``minimize(..., log=path)``.
    path : str or os.PathLike, optional
        Save the figure there (any format matplotlib knows from the suffix, e.g. ``.png``).
    title : str, optional
        Figure title.

    The panels, all against the number of evaluations, with a dotted vertical line at each
    restart (pycma's figure, with the diagonal of C where pycma shows its eigenvalues): (1) the
    best and the median f of each generation (minus the best value of the run when some f <= 0),
    the step size σ and sqrt(condition) on one log axis; (2) the mean of the search
    distribution, per coordinate (n <= 100); (3) the shape sqrt(C_ii) per coordinate (n <= 100;
    beyond, the ratio of the largest to the smallest axis scale); (4) the standard deviations
    σ·sqrt(C_ii) and their minimum and maximum.

    Raises
    ------
    ImportError
        Without matplotlib, naming ``pip install "natgrad[plot]"``.
    """
    history = _as_history(result)
    plt = _pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5), constrained_layout=True)
    starts = history.restarts
    restarts = history.evaluations[starts - 1] if starts.size else np.empty(0)

    def split(column: np.ndarray) -> np.ndarray:
        """The column with a NaN row before each restart, so that no line joins two runs."""
        values = np.asarray(column, dtype=np.float64)
        return np.insert(values, starts, np.nan, axis=0) if starts.size else values

    evals = split(history.evaluations)
    f_best, f_median = split(history.f_best), split(history.f_median)
    finite = np.isfinite(f_best)

    ax = axes[0, 0]
    if finite.any() and np.all(f_best[finite] > 0):
        ax.semilogy(evals, f_best, "b-", lw=1, label="f_best (of the generation)")
        ax.semilogy(evals, f_median, "c-", lw=0.7, label="f_median")
        ax.set_title("f, σ, √condition")
    else:
        # pycma's f − f_min, with a floor so that the best generation stays on a log axis
        fmin = float(np.nanmin(f_best)) if finite.any() else 0.0
        with np.errstate(invalid="ignore"):
            spread = float(np.nanmax(np.abs(f_best - fmin))) if finite.any() else 1.0
        floor = max(1e-300, 1e-16 * max(spread, abs(fmin)))
        ax.semilogy(evals, f_best - fmin + floor, "b-", lw=1, label="f_best − f_min")
        ax.semilogy(evals, f_median - fmin + floor, "c-", lw=0.7, label="f_median − f_min")
        ax.set_title(f"f − f_min (f_min = {fmin:.6g}), σ, √condition")
    ax.semilogy(evals, split(history.sigma), "g-", lw=1, label="σ")
    condition = np.isfinite(history.condition)
    if condition.any():
        ax.semilogy(
            history.evaluations[condition],
            np.sqrt(history.condition[condition]),
            "r.",
            ms=3,
            label="√cond(C)",
        )
    ax.legend(fontsize="small", loc="best")

    ax = axes[0, 1]
    if history.mean is not None:
        ax.plot(evals, split(history.mean), lw=0.8)
        ax.set_title(f"mean of the search distribution ({history.mean.shape[1]} coordinates)")
    else:
        ax.text(0.5, 0.5, "mean not recorded (n > 100)", ha="center", va="center")
        ax.set_title("mean of the search distribution")

    scaled = np.isfinite(history.scale_max)
    sigma = history.sigma[:, None]
    ax = axes[1, 0]
    if history.scales is not None:
        ax.semilogy(evals, split(history.scales / sigma), lw=0.8)
        ax.set_title("shape: √C_ii = σ·√C_ii / σ, all coordinates")
    else:
        ratio = history.scale_max[scaled] / history.scale_min[scaled]
        ax.semilogy(history.evaluations[scaled], ratio, "k-", lw=1, label="max / min σ·√C_ii")
        ax.set_title("shape: ratio of the largest to the smallest axis scale")
        ax.legend(fontsize="small", loc="best")

    ax = axes[1, 1]
    if history.scales is not None:
        ax.semilogy(evals, split(history.scales), lw=0.8)
    ax.semilogy(
        history.evaluations[scaled], history.scale_max[scaled], "k--", lw=1, label="max σ·√C_ii"
    )
    ax.semilogy(
        history.evaluations[scaled], history.scale_min[scaled], "k-.", lw=1, label="min σ·√C_ii"
    )
    ax.set_title(
        "standard deviations σ·√C_ii" + (", all coordinates" if history.scales is not None else "")
    )
    ax.legend(fontsize="small", loc="best")

    for ax in axes.flat:
        ax.set_xlabel("evaluations")
        ax.grid(True, which="major", alpha=0.3)
        for x in restarts:
            ax.axvline(x, color="k", ls=":", lw=0.8)
    if title is not None:
        fig.suptitle(title)
    if path is not None:
        fig.savefig(os.fspath(path), dpi=100)
    return fig
