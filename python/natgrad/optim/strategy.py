"""The contract between a search-distribution update and the ask/tell machinery.

A *strategy* is the mathematics of one optimiser (XNES, SNES, IGO-CMA, SNGD, the binary model):
a typed, immutable state record and pure functions of it. Everything else an optimiser does —
asking and telling, the NaN/Inf policy, box bounds, termination, restarts, checkpoints, the
random generator — lives once, in :class:`natgrad.optim.Optimizer`, and serves every strategy.
So a test can feed fixed standard normals to ``sample`` and fixed values to ``update`` and check
one step exactly against the pure-NumPy twin in :mod:`natgrad.reference`.

One surface, one boundary
-------------------------
Every strategy subclasses :class:`Strategy` and has the same public methods. The public methods
are the validated boundary: they check the state record (its type, every field's shape, dtype,
layout and finiteness), the standard draws, the candidates and the values (which must be finite:
the NaN/Inf policy belongs to the :class:`~natgrad.optim.Optimizer`) *before* any kernel runs,
and raise ValueError naming the argument otherwise. A subclass implements the unchecked
``_initial_state``, ``_sample`` and ``_update``, which receive validated, C-contiguous float64
input; the Optimizer calls those directly, because it only passes what it made and checked
itself.

Conventions
-----------
* ``state`` is a NamedTuple of NumPy arrays and numbers; its arrays are read-only views, and
  ``update`` returns a new record (picklable; a step is a pure function of its arguments). Every
  state has ``mean`` (n,), ``sigma`` (float) and ``generation`` (int). ``state_fields`` declares
  the kind of every field (see :data:`FIELD_KINDS`), which is all the boundary needs to check it.
* Randomness never enters a strategy: ``sample`` receives the standard draws ``noise`` (shape
  ``noise_shape(state, popsize)``; standard normal, or uniform on [0, 1) when
  ``noise_distribution = "uniform"``) and returns the candidates X of shape (popsize, n).
* ``update(state, noise, X, values)`` receives the same ``noise`` and ``X`` that ``sample``
  produced and finite ``values`` (popsize,); lower is better.
* ``scale_step(state, factor)`` multiplies the spread of the search distribution by ``factor``
  (the shell halves it after a generation without any finite value).
* Integer coordinates (CMA-ES with margin, :mod:`natgrad.optim.integers`): a strategy whose
  state has a ``margin_scale`` field ("positive_vector", all ones until corrected) supports
  them. ``correct_margin(state, lattice, popsize)`` applies the margin correction after an
  ``update``; it changes only ``mean`` and ``margin_scale``, and needs only ``axis_scales``.
* Work per generation follows the strategy's stated complexity (e.g. O(λn²) for full covariance):
  the heavy lifting is one call into the compiled core.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike

from .._validation import FloatArray, as_float, as_float_array, as_int

__all__ = [
    "FIELD_KINDS",
    "Strategy",
    "checked_array",
    "default_popsize",
    "freeze",
    "is_finite_state",
]

#: kinds of state fields: "vector" (n,), "positive_vector" (n,) > 0, "matrix" (n, n) and
#: "pattern" (the strategy's ``pattern_size(n)``,) float arrays, all finite; "step" a finite
#: float > 0; "nonnegative" a finite float >= 0; "real" any finite float; "count" an int >= 0
FIELD_KINDS = frozenset(
    {"vector", "positive_vector", "matrix", "pattern", "step", "nonnegative", "real", "count"}
)


def default_popsize(dim: int) -> int:
    """λ = 4 + ⌊3 ln n⌋ (Hansen 2016, eq. 48; Wierstra et al. 2014, Table 1)."""
    return 4 + math.floor(3 * math.log(as_int("dim", dim, minimum=1)))


def freeze(state: Any, *, owned: bool = False) -> Any:
    """The record with every writeable array field made read-only.

    By default each such array is replaced by a read-only view, so an array the caller still
    holds stays writeable for them. ``owned=True`` sets the flag in place instead (cheaper), for
    states whose arrays no caller holds: those the Optimizer gets from its own strategy calls.
    """
    if owned:
        for value in state:
            if type(value) is np.ndarray:
                value.setflags(write=False)
        return state
    changed = False
    fields = list(state)
    for i, value in enumerate(fields):
        if type(value) is np.ndarray and value.flags.writeable:
            view = value.view()
            view.setflags(write=False)
            fields[i] = view
            changed = True
    return type(state)._make(fields) if changed else state


def is_finite_state(state: Any) -> bool:
    """True when every array and float in the state record is finite."""
    for value in state._asdict().values():
        if isinstance(value, (float, np.floating, np.ndarray)) and not np.all(np.isfinite(value)):
            return False
    return True


def checked_array(
    name: str, value: Any, shape: tuple[int | None, ...], *, finite: bool = True
) -> FloatArray:
    """``value`` as a C-contiguous float64 array of ``shape`` (None: any length), or ValueError.

    An array that already is one is passed through without a copy (the kernels only read it).
    """
    if (
        type(value) is np.ndarray
        and value.dtype == np.float64
        and value.flags.c_contiguous
        and value.ndim == len(shape)
        and all(w is None or w == s for w, s in zip(shape, value.shape, strict=True))
    ):
        if finite and not np.isfinite(value).all():
            raise ValueError(f"{name} must be finite, got {np.array2string(value, threshold=6)}")
        return value
    return as_float_array(name, value, shape=shape, finite=finite)


class Strategy:
    """Pure update rules of one search distribution (see the module docstring).

    Subclasses set ``name``, ``state_type`` and ``state_fields`` and implement ``_initial_state``,
    ``_sample``, ``_update``, ``scale_step``, ``condition_number`` and ``axis_scales``; they may
    override ``default_popsize`` and ``noise_shape``. ``options()`` returns the constructor's
    keyword arguments (used by ``repr`` and checkpoints), read from the attributes of the same
    names.
    """

    #: short name used by ``natgrad.minimize(method=...)``, the command line and checkpoints
    name: ClassVar[str] = ""
    #: the NamedTuple class of this strategy's states
    state_type: ClassVar[type]
    #: field name -> kind (one of FIELD_KINDS), for every field of ``state_type``
    state_fields: ClassVar[dict[str, str]]
    #: the standard draws ``sample`` needs: "normal" or "uniform" on [0, 1)
    noise_distribution: ClassVar[str] = "normal"
    #: mirrored sampling: rows h..2h − 1 of the (λ, n) draws (h = ⌊λ/2⌋) are the negated rows
    #: 0..h − 1, so the shell draws only the others (``_random.standard_normal(mirrored=True)``)
    mirrored: ClassVar[bool] = False
    #: the search space: "real" (R^n, box bounds allowed) or "binary" ({-1, +1}^n)
    domain: ClassVar[str] = "real"
    #: constructor keyword arguments, in order (each stored as an attribute of the same name)
    option_names: ClassVar[tuple[str, ...]] = ()

    # ------------------------------------------------------------------ validated surface
    def initial_state(self, x0: ArrayLike, sigma0: float) -> Any:
        """State at generation 0 with mean ``x0`` (1-D, finite, non-empty) and step ``sigma0``."""
        mean = as_float_array("x0", x0, ndim=1)
        if mean.size == 0:
            raise ValueError("x0 must have at least one coordinate, got an empty array")
        return freeze(self._initial_state(mean, as_float("sigma0", sigma0, positive=True)))

    def default_popsize(self, dim: int) -> int:
        """λ used when the user gives none: 4 + ⌊3 ln n⌋ unless the strategy needs more."""
        return default_popsize(dim)

    def noise_shape(self, state: Any, popsize: int) -> tuple[int, ...]:
        """Shape of the standard draws ``sample`` needs for one generation: (λ, n)."""
        if type(popsize) is not int or popsize < 2:
            popsize = as_int("popsize", popsize, minimum=2)
        return (popsize, len(state.mean))

    def sample(self, state: Any, noise: ArrayLike) -> FloatArray:
        """Candidates X, shape (popsize, n), from the standard draws ``noise``."""
        z = self._check_noise(noise)
        X = self._sample(self.check_state(state, z.shape[1]), z)
        if not np.isfinite(X).all():
            raise ValueError(
                "the samples overflowed float64 (state.sigma or the spread is too large for the "
                f"draws), got sigma = {state.sigma!r}"
            )
        return X

    def update(self, state: Any, noise: ArrayLike, X: ArrayLike, values: ArrayLike) -> Any:
        """New state after one generation; ``values`` must be finite, lower is better."""
        z = self._check_noise(noise)
        state = self.check_state(state, z.shape[1])
        x = checked_array("X", X, z.shape)
        v = checked_array("values", values, (z.shape[0],), finite=False)
        if not np.all(np.isfinite(v)):
            raise ValueError(
                "values must be finite (natgrad.Optimizer ranks NaN, Inf and None worst; a "
                f"strategy used directly needs finite values), got {np.array2string(v, threshold=6)}"
            )
        self._check_population(z, x)
        new = self._update(state, z, x, v)
        if not is_finite_state(new):
            # finite input, non-finite result: never returned silently (the Optimizer keeps its
            # last finite state and stops with "invalid_state" instead)
            raise ValueError(
                "the update overflowed to a non-finite state: X must be the candidates "
                "sample(state, noise) returned, and values and state of moderate size"
            )
        return freeze(new)

    def check_state(self, state: Any, dim: int | None = None) -> Any:
        """``state`` with every field checked against ``state_fields`` (ValueError otherwise).

        ``dim`` is n (from the draws of a generation); by default the length of ``state.mean``.
        Arrays come back C-contiguous float64 (a copy only where the layout or dtype differs).
        """
        state_in: Any = state
        if not isinstance(state_in, self.state_type):
            raise ValueError(
                f"state must be a {self.state_type.__name__} (from this strategy's "
                f"initial_state or update), got {type(state_in).__name__}"
            )
        state = state_in
        try:
            mean_shape = np.shape(state.mean)
        except ValueError as exc:  # ragged
            raise ValueError(f"state.mean must be 1-D, got {state.mean!r:.80}") from exc
        if len(mean_shape) != 1:
            raise ValueError(f"state.mean must be 1-D, got shape {mean_shape}")
        n = mean_shape[0] if dim is None else dim
        if mean_shape != (n,):
            raise ValueError(
                f"noise has n = {n} columns but state.mean has shape {mean_shape}: they must agree"
            )
        fixed: dict[str, Any] = {}
        for field, kind in self.state_fields.items():
            value = getattr(state, field)
            label = f"state.{field}"
            if kind == "count":
                checked: Any = as_int(label, value, minimum=0)
            elif kind == "step":
                checked = as_float(label, value, positive=True)
            elif kind == "nonnegative":
                checked = as_float(label, value, nonnegative=True)
            elif kind == "real":
                checked = as_float(label, value)
            else:
                shape = (
                    (n, n)
                    if kind == "matrix"
                    else (self.pattern_size(n),)
                    if kind == "pattern"
                    else (n,)
                )
                checked = checked_array(label, value, shape)
                if kind == "positive_vector" and not np.all(checked > 0):
                    raise ValueError(f"{label} must be > 0 everywhere")
            if checked is not value:
                fixed[field] = checked
        return state._replace(**fixed) if fixed else state

    @property
    def supports_integers(self) -> bool:
        """True when the state carries CMA-ES with margin's ``margin_scale`` (integer variables)."""
        return "margin_scale" in self.state_fields

    def correct_margin(self, state: Any, lattice: Any, popsize: int) -> Any:
        """The state after the margin correction of the integer coordinates of ``lattice``.

        ``lattice`` is a :class:`natgrad.optim.integers.IntegerLattice` of the state's dimension;
        ``popsize`` the λ of the generation just told (the default margin is 1/(nλ)). Only
        ``mean`` and ``margin_scale`` change (see :mod:`natgrad.optim.integers`).
        """
        from .integers import IntegerLattice

        if not self.supports_integers:
            raise ValueError(
                f"{self.name!r} has no integer handling (its state has no margin_scale field); "
                "use method 'igo-cma'"
            )
        state = self.check_state(state)
        if not isinstance(lattice, IntegerLattice):
            raise ValueError(
                f"lattice must be a natgrad.optim.integers.IntegerLattice, got "
                f"{type(lattice).__name__}"
            )
        n = len(state.mean)
        if lattice.index.size and not 0 <= int(lattice.index.min()) <= int(lattice.index.max()) < n:
            raise ValueError(f"lattice indices must lie in [0, {n}), got {lattice.index.tolist()}")
        if type(popsize) is not int or popsize < 2:
            popsize = as_int("popsize", popsize, minimum=2)
        new = self._correct_margin(state, lattice, popsize)
        if not is_finite_state(new):
            raise ValueError(
                "the margin correction overflowed to a non-finite state (an axis scale "
                "σ√C_jj of an integer coordinate has underflowed)"
            )
        return freeze(new)

    def _correct_margin(self, state: Any, lattice: Any, popsize: int) -> Any:
        from .integers import default_margin

        margin = getattr(self, "margin", None)
        alpha = default_margin(len(state.mean), popsize) if margin is None else margin
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            mean, scale = lattice.correct(
                state.mean, self.axis_scales(state), state.margin_scale, alpha
            )
        return state._replace(mean=mean, margin_scale=scale)

    def _check_noise(self, noise: ArrayLike) -> FloatArray:
        z = checked_array("noise", noise, (None, None))
        if z.shape[0] < 2 or z.shape[1] < 1:
            raise ValueError(f"noise must have shape (popsize >= 2, n >= 1), got {z.shape}")
        return z

    def _check_population(self, noise: FloatArray, X: FloatArray) -> None:
        """Strategy-specific checks of one generation's draws and candidates (default: none)."""

    def options(self) -> dict[str, Any]:
        """The constructor's keyword arguments: ``type(self)(**self.options())`` is equivalent."""
        return {name: getattr(self, name) for name in self.option_names}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.options().items())
        return f"{type(self).__name__}({args})"

    # ------------------------------------------------------------------ implemented by subclasses
    def _initial_state(self, x0: FloatArray, sigma0: float) -> Any:
        raise NotImplementedError

    def _sample(self, state: Any, noise: FloatArray) -> FloatArray:
        raise NotImplementedError

    def _update(self, state: Any, noise: FloatArray, X: FloatArray, values: FloatArray) -> Any:
        raise NotImplementedError

    def scale_step(self, state: Any, factor: float) -> Any:
        """The state with the spread of its samples around the mean multiplied by ``factor``."""
        raise NotImplementedError

    def noise_for(self, state: Any, X: FloatArray) -> FloatArray:
        """The standard draws z whose samples are the rows of ``X`` (the inverse of ``sample``,
        for ``Optimizer.inject``). Strategies whose draws are not one free row per sample (the
        mirrored pairs of ``"lowrank"``), or not Gaussian, raise NotImplementedError; the
        Optimizer then refuses ``inject`` with a ValueError naming the method."""
        raise NotImplementedError

    def injectable_rows(self, popsize: int) -> int:
        """How many rows of a generation of ``popsize`` injected points may take (the last
        ones); rows a strategy builds itself (TPA's pair) are not available."""
        return popsize

    def condition_number(self, state: Any) -> float:
        """Condition number of the search covariance (for the conditioning guard)."""
        raise NotImplementedError

    def scale_coordinates(self, state: Any, scales: FloatArray) -> Any:
        """The initial ``state`` with coordinate i of every sample's deviation from the mean
        multiplied by ``scales[i]`` (> 0, geometric mean 1): a vector ``sigma0`` of the
        Optimizer. Strategies without such a scaling raise NotImplementedError (the Optimizer
        then refuses a vector sigma0 with a ValueError naming the method)."""
        raise NotImplementedError

    def pattern_size(self, dim: int) -> int:
        """Length of the "pattern" state fields in dimension ``dim`` (strategies that have them)."""
        raise NotImplementedError

    def axis_scales(self, state: Any) -> FloatArray:
        """Per-coordinate standard deviations σ·sqrt(diag C) (for tolx and reporting)."""
        raise NotImplementedError
