"""The ask/tell shell shared by every strategy.

A :class:`~natgrad.optim.strategy.Strategy` holds the mathematics of one search distribution; the
:class:`Optimizer` here does everything else once: random numbers, checking what the user tells,
the NaN/Inf policy, box bounds, the best point seen so far, termination and pickling.

Policies (documented once, tested in ``tests/test_optimizer.py``)
-----------------------------------------------------------------
Told batch
    ``tell(X, values)`` must receive the batch returned by the most recent ``ask()`` (equal
    values; the array returned by ``ask`` is a copy, so mutating it and telling it raises).
    Anything else — a different array, a wrong shape, a ``tell`` without a pending ``ask`` — raises
    ``ValueError`` and leaves the optimiser unchanged. Calling ``ask()`` again before ``tell``
    abandons the earlier batch (it can no longer be told) and draws a fresh one.
NaN / Inf / None values
    Values that are NaN, ±Inf or None are *invalid*: they count as evaluations but are ranked
    strictly worse than every finite value of the generation (they are replaced by
    ``worst + spread`` of the finite values before the strategy sees them), so a sample with an
    invalid value is never preferred to a valid one and never pulls the distribution towards
    itself. ``-inf`` is treated as invalid too (an unbounded-below objective is a bug far more
    often than a result). If *every* value of a generation is invalid, the generation is
    discarded (no update; the step size is halved, so the next samples stay closer to the mean)
    and after ``MAX_NONFINITE`` (10) such generations in a row the run stops with reason
    ``"nonfinite"``.
Exceptions
    Nothing the user's f does can reach the optimiser between ``ask`` and ``tell``: if f raises,
    the exception propagates unchanged, the optimiser's state is untouched and the run continues
    with a new ``ask()`` (or by telling the pending batch once its values are known). An exception
    inside ``tell`` (bad input) leaves the state as it was before the call.
Box bounds
    ``bounds=(lower, upper)`` (scalars or length-n arrays, ``±inf`` allowed per coordinate) are
    handled as in pycma's default ``BoundTransform``: the search distribution lives in the
    unbounded space and every sample is mapped into the box by the periodic
    linear/quadratic transformation ``cma.transformations.BoxConstraintsLinQuadTransformation``
    (N. Hansen; identity in the interior, smooth quadratic folding in a margin
    ``min((u - l)/2, (1 + |bound|)/20)`` next to each bound, mirrored periodically beyond).
    ``ask()`` returns the *mapped* points, which lie inside the box; f sees them, and they are what
    must be told back. ``best_x`` and ``mean`` are in the box as well; ``state.mean`` is the
    unmapped distribution mean.
Termination
    ``should_stop()`` becomes true and ``stop_reason`` names the first criterion met:
    ``"ftarget"`` (best f <= ftarget), ``"max_evals"``, ``"max_iter"`` (generations),
    ``"nonfinite"``, ``"tolfun"`` (all values of the last ``10 + ceil(30 n / λ)`` generations'
    best and of the current generation within ``tolfun``, as in pycma), ``"stagnation"`` (no improvement of the best value for
    ``stagnation`` generations), ``"tolx"`` (every σ·sqrt(C_ii) below ``tolx``) and
    ``"condition"`` (condition number of C above ``max_condition``). ``"invalid_state"``: the
    strategy returned a non-finite σ (that state is not applied), or non-finite means or axis
    scales; the optimiser then keeps the last state verified to be finite. ftarget, max_evals,
    max_iter, stagnation and σ are checked after every ``tell``; tolfun, tolx, the state and the
    condition-number lower bound (max σ·sqrt(C_ii) / min σ·sqrt(C_ii))² every 10 generations,
    and the strategy's exact ``condition_number`` (which may cost O(n³)) every ``max(100, 10 n)``
    generations, so the shell adds a handful of NumPy calls per generation at any n.
Reproducibility
    All randomness comes from one ``numpy.random.Generator`` (``seed=`` or ``rng=``). A pickled
    optimiser carries the generator's state, so a resumed run reproduces the uninterrupted one
    bit for bit.
"""

from __future__ import annotations

import logging
import math
import numbers
import os
import warnings
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from .._random import standard_normal
from .._validation import FloatArray, as_float, as_float_array, as_generator, as_int
from .strategy import Strategy, freeze, is_finite_state

__all__ = ["Batch", "BoxTransform", "Optimizer", "Run"]

logger = logging.getLogger("natgrad")

#: consecutive generations without any finite value before the run stops with "nonfinite"
MAX_NONFINITE = 10
#: largest popsize x n of one generation (2^37 doubles = 1 TiB): beyond it a batch cannot exist
_MAX_BATCH = 2**37
#: stop reasons that mean the run converged (used for ``success`` by ``natgrad.minimize``)
CONVERGED_REASONS = frozenset({"ftarget", "tolx", "tolfun"})
_FLOAT64 = np.dtype(np.float64)
#: batches up to this many values are scanned as Python floats (``all_finite``)
_SMALL_BATCH = 64


def all_finite(values: FloatArray) -> bool:
    """True when every entry of the 1-D float64 array ``values`` is finite."""
    if values.size <= _SMALL_BATCH:
        # a finite sum means that every value is finite (NaN and ±inf propagate, and Python
        # floats overflow to inf without a warning): a fraction of the time of NumPy's reduction
        # for a few values; a sum that overflowed is checked again by NumPy
        return math.isfinite(sum(values.tolist())) or bool(np.isfinite(values).all())
    return bool(np.isfinite(values).all())


def extremes(values: FloatArray) -> tuple[float, float]:
    """(max, min) of the 1-D float64 array ``values`` as floats (NaN if it holds a NaN)."""
    if values.size <= _SMALL_BATCH:
        listed = values.tolist()
        if math.isfinite(sum(listed)):  # no NaN: Python's max and min agree with NumPy's
            return max(listed), min(listed)
    return float(values.max()), float(values.min())


def as_count(name: str, value: Any, *, minimum: int = 1) -> int:
    """An integer count; integral floats such as ``1e5`` are accepted."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)
    return as_int(name, value, minimum=minimum)


class BoxTransform:
    """pycma's periodic linear/quadratic map of R^n onto a box (see the module docstring).

    Parameters
    ----------
    lower, upper : array_like, shape (n,)
        Bounds with ``lower < upper``; ``-inf`` / ``inf`` mean no bound on that side.
    """

    def __init__(self, lower: FloatArray, upper: FloatArray) -> None:
        with np.errstate(over="ignore"):  # u - l may overflow to inf for bounds near ±1.8e308
            self._setup(lower, upper)

    def _setup(self, lower: FloatArray, upper: FloatArray) -> None:
        self.has_lower = np.isfinite(lower)
        self.has_upper = np.isfinite(upper)
        self.two_sided = self.has_lower & self.has_upper
        # finite placeholders keep inf out of the arithmetic; masks select what applies
        self.lower = np.where(self.has_lower, lower, 0.0)
        self.upper = np.where(self.has_upper, upper, 0.0)
        width = np.where(self.two_sided, self.upper - self.lower, np.inf)
        self.width = np.where(self.two_sided, width, 0.0)
        # margins of the quadratic part next to each bound
        self.margin_lower = np.where(
            self.has_lower, np.minimum(width / 2, (1 + np.abs(self.lower)) / 20), 1.0
        )
        self.margin_upper = np.where(
            self.has_upper, np.minimum(width / 2, (1 + np.abs(self.upper)) / 20), 1.0
        )
        # where the map is the identity
        self.interior_low = np.where(self.has_lower, self.lower + self.margin_lower, -np.inf)
        self.interior_high = np.where(self.has_upper, self.upper - self.margin_upper, np.inf)

    def __call__(self, x: FloatArray) -> FloatArray:
        """Map points (any leading shape, last axis n) into the box."""
        if (x >= self.interior_low).all() and (x <= self.interior_high).all():
            return np.array(x, dtype=np.float64)
        # huge bounds (|bound| above ~1e154) overflow periods to inf; the masks keep those
        # branches unused, so the warnings they raise say nothing
        with np.errstate(over="ignore", invalid="ignore"):
            return self._fold(np.asarray(x, dtype=np.float64))

    def _fold(self, x: FloatArray) -> FloatArray:
        lb, ub, al, au = self.lower, self.upper, self.margin_lower, self.margin_upper
        y = np.array(x, dtype=np.float64)
        if self.two_sided.any():
            # shift far points by whole periods into [lb - 2al - w/2, ub + 2au + w/2]
            period = 2 * (self.width + al + au)
            start = lb - 2 * al - self.width / 2
            far = self.two_sided & ((y < start) | (y > ub + 2 * au + self.width / 2))
            y = np.where(far, y - period * np.floor((y - start) / period), y)
        # mirror (b + (b - y), not 2b - y, which overflows for |b| near the largest float)
        y = np.where(self.has_upper & (y > ub + au), (ub + au) + ((ub + au) - y), y)
        y = np.where(self.has_lower & (y < lb - al), (lb - al) + ((lb - al) - y), y)
        low = self.has_lower & (y < lb + al)
        high = self.has_upper & (y > ub - au) & ~low
        # d·(d/4a), not d²/4a: d² overflows once the margin a exceeds ~1e154
        d_low, d_high = y - (lb - al), y - (ub + au)
        out = np.where(low, lb + d_low * (d_low / (4 * al)), y)
        out = np.where(high, ub - d_high * (d_high / (4 * au)), out)
        # rounding can leave the quadratic a hair outside the box
        out = np.where(self.has_lower, np.maximum(out, lb), out)
        return np.where(self.has_upper, np.minimum(out, ub), out)

    def inverse(self, y: FloatArray) -> FloatArray:
        """A preimage of box points ``y`` (the one in [lb - al, ub + au])."""
        with np.errstate(over="ignore"):  # only in the unused branch, for huge bounds
            return self._unfold(np.asarray(y, dtype=np.float64))

    def _unfold(self, y: FloatArray) -> FloatArray:
        lb, ub, al, au = self.lower, self.upper, self.margin_lower, self.margin_upper
        low = self.has_lower & (y < lb + al)
        high = self.has_upper & (y > ub - au) & ~low
        # sqrt(a)·sqrt(d), not sqrt(a·d), which overflows for huge bounds
        root_low = np.sqrt(al) * np.sqrt(np.maximum(y - lb, 0.0))
        root_high = np.sqrt(au) * np.sqrt(np.maximum(ub - y, 0.0))
        out = np.where(low, lb - al + 2 * root_low, y)
        return np.where(high, ub + au - 2 * root_high, out)


def _real_scalar(value: Any) -> float:
    """One value as a float: a real number, a size-1 real array, or None (NaN); else TypeError."""
    if value is None:
        return math.nan
    if isinstance(value, numbers.Real):  # int, float, bool, Fraction, Decimal, NumPy reals
        return float(value)
    if isinstance(value, (str, bytes)):
        raise TypeError
    arr = np.asarray(value)
    if arr.size != 1 or arr.dtype.kind not in "biuf":
        raise TypeError
    return float(arr.reshape(()))


def real_values(name: str, values: Any) -> FloatArray:
    """``values`` as a float64 array; None becomes NaN.

    Only real numbers (Python, NumPy, or size-1 real arrays such as ``np.array([v])``) and None
    are accepted: text is refused even when it parses as a number, and so are complex values.
    """
    try:
        arr = np.asarray(values)
        if arr.dtype.kind in "biuf":
            return np.array(arr, dtype=np.float64)
        if arr.dtype.kind != "O":
            raise TypeError
        return np.array([_real_scalar(v) for v in arr.reshape(-1)]).reshape(arr.shape)
    except (TypeError, ValueError):
        pass
    # ragged input (e.g. size-1 arrays mixed with None): one value per item of a sequence
    try:
        if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
            raise TypeError
        return np.array([_real_scalar(v) for v in values], dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be real numbers (or None), got {values!r:.80}") from exc


def _side(name: str, value: Any, free: float, dim: int) -> FloatArray:
    """One side of a box: a scalar or an (n,) array; None (or ±inf) for no bound."""
    if value is None:
        value = free
    elif isinstance(value, (list, tuple)) and any(v is None for v in value):
        value = [free if v is None else v for v in value]
    arr = as_float_array(name, value, finite=False)
    if np.isnan(arr).any():
        raise ValueError(f"{name} must not contain NaN, got {arr}")
    if arr.ndim == 0:
        arr = np.full(dim, float(arr))
    if arr.shape != (dim,):
        raise ValueError(f"{name} must be a scalar or have shape ({dim},), got {arr.shape}")
    return arr


def _box_sides(label: str, lower: Any, upper: Any, dim: int) -> tuple[FloatArray, FloatArray]:
    lo = _side(f"{label} lower", lower, -np.inf, dim)
    hi = _side(f"{label} upper", upper, np.inf, dim)
    if not np.all(lo < hi):
        raise ValueError(f"bounds need lower < upper in every coordinate, got {lo} and {hi}")
    return lo, hi


def _is_pair_list(bounds: Any, dim: int) -> bool:
    """A sequence of n (min, max) pairs, scipy.optimize.minimize's form."""
    if isinstance(bounds, np.ndarray):
        return bounds.shape == (dim, 2)
    try:
        return len(bounds) == dim and all(
            not isinstance(b, (str, bytes)) and len(b) == 2 for b in bounds
        )
    except TypeError:
        return False


def parse_bounds(bounds: Any, dim: int) -> tuple[FloatArray, FloatArray] | None:
    """(lower, upper) arrays of shape (n,) (±inf where free) from any accepted form of ``bounds``.

    Accepted: ``scipy.optimize.Bounds(lb, ub)``; a sequence of n ``(min, max)`` pairs, None for a
    free side (as in ``scipy.optimize.minimize``); pycma's ``(lower, upper)`` with scalars or
    (n,) arrays. In 2-D a 2 x 2 input can be read both ways; it is refused, showing both
    readings, unless only one of them is a valid box.
    """
    if bounds is None:
        return None
    if hasattr(bounds, "lb") and hasattr(bounds, "ub"):  # scipy.optimize.Bounds
        return _box_sides("bounds", bounds.lb, bounds.ub, dim)
    readings: dict[str, tuple[FloatArray, FloatArray]] = {}
    errors: dict[str, str] = {}
    if _is_pair_list(bounds, dim):
        try:
            pairs = list(bounds)
            readings["pairs"] = _box_sides(
                "bounds", [p[0] for p in pairs], [p[1] for p in pairs], dim
            )
        except ValueError as exc:
            errors["pairs"] = str(exc)
    try:
        is_pair = not isinstance(bounds, (str, bytes)) and len(bounds) == 2
    except TypeError:  # a scalar
        is_pair = False
    if is_pair:
        try:
            readings["lower_upper"] = _box_sides("bounds", bounds[0], bounds[1], dim)
        except ValueError as exc:
            errors["lower_upper"] = str(exc)
    if len(readings) == 2:
        (lo_a, hi_a), (lo_b, hi_b) = readings["pairs"], readings["lower_upper"]
        if not (np.array_equal(lo_a, lo_b) and np.array_equal(hi_a, hi_b)):
            raise ValueError(
                f"bounds={bounds!r} is ambiguous in 2-D: as (min, max) pairs per coordinate it is "
                f"lower={lo_a.tolist()}, upper={hi_a.tolist()}; as (lower, upper) it is "
                f"lower={lo_b.tolist()}, upper={hi_b.tolist()}. Pass "
                "scipy.optimize.Bounds(lower, upper) to say which"
            )
    if readings:
        return next(iter(readings.values()))
    if errors:
        raise ValueError(next(iter(errors.values())))
    raise ValueError(
        f"bounds must be scipy.optimize.Bounds, {dim} (min, max) pairs, or a pair (lower, upper) "
        f"of scalars or ({dim},) arrays, got {bounds!r:.80}"
    )


def _integer_lattice(
    strategy: Strategy, integers: Any, sides: tuple[FloatArray, FloatArray] | None, dim: int
) -> tuple[Any, BoxTransform | None]:
    """The integer coordinates' lattice (or None) and the box map of the other coordinates."""
    from .integers import IntegerLattice, parse_integers

    index = parse_integers(integers, dim)
    if index is None:
        return None, None if sides is None else BoxTransform(*sides)
    if strategy.domain != "real" or not strategy.supports_integers:
        raise ValueError(
            f"integers= needs a strategy with integer handling (CMA-ES with margin: a Gaussian "
            f"method, e.g. 'igo-cma'), got {strategy.name!r} with integers={integers!r:.80}"
        )
    lower, upper = sides if sides is not None else (np.full(dim, -np.inf), np.full(dim, np.inf))
    lattice = IntegerLattice(index, lower[index], upper[index])
    lower, upper = lower.copy(), upper.copy()
    lower[index], upper[index] = -np.inf, np.inf  # integer coordinates are clipped, not folded
    box = (
        BoxTransform(lower, upper) if np.isfinite(lower).any() or np.isfinite(upper).any() else None
    )
    return lattice, box


class Batch(NamedTuple):
    """The generation between ``ask`` and ``tell``."""

    noise: FloatArray  #: standard draws
    samples: FloatArray  #: candidates in the unbounded space
    asked: FloatArray  #: candidates mapped into the box (what f sees)
    returned: FloatArray  #: the read-only copy of ``asked`` that ``ask`` returned
    injected: FloatArray | None = None  #: points given to inject(): the last rows of ``asked``


class Run(NamedTuple):
    """Everything about a run that changes from one generation to the next (immutable).

    ``tell`` computes a new record and commits it with one assignment, so an interrupt
    (KeyboardInterrupt) at any point of ``tell`` leaves the optimiser exactly as it was before
    the call, or exactly as after it.
    """

    state: Any  #: the strategy's state record
    checked_state: Any  #: last state verified finite (see ``invalid_state``)
    evaluations: int
    generation: int
    best_x: FloatArray | None
    best_f: float
    best_generation: int
    history: tuple[float, ...]  #: best value of each of the last generations (for tolfun)
    nonfinite_run: int  #: consecutive generations without any finite value
    stop_reason: str | None
    pending: Batch | None  #: the batch of the last ask(), until it is told
    injected: FloatArray | None = None  #: points of inject() waiting for the next ask()


def _step_size(strategy: Strategy, sigma0: Any, dim: int) -> tuple[float, FloatArray | None]:
    """σ0 for the strategy and, for a vector sigma0, the per-coordinate stds (else None).

    The binary model has none (None, or a number ignored with a warning). A vector sigma0 of
    shape (n,) gives σ0 = its geometric mean; the strategy then scales coordinate i of its
    spread by sigma0[i] / σ0 (see ``Strategy.scale_coordinates``).
    """
    if strategy.domain == "binary":
        if sigma0 is not None and np.ndim(sigma0) > 0:
            raise ValueError(
                f"sigma0 as a vector (one step size per coordinate) has no meaning for method "
                f"{strategy.name!r} (its spread follows from its mean E[X] = x0): pass None, got "
                f"sigma0 of shape {np.shape(sigma0)}"
            )
        if sigma0 is not None:
            warnings.warn(
                f"sigma0={sigma0!r} is ignored by {strategy.name!r}: the binary model's spread "
                "follows from its mean E[X] = x0; pass sigma0=None",
                UserWarning,
                stacklevel=3,
            )
        return 1.0, None
    if sigma0 is None:
        raise ValueError(f"sigma0 must be given (> 0) for {strategy.name!r}, got None")
    if isinstance(sigma0, (numbers.Real, np.number)) or np.ndim(sigma0) == 0:
        return as_float("sigma0", sigma0, positive=True), None
    stds = as_float_array("sigma0", sigma0, ndim=1)
    if stds.shape != (dim,):
        raise ValueError(
            f"sigma0 must be a number or have shape ({dim},) (one step size per coordinate of "
            f"x0), got shape {stds.shape}"
        )
    if not np.all(stds > 0):
        raise ValueError(f"sigma0 must be > 0 in every coordinate, got {stds}")
    with np.errstate(over="ignore", under="ignore"):
        geometric = float(np.exp(np.log(stds).mean()))
    return geometric, stds


def _as_strategy(strategy: Any, options: dict[str, Any] | None) -> Strategy:
    if isinstance(strategy, str):
        from .registry import build_strategy

        return build_strategy(strategy, options)
    if not isinstance(strategy, Strategy):
        raise ValueError(
            "strategy must be a method name (see natgrad.optim.METHODS) or a "
            f"natgrad.optim.Strategy, got {type(strategy).__name__}"
        )
    from .registry import build_strategy

    return build_strategy(strategy, options)


class Optimizer:
    """Ask/tell optimiser running any :class:`~natgrad.optim.strategy.Strategy`.

    Parameters
    ----------
    strategy : Strategy or str
        The search-distribution update: an instance (e.g. ``natgrad.XNES(sigma_rule="csa")``) or
        a method name (e.g. ``"igo-cma"``, see ``natgrad.optim.METHODS``) for its defaults.
    x0 : array_like, shape (n,)
        Initial mean (inside ``bounds`` if given).
    sigma0 : float, array_like of shape (n,), or None
        Initial step size, > 0. A vector gives each coordinate its own initial standard
        deviation (pycma's ``CMA_stds``): the first samples have σ·sqrt(C_ii) = sigma0[i], with
        σ0 the geometric mean of sigma0 (see ``Strategy.scale_coordinates`` for what each method
        makes of it; ``gmrf`` and ``binary-sngd`` refuse it). The binary model has no step size
        (its spread follows from its mean E[X] = x0): pass None there; a number is ignored,
        with a warning.
    popsize : int, optional
        Samples per generation λ (>= 2); default ``strategy.default_popsize(n)``.
    bounds : (lower, upper), optional
        Box bounds, scalars or (n,) arrays, ``±inf`` or None for a free side. See the module
        docstring for the transformation used and which points are told. Continuous strategies
        only (the binary model's samples are ±1; bounds raise ValueError there).
    max_evals : int, optional
        Stop once this many values have been told (no limit by default). Whole generations are
        told, so the last one may overshoot: ``evaluations`` ends in
        [max_evals, max_evals + λ − 1].
    max_iter : int, optional
        Stop once this many generations have been told (no limit by default).
    ftarget : float, optional
        Stop once a value <= ftarget has been told.
    tolx : float, optional
        Stop when every σ·sqrt(C_ii) < tolx; default ``1e-12 * sigma0``.
    tolfun : float
        Stop when the best values of the last ``10 + ceil(30 n / λ)`` generations and all values of
        the current one lie within ``tolfun`` (default 1e-12).
    stagnation : int, optional
        Stop after this many generations without improvement of the best value; default
        ``100 + 100 n^1.5 / λ`` (pycma's ``tolstagnation``).
    max_condition : float
        Stop when the condition number of C exceeds this (default 1e14).
    seed : int, optional
        Seed of a new ``numpy.random.Generator``; or pass ``rng``.
    rng : numpy.random.Generator, optional
        Generator to draw from (its stream advances).
    options : dict, optional
        With a method name: the strategy's options (its constructor's keywords), exactly as in
        ``natgrad.minimize``; unknown keys are a ValueError listing the valid ones.
    integers : sequence of int or boolean mask, optional
        Coordinates that take integer values (CMA-ES with margin, :mod:`natgrad.optim.integers`;
        strategies with ``supports_integers``: every Gaussian method, igo-cma, xnes, snes, sngd,
        lowrank and gmrf). ``ask()`` returns them as integral floats, the nearest integer inside their ``bounds`` to m + A(x − m); the
        distribution itself stays continuous, and after each update the margin keeps the
        probability of leaving the current integer at least ``margin`` (an option of the
        strategy; default 1/(nλ)). ``best_x`` and ``mean`` are integral there too. The box map
        of ``bounds`` applies to the other coordinates; integer coordinates are clipped.

    Examples
    --------
    >>> import numpy as np
    >>> from natgrad.optim import Optimizer
    >>> opt = Optimizer("igo-cma", np.full(5, 3.0), 1.0, seed=1, ftarget=1e-10)
    >>> while not opt.should_stop():
    ...     X = opt.ask()
    ...     opt.tell(X, (X**2).sum(axis=1))
    >>> opt.stop_reason, bool(opt.best_f <= 1e-10)
    ('ftarget', True)
    """

    #: draw only the rows a mirrored strategy reads (set per instance from the strategy; the
    #: class default, drawing all rows, gives the same batches)
    _mirrored_noise: bool = False

    def __init__(
        self,
        strategy: Strategy | str,
        x0: ArrayLike,
        sigma0: float | None,
        *,
        popsize: int | None = None,
        bounds: Any = None,
        max_evals: int | None = None,
        max_iter: int | None = None,
        ftarget: float | None = None,
        tolx: float | None = None,
        tolfun: float = 1e-12,
        stagnation: int | None = None,
        max_condition: float = 1e14,
        seed: Any = None,
        rng: np.random.Generator | None = None,
        options: dict[str, Any] | None = None,
        integers: Any = None,
    ) -> None:
        strategy = _as_strategy(strategy, options)
        x0_arr = as_float_array("x0", x0, ndim=1)
        if x0_arr.size == 0:
            raise ValueError("x0 must have at least one coordinate, got shape (0,)")
        n = x0_arr.size
        self._sigma0, self._stds = _step_size(strategy, sigma0, n)
        self._strategy = strategy
        self._dim = n
        self._popsize = (
            as_int("popsize", strategy.default_popsize(n), minimum=2)
            if popsize is None
            else as_count("popsize", popsize, minimum=2)
        )
        if self._popsize * n > _MAX_BATCH:
            raise ValueError(
                f"popsize must keep a generation's popsize x n samples allocatable (at most "
                f"{_MAX_BATCH:.3g} numbers), got popsize={popsize!r} with n={n}"
            )
        self._uniform_noise = strategy.noise_distribution == "uniform"
        self._mirrored_noise = strategy.mirrored
        if bounds is not None and strategy.domain != "real":
            # the box map would fold the ±1 samples of the binary model to other numbers
            raise ValueError(
                f"bounds apply to continuous strategies only; {strategy.name!r} samples "
                f"{{-1, +1}}^n, got bounds={bounds!r:.80}"
            )
        self._bounds = bounds
        self._sides = parse_bounds(bounds, n)
        self._lattice, self._box = _integer_lattice(strategy, integers, self._sides, n)
        self._plain = self._box is None and self._lattice is None  # f sees the samples as drawn
        if self._sides is not None:
            lb, ub = self._sides
            if not np.all((lb <= x0_arr) & (x0_arr <= ub)):
                raise ValueError(f"x0 must lie inside bounds, got {x0_arr}")
        if self._box is not None:
            x0_arr = self._box.inverse(x0_arr)
        self._max_evals = None if max_evals is None else as_count("max_evals", max_evals)
        self._max_iter = None if max_iter is None else as_count("max_iter", max_iter)
        self._ftarget = None if ftarget is None else as_float("ftarget", ftarget)
        self._tolx = (
            1e-12 * self._sigma0 if tolx is None else as_float("tolx", tolx, nonnegative=True)
        )
        self._tolfun = as_float("tolfun", tolfun, nonnegative=True)
        self._stagnation = (
            int(100 + 100 * n**1.5 / self._popsize)
            if stagnation is None
            else as_count("stagnation", stagnation)
        )
        self._max_condition = as_float("max_condition", max_condition, positive=True)
        self._rng = as_generator(rng, seed)
        self._history_len = 10 + math.ceil(30 * n / self._popsize)
        self._check_every = 10
        self._condition_every = max(100, 10 * n)

        state = strategy.initial_state(x0_arr, self._sigma0)
        if self._stds is not None:
            try:
                scaled = strategy.scale_coordinates(state, self._stds / self._sigma0)
            except NotImplementedError:
                raise ValueError(
                    f"sigma0 as a vector (one step size per coordinate) has no meaning for "
                    f"method {strategy.name!r}: pass a number, got sigma0 of shape {self._stds.shape}"
                ) from None
            state = freeze(strategy.check_state(scaled, n))
        self._run = Run(
            state=state,
            checked_state=state,
            evaluations=0,
            generation=0,
            best_x=None,
            best_f=math.inf,
            best_generation=0,
            history=(),
            nonfinite_run=0,
            stop_reason=None,
            pending=None,
        )

    # ------------------------------------------------------------------ ask / tell
    def ask(self) -> FloatArray:
        """Draw a new generation: a read-only (λ, n) array (inside ``bounds`` if given).

        Raises
        ------
        ValueError
            If the samples would overflow float64 (a step size or mean grown beyond ~1e300); the
            run then stops with ``stop_reason == "invalid_state"``.
        """
        run = self._run
        state = run.state
        rng = self._rng
        shape = self._strategy.noise_shape(state, self._popsize)
        rng_state = rng.bit_generator.state
        try:
            if self._uniform_noise:
                noise = rng.random(shape)
            else:
                noise = standard_normal(rng, shape, mirrored=self._mirrored_noise)
            injected = run.injected
            if injected is not None:  # noise of the last rows: the draws of the given points
                noise = self._injection_noise(state, noise, injected)
            samples = self._strategy._sample(state, noise)
            asked = samples if self._plain else self._for_f(state, samples)
            if injected is not None:  # f sees the given points themselves, bit for bit
                if asked is samples:  # the update keeps the samples of the shortened draws
                    asked = samples.copy()
                asked[asked.shape[0] - injected.shape[0] :] = injected
            # never written again: the caller gets a read-only view of a read-only array (its
            # flag cannot be set back without going through .base), and an unchanged batch is
            # recognised by identity in tell(); no copy of the (λ, n) batch per generation
            asked.setflags(write=False)
            returned = asked.view()
            # run._replace(pending=..., injected=None), at a fraction of its cost
            self._run = Run(*run[:10], Batch(noise, samples, asked, returned, injected), None)
            return returned
        except ValueError as exc:
            # the distribution cannot be sampled in float64 any more (σ or the mean grew too
            # large): the run ends here, as for any other non-finite state
            self._rng.bit_generator.state = rng_state
            self._run = run._replace(stop_reason="invalid_state")
            raise ValueError(
                f"the search distribution can no longer be sampled ({exc}); the run has "
                "stopped with stop_reason 'invalid_state'"
            ) from exc
        except BaseException:
            # an interrupted ask leaves no trace, even after the batch was committed (an
            # interrupt on the return): the next ask draws the same batch
            self._rng.bit_generator.state = rng_state
            self._run = run
            raise

    def inject(self, points: ArrayLike) -> None:
        """Have the next :meth:`ask` return ``points`` as its last rows (pycma's ``inject``).

        Known good points (a previous solution, a heuristic's answer) then compete in the next
        generation's ranking like sampled ones. Each point enters the update through its draw
        z (x = m + σ A z), shortened to norm at most √n + 2n/(n + 2) when it lies far out in the
        distribution (Hansen 2011, "Injecting external solutions into CMA-ES"), so one distant
        point cannot throw the mean and the covariance off; f is evaluated at the point itself.
        Points given by several calls before one ``ask`` are all used, in order.

        Parameters
        ----------
        points : array_like, shape (k, n) or (n,)
            Finite points inside ``bounds`` (if given); k at most the rows the strategy leaves
            free (λ, or λ − 2 for IGO-CMA's TPA pair), counting points injected before.

        Raises
        ------
        ValueError
            If the points have the wrong shape, are not finite or lie outside ``bounds``; if
            there are too many; with ``integers=``; or if the method has no draw for a given
            point (``"lowrank"``'s mirrored pairs, ``"gmrf"``, the binary model). Nothing is
            queued then.
        """
        pts = as_float_array("points", points)
        if pts.ndim == 1:
            pts = pts[None, :]
        if pts.ndim != 2 or pts.shape[1] != self._dim or pts.shape[0] < 1:
            raise ValueError(
                f"points must have shape (k, {self._dim}) or ({self._dim},) with k >= 1, got "
                f"{np.shape(points)}"
            )
        if not np.isfinite(pts).all():
            raise ValueError("points must be finite (an injected point is evaluated as given)")
        name = self._strategy.name
        if self._lattice is not None:
            raise ValueError("inject is not available with integers= (the points would have to "
                             "be encoded on the integer lattice)")  # fmt: skip
        if type(self._strategy).noise_for is Strategy.noise_for:
            raise ValueError(
                f"inject is not available for method {name!r}: it has no draw z for a given "
                "point (lowrank samples mirrored pairs; gmrf and the binary model do not invert "
                "their sampling): use igo-cma, xnes, snes or sngd"
            )
        if self._sides is not None:
            lb, ub = self._sides
            outside = ~np.all((lb <= pts) & (pts <= ub), axis=1)
            if outside.any():
                i = int(np.flatnonzero(outside)[0])
                raise ValueError(f"points must lie inside bounds, got row {i}: {pts[i]}")
        queued = self._run.injected
        total = pts if queued is None else np.concatenate([queued, pts])
        room = self._strategy.injectable_rows(self._popsize)
        if total.shape[0] > room:
            raise ValueError(
                f"at most {room} points can be injected into one generation of {self._popsize} "
                f"({name}), got {total.shape[0]}"
                + ("" if queued is None else f" ({queued.shape[0]} queued before)")
            )
        total = np.array(total)  # owned: nothing the caller holds
        total.flags.writeable = False
        self._run = self._run._replace(injected=total)

    def _injection_noise(self, state: Any, noise: FloatArray, points: FloatArray) -> FloatArray:
        """``noise`` with its last rows replaced by the (length-limited) draws of ``points``."""
        k, n = points.shape
        y = points if self._box is None else self._box.inverse(points)
        z = self._strategy.noise_for(state, y)
        if not np.isfinite(z).all():
            raise ValueError("an injected point has no finite draw under the current state")
        limit = math.sqrt(n) + 2.0 * n / (n + 2.0)  # Hansen 2011, section 3
        norms = np.linalg.norm(z, axis=1)
        z = np.where((norms > limit)[:, None], z * (limit / np.maximum(norms, 1e-300))[:, None], z)
        out = np.array(noise)
        out[out.shape[0] - k :] = z
        return out

    def tell(self, X: ArrayLike, values: ArrayLike) -> None:
        """Update the distribution with the values of the batch from the last :meth:`ask`.

        Parameters
        ----------
        X : array_like, shape (λ, n)
            The array returned by the last ``ask()`` (values must be unchanged).
        values : array_like, shape (λ,)
            f at the rows of X; lower is better. NaN, ±Inf and None are ranked worst (see the
            module docstring).

        Raises
        ------
        ValueError
            If no batch is pending, X is not that batch, or values has the wrong shape or type.
            The optimiser is then unchanged, as it is after an interrupt inside ``tell``.
        """
        run = self._run
        batch = run.pending
        if batch is None:
            raise ValueError("tell() needs the batch of a preceding ask(); none is pending")
        if X is not batch.returned or X.flags.writeable:
            X_arr = np.asarray(X)
            if X_arr.shape != batch.asked.shape:
                raise ValueError(
                    f"X must have shape {batch.asked.shape} (the last ask()), got {X_arr.shape}"
                )
            if not np.array_equal(X_arr, batch.asked):
                raise ValueError("X is not the batch returned by the last ask() (it was modified)")
        vals = self._as_values(values)
        self._run = self._told(run, batch, vals)  # the one assignment that commits the generation

    def _told(self, run: Run, batch: Batch, vals: FloatArray) -> Run:
        """The run after telling ``vals`` for ``batch`` (pure: ``run`` is not changed)."""
        evaluations = run.evaluations + vals.size
        generation = run.generation + 1
        finite = None if all_finite(vals) else np.isfinite(vals)
        if finite is not None:
            if not finite.any():
                return self._discarded(run, evaluations, generation)
            good = vals[finite]
            # Python floats: finite values near ±1.8e308 overflow to inf here without a warning,
            # and min() brings the replacement back to the largest finite float
            worst, best_good = float(good.max()), float(good.min())
            spread = max(worst - best_good, abs(worst) * 1e-12, 1e-300)
            vals = vals.copy()
            vals[~finite] = min(worst + spread, float(np.finfo(np.float64).max))

        try:
            updated = self._strategy._update(run.state, batch.noise, batch.samples, vals)
            if self._lattice is not None:  # CMA-ES with margin: after every update
                updated = self._strategy._correct_margin(updated, self._lattice, self._popsize)
                if not is_finite_state(updated):
                    raise ValueError("the margin correction overflowed (an axis scale underflowed)")
            # its arrays are new ones no caller holds: frozen when they leave (the state property)
            state = updated
        except ValueError as exc:
            # everything passed in was made and checked here, so this is a numerical breakdown
            # (the new state would overflow float64, or the factor update found no positive
            # definite root): stop with the last finite state, as for a non-finite sigma
            logger.warning("natgrad: the %s update failed (%s)", self._strategy.name, exc)
            state = run.state._replace(sigma=math.nan)
        i = vals.argmin()
        best = vals.item(i)
        best_f, best_x, best_generation = run.best_f, run.best_x, run.best_generation
        if best < best_f:  # invalid values were made worse than every finite one
            # the asked batch is never written again: keep a view, copy on access
            best_f, best_x, best_generation = best, batch.asked[i], generation
        history = run.history
        if len(history) >= self._history_len:  # the bests of the last history_len generations
            history = history[1:]
        history += (best,)
        if not math.isfinite(state.sigma):
            state = run.state if is_finite_state(run.state) else run.checked_state
            reason: str | None = "invalid_state"
        else:
            reason = None
        new = Run(
            state, run.checked_state, evaluations, generation, best_x, best_f, best_generation,
            history, 0, reason, None, run.injected,
        )  # fmt: skip
        return new if reason is not None else self._check_stop(new, vals, finite)

    def _for_f(self, state: Any, samples: FloatArray) -> FloatArray:
        """The points f sees: samples mapped into the box, integer coordinates encoded."""
        asked = samples if self._box is None else self._box(samples)
        if self._lattice is not None:
            asked = self._lattice.encode(asked, state.mean, state.margin_scale)
        return asked

    def _as_values(self, values: Any) -> FloatArray:
        if type(values) is np.ndarray and values.dtype == _FLOAT64:
            if values.shape != (self._popsize,):
                raise ValueError(f"values must have shape ({self._popsize},), got {values.shape}")
            return values.copy()
        arr = real_values("values", values)
        if arr.shape != (self._popsize,):
            raise ValueError(f"values must have shape ({self._popsize},), got {arr.shape}")
        return arr

    def _discarded(self, run: Run, evaluations: int, generation: int) -> Run:
        """No finite value at all: no update; the spread is halved so the next samples stay
        closer to the mean (the binary model has no step size and is simply redrawn)."""
        nonfinite_run = run.nonfinite_run + 1
        reason = None
        if nonfinite_run >= MAX_NONFINITE:
            reason = "nonfinite"
        elif self._max_evals is not None and evaluations >= self._max_evals:
            reason = "max_evals"
        elif self._max_iter is not None and generation >= self._max_iter:
            reason = "max_iter"
        return run._replace(
            state=self._strategy.scale_step(run.state, 0.5),
            evaluations=evaluations,
            generation=generation,
            nonfinite_run=nonfinite_run,
            stop_reason=reason,
            pending=None,
        )

    def _check_stop(self, run: Run, vals: FloatArray, finite: Any) -> Run:
        if self._ftarget is not None and run.best_f <= self._ftarget:
            return run._replace(stop_reason="ftarget")
        if self._max_evals is not None and run.evaluations >= self._max_evals:
            return run._replace(stop_reason="max_evals")
        if self._max_iter is not None and run.generation >= self._max_iter:
            return run._replace(stop_reason="max_iter")
        if run.generation - run.best_generation >= self._stagnation:
            return run._replace(stop_reason="stagnation")
        if run.generation % self._check_every:
            return run
        # criteria that cost more than a comparison: checked every few generations
        state = run.state
        scales = self._strategy.axis_scales(state)
        high, low = extremes(scales)
        if not (math.isfinite(high) and all_finite(state.mean)):
            keep = run.checked_state if is_finite_state(run.checked_state) else state
            return run._replace(state=keep, stop_reason="invalid_state")
        run = Run(state, state, *run[2:])  # run._replace(checked_state=state), for less
        history = run.history
        if len(history) == self._history_len:
            # the current generation first: while the run moves, its spread alone settles it
            high_f, low_f = extremes(vals if finite is None else vals[finite])
            # floats: the difference overflows to inf without a warning
            if high_f - low_f < self._tolfun and max(history) - min(history) < self._tolfun:
                return run._replace(stop_reason="tolfun")
        if high < self._tolx:
            return run._replace(stop_reason="tolx")
        # (max/min axis scale)² never exceeds cond(C): a free lower bound, checked often; the
        # strategy's exact (possibly O(n³)) condition number only every `condition_every`
        if low <= 0.0 or (high / low) ** 2 > self._max_condition:
            return run._replace(stop_reason="condition")
        if run.generation % self._condition_every == 0:
            condition = self._strategy.condition_number(state)
            if not condition <= self._max_condition:  # NaN counts as too large
                return run._replace(stop_reason="condition")
        return run

    # ------------------------------------------------------------------ checkpoints
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write a checkpoint to ``path`` (an ``.npz`` archive with JSON metadata).

        It holds the strategy's name and options, the settings, the state, the counters, the
        best point, a pending batch's draws and the random generator's state, so
        :meth:`load` resumes the run bit for bit. Loading it executes no code (unlike a pickle);
        see :mod:`natgrad.optim.checkpoint` for the format. Only registered strategies (those of
        :data:`natgrad.optim.METHODS`) can be saved.
        """
        from .checkpoint import save

        save(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Optimizer:
        """The optimiser saved in ``path`` by :meth:`save`.

        Raises
        ------
        ValueError
            If the file is not a complete, valid checkpoint of this format (truncated, tampered,
            of another version, or naming an unknown strategy).
        """
        from .checkpoint import load

        return load(path)

    def should_stop(self) -> bool:
        """True once a termination criterion is met; :attr:`stop_reason` says which."""
        return self._run.stop_reason is not None

    # ------------------------------------------------------------------ properties
    @property
    def stop_reason(self) -> str | None:
        """Name of the criterion that ended the run, or None while running."""
        return self._run.stop_reason

    @property
    def strategy(self) -> Strategy:
        """The strategy whose state this optimiser advances."""
        return self._strategy

    @property
    def state(self) -> Any:
        """The strategy's current state record (immutable: its arrays are read-only)."""
        # the arrays of the states the strategy makes are this optimiser's own: they are made
        # read-only in place here, where they leave it (not in every tell), which also covers
        # a copy or an unpickled optimiser (copying an array drops its read-only flag)
        return freeze(self._run.state, owned=True)

    @property
    def dim(self) -> int:
        """Search-space dimension n."""
        return self._dim

    @property
    def popsize(self) -> int:
        """Samples per generation λ."""
        return self._popsize

    @property
    def mean(self) -> FloatArray:
        """Mean of the search distribution (mapped into the box when ``bounds`` is given; the
        nearest admitted integer on ``integers`` coordinates)."""
        state = self._run.state
        mean = state.mean.copy()
        return mean if self._plain else self._for_f(state, mean)

    @property
    def sigma(self) -> float:
        """Current step size σ."""
        return float(self._run.state.sigma)

    @property
    def best_x(self) -> FloatArray | None:
        """Best point told so far (a copy), or None before the first finite value."""
        best_x = self._run.best_x
        return None if best_x is None else np.array(best_x)

    @property
    def best_f(self) -> float:
        """Best finite value told so far (inf before the first one)."""
        return self._run.best_f

    @property
    def evaluations(self) -> int:
        """Values told so far (invalid ones included)."""
        return self._run.evaluations

    @property
    def generation(self) -> int:
        """Generations told so far."""
        return self._run.generation

    def __repr__(self) -> str:
        return (
            f"Optimizer({self._strategy.name!r}, n={self._dim}, popsize={self._popsize}, "
            f"generation={self.generation}, evaluations={self.evaluations}, "
            f"best_f={self.best_f:.6g}, sigma={self.sigma:.3g}, stop_reason={self.stop_reason!r})"
        )
