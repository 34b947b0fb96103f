"""Shared behaviour of the closed-form families."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from .._validation import FloatArray
from ..family import ExponentialFamily

#: methods whose results must be finite (``log_prob`` may also be −inf: log 0 outside the support)
_CHECKED_METHODS = (
    "natural",
    "expectation",
    "log_partition",
    "legendre_dual",
    "neg_entropy",
    "entropy",
    "kl",
    "log_prob",
    "sufficient_stats",
    "fisher_product",
    "marginals",
)
_CONSTRUCTORS = (
    "from_natural",
    "from_expectation",
    "from_marginals",
    "with_natural",
    "with_expectation",
)


def _not_representable(what: str, detail: str) -> ValueError:
    return ValueError(
        f"{what}: the result is not representable in float64 ({detail}); the parameters are too "
        "extreme for this family"
    )


def _checked_method(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``method`` with floating-point warnings silenced and refuse a non-finite result (or a
    Python ZeroDivisionError/OverflowError at extreme parameters) with a ValueError."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        what = f"{type(self).__name__}.{name}"
        try:
            with np.errstate(all="ignore"):
                out = method(self, *args, **kwargs)
        except (ZeroDivisionError, OverflowError) as exc:
            raise _not_representable(what, str(exc)) from exc
        arr = np.asarray(out)
        ok = np.isfinite(arr) | ((arr == -np.inf) if name == "log_prob" else False)
        if not np.all(ok):
            raise _not_representable(what, f"got {arr!r} at {self!r}")
        return out

    return wrapper


def _checked_constructor(name: str, ctor: Callable[..., Any]) -> Callable[..., Any]:
    """A constructor (``ctor(cls_or_self, ...)``) whose member has a finite natural parameter, and
    which raises no floating-point warnings."""

    @functools.wraps(ctor)
    def wrapper(owner: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            with np.errstate(all="ignore"):
                out = ctor(owner, *args, **kwargs)
        except (ZeroDivisionError, OverflowError) as exc:
            raise _not_representable(name, str(exc)) from exc
        out.natural()  # ValueError if the member's θ is not a finite float64
        return out

    return wrapper


class ClosedFormFamily(ExponentialFamily):
    """Subclasses implement ``_fisher(coords)``; :meth:`fisher` validates ``coords`` and refuses
    a matrix that float64 cannot represent (an entry overflowing to inf, or a variance underflowing
    to 0 at extreme parameters) instead of returning it silently.

    Every public method listed in ``_CHECKED_METHODS`` and every constructor is wrapped once, at
    class creation: a result that is not finite (an overflow at extreme parameters) is a
    ValueError naming the method, never a silent inf/NaN or a floating-point warning (the
    policy of docs/gaussian.md, "Errors and accuracy").
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in _CHECKED_METHODS:
            if name in cls.__dict__:
                setattr(cls, name, _checked_method(name, cls.__dict__[name]))
        if "__init__" in cls.__dict__:
            init = cls.__dict__["__init__"]

            @functools.wraps(init)
            def checked_init(self: Any, *args: Any, _init: Any = init, **kw: Any) -> None:
                try:
                    with np.errstate(all="ignore"):
                        _init(self, *args, **kw)
                except (ZeroDivisionError, OverflowError) as exc:
                    raise _not_representable(type(self).__name__, str(exc)) from exc

            setattr(cls, "__init__", checked_init)  # noqa: B010
        for name in _CONSTRUCTORS:
            attr = cls.__dict__.get(name)
            what = f"{cls.__name__}.{name}"
            if isinstance(attr, classmethod):
                setattr(cls, name, classmethod(_checked_constructor(what, attr.__func__)))
            elif callable(attr):
                setattr(cls, name, _checked_constructor(what, attr))

    def _fisher(self, coords: str) -> FloatArray:
        raise NotImplementedError

    def fisher(self, coords: str = "natural") -> FloatArray:
        """Fisher information matrix in the coordinate system ``coords``."""
        self._check_coords(coords)
        try:
            with np.errstate(all="ignore"):
                f = self._fisher(coords)
        except (ZeroDivisionError, OverflowError):
            f = np.full((1, 1), np.inf)
        if not (np.all(np.isfinite(f)) and np.all(np.diag(f) > 0)):
            raise ValueError(
                f"fisher: the Fisher matrix in {coords!r} coordinates is not representable in "
                f"float64 at {self!r} (overflow or underflow)"
            )
        return f
