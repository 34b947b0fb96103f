"""Argument checks shared by the Python layer: every public entry point validates here.

Arrays are converted to C-contiguous float64 copies (the caller's arrays are never mutated or
aliased by an object that outlives the call), and every message names the argument and value.

Errors and accuracy (one policy for the whole exponential-family layer, docs/gaussian.md):

* bad input (wrong shape, NaN/Inf, text, complex, ragged lists, out of domain) is a ValueError
  naming the argument and the value;
* a result that is not finite although the input was is a ValueError naming the cause (an
  overflow, a covariance that is not numerically positive definite, ...), never a silent NaN/Inf;
* a finite result of a solve whose accuracy cannot be trusted, i.e. whose estimated condition
  number κ has κ·ε > ``ACCURACY_BOUND`` = 1e-6 (a backward-stable solve has relative error ≲ κ·ε,
  so fewer than about six digits would be guaranteed), comes with an :class:`AccuracyWarning`:
  an ill-conditioned but finite answer can still be useful, so it is returned.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]

#: largest accepted estimated condition number × machine ε of a solve before AccuracyWarning
ACCURACY_BOUND = 1e-6

#: one symmetry tolerance for every matrix argument: max|A − Aᵀ| <= SYMMETRY_RTOL · max|A|
#: (rounding noise of an assembled matrix: an inner dimension k accumulates up to ~k·ε)
SYMMETRY_RTOL = 1e-10


class AccuracyWarning(RuntimeWarning):
    """A finite result whose accuracy cannot be trusted: the estimated condition number κ of the
    solve behind it has κ·ε > ``ACCURACY_BOUND`` (1e-6), so its relative error may exceed 1e-6.

    Like :class:`scipy.linalg.LinAlgWarning`; turn it into an error with
    ``warnings.simplefilter("error", natgrad.AccuracyWarning)``.
    """


def _describe(value: Any) -> str:
    text = repr(value)
    if _is_arraylike(value):
        try:
            text = np.array2string(np.asarray(value), threshold=6, precision=6)
        except ValueError:  # ragged lists: keep the repr
            pass
    return text if len(text) <= 80 else text[:77] + "..."


def _is_arraylike(value: Any) -> bool:
    return isinstance(value, (np.ndarray, list, tuple))


def as_float_array(
    name: str,
    value: ArrayLike,
    *,
    ndim: int | None = None,
    shape: tuple[int | None, ...] | None = None,
    finite: bool = True,
    copy: bool = True,
) -> FloatArray:
    """Return ``value`` as a C-contiguous float64 array, or raise ValueError naming ``name``.

    ``shape`` entries that are None match any length. Complex, object and string input is refused.
    """
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(
            f"{name} must be an array of real numbers, got {_describe(value)}"
        ) from exc
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must contain real numbers, got dtype {arr.dtype}")
    arr = np.array(arr, dtype=np.float64, order="C", copy=copy)
    if not arr.flags.c_contiguous:
        arr = np.ascontiguousarray(arr)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {arr.shape}")
    if shape is not None:
        if arr.ndim != len(shape) or any(
            w is not None and w != s for w, s in zip(shape, arr.shape, strict=True)
        ):
            want = "(" + ", ".join("any" if w is None else str(w) for w in shape)
            want += ",)" if len(shape) == 1 else ")"
            raise ValueError(f"{name} must have shape {want}, got {arr.shape}")
    if finite and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {_describe(arr)}")
    return arr


def _is_text_or_complex(value: Any) -> bool:
    if isinstance(value, (str, bytes, bool, np.bool_, complex, np.complexfloating)):
        return True
    if isinstance(value, np.ndarray):
        return value.ndim != 0 or value.dtype.kind not in "iuf"
    return False


def as_float(name: str, value: Any, *, positive: bool = False, nonnegative: bool = False) -> float:
    """Return ``value`` as a finite Python float, or raise ValueError naming ``name``.

    Bools, text (``"0.3"`` is refused, as everywhere in natgrad), complex numbers and arrays other
    than 0-d real ones are refused.
    """
    if _is_text_or_complex(value):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    try:
        out = float(value)
    except OverflowError as exc:  # a Python int beyond float64
        raise ValueError(f"{name} must be finite, got {value!r}") from exc
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a real number, got {value!r}") from exc
    if not np.isfinite(out):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if positive and not out > 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    if nonnegative and not out >= 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return out


def as_damping(value: Any, *, positive: bool = False) -> float:
    """The one damping check: ``damping`` must be a finite real ≥ 0 (> 0 when ``positive``)."""
    if positive:
        return as_float("damping", value, positive=True)
    return as_float("damping", value, nonnegative=True)


def symmetric(name: str, matrix: FloatArray) -> FloatArray:
    """``(A + Aᵀ)/2`` of a square float64 matrix whose asymmetry is rounding noise
    (max|A − Aᵀ| <= ``SYMMETRY_RTOL`` · max|A|), else ValueError naming ``name``.

    A new array; ``matrix`` is not modified. Halves are added, so entries near 1e308 do not
    overflow.
    """
    scale = float(np.max(np.abs(matrix), initial=0.0))
    asym = float(np.max(np.abs(matrix - matrix.T), initial=0.0))
    if asym > SYMMETRY_RTOL * scale:
        raise ValueError(
            f"{name} must be symmetric: max|{name} - {name}.T| = {asym:.3g} exceeds "
            f"{SYMMETRY_RTOL:g} * max|{name}| = {SYMMETRY_RTOL * scale:.3g}"
        )
    return np.ascontiguousarray(0.5 * matrix + 0.5 * matrix.T)


def not_representable(what: str, hint: str) -> ValueError:
    """The ValueError for a non-finite result computed from finite input (an overflow)."""
    return ValueError(
        f"{what}: the result is not representable in float64 (an intermediate overflowed); {hint}"
    )


def warn_if_inaccurate(what: str, condition: float, *, stacklevel: int = 3) -> None:
    """Emit :class:`AccuracyWarning` when ``condition`` · ε > ``ACCURACY_BOUND``."""
    eps = float(np.finfo(np.float64).eps)
    if not condition * eps <= ACCURACY_BOUND:
        warnings.warn(
            f"{what}: estimated condition number {condition:.3g} times machine epsilon "
            f"exceeds {ACCURACY_BOUND:g}; the result may have a relative error above "
            f"{ACCURACY_BOUND:g}",
            AccuracyWarning,
            stacklevel=stacklevel,
        )


#: spelled-out symbols (accepted by natgrad.estimation once), each with the natgrad name
_OLD_COORDS = {"theta": "θ is 'natural'", "eta": "η is 'expectation'", "xi": "ξ is 'mean_cov'"}


def check_coords(coords: Any, allowed: tuple[str, ...]) -> str:
    """The one coordinate-name check: ``coords`` must be one of ``allowed``; the symbols θ/η/ξ
    spelled out ("theta", ...) are refused with a hint naming natgrad's name."""
    if not isinstance(coords, str) or coords not in allowed:
        hint = (
            f" ({_OLD_COORDS[coords]})" if isinstance(coords, str) and coords in _OLD_COORDS else ""
        )
        names = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"coords must be one of {names}, got {coords!r}{hint}")
    return coords


def as_int(name: str, value: Any, *, minimum: int | None = None) -> int:
    """Return ``value`` as an int (bools refused), or raise ValueError naming ``name``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    out = int(value)
    if minimum is not None and out < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {out}")
    return out


def as_generator(rng: Any = None, seed: Any = None) -> np.random.Generator:
    """The user's Generator (used as is, so its stream advances) or a new one from ``seed``."""
    if rng is not None and seed is not None:
        raise ValueError("pass either rng or seed, not both")
    if rng is not None:
        if not isinstance(rng, np.random.Generator):
            raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        return rng
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"seed must be None, a non-negative integer or a SeedSequence, got {seed!r}"
        ) from exc
