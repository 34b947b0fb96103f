"""Per-generation record of a ``natgrad.minimize`` run (``res.history``), its files and its plot.

What is recorded, per generation told (over all restarts, in order)
------------------------------------------------------------------
``run`` (0 for the first run, k after the k-th restart), ``generation`` (within the run, from 1),
``iteration`` (over all runs, from 1), ``evaluations`` (cumulative over all runs), ``popsize``,
``f_best``, ``f_median`` and ``f_worst`` (of the generation's finite values; NaN when it had none),
``f_best_so_far`` (over all runs), ``sigma`` (the step size after the update),
``scale_min`` / ``scale_max`` (min and max over i of σ·sqrt(C_ii), the axis scales),
``condition`` (the strategy's condition number of C).

Cost: the scalar columns cost a sort of λ values per generation. The axis scales cost O(n²) for
the full-covariance strategies (the row norms of the factor), so beyond n = ``VECTOR_MAX_DIM`` they
are recorded every ``SCALES_EVERY`` generations of a run, at its first generation and at the
generation the optimiser stops it (NaN in between); ``condition`` may cost O(n³) (a singular
value decomposition) and is recorded every ``condition_every(n)`` generations. For
n <= ``VECTOR_MAX_DIM`` the mean and all n axis scales are kept as (generations, n) arrays too
(``mean`` and ``scales``); beyond, they are None. No n × n matrix is copied.
"""

from __future__ import annotations

import csv
import io
import math
import os
import pathlib
from typing import Any

import numpy as np

from .._validation import FloatArray

__all__ = ["FIELDS", "SCALES_EVERY", "VECTOR_MAX_DIM", "History", "condition_every"]

#: the scalar columns, in order, with their dtype
FIELDS: tuple[tuple[str, str], ...] = (
    ("run", "i8"),
    ("generation", "i8"),
    ("iteration", "i8"),
    ("evaluations", "i8"),
    ("popsize", "i8"),
    ("f_best", "f8"),
    ("f_median", "f8"),
    ("f_worst", "f8"),
    ("f_best_so_far", "f8"),
    ("sigma", "f8"),
    ("scale_min", "f8"),
    ("scale_max", "f8"),
    ("condition", "f8"),
)
_NAMES = tuple(name for name, _ in FIELDS)
#: largest n for which the mean and every axis scale are recorded at every generation
VECTOR_MAX_DIM = 100
#: beyond VECTOR_MAX_DIM, the axis scales are recorded every this many generations of a run
SCALES_EVERY = 10


def condition_every(dim: int) -> int:
    """Generations between two records of the condition number in dimension ``dim``.

    ``10 · ceil(n² / 100)``: an O(n³) condition number then costs O(n) per generation on average
    (10 generations for n <= 10, 1000 for n = 100, 10⁵ for n = 1000).
    """
    return 10 * max(1, math.ceil(dim * dim / 100))


class History:
    """The record of a run: one row per generation (see the module docstring).

    Columns are attributes (``history.sigma``) and items (``history["sigma"]``), NumPy arrays of
    equal length; ``mean`` and ``scales`` are (generations, n) arrays for n <= VECTOR_MAX_DIM and
    None beyond. ``len(history)`` is the number of generations.
    """

    run: np.ndarray
    generation: np.ndarray
    iteration: np.ndarray
    evaluations: np.ndarray
    popsize: np.ndarray
    f_best: np.ndarray
    f_median: np.ndarray
    f_worst: np.ndarray
    f_best_so_far: np.ndarray
    sigma: np.ndarray
    scale_min: np.ndarray
    scale_max: np.ndarray
    condition: np.ndarray
    mean: np.ndarray | None
    scales: np.ndarray | None

    def __init__(
        self,
        columns: dict[str, np.ndarray],
        mean: np.ndarray | None = None,
        scales: np.ndarray | None = None,
    ) -> None:
        rows = None
        for name, dtype in FIELDS:
            column = np.array(columns[name], dtype=dtype).reshape(-1)
            if rows is not None and column.size != rows:
                raise ValueError(f"history column {name!r} has {column.size} rows, not {rows}")
            rows = column.size
            column.flags.writeable = False
            setattr(self, name, column)
        for label, block in (("mean", mean), ("scales", scales)):
            if block is not None:
                block = np.array(block, dtype=np.float64)
                if block.ndim != 2 or block.shape[0] != rows:
                    raise ValueError(
                        f"history {label} must have shape ({rows}, n), got {block.shape}"
                    )
                block.flags.writeable = False
            setattr(self, label, block)

    @property
    def fields(self) -> tuple[str, ...]:
        """Names of the scalar columns."""
        return _NAMES

    @property
    def restarts(self) -> np.ndarray:
        """Row indices where a restart begins (the first generation of runs 1, 2, ...)."""
        return np.flatnonzero(np.diff(self.run) != 0) + 1

    def __len__(self) -> int:
        return int(self.run.size)

    def __getitem__(self, name: str) -> np.ndarray:
        if name in _NAMES or name in ("mean", "scales"):
            value = getattr(self, name)
            if value is not None:
                return value
        raise KeyError(name)

    def to_structured(self) -> np.ndarray:
        """The scalar columns as one NumPy structured array (one record per generation)."""
        out = np.empty(len(self), dtype=list(FIELDS))
        for name in _NAMES:
            out[name] = getattr(self, name)
        return out

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the history to ``path``: ``.npz`` (every array) or ``.csv`` (scalar columns, then
        ``mean_<i>`` and ``scale_<i>`` columns when recorded). Replaced atomically."""
        target = os.fspath(path)
        suffix = os.path.splitext(target)[1].lower()
        if suffix not in (".csv", ".npz"):
            raise ValueError(f"log must be a path ending in .csv or .npz, got {target!r}")
        temporary = target + ".partial"
        # written in memory first, then by one call (see checkpoint.save: no open file can leak)
        if suffix == ".npz":
            buffer = io.BytesIO()
            savez: Any = np.savez
            savez(buffer, **self.arrays())
            pathlib.Path(temporary).write_bytes(buffer.getbuffer())
        else:
            header = list(_NAMES)
            blocks = [self.to_structured()[name].reshape(-1, 1).astype(object) for name in _NAMES]
            for label, prefix in (("mean", "mean_"), ("scales", "scale_")):
                block = getattr(self, label)
                if block is not None:
                    header += [f"{prefix}{i}" for i in range(block.shape[1])]
                    blocks.append(block.astype(object))
            table = np.hstack(blocks) if blocks else np.empty((0, 0))
            text = io.StringIO(newline="")
            writer = csv.writer(text)
            writer.writerow(header)
            for row in table:
                writer.writerow([_cell(v) for v in row])
            pathlib.Path(temporary).write_bytes(text.getvalue().encode("utf-8"))
        os.replace(temporary, target)

    def arrays(self) -> dict[str, np.ndarray]:
        """Every column by name (plus ``mean``/``scales`` when recorded): the .npz contents."""
        out = {name: getattr(self, name) for name in _NAMES}
        for label in ("mean", "scales"):
            if getattr(self, label) is not None:
                out[label] = getattr(self, label)
        return out

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> History:
        """A history written by :meth:`save` (``.npz`` or ``.csv``)."""
        target = os.fspath(path)
        if target.lower().endswith(".npz"):
            with np.load(target, allow_pickle=False) as npz:
                data = {name: npz[name] for name in npz.files}
            return cls(data, data.get("mean"), data.get("scales"))
        with open(target, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        header, body = rows[0], rows[1:]
        table = np.array([[float(v) for v in row] for row in body]).reshape(len(body), len(header))
        index = {name: i for i, name in enumerate(header)}
        columns = {name: table[:, index[name]] for name in _NAMES}
        mean_cols = [i for i, h in enumerate(header) if h.startswith("mean_")]
        scale_cols = [i for i, h in enumerate(header) if h.startswith("scale_") and h[6:].isdigit()]
        return cls(
            columns,
            table[:, mean_cols] if mean_cols else None,
            table[:, scale_cols] if scale_cols else None,
        )

    def __repr__(self) -> str:
        runs = int(self.run[-1]) + 1 if len(self) else 0
        vectors = "with" if self.mean is not None else "without"
        return f"History({len(self)} generations, {runs} run(s), {vectors} mean and scales)"


def _cell(value: Any) -> str:
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return repr(float(value))


class Recorder:
    """Builds a :class:`History` one generation at a time (used by ``natgrad.minimize``).

    :meth:`record` appends one complete row with a single ``list.append``, so an interrupt leaves
    either the whole row or none of it.
    """

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.vectors = dim <= VECTOR_MAX_DIM
        self.condition_every = condition_every(dim)
        self.rows: list[tuple[Any, ...]] = []
        self.best_so_far = math.inf

    @property
    def iterations(self) -> int:
        return len(self.rows)

    def record(self, opt: Any, values: FloatArray, run: int, evaluations: int) -> None:
        """Append the row of the generation just told to ``opt`` with ``values``."""
        ordered = np.sort(values)  # -inf first, +inf and NaN last
        # .item(i): Python floats, whose arithmetic is NumPy's without its per-scalar overhead
        if not (math.isfinite(ordered.item(0)) and math.isfinite(ordered.item(-1))):
            ordered = ordered[np.isfinite(ordered)]
        count = ordered.size
        if count:
            half = count // 2
            # np.median's value (the mean of the two middle values for an even count), without
            # its overhead of tens of microseconds, and halved first: two values near ±1.8e308
            # must not overflow
            middle = (
                ordered.item(half)
                if count % 2
                else 0.5 * ordered.item(half - 1) + 0.5 * ordered.item(half)
            )
            f_best, f_median, f_worst = (
                float(ordered.item(0)),
                float(middle),
                float(ordered.item(-1)),
            )
        else:
            f_best = f_median = f_worst = math.nan
        best_f = opt.best_f
        best_so_far = best_f if best_f < self.best_so_far else self.best_so_far
        generation = opt.generation
        # the state as the optimiser holds it: the record only reads it, so it skips the public
        # property's freezing of the arrays (a third of the cost of the rest of the row)
        strategy, state = opt.strategy, opt._run.state
        scales = None
        # with the vectors, the extremes of the scales are taken from them once, by history()
        scale_min = scale_max = math.nan
        if self.vectors:
            scales = strategy.axis_scales(state)
        elif generation % SCALES_EVERY == 0 or generation == 1 or opt.should_stop():
            scales = strategy.axis_scales(state)
            scale_min, scale_max = float(scales.min()), float(scales.max())
        condition = math.nan
        if generation % self.condition_every == 0:
            condition = float(strategy.condition_number(state))
        vectors = None
        if self.vectors:
            vectors = (opt.mean, scales)  # axis_scales returns a new array
        row = (
            run, generation, len(self.rows) + 1, evaluations, opt.popsize, f_best, f_median,
            f_worst, best_so_far, opt.sigma, scale_min, scale_max, condition, vectors,
        )  # fmt: skip
        self.rows.append(row)
        self.best_so_far = best_so_far

    def history(self) -> History:
        columns = {
            name: np.array([row[i] for row in self.rows], dtype=dtype)
            for i, (name, dtype) in enumerate(FIELDS)
        }
        mean = scales = None
        if self.vectors:
            mean = np.array([row[-1][0] for row in self.rows]).reshape(len(self.rows), self.dim)
            scales = np.array([row[-1][1] for row in self.rows]).reshape(len(self.rows), self.dim)
            if len(self.rows):  # one reduction for all rows instead of two per record
                columns["scale_min"], columns["scale_max"] = scales.min(axis=1), scales.max(axis=1)
        return History(columns, mean, scales)

    @classmethod
    def from_history(cls, history: History, dim: int) -> Recorder:
        """A recorder that continues ``history`` (for a resumed run)."""
        recorder = cls(dim)
        for i in range(len(history)):
            vectors = None
            if recorder.vectors:
                if history.mean is None or history.scales is None:
                    raise ValueError("the history of a run with n <= 100 must hold mean and scales")
                vectors = (np.array(history.mean[i]), np.array(history.scales[i]))
            row = tuple(getattr(history, name)[i].item() for name in _NAMES) + (vectors,)
            recorder.rows.append(row)
        if len(history):
            recorder.best_so_far = float(history.f_best_so_far[-1])
        return recorder
