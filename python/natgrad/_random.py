"""Standard normal draws for the search strategies: the compiled ziggurat, keyed by the user's
Generator.

Each call takes one 64-bit word of the Generator's raw stream (two 32-bit words for a BitGenerator
whose raw output is 32 bits, such as MT19937) as the key of the compiled generator
(``_core.standard_normal``: eight xoshiro256++ lanes seeded by SplitMix64 and the 256-layer
ziggurat; ``natgrad.reference.random`` is its NumPy twin and documents the stream). A run is
therefore reproducible from its seed, a checkpoint of the Generator's state carries everything,
and the numbers are the same bit for bit at every instruction-set level. They are not the numbers
``Generator.standard_normal`` draws; the draws cost a fraction of its time (bench/normals.py).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.random import MT19937

from . import _core
from ._validation import FloatArray


def generator_key(rng: np.random.Generator) -> int:
    """One 64-bit key from the raw stream of ``rng``'s bit generator (advancing it)."""
    bits = rng.bit_generator
    if isinstance(bits, MT19937):  # 32-bit raw output: take two words
        return (bits.random_raw() << 32) | bits.random_raw()
    return bits.random_raw()


def standard_normal(
    rng: np.random.Generator, shape: tuple[int, ...], *, mirrored: bool = False
) -> FloatArray:
    """A new C-contiguous float64 array of ``shape`` filled with standard normals.

    ``mirrored`` (2-D only): rows h..2h − 1, h = shape[0] // 2, are the negated rows 0..h − 1 and
    only the rows kept are drawn (half the work); the others equal the unmirrored draws'.
    """
    if len(shape) == 2:
        return _core.standard_normal(generator_key(rng), *shape, mirrored)
    if mirrored:
        raise ValueError(f"mirrored draws need a 2-D shape, got {shape}")
    return _core.standard_normal(generator_key(rng), 1, math.prod(shape)).reshape(shape)
