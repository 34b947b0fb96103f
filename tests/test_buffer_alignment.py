"""Bit-reproducibility must not depend on where NumPy placed an array in memory.

Eigen's vectorised reductions peel to an aligned address, so a kernel that reduces over a borrowed
buffer can round differently for the same values at another address; a resumed (unpickled) run
would then drift from the uninterrupted one. Every strategy update is fed the same values at eight
byte offsets and must give bit-identical states.
"""

from __future__ import annotations

import numpy as np
import pytest

from natgrad.optim import get_strategy


def shifted(a: np.ndarray, offset: int) -> np.ndarray:
    buf = np.empty(a.size + 8, dtype=np.float64)
    out = buf[offset : offset + a.size].reshape(a.shape)
    out[...] = a
    return out


def flat(state) -> np.ndarray:
    parts = [np.ravel(np.asarray(v, dtype=float)) for v in state._asdict().values()]
    return np.concatenate(parts)


@pytest.mark.parametrize("method", ["igo-cma", "xnes", "snes", "sngd"])
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
