"""``natgrad.minimize``: run an ask/tell optimiser on a black-box function to the end."""

from __future__ import annotations

import itertools
import json
import logging
import math
import os
import time
import warnings
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from concurrent.futures import TimeoutError as FuturesTimeout
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from .._validation import FloatArray, as_float, as_float_array, as_generator, as_int
from ._fixed import FixedVariables, WithFixed
from .history import History, Recorder
from .optimizer import CONVERGED_REASONS, Optimizer, as_count, parse_bounds, real_values
from .registry import build_strategy, default_method
from .strategy import Strategy

if TYPE_CHECKING:
    from scipy.optimize import OptimizeResult

__all__ = ["STATUS", "minimize"]

logger = logging.getLogger("natgrad")

#: ``OptimizeResult.status`` for each stop reason
STATUS = {
    "ftarget": 0,
    "tolx": 1,
    "tolfun": 2,
    "max_evals": 3,
    "stagnation": 4,
    "condition": 5,
    "nonfinite": 6,
    "invalid_state": 7,
    "callback": 8,
    "interrupted": 9,
    "max_time": 10,
    "eval_timeout": 11,
    "max_iter": 12,
    "run_max_iter": 13,
}

_MESSAGES = {
    "ftarget": "reached ftarget",
    "tolx": "step size below tolx",
    "tolfun": "function values flat to within tolfun",
    "max_evals": "reached max_evals",
    "max_iter": "reached max_iter",
    "run_max_iter": "a run reached run_max_iter generations (pycma's maxiter) with no restart left",
    "stagnation": "no improvement for `stagnation` generations",
    "condition": "covariance condition number above max_condition",
    "nonfinite": "no finite value for 10 generations in a row",
    "invalid_state": "the strategy produced a non-finite state",
    "callback": "stopped by the callback",
    "interrupted": "interrupted (KeyboardInterrupt); the best point so far is returned",
    "max_time": "reached max_time",
    "eval_timeout": "an evaluation took longer than eval_timeout; the best point so far is returned",
}

#: stop reasons after which no restart is made
_FINAL_REASONS = frozenset(
    {"ftarget", "max_evals", "max_iter", "callback", "interrupted", "max_time", "eval_timeout"}
)


def _run_cap(setting: int | str | None, dim: int, popsize: int) -> int | None:
    """Generations allowed to one run: ``run_max_iter``, with "default" pycma's maxiter."""
    if setting == "default":
        return int(100 + 150 * (dim + 3) ** 2 // popsize**0.5)
    return None if setting is None else int(setting)


#: signature entries of checkpoints written before the entry existed: what those runs used
_SIGNATURE_BEFORE = {"run_max_iter": None}


class _FinishedRun:
    """What the result needs of an earlier run restored from a checkpoint (not its optimiser)."""

    __slots__ = ("best_f", "best_x", "evaluations", "generation")

    def __init__(self, evaluations: int, generation: int, best_f: float, best_x: Any) -> None:
        self.evaluations, self.generation = evaluations, generation
        self.best_f, self.best_x = best_f, best_x


class _EvaluationTimeout(Exception):
    """An evaluation submitted to the executor did not finish within ``eval_timeout``."""


def _no_value_message(f: Any, values: FloatArray) -> str:
    """Why the first generation is refused: f gave no real value at any of its points."""
    name = getattr(f, "__name__", repr(f))
    return (
        f"f ({name}) returned None or NaN/Inf for all {values.size} points of the first "
        "generation: check that it returns a number (a missing `return` gives None). Occasional "
        "invalid values are fine (they rank worst); a first generation without any is refused"
    )


def _optimize_result() -> Any:
    try:
        from scipy.optimize import OptimizeResult
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "natgrad.minimize returns a scipy.optimize.OptimizeResult and needs SciPy (a "
            "dependency of natgrad): `pip install scipy`"
        ) from exc
    return OptimizeResult


def _evaluate(
    f: Callable[..., Any],
    X: FloatArray,
    vectorized: bool,
    executor: Executor | None,
    eval_timeout: float | None = None,
) -> FloatArray:
    """f at the rows of X, in row order, as a float array (None becomes NaN).

    f receives a writable copy: it may scribble on its input without changing the batch told.
    With ``eval_timeout``, each result is awaited at most that long after the previous one
    arrived; on a timeout the evaluations not yet started are cancelled.
    """
    work = np.array(X)
    if vectorized:
        raw = f(work)
    elif executor is not None and eval_timeout is not None:
        futures = [executor.submit(f, x) for x in work]
        raw = []
        try:
            for future in futures:
                raw.append(future.result(timeout=eval_timeout))
        except FuturesTimeout:
            for future in futures:
                future.cancel()
            raise _EvaluationTimeout(
                f"evaluation {len(raw)} of the generation did not finish within eval_timeout = "
                f"{eval_timeout:g} s"
            ) from None
    elif executor is not None:
        raw = list(executor.map(f, work))
    else:
        raw = [f(x) for x in work]
    try:
        values = real_values("f's values", raw)
    except ValueError as exc:
        raise ValueError(f"f must return real numbers (or None), got {raw!r:.80}") from exc
    if values.size != X.shape[0]:
        raise ValueError(
            f"f must return one value per row of the ({X.shape[0]}, {X.shape[1]}) batch, "
            f"got shape {values.shape}"
        )
    return values.reshape(-1)


def minimize(
    f: Callable[..., Any],
    x0: ArrayLike,
    sigma0: float | None,
    method: str | Strategy | None = None,
    bounds: Any = None,
    max_evals: int | None = None,
    ftarget: float | None = None,
    seed: Any = None,
    vectorized: bool = False,
    executor: Executor | None = None,
    callback: Callable[[Any], Any] | None = None,
    progress: bool = False,
    restarts: int = 0,
    options: dict[str, Any] | None = None,
    max_time: float | None = None,
    eval_timeout: float | None = None,
    *,
    popsize: int | None = None,
    tolx: float | None = None,
    tolfun: float = 1e-12,
    stagnation: int | None = None,
    max_condition: float = 1e14,
    integers: Any = None,
    max_iter: int | None = None,
    run_max_iter: int | str | None = "default",
    log: str | os.PathLike[str] | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every: int | None = None,
    checkpoint_time: float | None = None,
    resume: str | os.PathLike[str] | None = None,
    fixed_variables: dict[int, float] | None = None,
    history: bool = True,
    bipop: bool = False,
    inject: ArrayLike | None = None,
) -> OptimizeResult:
    """Minimise a black-box function with a natural-gradient evolution strategy.

    Parameters
    ----------
    f : callable
        ``f(x) -> float`` for x of shape (n,); with ``vectorized=True``, ``f(X) -> (λ,)`` for
        X of shape (λ, n). NaN, ±Inf and None are ranked worst (see
        :mod:`natgrad.optim.optimizer`). An exception raised by f propagates unchanged.
    x0 : array_like, shape (n,), or callable
        Initial mean of the search distribution; or ``x0(rng) -> (n,) array``, called with the
        run's ``numpy.random.Generator`` at the start of every run (e.g. a uniform draw in the
        search domain, so that IPOP restarts begin at different points, as in Auger & Hansen).
    sigma0 : float, array_like of shape (n,), or None
        Initial step size (about a quarter of the width of the region that should be searched).
        A vector gives each coordinate its own initial standard deviation σ0·sqrt(C0_ii) =
        sigma0[i] (pycma's ``CMA_stds``; see :class:`~natgrad.optim.Optimizer`; ``gmrf`` refuses
        it). None for ``"binary-sngd"``, which has no step size (its ``x0`` is the initial E[X]).
    method : str or Strategy, optional
        A name from ``natgrad.optim.METHODS`` or a Strategy instance. By default
        ``natgrad.optim.default_method(n)``: ``"igo-cma"`` up to n = 2000
        (``FULL_COVARIANCE_MAX_DIM``), ``"lowrank"`` beyond.
    bounds : (lower, upper), optional
        Box bounds; f is only called inside the box (see :class:`~natgrad.optim.Optimizer`).
    max_evals : int, optional
        Budget of f-evaluations over all restarts (no limit by default: the other termination
        criteria end the run). f is evaluated on whole generations, so ``nfev`` may exceed
        ``max_evals`` by less than the population size of the last run.
    ftarget : float, optional
        Stop once f <= ftarget.
    seed : int or numpy.random.Generator, optional
        Seed (or generator) of all random numbers; a given seed gives bit-identical runs.
    vectorized : bool
        Call f once per generation on the whole (λ, n) batch.
    executor : concurrent.futures.Executor, optional
        Evaluate rows with ``executor.map(f, rows)`` (threads, processes, or Dask's
        ``Client.get_executor()``); order is preserved. f must be picklable for processes. Not
        with ``vectorized=True`` (one call per generation has nothing to distribute).
    callback : callable, optional
        Called after each generation with an ``OptimizeResult`` holding ``x``, ``fun``, ``nfev``,
        ``nit``, ``sigma``, ``mean`` and ``optimizer``; returning True (a Python or NumPy bool;
        other values are ignored) or raising ``StopIteration`` stops the run with reason
        ``"callback"``.
    progress : bool
        Show a tqdm progress bar (needs ``tqdm``; otherwise a warning says so and the run goes on).
    restarts : int
        IPOP restarts (Auger & Hansen, "A restart CMA evolution strategy with increasing population
        size", CEC 2005): after a run ends without reaching ``ftarget``, ``max_evals`` or a callback
        stop, start again from ``x0`` (called again if callable) with ``sigma0`` and twice the
        population size, up to ``restarts`` times. The best point over all runs is returned.
    options : dict, optional
        The strategy's options (its constructor's keywords, e.g. ``{"active": False}`` for
        IGO-CMA), with a method name; an unknown key is a ValueError that lists the valid ones.
        The optimiser's own settings are keywords of ``minimize`` itself (below).
    max_time : float, optional
        Wall-clock budget in seconds over all restarts: the run stops (reason ``"max_time"``)
        after the first generation that ends past it. A generation in progress is finished.
    eval_timeout : float, optional
        With ``executor``: the longest wait, in seconds, for each evaluation's result (counted
        from the previous result). A hung or slow worker ends the run with reason
        ``"eval_timeout"`` and the best result so far; evaluations not yet started are
        cancelled (a running one cannot be stopped from here and finishes in its worker).
    popsize, tolx, tolfun, stagnation, max_condition
        The :class:`~natgrad.optim.Optimizer`'s settings, with the same names and defaults there
        (``popsize`` is the first run's; IPOP doubles it at each restart).
    integers : sequence of int or boolean mask, optional
        Coordinates that take integer values (``"igo-cma"``: CMA-ES with margin, Hamano et al.,
        GECCO 2022; see :mod:`natgrad.optim.integers`). f then receives, at those coordinates,
        integral float64 values inside ``bounds`` (the rest as usual), and ``res.x`` is such a
        point; ``res.mean`` is rounded there as well.
    max_iter : int, optional
        Budget of generations over all restarts (stop reason ``"max_iter"``).
    run_max_iter : int, "default" or None
        Generations of one run (pycma's ``maxiter``): a run that reaches it ends with stop reason
        ``"run_max_iter"`` and the next restart begins, if any is left. ``"default"`` is pycma's
        ``100 + ⌊150 (n + 3)² / √λ⌋`` with the run's popsize λ (1630 for n = 2, λ = 6; 71,711
        for n = 40, λ = 15), so a run that no other criterion ends (a plateau that keeps
        improving by tiny amounts, noise) cannot take the whole budget; None: no cap.
    log : str or os.PathLike, optional
        Write ``res.history`` to this ``.csv`` or ``.npz`` file at the end of the run (and with
        every checkpoint); read it back with ``natgrad.History.load``.
    checkpoint : str or os.PathLike, optional
        Write a checkpoint of the whole run (the current optimiser, the restart loop's record
        and the history; :mod:`natgrad.optim.checkpoint`'s format, replaced atomically) every
        ``checkpoint_every`` generations or ``checkpoint_time`` seconds (by default every 60 s),
        and at the end, also after Ctrl-C. Needs a registered method (a name of ``METHODS``).
    checkpoint_every, checkpoint_time : int, float, optional
        Generations, or seconds, between two checkpoints (either or both).
    resume : str or os.PathLike, optional
        Continue the run saved by ``checkpoint=``: call ``minimize`` with the same arguments as
        the run that wrote it (f, x0, method, options, popsize, restarts, budgets; a mismatch is
        a ValueError naming the argument) plus ``resume=path``. The continuation is bit for bit
        the uninterrupted run (x, fun, nfev, history), restarts included; ``max_time`` counts
        the time already spent. A batch that was being evaluated when the checkpoint was
        written is evaluated again.
    fixed_variables : dict, optional
        ``{index: value}`` (pycma's ``fixed_variables``): those coordinates keep their values and
        the search runs on the others. f still receives full n-vectors; ``x0`` (its fixed
        entries are ignored), a vector ``sigma0`` and ``bounds`` are given for all n
        coordinates; ``x`` and ``mean`` of the result are full vectors, while ``optimizer``,
        ``sigma`` and the history's ``mean`` and ``scales`` are those of the free coordinates.
    bipop : bool
        BIPOP restarts (Hansen 2009) instead of IPOP: each restart is in the large regime (σ0 and
        a doubled popsize, as IPOP) or the small regime (a popsize ⌊λ0 (½ λ_l/λ0)^(U²)⌋ between
        λ0 and the last large run's, σ0 · 10^(−2V), U and V independent uniforms, and at most
        half the evaluations of the last large run), whichever has spent fewer evaluations so
        far. ``restarts`` counts the large-regime
        restarts (the last run is one); small-regime runs come in addition. ``max_evals``,
        ``max_iter`` and ``max_time`` are shared by all runs. ``res.regimes``
        lists the regime of every run.
    inject : array_like, shape (k, n) or (n,), optional
        Known good points (a previous solution, a heuristic's answer) evaluated in the first
        generation of the first run, where they compete in the ranking like sampled points
        (pycma's ``inject``; :meth:`Optimizer.inject` explains how they enter the update).
        Full n-vectors with ``fixed_variables`` (the fixed entries are ignored); inside
        ``bounds``; at most λ points (λ − 2 for IGO-CMA's TPA); igo-cma, xnes, snes and sngd.
    history : bool
        Record ``res.history`` (default True). Recording costs tens of microseconds per
        generation (``bench/history_overhead.py``), which only matters for a cheap f in a few
        dimensions; with False, ``res.history`` is None.

    Returns
    -------
    scipy.optimize.OptimizeResult
        ``x`` (best point evaluated), ``fun`` (its value), ``nfev``, ``nit`` (generations),
        ``success`` (stopped by ftarget, tolx or tolfun), ``status`` (see ``STATUS``),
        ``message``, ``stop_reason`` (of the last run), ``stop_reasons`` (one per run), ``sigma``
        and ``mean`` (of the last run), ``popsize`` (of the last run), ``restarts`` (restarts run),
        ``method``, ``regimes`` (``"large"`` or ``"small"`` per run), ``optimizer`` (the last
        run's :class:`~natgrad.optim.Optimizer`, which can be saved and continued) and ``history`` (a :class:`natgrad.History`: one row per
        generation over all runs, see :mod:`natgrad.optim.history`; ``natgrad.plot(res)``
        draws it).

    Notes
    -----
    Ctrl-C (KeyboardInterrupt) during a run returns the best result so far with
    ``stop_reason="interrupted"`` and ``success=False``, as a run stopped by any other criterion
    would be returned; the optimiser is never left half-updated (``tell`` commits atomically), so
    ``res.optimizer`` can be saved and resumed. An interrupt before the first run has started
    propagates.

    Examples
    --------
    >>> import numpy as np
    >>> import natgrad
    >>> res = natgrad.minimize(
    ...     natgrad.functions.rosenbrock, np.zeros(10), 0.5, seed=1, ftarget=1e-8, vectorized=True
    ... )
    >>> res.success, res.stop_reason, bool(res.fun <= 1e-8)
    (True, 'ftarget', True)
    """
    OptimizeResult = _optimize_result()
    if not callable(f):
        raise ValueError(f"f must be callable, got {f!r:.80}")
    if max_evals is not None:
        max_evals = as_count("max_evals", max_evals)
    if max_iter is not None:
        max_iter = as_count("max_iter", max_iter)
    if run_max_iter is not None and not (
        isinstance(run_max_iter, str) and run_max_iter == "default"
    ):
        if isinstance(run_max_iter, str):
            raise ValueError(
                f"run_max_iter must be a count, 'default' or None, got {run_max_iter!r}"
            )
        run_max_iter = as_count("run_max_iter", run_max_iter)
    if ftarget is not None:
        ftarget = as_float("ftarget", ftarget)
    log_path = _as_path("log", log, (".csv", ".npz"))
    if not isinstance(history, (bool, np.bool_)):
        raise ValueError(f"history must be True or False, got {history!r:.80}")
    keep_history = bool(history)
    if log_path is not None and not keep_history:
        raise ValueError(f"log={log_path!r} writes the history: it needs history=True")
    checkpoint_path = _as_path("checkpoint", checkpoint, None)
    if checkpoint_every is not None:
        checkpoint_every = as_count("checkpoint_every", checkpoint_every)
    if checkpoint_time is not None:
        checkpoint_time = as_float("checkpoint_time", checkpoint_time, positive=True)
    if checkpoint_path is None and (checkpoint_every is not None or checkpoint_time is not None):
        raise ValueError(
            "checkpoint_every and checkpoint_time need checkpoint=path, got "
            f"checkpoint_every={checkpoint_every!r}, checkpoint_time={checkpoint_time!r}"
        )
    if checkpoint_path is not None and checkpoint_every is None and checkpoint_time is None:
        checkpoint_time = 60.0
    resumed = None
    if resume is not None:
        from .checkpoint import load_with_extras

        resume_path = _as_path("resume", resume, None)
        assert resume_path is not None
        resumed = load_with_extras(resume_path)
        if resumed[1] is None:
            raise ValueError(
                f"resume={resume_path!r} is a checkpoint of an Optimizer (Optimizer.save), not of "
                "natgrad.minimize(..., checkpoint=path): continue it with Optimizer.load"
            )
        rng = resumed[0]._rng
    else:
        rng = as_generator(seed=seed)
    if resumed is not None and callable(x0):
        # not called: the run continues from the checkpoint (x0 is drawn again at restarts)
        n_fixed = len(fixed_variables) if isinstance(fixed_variables, Mapping) else 0
        x0_full = np.zeros(resumed[0].dim + n_fixed)
    else:
        x0_full = as_float_array("x0", x0(rng) if callable(x0) else x0, ndim=1)
    fixed = None
    if fixed_variables is not None and integers is not None:
        raise ValueError(
            "integers= and fixed_variables= cannot be combined yet: give the integer coordinates "
            "of the free variables only by leaving fixed_variables out"
        )
    if fixed_variables is not None:
        fixed = FixedVariables(fixed_variables, x0_full.size, bounds)
        x0_arr = fixed.reduce(x0_full)
        sigma0 = fixed.reduce_sigma0(sigma0)
        bounds = fixed.bounds
        f = WithFixed(f, fixed)
    else:
        x0_arr = x0_full
    injected = None
    if inject is not None:
        injected = as_float_array("inject", inject)
        injected = injected[None, :] if injected.ndim == 1 else injected
        if injected.ndim != 2 or injected.shape[1] != x0_full.size or injected.shape[0] < 1:
            raise ValueError(
                f"inject must have shape (k, {x0_full.size}) or ({x0_full.size},) with k >= 1, "
                f"got {np.shape(inject)}"
            )
        if fixed is not None:
            injected = fixed.reduce(injected)
    if callback is not None and not callable(callback):
        raise ValueError(f"callback must be callable, got {callback!r:.80}")
    if executor is not None and not isinstance(executor, Executor) and not hasattr(executor, "map"):
        raise ValueError(f"executor must be a concurrent.futures.Executor, got {executor!r:.80}")
    if executor is not None and vectorized:
        raise ValueError(
            "executor= and vectorized=True exclude each other: a vectorized f is called once per "
            "generation in this process; drop one of them"
        )
    restarts = as_int("restarts", restarts, minimum=0)
    if not isinstance(bipop, (bool, np.bool_)):
        raise ValueError(f"bipop must be True or False, got {bipop!r:.80}")
    if max_time is not None:
        max_time = as_float("max_time", max_time, positive=True)
    if eval_timeout is not None:
        eval_timeout = as_float("eval_timeout", eval_timeout, positive=True)
        if executor is None:
            raise ValueError(
                "eval_timeout needs an executor: an evaluation in this process cannot be "
                f"interrupted, got eval_timeout={eval_timeout:g}"
            )
    if method is None:
        method = default_method(x0_arr.size)
    if not isinstance(method, (str, Strategy)):
        raise ValueError(f"method must be a method name or a Strategy, got {method!r:.80}")
    strategy = build_strategy(method, options)
    if checkpoint_path is not None:
        _check_saveable(strategy)
    base_popsize = (
        strategy.default_popsize(x0_arr.size)
        if popsize is None
        else as_count("popsize", popsize, minimum=2)
    )
    # what a resumed run must share with the run that wrote the checkpoint (as JSON reads it)
    signature = _as_json(
        {
            "method": strategy.name,
            "options": strategy.options(),
            "dim": int(x0_arr.size),
            "popsize": base_popsize,
            "restarts": restarts,
            "max_evals": max_evals,
            "max_iter": max_iter,
            "run_max_iter": run_max_iter,
            "ftarget": _plain(ftarget),
            "sigma0": _plain(sigma0),
            "bounds": _plain(parse_bounds(bounds, x0_arr.size)),
            "tolx": _plain(tolx),
            "tolfun": _plain(tolfun),
            "stagnation": _plain(stagnation),
            "max_condition": _plain(max_condition),
            "fixed_variables": None if fixed is None else fixed.as_pairs(),
            "integers": _plain(integers),
            "history": keep_history,
            "bipop": bool(bipop),
            "inject": None if injected is None else _digest(injected),
        }
    )

    bar = None
    if progress:
        try:
            from tqdm.auto import tqdm
        except ImportError:
            warnings.warn(
                "progress=True needs tqdm (pip install tqdm); running without a progress bar",
                stacklevel=2,
            )
        else:
            bar = tqdm(total=max_evals, unit="eval", desc=f"natgrad {strategy.name}")

    # one entry [optimizer, stop reason] per run, appended in one step when the run starts, so
    # that an interrupt at any point leaves a consistent record of what has run (earlier runs
    # restored from a checkpoint are _FinishedRun summaries)
    runs: list[list[Any]] = []
    recorder = Recorder(x0_arr.size)
    regimes: dict[int, str] = {}  # run index -> "large" or "small" (BIPOP)
    first_run, elapsed_before = 0, 0.0
    if resumed is not None:
        try:
            first_run, elapsed_before, recorder, regimes = _restore_runs(
                resumed, signature, runs, x0_arr.size
            )
        except ValueError as exc:
            if str(exc).startswith("resume:"):  # a mismatch of this call's arguments
                raise
            raise ValueError(f"resume={resume!r}: invalid minimize part ({exc})") from exc
        except (KeyError, TypeError, IndexError, AttributeError) as exc:
            raise ValueError(
                f"resume={resume!r} is not a valid minimize checkpoint: {exc!r}"
            ) from exc
        strategy = runs[-1][0].strategy
    started = time.monotonic()
    deadline = None if max_time is None else started + max_time - elapsed_before
    last_save = [started, sum(r.generation for r, _ in runs)]

    def totals() -> tuple[int, int, float, FloatArray | None]:
        evals = sum(o.evaluations for o, _ in runs)
        gens = sum(o.generation for o, _ in runs)
        best = min(runs, key=lambda r: r[0].best_f)[0]
        return evals, gens, best.best_f, best.best_x

    def save_checkpoint() -> None:
        assert checkpoint_path is not None
        _write_checkpoint(
            checkpoint_path, runs, regimes, recorder, signature,
            elapsed_before + time.monotonic() - started,
        )  # fmt: skip
        if log_path is not None:
            recorder.history().save(log_path)
        last_save[:] = [time.monotonic(), totals()[1]]

    values: FloatArray | None = None
    try:
        for run in itertools.count(first_run):
            if resumed is not None and run == first_run:
                opt, record = runs[-1][0], runs[-1]
                record[1] = None
                run_cap = _run_cap(run_max_iter, x0_arr.size, opt.popsize)
                done_evals = sum(o.evaluations for o, _ in runs[:-1])
                done_gens = sum(o.generation for o, _ in runs[:-1])
            else:
                # BIPOP's small-regime runs come on top of the `restarts` large-regime ones
                small_runs = sum(1 for i in range(run) if regimes.get(i) == "small")
                if run > restarts + small_runs:
                    break
                done_evals, done_gens = (totals()[0], totals()[1]) if runs else (0, 0)
                remaining = None if max_evals is None else max_evals - done_evals
                remaining_gens = None if max_iter is None else max_iter - done_gens
                if run > 0 and callable(x0):
                    x0_arr = as_float_array("x0", x0(rng), ndim=1)
                    if fixed is not None:
                        x0_arr = fixed.reduce(x0_arr)
                regime, run_popsize, step_factor, cap = _next_run(
                    run, bipop, run == restarts + small_runs, regimes, runs, base_popsize, rng
                )
                if cap is not None:
                    remaining = cap if remaining is None else min(remaining, cap)
                run_cap = _run_cap(run_max_iter, x0_arr.size, run_popsize)
                if run_cap is not None:
                    remaining_gens = (
                        run_cap if remaining_gens is None else min(remaining_gens, run_cap)
                    )
                regimes[run] = regime
                opt = Optimizer(
                    strategy,
                    x0_arr,
                    sigma0
                    if step_factor == 1.0 or sigma0 is None
                    else _scaled(sigma0, step_factor),
                    popsize=run_popsize,
                    bounds=bounds,
                    max_evals=remaining,
                    max_iter=remaining_gens,
                    ftarget=ftarget,
                    rng=rng,
                    tolx=tolx,
                    tolfun=tolfun,
                    stagnation=stagnation,
                    max_condition=max_condition,
                    integers=integers,
                )
                if run == 0 and injected is not None:
                    try:
                        opt.inject(injected)
                    except ValueError as exc:  # the message names inject= (not "points")
                        msg = str(exc)
                        raise ValueError(
                            msg if msg.startswith("inject") else f"inject: {msg}"
                        ) from None
                record = [opt, None]
                runs.append(record)
            logger.info(
                "natgrad %s run %d: n=%d popsize=%d sigma0=%g",
                strategy.name,
                run,
                opt.dim,
                opt.popsize,
                opt.sigma,
            )
            while not opt.should_stop():
                pending = opt._run.pending  # a batch asked before a checkpoint was written
                try:
                    X = opt.ask() if pending is None else pending.returned
                except ValueError:
                    if opt.stop_reason == "invalid_state":  # the distribution overflowed
                        break
                    raise
                try:
                    values = _evaluate(f, X, vectorized, executor, eval_timeout)
                except _EvaluationTimeout as exc:
                    logger.warning("natgrad: %s", exc)
                    record[1] = "eval_timeout"
                    break
                if not runs[:-1] and opt.generation == 0 and not np.isfinite(values).any():
                    raise ValueError(_no_value_message(f, values))
                opt.tell(X, values)
                if keep_history:
                    recorder.record(opt, values, run, done_evals + opt.evaluations)
                if bar is not None:
                    bar.update(opt.popsize)
                    bar.set_postfix(f=f"{opt.best_f:.3e}", sigma=f"{opt.sigma:.2e}")
                logger.debug(
                    "gen %d evals %d best f %.6e sigma %.3e",
                    opt.generation,
                    done_evals + opt.evaluations,
                    opt.best_f,
                    opt.sigma,
                )
                if checkpoint_path is not None and (
                    (
                        checkpoint_every is not None
                        and done_gens + opt.generation - last_save[1] >= checkpoint_every
                    )
                    or (
                        checkpoint_time is not None
                        and time.monotonic() - last_save[0] >= checkpoint_time
                    )
                ):
                    save_checkpoint()
                if callback is not None:
                    evals, gens, fun, x = totals()
                    info = OptimizeResult(
                        x=_full(fixed, x), fun=fun, nfev=evals, nit=gens, sigma=opt.sigma,
                        mean=_full(fixed, opt.mean), optimizer=opt,
                    )  # fmt: skip
                    try:
                        stop = callback(info)
                    except StopIteration:
                        stop = True
                    # True or np.True_ (e.g. a comparison of NumPy values); other truthy
                    # returns (an accidental `return info`) do not stop the run
                    if isinstance(stop, (bool, np.bool_)) and stop:
                        record[1] = "callback"
                        break
                if deadline is not None and time.monotonic() >= deadline:
                    record[1] = "max_time"
                    break
            record[1] = record[1] or opt.stop_reason or "callback"
            if (
                record[1] == "max_iter"
                and run_cap is not None
                and opt.generation >= run_cap
                and (max_iter is None or totals()[1] < max_iter)
            ):
                record[1] = "run_max_iter"  # the run's own cap, not the overall budget
            logger.info(
                "natgrad %s run %d stopped (%s) after %d evaluations: best f %.6e",
                strategy.name,
                run,
                record[1],
                opt.evaluations,
                opt.best_f,
            )
            capped = (  # a BIPOP small run that used up its share of the budget
                record[1] == "max_evals"
                and regimes.get(run) == "small"
                and (max_evals is None or totals()[0] < max_evals)
            )
            if record[1] in _FINAL_REASONS and not capped:
                break
            if max_evals is not None and totals()[0] >= max_evals:
                break
            if max_iter is not None and totals()[1] >= max_iter:
                break
            if deadline is not None and time.monotonic() >= deadline:
                break
    except KeyboardInterrupt:
        # Ctrl-C: the optimiser is never half-updated (tell commits atomically), so the best
        # point so far is a valid answer; return it, as a finished run would be returned
        if not runs:
            raise
        logger.warning("natgrad: interrupted; returning the best point so far")
        last_opt = runs[-1][0]
        if (
            keep_history
            and values is not None
            and recorder.iterations < totals()[1]
            and last_opt._run.pending is None
        ):
            # the interrupt fell between tell and the history's row of that generation
            recorder.record(last_opt, values, len(runs) - 1, totals()[0])
        runs[-1][1] = "interrupted"
    finally:
        if bar is not None:
            bar.close()
    if checkpoint_path is not None:
        save_checkpoint()
    record_of_runs = recorder.history() if keep_history else None
    if log_path is not None and record_of_runs is not None:
        record_of_runs.save(log_path)

    opt = runs[-1][0]
    reasons = [reason or "interrupted" for _, reason in runs]
    reason = reasons[-1]
    total_evals, total_gens, best_f, best_x = totals()
    if best_x is None:  # no finite value was ever told
        best_x = opt.mean
    success = best_f <= ftarget if ftarget is not None else reason in CONVERGED_REASONS
    return OptimizeResult(
        x=_full(fixed, best_x),
        fun=best_f,
        nfev=total_evals,
        nit=total_gens,
        success=bool(success),
        status=STATUS[reason],
        message=_MESSAGES[reason],
        stop_reason=reason,
        stop_reasons=reasons,
        sigma=opt.sigma,
        mean=_full(fixed, opt.mean),
        popsize=opt.popsize,
        restarts=len(reasons) - 1,
        method=strategy.name,
        regimes=[regimes.get(i, "large") for i in range(len(runs))],
        optimizer=opt,
        history=record_of_runs,
    )


def _as_path(name: str, value: Any, suffixes: tuple[str, ...] | None) -> str | None:
    """A file path argument (str or os.PathLike) as a str, or None; ValueError otherwise."""
    if value is None:
        return None
    if not isinstance(value, (str, os.PathLike)):
        raise ValueError(f"{name} must be a file path (str or os.PathLike), got {value!r:.80}")
    path = os.fspath(value)
    if not isinstance(path, str) or not path:
        raise ValueError(f"{name} must be a non-empty file path, got {value!r:.80}")
    if suffixes is not None and not path.lower().endswith(suffixes):
        raise ValueError(f"{name} must be a path ending in {' or '.join(suffixes)}, got {path!r}")
    return path


def _next_run(
    run: int,
    bipop: bool,
    last: bool,
    regimes: dict[int, str],
    runs: list[list[Any]],
    base_popsize: int,
    rng: np.random.Generator,
) -> tuple[str, int, float, int | None]:
    """(regime, popsize, factor of sigma0, evaluation cap) of run number ``run``.

    IPOP: always the large regime, popsize base · 2^run. BIPOP (Hansen 2009, "Benchmarking a
    BI-population CMA-ES on the BBOB-2009 function testbed"): run 0 is a large-regime run with
    the base popsize λ0; a restart is in the small regime when the evaluations spent in small
    runs are fewer than those spent in large restarts (run 0 not counted), otherwise in the large
    regime with popsize λ_l = λ0 · 2^(large runs so far). A small run draws two independent
    U, V ~ U[0, 1) from the run's generator and has popsize ⌊λ0 (½ λ_l / λ0)^(U²)⌋ (λ_l: the next
    large popsize, so the range is [λ0, ½ λ_l], ½ λ_l being the last large run's popsize, as in
    pycma), step size σ0 · 10^(−2V), and at most half the evaluations of the last large run.
    The ``last`` run (the `restarts`-th large restart) is in the large regime.
    """
    large = [i for i in range(len(runs)) if regimes.get(i, "large") == "large"]
    next_large = base_popsize * 2 ** (len(large) if bipop else run)
    if not bipop or run == 0 or last:
        return "large", next_large, 1.0, None
    large_budget = sum(runs[i][0].evaluations for i in large if i > 0)
    small_budget = sum(runs[i][0].evaluations for i in range(len(runs)) if i not in large)
    if small_budget >= large_budget:
        return "large", next_large, 1.0, None
    u, v = (float(w) for w in rng.random(2))
    ratio = 0.5 * next_large / base_popsize
    popsize = max(base_popsize, math.floor(base_popsize * ratio ** (u * u)))
    cap = max(1, runs[large[-1]][0].evaluations // 2)
    return "small", popsize, 10.0 ** (-2.0 * v), cap


def _scaled(sigma0: Any, factor: float) -> Any:
    """sigma0 (a number or a vector) times factor; invalid values are left to the Optimizer."""
    try:
        return (
            np.asarray(sigma0, dtype=np.float64) * factor
            if np.ndim(sigma0)
            else float(sigma0) * factor
        )
    except (TypeError, ValueError):
        return sigma0


def _full(fixed: FixedVariables | None, x: Any) -> Any:
    """A point of the search space as a full n-vector (the fixed coordinates filled in)."""
    if x is None:
        return None
    return np.array(x) if fixed is None else fixed.expand(np.asarray(x))


def _plain(value: Any) -> Any:
    """A setting as plain numbers for the resume signature (invalid ones are refused later)."""
    if value is None:
        return None
    try:
        return np.asarray(value, dtype=np.float64).tolist()
    except (TypeError, ValueError):
        return repr(value)


def _as_json(value: dict[str, Any]) -> dict[str, Any]:
    from .checkpoint import _jsonable

    out: dict[str, Any] = json.loads(json.dumps(_jsonable(value)))
    return out


def _check_saveable(strategy: Strategy) -> None:
    from .registry import METHODS, strategy_class

    if strategy.name not in METHODS or strategy_class(strategy.name) is not type(strategy):
        raise ValueError(
            "checkpoint= needs a registered method (the file names its strategy and carries no "
            f"code), got {type(strategy).__name__} named {strategy.name!r}"
        )


def _write_checkpoint(
    path: str,
    runs: list[list[Any]],
    regimes: dict[int, str],
    recorder: Recorder,
    signature: dict[str, Any],
    elapsed: float,
) -> None:
    """The current run's optimiser plus the restart loop's record, in one atomic file."""
    from .checkpoint import save

    earlier = []
    arrays: dict[str, np.ndarray] = {}
    for i, (done, reason) in enumerate(runs[:-1]):
        earlier.append(
            {
                "evaluations": done.evaluations,
                "generation": done.generation,
                "best_f": done.best_f,
                "reason": reason,
                "regime": regimes.get(i, "large"),
            }
        )
        if done.best_x is not None:
            arrays[f"best_x.{i}"] = np.asarray(done.best_x, dtype=np.float64)
    opt, reason = runs[-1]
    current = None if reason == "interrupted" else reason
    meta = {
        "signature": signature,
        "earlier_runs": earlier,
        "run": len(runs) - 1,
        "reason": current,
        "regime": regimes.get(len(runs) - 1, "large"),
        "elapsed": elapsed,
    }
    for name, column in recorder.history().arrays().items():
        arrays[f"history.{name}"] = np.asarray(column, dtype=np.float64)
    save(opt, path, meta, arrays)


def _restore_runs(
    resumed: tuple[Any, dict[str, Any] | None, dict[str, np.ndarray]],
    signature: dict[str, Any],
    runs: list[list[Any]],
    dim: int,
) -> tuple[int, float, Recorder, dict[int, str]]:
    """Fill ``runs`` from a minimize checkpoint; (current run index, elapsed seconds, recorder)."""
    from .history import FIELDS

    opt, meta, arrays = resumed
    assert meta is not None
    saved = meta["signature"]
    for key, value in signature.items():
        if saved.get(key, _SIGNATURE_BEFORE.get(key)) != value:
            raise ValueError(
                f"resume: the checkpoint was written with {key}={saved.get(key)!r}, this call "
                f"has {key}={value!r}; resume with the arguments of the interrupted run"
            )
    for i, earlier in enumerate(meta["earlier_runs"]):
        best_x = arrays.get(f"best_x.{i}")
        if best_x is not None and (
            best_x.dtype != np.float64 or best_x.shape != (dim,) or not np.isfinite(best_x).all()
        ):
            raise ValueError(f"resume: best_x.{i} must be finite float64 of shape ({dim},)")
        done = _FinishedRun(
            int(earlier["evaluations"]), int(earlier["generation"]), float(earlier["best_f"]),
            best_x,
        )  # fmt: skip
        runs.append([done, earlier["reason"]])
    runs.append([opt, meta["reason"]])
    regimes = {i: str(r["regime"]) for i, r in enumerate(meta["earlier_runs"])}
    regimes[len(runs) - 1] = str(meta["regime"])
    if not set(regimes.values()) <= {"large", "small"}:
        raise ValueError("resume: the checkpoint's regimes must be 'large' or 'small'")
    if int(meta["run"]) != len(runs) - 1:
        raise ValueError("resume: the checkpoint's run index does not match its earlier runs")
    columns = {name: arrays[f"history.{name}"] for name, _ in FIELDS}
    history = History(columns, arrays.get("history.mean"), arrays.get("history.scales"))
    recorder = Recorder.from_history(history, dim)
    if signature["history"] and recorder.iterations != sum(r.generation for r, _ in runs):
        raise ValueError("resume: the checkpoint's history does not match its generation count")
    return len(runs) - 1, float(meta["elapsed"]), recorder, regimes


def _digest(points: FloatArray) -> str:
    """A short fingerprint of injected points for the resume check (shape and SHA-256)."""
    import hashlib

    data = np.ascontiguousarray(points, dtype=np.float64)
    return f"{data.shape[0]}x{data.shape[1]}:" + hashlib.sha256(data.tobytes()).hexdigest()[:16]
