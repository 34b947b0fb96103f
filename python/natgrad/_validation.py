"""Argument checks shared by the Python layer: every public entry point validates here.

Arrays are converted to C-contiguous float64 copies (the caller's arrays are never mutated or
aliased by an object that outlives the call), and every message names the argument and value.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]


def _describe(value: Any) -> str:
    text = (
        np.array2string(np.asarray(value), threshold=6, precision=6)
        if _is_arraylike(value)
        else repr(value)
    )
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


def as_float(name: str, value: Any, *, positive: bool = False, nonnegative: bool = False) -> float:
    """Return ``value`` as a finite Python float (bools refused), or raise ValueError naming
    ``name``."""
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    try:
        out = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a real number, got {value!r}") from exc
    if not np.isfinite(out):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if positive and not out > 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    if nonnegative and not out >= 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return out


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
    return np.random.default_rng(seed)
