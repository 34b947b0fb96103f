"""``natgrad.minimize``: run an ask/tell optimiser on a black-box function to the end."""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from concurrent.futures import Executor
from concurrent.futures import TimeoutError as FuturesTimeout
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from .._validation import FloatArray, as_float, as_float_array, as_generator, as_int
from .optimizer import CONVERGED_REASONS, Optimizer, as_count, real_values
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
}

_MESSAGES = {
    "ftarget": "reached ftarget",
    "tolx": "step size below tolx",
    "tolfun": "function values flat to within tolfun",
    "max_evals": "reached max_evals",
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
    {"ftarget", "max_evals", "callback", "interrupted", "max_time", "eval_timeout"}
)


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
    sigma0 : float or None
        Initial step size (about a quarter of the width of the region that should be searched).
        None for ``"binary-sngd"``, which has no step size (its ``x0`` is the initial E[X]).
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

    Returns
    -------
    scipy.optimize.OptimizeResult
        ``x`` (best point evaluated), ``fun`` (its value), ``nfev``, ``nit`` (generations),
        ``success`` (stopped by ftarget, tolx or tolfun), ``status`` (see ``STATUS``),
        ``message``, ``stop_reason`` (of the last run), ``stop_reasons`` (one per run), ``sigma``
        and ``mean`` (of the last run), ``popsize`` (of the last run), ``restarts`` (restarts run),
        ``method`` and ``optimizer`` (the last run's :class:`~natgrad.optim.Optimizer`, which
        can be saved and continued).

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
    rng = as_generator(seed=seed)
    x0_arr = as_float_array("x0", x0(rng) if callable(x0) else x0, ndim=1)
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
    base_popsize = (
        strategy.default_popsize(x0_arr.size)
        if popsize is None
        else as_count("popsize", popsize, minimum=2)
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

    deadline = None if max_time is None else time.monotonic() + max_time
    # one entry [optimizer, stop reason] per run, appended in one step when the run starts, so
    # that an interrupt at any point leaves a consistent record of what has run
    runs: list[list[Any]] = []

    def totals() -> tuple[int, int, float, FloatArray | None]:
        evals = sum(o.evaluations for o, _ in runs)
        gens = sum(o.generation for o, _ in runs)
        best = min(runs, key=lambda r: r[0].best_f)[0]
        return evals, gens, best.best_f, best.best_x

    try:
        for run in range(restarts + 1):
            done_evals = totals()[0] if runs else 0
            remaining = None if max_evals is None else max_evals - done_evals
            if run > 0 and callable(x0):
                x0_arr = as_float_array("x0", x0(rng), ndim=1)
            opt = Optimizer(
                strategy,
                x0_arr,
                sigma0,
                popsize=base_popsize * 2**run,
                bounds=bounds,
                max_evals=remaining,
                ftarget=ftarget,
                rng=rng,
                tolx=tolx,
                tolfun=tolfun,
                stagnation=stagnation,
                max_condition=max_condition,
                integers=integers,
            )
            record: list[Any] = [opt, None]
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
                try:
                    X = opt.ask()
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
                if callback is not None:
                    evals, gens, fun, x = totals()
                    info = OptimizeResult(
                        x=x, fun=fun, nfev=evals, nit=gens, sigma=opt.sigma, mean=opt.mean,
                        optimizer=opt,
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
            logger.info(
                "natgrad %s run %d stopped (%s) after %d evaluations: best f %.6e",
                strategy.name,
                run,
                record[1],
                opt.evaluations,
                opt.best_f,
            )
            if record[1] in _FINAL_REASONS:
                break
            if max_evals is not None and totals()[0] >= max_evals:
                break
            if deadline is not None and time.monotonic() >= deadline:
                break
    except KeyboardInterrupt:
        # Ctrl-C: the optimiser is never half-updated (tell commits atomically), so the best
        # point so far is a valid answer; return it, as a finished run would be returned
        if not runs:
            raise
        logger.warning("natgrad: interrupted; returning the best point so far")
        runs[-1][1] = "interrupted"
    finally:
        if bar is not None:
            bar.close()

    opt = runs[-1][0]
    reasons = [reason or "interrupted" for _, reason in runs]
    reason = reasons[-1]
    total_evals, total_gens, best_f, best_x = totals()
    if best_x is None:  # no finite value was ever told
        best_x = opt.mean
    success = best_f <= ftarget if ftarget is not None else reason in CONVERGED_REASONS
    return OptimizeResult(
        x=best_x,
        fun=best_f,
        nfev=total_evals,
        nit=total_gens,
        success=bool(success),
        status=STATUS[reason],
        message=_MESSAGES[reason],
        stop_reason=reason,
        stop_reasons=reasons,
        sigma=opt.sigma,
        mean=opt.mean,
        popsize=opt.popsize,
        restarts=len(reasons) - 1,
        method=strategy.name,
        optimizer=opt,
    )
