"""The packed layout lives in production (natgrad.packing); the NumPy twin imports it, never the
other way round."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from natgrad import _core
from natgrad.packing import dim_from_packed_size, pack, packed_size, unpack


def test_importing_natgrad_does_not_import_the_reference_twin() -> None:
    code = (
        "import sys, natgrad, natgrad.gaussian, natgrad.flows, natgrad.demo\n"
        "print(sorted(m for m in sys.modules if m.startswith('natgrad.reference')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_pack_matches_the_compiled_layout(n: int) -> None:
    rng = np.random.default_rng(n)
    mu = rng.standard_normal(n)
    a = rng.standard_normal((n, n))
    sigma = a @ a.T + n * np.eye(n)
    packed = pack(mu, sigma)
    np.testing.assert_array_equal(packed, np.asarray(_core.gaussian_pack_mean_cov(mu, sigma)))
    v, m = unpack(packed)
    np.testing.assert_array_equal(v, mu)
    np.testing.assert_array_equal(m, np.triu(sigma) + np.triu(sigma, 1).T)
    assert packed_size(n) == packed.size
    assert dim_from_packed_size(packed.size) == n


def test_dim_from_packed_size_refuses_other_lengths() -> None:
    with pytest.raises(ValueError, match="length 3"):
        dim_from_packed_size(3)
