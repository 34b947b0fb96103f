"""Checkpoints of an :class:`~natgrad.optim.Optimizer` that execute no code when loaded.

Format (version 1): one NumPy ``.npz`` archive, written with ``numpy.savez`` and read with
``numpy.load(..., allow_pickle=False)``, holding

* ``meta``: UTF-8 JSON (as a uint8 array) with ``format = "natgrad-checkpoint"``, ``version``,
  the natgrad version that wrote it, the strategy's registered name and constructor options,
  the optimiser's settings (popsize, sigma0, max_evals, ftarget, tolx, tolfun, stagnation,
  max_condition), the run's counters, best value, tolfun history and stop reason, the scalar
  fields of the state records, and the random generator's bit-generator state;
* ``state.<field>`` and ``checked_state.<field>``: the array fields of the strategy's state (the
  current one and the last one verified finite);
* ``best_x``, ``bounds.lower``, ``bounds.upper``, ``pending.noise``, ``pending.injected`` (the
  points of :meth:`Optimizer.inject` in the pending batch) and ``injected`` (points waiting for
  the next ``ask``) when present;
  ``integers`` in the JSON lists the integer coordinates (absent or null: none).
* in a checkpoint of ``natgrad.minimize(..., checkpoint=path)``: a ``minimize`` mapping in the
  JSON (the restart loop's counters and the earlier runs' results) and the arrays
  ``minimize.<name>`` (the earlier runs' best points, the history); :meth:`Optimizer.load` reads
  the optimiser of the current run from such a file and ignores that part.

Files written before ``max_iter`` existed (no such setting) load with ``max_iter=None``.

The candidates of a pending batch are not stored: loading recomputes them from the noise and the
state (the injected rows are the stored points), so a file cannot make the optimiser tell a batch
it did not draw or was not given. Loading validates every
entry (types, shapes, finiteness, ranges) through the same checks as the constructor and the
strategy boundary, and refuses anything else with a ValueError; a resumed run continues bit for
bit as the uninterrupted one (same build level, see the README). Only strategies registered in
:data:`natgrad.optim.METHODS` can be saved (the file names the strategy; it cannot carry code).
Pickling an Optimizer also works, but unpickling runs code: load pickles only from trusted
sources.
"""

from __future__ import annotations

import io
import json
import math
import os
import pathlib
import zipfile
from typing import TYPE_CHECKING, Any

import numpy as np

from .registry import METHODS, get_strategy, strategy_class

if TYPE_CHECKING:
    from .optimizer import Optimizer

FORMAT = "natgrad-checkpoint"
VERSION = 1
#: bit generators a checkpoint may name (all of NumPy's)
_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")
_STOP_REASONS = (
    None, "ftarget", "max_evals", "max_iter", "nonfinite", "tolfun", "stagnation", "tolx", "condition",
    "invalid_state",
)  # fmt: skip
_SETTINGS = (
    "popsize",
    "sigma0",
    "max_evals",
    "max_iter",
    "ftarget",
    "tolx",
    "tolfun",
    "stagnation",
    "max_condition",
)


def _jsonable(value: Any) -> Any:
    """Bit-generator states and options as JSON (arrays to lists, NumPy scalars to Python)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return {"__array__": value.tolist(), "dtype": str(value.dtype)}
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _from_json(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__array__", "dtype"}:
            if value["dtype"] not in ("uint32", "uint64", "int64"):
                raise ValueError(
                    f"unexpected array dtype {value['dtype']!r} in the generator state"
                )
            return np.array(value["__array__"], dtype=value["dtype"])
        return {k: _from_json(v) for k, v in value.items()}
    return value


def save(
    opt: Optimizer,
    path: str | os.PathLike[str],
    extra_meta: dict[str, Any] | None = None,
    extra_arrays: dict[str, np.ndarray] | None = None,
) -> None:
    """Write ``opt`` to ``path`` (see the module docstring); the file is replaced atomically.

    ``extra_meta`` and ``extra_arrays`` are the ``minimize`` part (written by natgrad.minimize).
    """
    strategy = opt.strategy
    if strategy.name not in METHODS or strategy_class(strategy.name) is not type(strategy):
        raise ValueError(
            f"only registered strategies can be saved (the file names its strategy), got "
            f"{type(strategy).__name__} named {strategy.name!r}; pickle it instead"
        )
    run = opt._run
    arrays: dict[str, np.ndarray] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for label, record in (("state", run.state), ("checked_state", run.checked_state)):
        scalars[label] = {}
        for field, value in record._asdict().items():
            if isinstance(value, np.ndarray):
                arrays[f"{label}.{field}"] = np.asarray(value)
            else:
                scalars[label][field] = _jsonable(value)
    if run.best_x is not None:
        arrays["best_x"] = np.asarray(run.best_x)
    if run.pending is not None:
        arrays["pending.noise"] = run.pending.noise
        if run.pending.injected is not None:
            arrays["pending.injected"] = run.pending.injected
    if run.injected is not None:
        arrays["injected"] = run.injected
    if opt._sides is not None:
        arrays["bounds.lower"], arrays["bounds.upper"] = opt._sides
    bit_generator = opt._rng.bit_generator
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "natgrad_version": _natgrad_version(),
        "strategy": strategy.name,
        "options": _jsonable(strategy.options()),
        "dim": opt.dim,
        "settings": {name: _jsonable(_setting(opt, name)) for name in _SETTINGS},
        "integers": None if opt._lattice is None else opt._lattice.index.tolist(),
        "run": {
            "evaluations": run.evaluations,
            "generation": run.generation,
            "best_f": run.best_f,
            "best_generation": run.best_generation,
            "history": list(run.history),
            "nonfinite_run": run.nonfinite_run,
            "stop_reason": run.stop_reason,
        },
        "scalars": scalars,
        "rng": {
            "bit_generator": type(bit_generator).__name__,
            "state": _jsonable(bit_generator.state),
        },
    }
    if extra_meta is not None:
        meta["minimize"] = _jsonable(extra_meta)
        for key, value in (extra_arrays or {}).items():
            arrays[f"minimize.{key}"] = np.asarray(value)
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    target = os.fspath(path)
    temporary = target + ".partial"
    savez: Any = np.savez  # its stub types **arrays as if one could be its allow_pickle flag
    buffer = io.BytesIO()
    savez(buffer, **arrays)
    # one call opens, writes and closes the file: an interrupt cannot fall between the open and
    # the close in natgrad's code (it did, at the exit of a `with` block, and leaked the file)
    pathlib.Path(temporary).write_bytes(buffer.getbuffer())
    os.replace(temporary, target)  # a crash mid-write never leaves a truncated checkpoint


def _setting(opt: Optimizer, name: str) -> Any:
    if name == "sigma0" and opt._stds is not None:  # a vector sigma0: the per-coordinate stds
        return opt._stds.tolist()
    return getattr(opt, f"_{name}")


def _natgrad_version() -> str:
    from .. import __version__

    return __version__


class _Archive:
    """The arrays of a checkpoint, each read once and checked for dtype."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        try:
            with open(path, "rb") as f:
                data = f.read()
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                self.arrays = {name: npz[name] for name in npz.files}
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as exc:
            raise ValueError(
                f"{os.fspath(path)!r} is not a readable natgrad checkpoint: {exc}"
            ) from exc
        self.used = {"meta"}

    def extras(self) -> dict[str, np.ndarray]:
        """The ``minimize.<name>`` arrays, by name (marked as used)."""
        out = {}
        for name, value in self.arrays.items():
            if name.startswith("minimize."):
                self.used.add(name)
                out[name[len("minimize.") :]] = value
        return out

    def get(self, name: str, required: bool = True) -> np.ndarray | None:
        if name not in self.arrays:
            if required:
                raise ValueError(f"checkpoint is missing the array {name!r}")
            return None
        self.used.add(name)
        value = self.arrays[name]
        if value.dtype != np.float64:
            raise ValueError(f"checkpoint array {name!r} must be float64, got {value.dtype}")
        return value


def load(path: str | os.PathLike[str]) -> Optimizer:
    """Read a checkpoint written by :func:`save`; ValueError if any part of it does not check."""
    return load_with_extras(path)[0]


def load_with_extras(
    path: str | os.PathLike[str],
) -> tuple[Optimizer, dict[str, Any] | None, dict[str, np.ndarray]]:
    """The optimiser of a checkpoint and its ``minimize`` part (None and {} when absent)."""
    from .optimizer import Batch, Optimizer

    archive = _Archive(path)
    try:
        meta_bytes = archive.arrays["meta"]
        if meta_bytes.dtype != np.uint8 or meta_bytes.ndim != 1:
            raise ValueError("the meta entry is not UTF-8 JSON")
        meta = json.loads(meta_bytes.tobytes().decode())
        extra_meta = meta.get("minimize") if isinstance(meta, dict) else None
        if extra_meta is not None and not isinstance(extra_meta, dict):
            raise ValueError("the minimize entry must be a mapping")
        extra_arrays = archive.extras() if extra_meta is not None else {}
        return _restore(meta, archive, Optimizer, Batch), extra_meta, extra_arrays
    except (KeyError, TypeError, AttributeError, IndexError, UnicodeDecodeError) as exc:
        raise ValueError(f"{os.fspath(path)!r} is not a valid natgrad checkpoint: {exc!r}") from exc
    except ValueError as exc:
        raise ValueError(f"{os.fspath(path)!r} is not a valid natgrad checkpoint: {exc}") from exc


def _restore(meta: dict[str, Any], archive: _Archive, optimizer_cls: Any, batch_cls: Any) -> Any:
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"format must be {FORMAT!r}")
    if meta.get("version") != VERSION:
        raise ValueError(
            f"version {meta.get('version')!r} is not supported (this natgrad reads {VERSION})"
        )
    name = meta["strategy"]
    if name not in METHODS:
        raise ValueError(f"unknown strategy {name!r}")
    options = meta["options"]
    if not isinstance(options, dict):
        raise ValueError("options must be a mapping")
    strategy = get_strategy(name, **options)  # the constructor validates every option
    settings = dict(meta["settings"])
    settings.setdefault("max_iter", None)  # files from before max_iter
    if set(settings) != set(_SETTINGS):
        raise ValueError(f"settings must have the keys {_SETTINGS}")

    def record(label: str) -> Any:
        scalars = meta["scalars"][label]
        fields = {}
        state_type: Any = strategy.state_type
        for field in state_type._fields:
            array = archive.get(f"{label}.{field}", required=False)
            if array is None and field == "margin_scale" and field not in scalars:
                # written before the strategy carried integer handling: no margin yet, A = 1
                array = np.ones(int(meta["dim"]))
            fields[field] = array if array is not None else scalars[field]
        return strategy.check_state(strategy.state_type(**fields), int(meta["dim"]))

    state, checked_state = record("state"), record("checked_state")
    lower, upper = archive.get("bounds.lower", False), archive.get("bounds.upper", False)
    if (lower is None) != (upper is None):
        raise ValueError("bounds need both bounds.lower and bounds.upper")
    bounds = None if lower is None else (lower, upper)
    rng = _generator(meta["rng"])
    x0 = np.array(state.mean)
    if bounds is not None:  # the constructor takes x0 in the box; the state is restored below
        x0 = np.clip(x0, lower, upper)
    opt = optimizer_cls(
        strategy,
        x0,
        settings["sigma0"],
        popsize=settings["popsize"],
        bounds=bounds,
        max_evals=settings["max_evals"],
        max_iter=settings["max_iter"],
        ftarget=settings["ftarget"],
        tolx=settings["tolx"],
        tolfun=settings["tolfun"],
        stagnation=settings["stagnation"],
        max_condition=settings["max_condition"],
        rng=rng,
        integers=meta.get("integers"),  # absent in files without integer coordinates
    )
    if opt.dim != meta["dim"]:
        raise ValueError(f"dim {meta['dim']!r} does not match state.mean")
    run = meta["run"]
    counts = {k: run[k] for k in ("evaluations", "generation", "best_generation", "nonfinite_run")}
    for key, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"run.{key} must be an integer >= 0, got {value!r}")
    best_f = run["best_f"]
    if isinstance(best_f, bool) or not isinstance(best_f, (int, float)) or math.isnan(best_f):
        raise ValueError(f"run.best_f must be a number, got {best_f!r}")
    best_x = archive.get("best_x", required=False)
    if (best_x is None) != (best_f == math.inf):
        raise ValueError("best_x must be present exactly when best_f is finite")
    if best_x is not None and (best_x.shape != (opt.dim,) or not np.isfinite(best_x).all()):
        raise ValueError(f"best_x must be finite with shape ({opt.dim},)")
    history = run["history"]
    if not isinstance(history, list) or len(history) > opt._history_len:
        raise ValueError("run.history must be a list of at most the tolfun window's length")
    if not all(isinstance(h, (int, float)) and math.isfinite(h) for h in history):
        raise ValueError("run.history must hold finite numbers")
    if run["stop_reason"] not in _STOP_REASONS:
        raise ValueError(f"unknown stop_reason {run['stop_reason']!r}")
    pending = None
    noise = archive.get("pending.noise", required=False)
    if noise is not None:
        shape = strategy.noise_shape(state, opt.popsize)
        if noise.shape != shape or not np.isfinite(noise).all():
            raise ValueError(f"pending.noise must be finite with shape {shape}")
        samples = strategy.sample(state, noise)
        asked = opt._for_f(state, samples)
        shown = _injected(archive, "pending.injected", opt, shape[0])
        if shown is not None:  # f saw the injected points themselves (Optimizer.inject)
            asked = asked.copy() if asked is samples else asked
            asked[shape[0] - shown.shape[0] :] = shown
        returned = asked.copy()
        returned.flags.writeable = False
        pending = batch_cls(np.ascontiguousarray(noise), samples, asked, returned, shown)
    queued = _injected(archive, "injected", opt, opt.popsize)
    unused = set(archive.arrays) - archive.used
    if unused:
        raise ValueError(f"unexpected entries {sorted(unused)}")
    from .strategy import freeze

    opt._run = opt._run._replace(
        state=freeze(state),
        checked_state=freeze(checked_state),
        evaluations=counts["evaluations"],
        generation=counts["generation"],
        best_x=best_x,
        best_f=float(best_f),
        best_generation=counts["best_generation"],
        history=tuple(float(h) for h in history),
        nonfinite_run=counts["nonfinite_run"],
        stop_reason=run["stop_reason"],
        pending=pending,
        injected=queued,
    )
    return opt


def _injected(archive: Any, key: str, opt: Any, rows: int) -> np.ndarray | None:
    """Injected points stored under ``key`` (read-only), checked: finite, (k, n), k <= rows."""
    points = archive.get(key, required=False)
    if points is None:
        return None
    if points.ndim != 2 or points.shape[1] != opt.dim or not 1 <= points.shape[0] <= rows:
        raise ValueError(f"{key} must have shape (k, {opt.dim}) with 1 <= k <= {rows}")
    if not np.isfinite(points).all():
        raise ValueError(f"{key} must be finite")
    points = np.array(points)
    points.flags.writeable = False
    return points


def _generator(spec: dict[str, Any]) -> np.random.Generator:
    name = spec["bit_generator"]
    if name not in _BIT_GENERATORS:
        raise ValueError(f"unknown bit generator {name!r}")
    bit_generator = getattr(np.random, name)()
    bit_generator.state = _from_json(spec["state"])  # NumPy checks the state's layout
    return np.random.Generator(bit_generator)
