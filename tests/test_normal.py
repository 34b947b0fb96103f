"""The compiled normal generator (``_core.standard_normal``, natgrad._random).

Routes: published known answers (SplitMix64), a scalar pure-Python xoshiro256++ against the
vectorised lanes, the NumPy twin (natgrad.reference.random) bit for bit, the ziggurat tables
against a 40-digit construction done here, fdlibm's ln/exp against the C library to one ulp, and
the distribution itself on 10^8 draws (moments to 5 standard errors, tails at ±4σ and ±5σ,
Kolmogorov–Smirnov, correlations at the lags where the construction could leak: consecutive
draws, the 8 lanes, the 256-draw chunks, rows of a batch, and successive calls).
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
from scipy import stats

from natgrad import _core, _random
from natgrad.reference import _normal_tables as tables
from natgrad.reference import random as twin

MASK = (1 << 64) - 1


def test_splitmix64_gives_the_published_outputs_for_seed_zero():
    published = [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F, 0xF88BB8A8724C81EC]
    assert [_core.splitmix64(0, i) for i in range(4)] == published
    assert [twin.splitmix64(0, i) for i in range(4)] == published


def _xoshiro256pp_scalar(state: list[int], count: int) -> list[int]:
    """xoshiro256++ as Blackman & Vigna's reference C code writes it, on Python integers."""
    s = list(state)
    out = []
    rotl = lambda x, k: ((x << k) | (x >> (64 - k))) & MASK  # noqa: E731
    for _ in range(count):
        out.append((rotl((s[0] + s[3]) & MASK, 23) + s[0]) & MASK)
        t = (s[1] << 17) & MASK
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
    return out


def test_the_lanes_are_xoshiro256pp_seeded_by_splitmix64():
    key = 0x0123456789ABCDEF
    words = twin.xoshiro_words(key, 8 * 40)
    for lane in range(8):
        state = [twin.splitmix64(key, 4 * lane + w) for w in range(4)]
        assert words[lane::8].tolist() == _xoshiro256pp_scalar(state, 40)
    # the first output from the state (1, 2, 3, 4): rotl(1 + 4, 23) + 1
    assert _xoshiro256pp_scalar([1, 2, 3, 4], 1) == [(5 << 23) + 1]


@pytest.mark.parametrize("key", [0, 1, 0xDEADBEEF12345678, MASK])
@pytest.mark.parametrize("shape", [(0, 5), (1, 1), (3, 7), (1, 255), (1, 256), (1, 257), (9, 1000)])
def test_compiled_normals_equal_the_twin_bit_for_bit(key, shape):
    got = _core.standard_normal(key, *shape)
    want = twin.standard_normal(key, *shape)
    assert got.shape == shape and got.dtype == np.float64 and got.flags.c_contiguous
    assert np.array_equal(got.view(np.uint64), want.view(np.uint64))


def test_the_bit_equality_covers_every_layer_the_wedges_and_the_tail():
    key = 0x243F6A8885A308D3
    count = 400_000
    got = _core.standard_normal(key, 1, count)
    assert np.array_equal(got.view(np.uint64), twin.standard_normal(key, 1, count).view(np.uint64))
    words = twin.xoshiro_words(key, count)
    layers = words & np.uint64(0xFF)
    slow = (words >> np.uint64(12)) >= np.asarray(tables.K, dtype=np.uint64)[layers.astype(int)]
    assert np.unique(layers).size == 256  # every fast-path row of W and K
    assert np.unique(layers[slow]).size == 256  # every wedge (F) and the tail (layer 0)
    assert (np.abs(got) > twin.TAIL_EDGE).sum() > 50  # P(|z| > r) = 2.6e-4


def test_a_prefix_of_a_stream_is_the_shorter_stream():
    # the numbers do not depend on the shape asked for, only on the position in the stream
    long = _core.standard_normal(77, 1, 3000).ravel()
    for count in (1, 7, 8, 255, 256, 257, 2999):
        assert np.array_equal(_core.standard_normal(77, 1, count).ravel(), long[:count])
    assert np.array_equal(_core.standard_normal(77, 30, 100).ravel(), long)


@pytest.mark.parametrize("key", [3, MASK])
@pytest.mark.parametrize("shape", [(2, 1), (2, 300), (3, 7), (6, 257), (7, 100), (20, 1000)])
def test_mirrored_normals_keep_the_streams_rows_and_negate_the_mirrors(key, shape):
    # mirrored sampling draws only the rows it keeps; they are the plain stream's rows
    got = _core.standard_normal(key, *shape, mirrored=True)
    want = twin.mirrored_standard_normal(key, *shape)
    assert got.shape == shape and got.flags.c_contiguous
    assert np.array_equal(got.view(np.uint64), want.view(np.uint64))
    plain = _core.standard_normal(key, *shape)
    h = shape[0] // 2
    kept = np.r_[0:h, 2 * h : shape[0]]
    assert np.array_equal(got[kept].view(np.uint64), plain[kept].view(np.uint64))
    assert np.array_equal(got[h : 2 * h], -plain[:h])


def test_mirrored_draws_need_a_matrix_shape():
    with pytest.raises(ValueError, match="mirrored draws need a 2-D shape"):
        _random.standard_normal(np.random.default_rng(0), (4,), mirrored=True)


def test_ziggurat_tables_match_a_40_digit_construction():
    mp.mp.dps = 40
    f = lambda x: mp.exp(-x * x / 2)  # noqa: E731
    r = mp.mpf(twin.TAIL_EDGE)
    v = r * f(r) + mp.sqrt(mp.pi / 2) * mp.erfc(r / mp.sqrt(2))
    X = [mp.mpf(w) * 2**52 for w in tables.W] + [mp.mpf(0)]
    assert X[1] == r  # the tail edge is the double nearest Marsaglia & Tsang's r
    # base layer: the rectangle [0, r] x [0, f(r)] plus the tail has area v = X[0] f(r)
    assert abs(X[0] * f(r) - v) < 1e-15 * v
    for k in range(1, 256):
        area = X[k] * (f(X[k + 1]) - f(X[k]))  # the layer's rectangle, X[256] = 0: f = 1
        assert abs(area - v) < 1e-12 * v, k
    for k in range(256):
        exact = mp.mpf(2) ** 52 * X[k + 1] / X[k]
        assert tables.K[k] == int(mp.ceil(exact)) or abs(tables.K[k] - exact) < 2, k
        # F is f at the exact edge: off f(X[k]) by at most f' times the rounding of X[k], + 1 ulp
        bound = X[k] * f(X[k]) * math.ulp(float(X[k])) / 2 + math.ulp(tables.F[k])
        assert abs(mp.mpf(tables.F[k]) - f(X[k])) <= bound, k
    assert tables.F[256] == 1.0 and tables.K[255] == 0


def test_fdlibm_log_and_exp_are_within_one_ulp_of_the_c_library():
    rng = np.random.default_rng(3)
    us = np.concatenate(
        [rng.uniform(2.0**-52, 1.0, 3000), 2.0 ** -rng.uniform(0, 52, 3000), [2.0**-52, 1.0]]
    )
    us = np.concatenate([us, np.nextafter(math.sqrt(2) / 2 ** np.arange(1, 40), 0)])
    for u in us:
        want = math.log(u)
        assert abs(twin.log_positive(float(u)) - want) <= math.ulp(want), u
    for x in np.concatenate([-rng.uniform(0, 7, 3000), -rng.uniform(0, 700, 500), [0.0, -0.5]]):
        want = math.exp(x)
        assert abs(twin.exp_nonpositive(float(x)) - want) <= math.ulp(want), x


@pytest.fixture(scope="module")
def draws_1e8():
    """Sums over 10^8 draws in 10 calls (10 keys from one Generator), and the tail counts."""
    rng = np.random.default_rng(20261201)
    power = np.zeros(5)
    tails = {4.0: [0, 0], 5.0: [0, 0]}
    for _ in range(10):
        z = _random.standard_normal(rng, (10_000, 1000)).ravel()
        zz = z * z
        power += [z.size, z.sum(), zz.sum(), (zz * z).sum(), (zz * zz).sum()]
        for t, counts in tails.items():
            counts[0] += int((z < -t).sum())
            counts[1] += int((z > t).sum())
    return power, tails


def test_moments_of_1e8_draws_are_within_5_standard_errors(draws_1e8):
    power, _ = draws_1e8
    n = power[0]
    # E z^k and Var z^k of a standard normal for k = 1..4: (0, 1, 0, 3) and (1, 2, 15, 96)
    for k, mean, var in [(1, 0.0, 1.0), (2, 1.0, 2.0), (3, 0.0, 15.0), (4, 3.0, 96.0)]:
        se = math.sqrt(var / n)
        assert abs(power[k] / n - mean) < 5 * se, (k, power[k] / n)


def test_tail_frequencies_at_4_and_5_sigma(draws_1e8):
    power, tails = draws_1e8
    for t, (low, high) in tails.items():
        expected = power[0] * 0.5 * math.erfc(t / math.sqrt(2))  # 3167 at 4σ, 28.7 at 5σ
        for count in (low, high):
            assert abs(count - expected) < 5 * math.sqrt(expected), (t, count, expected)


def test_kolmogorov_smirnov_and_binned_chi_square():
    z = _core.standard_normal(0x9E3779B97F4A7C15, 1, 2_000_000).ravel()
    assert stats.kstest(z, "norm").pvalue > 1e-3
    edges = stats.norm.ppf(np.linspace(0, 1, 1001))
    counts, _ = np.histogram(z, edges)
    assert stats.chisquare(counts).pvalue > 1e-3


def test_no_correlation_at_the_lags_of_the_construction():
    z = _core.standard_normal(12345, 1, 4_000_000).ravel()
    n = z.size
    for lag in (1, 2, 7, 8, 9, 16, 255, 256, 257, 1000):
        r = np.corrcoef(z[:-lag], z[lag:])[0, 1]
        assert abs(r) < 5 / math.sqrt(n), (lag, r)
        # dependence that shows in the squares only (a shared radius, say)
        r2 = np.corrcoef(z[:-lag] ** 2, z[lag:] ** 2)[0, 1]
        assert abs(r2) < 5 / math.sqrt(n), (lag, r2)


def test_rows_of_a_batch_and_successive_calls_are_uncorrelated():
    rng = np.random.default_rng(5)
    Z = _random.standard_normal(rng, (40, 50_000))
    C = np.corrcoef(Z)
    off = C[~np.eye(40, dtype=bool)]
    assert np.abs(off).max() < 5.5 / math.sqrt(Z.shape[1])  # 1560 pairs: max of |N(0, 1/n)|
    a = _random.standard_normal(rng, (1, 1_000_000)).ravel()
    b = _random.standard_normal(rng, (1, 1_000_000)).ravel()
    assert abs(np.corrcoef(a, b)[0, 1]) < 5 / math.sqrt(a.size)
    assert not np.array_equal(a, b)


def test_the_key_comes_from_the_generators_raw_stream():
    rng = np.random.default_rng(7)
    copy = np.random.default_rng(7)
    got = _random.standard_normal(rng, (3, 4))
    key = int(copy.bit_generator.random_raw())
    assert np.array_equal(got, _core.standard_normal(key, 3, 4))
    assert rng.bit_generator.state == copy.bit_generator.state  # one raw word consumed
    # a BitGenerator with 32-bit raw output gives two words
    mt = np.random.Generator(np.random.MT19937(7))
    words = np.random.Generator(np.random.MT19937(7)).bit_generator.random_raw(2)
    assert _random.generator_key(mt) == (int(words[0]) << 32) | int(words[1])


def test_the_optimizer_samples_from_the_compiled_stream():
    import natgrad as ng

    opt = ng.Optimizer("snes", np.zeros(5), 0.5, seed=11, popsize=6)
    copy = np.random.default_rng(11)
    X = opt.ask()
    Z = twin.standard_normal(int(copy.bit_generator.random_raw()), 6, 5)
    np.testing.assert_array_equal(X, 0.5 * Z)  # SNES starts at mean 0 with unit scales


@pytest.mark.parametrize(("rows", "cols"), [(-1, 3), (3, -1), (2**21, 2**20)])
def test_bad_shapes_are_a_value_error(rows, cols):
    with pytest.raises(ValueError, match="standard normal shape"):
        _core.standard_normal(1, rows, cols)
