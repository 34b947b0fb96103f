"""Data sets for the Helmholtz machine: the 3 × 3 lines toy and binarised 8 × 8 digits.

``digits_binary.npz`` (8.6 kB, shipped with natgrad) holds the 1797 images of scikit-learn's
``load_digits`` (a copy of the test set of the UCI "Optical Recognition of Handwritten Digits"
data, E. Alpaydin and C. Kaynak, 1998, licensed CC BY 4.0), each 8 × 8 pixel value in 0..16
binarised as ``value > 8``, stored bit-packed row by row with the labels. It was made by::

    from sklearn.datasets import load_digits          # scikit-learn 1.9.1
    d = load_digits()
    X = (d.data > 8).astype(np.uint8)
    np.savez_compressed(path, bits=np.packbits(X, axis=1), labels=d.target.astype(np.uint8),
                        shape=np.array(X.shape))

tests/test_wake_sleep.py checks the copy against scikit-learn when scikit-learn is installed.
"""

from __future__ import annotations

import itertools
import math
from importlib import resources
from typing import Any

import numpy as np

from .._validation import FloatArray, as_generator, as_int

__all__ = ["LINES_ENTROPY", "digits_binary", "lines_dataset", "lines_distribution"]


def lines_distribution(units: str = "binary") -> tuple[FloatArray, FloatArray]:
    """The 3 × 3 "lines" toy: its 12 patterns (rows of 9 pixels, row-major) and probabilities.

    The 6 vertical patterns (every non-empty proper subset of the 3 columns switched on) have
    probability 2/18 each, the 6 horizontal ones (subsets of rows) 1/18 each; the entropy is
    ``LINES_ENTROPY`` = 2.428 nats, the exact NLL of the best model. With ``units="spin"``
    pixels are −1/+1 instead of 0/1.
    """
    patterns, probs = [], []
    for orientation, p in (("vertical", 2 / 18), ("horizontal", 1 / 18)):
        for on in itertools.product((0, 1), repeat=3):
            if 0 < sum(on) < 3:
                img = np.zeros((3, 3))
                for k, flag in enumerate(on):
                    if flag:
                        if orientation == "vertical":
                            img[:, k] = 1.0
                        else:
                            img[k, :] = 1.0
                patterns.append(img.ravel())
                probs.append(p)
    X = np.array(patterns)
    if units == "spin":
        X = 2.0 * X - 1.0
    elif units != "binary":
        raise ValueError(f"units must be 'binary' or 'spin', got {units!r}")
    return X, np.array(probs)


#: entropy of the lines toy in nats: −Σ p ln p = (2/3) ln 9 + (1/3) ln 18
LINES_ENTROPY = -sum(p * math.log(p) for p in lines_distribution()[1])


def lines_dataset(
    n: int | None = None,
    units: str = "binary",
    *,
    seed: Any = None,
    rng: np.random.Generator | None = None,
) -> FloatArray:
    """Data from the lines toy: by default the 18 rows whose empirical distribution is exactly
    the toy's (each vertical pattern twice, each horizontal once); with ``n``, n i.i.d. draws."""
    X, p = lines_distribution(units)
    if n is None:
        return np.repeat(X, np.rint(18 * p).astype(int), axis=0)
    count = as_int("n", n, minimum=0)
    gen = as_generator(rng, seed)
    return X[gen.choice(len(p), size=count, p=p)]


def digits_binary(*, labels: bool = False) -> FloatArray | tuple[FloatArray, np.ndarray]:
    """The 1797 binarised 8 × 8 digits as a (1797, 64) float array of 0/1 (module docstring);
    with ``labels=True`` also their digit labels."""
    with resources.files(__package__).joinpath("data/digits_binary.npz").open("rb") as f:
        with np.load(f, allow_pickle=False) as data:
            shape = tuple(int(s) for s in data["shape"])
            X = np.unpackbits(data["bits"], axis=1, count=shape[1]).astype(np.float64)
            y = data["labels"].astype(np.int64)
    return (X, y) if labels else X
