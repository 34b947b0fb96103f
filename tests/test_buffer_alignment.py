"""Bit-reproducibility must not depend on where NumPy placed an array in memory.

Eigen's vectorised reductions peel to an aligned address, so a kernel that reduces over a borrowed
buffer can round differently for the same values at another address; a resumed (unpickled) run
would then drift from the uninterrupted one. Every strategy update is fed the same values at eight
byte offsets and must give bit-identical states.
"""

from __future__ import annotations

import numpy as np
import pytest

from _kernel_battery import SEARCH_KERNELS, battery, core_kernels, flatten
from natgrad import _core
from natgrad.optim import get_strategy


def shifted(a: np.ndarray, offset: int) -> np.ndarray:
    buf = np.empty(a.size + 8, dtype=np.float64)
    out = buf[offset : offset + a.size].reshape(a.shape)
    out[...] = a
    return out


def flat(state) -> np.ndarray:
    parts = [np.ravel(np.asarray(v, dtype=float)) for v in state._asdict().values()]
    return np.concatenate(parts)


@pytest.mark.parametrize("method", ["igo-cma", "xnes", "snes", "sngd", "lowrank", "gmrf"])
def test_update_is_bitwise_independent_of_buffer_offset(method, rng):
    strategy = get_strategy(method)
    n, popsize = (37, 15) if method != "sngd" else (5, 30)
    state = strategy.initial_state(rng.standard_normal(n), 0.7)
    for _ in range(5):
        noise = rng.standard_normal(strategy.noise_shape(state, popsize))
        X = strategy.sample(state, noise)
        state = strategy.update(state, noise, X, (X**2).sum(axis=1))
    noise = rng.standard_normal(strategy.noise_shape(state, popsize))
    X = strategy.sample(state, noise)
    values = (X**2).sum(axis=1)

    results = []
    for offset in range(8):
        fields = {
            k: shifted(v, offset) if isinstance(v, np.ndarray) and v.dtype == np.float64 else v
            for k, v in state._asdict().items()
        }
        moved = type(state)(**fields)
        new = strategy.update(
            moved, shifted(noise, offset), shifted(X, offset), shifted(values, offset)
        )
        results.append(flat(new))
    for offset, result in enumerate(results[1:], start=1):
        assert np.array_equal(results[0], result), f"offset {offset} changed the update"


# ------------------------------------------------------------------------------------------------
# Every non-search kernel of natgrad._core, called on the same values at every 8-byte offset from a
# 64-byte boundary (the widest SIMD alignment, AVX-512): the results must be bitwise equal to the
# aligned call. (Rows are always contiguous: the bindings refuse padded rows, `noconvert`.)

KERNEL_CALLS = battery()
_ALIGN = 64


def at_byte_offset(a: np.ndarray, offset: int) -> np.ndarray:
    """A copy of ``a`` whose data start ``offset`` bytes after a 64-byte boundary."""
    buf = np.zeros(a.nbytes + 2 * _ALIGN, dtype=np.uint8)
    start = (-buf.ctypes.data) % _ALIGN + offset
    out = np.frombuffer(buf, dtype=np.float64, count=a.size, offset=start).reshape(a.shape)
    out[...] = a
    assert out.ctypes.data % _ALIGN == offset and out.flags.c_contiguous
    return out


def _moved(args, place):
    return tuple(place(a) if isinstance(a, np.ndarray) else a for a in args)


@pytest.mark.parametrize(
    ("name", "args"),
    KERNEL_CALLS,
    ids=[f"{i:02d}-{name}" for i, (name, _) in enumerate(KERNEL_CALLS)],
)
def test_kernel_is_bitwise_independent_of_buffer_address(name, args):
    kernel = getattr(_core, name)
    want = flatten(kernel(*_moved(args, lambda a: at_byte_offset(a, 0))))
    for offset in range(8, _ALIGN, 8):
        got = flatten(kernel(*_moved(args, lambda a, o=offset: at_byte_offset(a, o))))
        assert np.array_equal(got, want), f"{name}: byte offset {offset} changed the result"


def test_battery_covers_every_non_search_kernel():
    covered = {name for name, _ in KERNEL_CALLS}
    assert covered == set(core_kernels()) - SEARCH_KERNELS
