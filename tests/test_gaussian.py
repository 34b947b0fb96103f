"""Gaussian conversions, potentials, KL, data kernels and bad input (core vs reference vs
independent routes)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import natgrad as ng
from gaussian_cases import case, spd
from natgrad import _core
from natgrad.packing import pack
from natgrad.reference import gaussian as ref

DIMS = [1, 2, 3, 5, 8]


@pytest.mark.parametrize("n", DIMS)
def test_conversions_match_reference(rng, n):
    mean, cov = case(rng, n)
    g = ng.Gaussian(mean, cov)
    np.testing.assert_allclose(
        g.natural(), ref.natural_from_mean_cov(mean, cov), rtol=1e-12, atol=1e-13
    )
    np.testing.assert_allclose(
        g.expectation(), ref.expectation_from_mean_cov(mean, cov), rtol=1e-13
    )
    np.testing.assert_allclose(g.mean_cov(), ref.pack_mean_cov(mean, cov), rtol=0)
    theta, eta = g.natural(), g.expectation()
    np.testing.assert_allclose(
        _core.gaussian_expectation_from_natural(theta),
        ref.expectation_from_natural(theta),
        rtol=1e-12,
        atol=1e-13,
    )
    np.testing.assert_allclose(
        _core.gaussian_natural_from_expectation(eta),
        ref.natural_from_expectation(eta),
        rtol=1e-10,
        atol=1e-12,
    )
    for got, want in zip(
        _core.gaussian_mean_cov_from_natural(theta)[:2],
        ref.mean_cov_from_natural(theta),
        strict=True,
    ):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)
    for got, want in zip(
        _core.gaussian_mean_cov_from_expectation(eta)[:2],
        ref.mean_cov_from_expectation(eta),
        strict=True,
    ):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)
    assert g.log_partition() == pytest.approx(
        ref.log_partition_mean_cov(mean, cov), rel=1e-13, abs=0
    )
    assert _core.gaussian_log_partition_natural(theta) == pytest.approx(
        ref.log_partition_natural(theta), rel=1e-12, abs=0
    )
    assert g.neg_entropy() == pytest.approx(ref.neg_entropy_mean_cov(cov), rel=1e-13, abs=0)
    assert _core.gaussian_neg_entropy_expectation(eta) == pytest.approx(
        ref.neg_entropy_expectation(eta), rel=1e-12, abs=0
    )


@pytest.mark.parametrize("n", DIMS)
def test_round_trips(rng, n):
    mean, cov = case(rng, n)
    g = ng.Gaussian(mean, cov)
    h = ng.Gaussian.from_natural(g.natural())
    np.testing.assert_allclose(h.mean, mean, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(h.cov, cov, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(ng.Gaussian.from_natural(h.natural()).natural(), g.natural(), rtol=0)
    e = ng.Gaussian.from_expectation(g.expectation())
    np.testing.assert_allclose(e.mean, mean, rtol=0)
    np.testing.assert_allclose(e.cov, cov, rtol=1e-12, atol=1e-13)
    x = ng.Gaussian.from_mean_cov(g.mean_cov())
    np.testing.assert_array_equal(x.cov, cov)
    # theta -> eta -> theta
    t2 = ng.Gaussian.from_expectation(h.expectation()).natural()
    np.testing.assert_allclose(t2, g.natural(), rtol=1e-10, atol=1e-11)


def test_natural_uses_exact_precision_from_theta(rng):
    mean, cov = case(rng, 4)
    theta = ng.Gaussian(mean, cov).natural()
    h = ng.Gaussian.from_natural(theta)
    np.testing.assert_array_equal(h.natural(), theta)  # no second inversion
    _, big_theta = ref.unpack(theta)
    np.testing.assert_array_equal(h.precision, -2.0 * big_theta)


@pytest.mark.parametrize("n", DIMS)
def test_legendre_gap(rng, n):
    g = ng.Gaussian(*case(rng, n))
    psi, phi, pair = g.log_partition(), g.legendre_dual(), float(g.natural() @ g.expectation())
    assert abs(psi + phi - pair) <= 1e-12 * (abs(psi) + abs(phi) + abs(pair))
    assert g.entropy() == -g.neg_entropy()


def test_closed_forms_one_dimensional():
    # N(mu, s2): psi = 1/2 log 2 pi s2 + mu^2 / (2 s2); entropy = 1/2 log(2 pi e s2).
    mu, s2 = 0.7, 2.5
    g = ng.Gaussian([mu], [[s2]])
    np.testing.assert_allclose(g.natural(), [mu / s2, -0.5 / s2], rtol=1e-15)
    np.testing.assert_allclose(g.expectation(), [mu, s2 + mu**2], rtol=1e-15)
    assert g.log_partition() == pytest.approx(
        0.5 * np.log(2 * np.pi * s2) + mu**2 / (2 * s2), rel=1e-15, abs=0
    )
    assert g.entropy() == pytest.approx(0.5 * np.log(2 * np.pi * np.e * s2), rel=1e-15, abs=0)
    other = ng.Gaussian([-0.2], [[0.8]])
    want = np.log(np.sqrt(0.8 / s2)) + (s2 + (mu + 0.2) ** 2) / (2 * 0.8) - 0.5
    assert g.kl(other) == pytest.approx(want, rel=1e-14, abs=0)


def test_mpmath_high_precision_reference(rng):
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    n = 3
    mean, cov = case(rng, n, cond=20.0)
    mean_q, cov_q = case(rng, n, cond=5.0)
    g, q = ng.Gaussian(mean, cov), ng.Gaussian(mean_q, cov_q)
    m, s = mpmath.matrix(mean.tolist()), mpmath.matrix(cov.tolist())
    mq, sq = mpmath.matrix(mean_q.tolist()), mpmath.matrix(cov_q.tolist())
    sinv, sqinv = s**-1, sq**-1
    psi = (
        n / 2 * mpmath.log(2 * mpmath.pi) + (m.T * sinv * m)[0] / 2 + mpmath.log(mpmath.det(s)) / 2
    )
    phi = -n / 2 * (mpmath.log(2 * mpmath.pi) + 1) - mpmath.log(mpmath.det(s)) / 2
    d = mq - m
    tr = sum((sqinv * s)[i, i] for i in range(n))
    kl = (tr + (d.T * sqinv * d)[0] - n + mpmath.log(mpmath.det(sq) / mpmath.det(s))) / 2
    assert g.log_partition() == pytest.approx(float(psi), rel=1e-13, abs=0)
    assert g.neg_entropy() == pytest.approx(float(phi), rel=1e-13, abs=0)
    assert g.kl(q) == pytest.approx(float(kl), rel=1e-12, abs=0)
    theta = np.array(
        [float(v) for v in list(sinv * m)]
        + [float(-sinv[i, i] / 2) for i in range(n)]
        + [float(-sinv[i, j] / 2) for i in range(n) for j in range(i + 1, n)]
    )
    np.testing.assert_allclose(g.natural(), theta, rtol=1e-13, atol=1e-14)
    # psi from theta itself (the exact theta given): compare with mpmath from that theta
    h = ng.Gaussian.from_natural(theta)
    tm = mpmath.matrix(theta[:n].tolist())
    big = mpmath.matrix(n, n)
    for i in range(n):
        big[i, i] = theta[n + i]
    k = 2 * n
    for i in range(n):
        for j in range(i + 1, n):
            big[i, j] = big[j, i] = theta[k]
            k += 1
    psi_t = (
        n / 2 * mpmath.log(2 * mpmath.pi)
        - (tm.T * big**-1 * tm)[0] / 4
        - mpmath.log(mpmath.det(-2 * big)) / 2
    )
    assert h.log_partition() == pytest.approx(float(psi_t), rel=1e-13, abs=0)


def _mp_kl(mean_p, cov_p, mean_q, cov_q) -> float:
    """KL(p || q) at 60 digits from the float64 inputs taken exactly."""
    mpmath = pytest.importorskip("mpmath")
    with mpmath.workdps(60):
        n = len(mean_p)
        sp, sq = mpmath.matrix(cov_p.tolist()), mpmath.matrix(cov_q.tolist())
        d = mpmath.matrix(mean_q.tolist()) - mpmath.matrix(mean_p.tolist())
        sqinv = sq**-1
        tr = mpmath.fsum((sqinv * sp)[i, i] for i in range(n))
        kl = (tr - n + (d.T * sqinv * d)[0] + mpmath.log(mpmath.det(sq) / mpmath.det(sp))) / 2
        return float(kl)


KL_RTOL = 1e-12  # reached for close (relative steps 1e-3 ... 1e-12) and far members, cond <= 100


@pytest.mark.parametrize("step", [1e-3, 1e-5, 1e-7, 1e-9, 1e-12])
@pytest.mark.parametrize("n", [1, 3, 6])
def test_kl_of_close_members_against_mpmath(step, n):
    """tr(Sq^-1 Sp) - n - log det(Sq^-1 Sp) cancels to O(step^2): the textbook form lost ~2 % at
    a relative step of 1e-7 and everything below; the eigenvalues u of Lq^-1 (Sp - Sq) Lq^-T
    with u - log1p(u) summed by a series keep every digit."""
    rng = np.random.default_rng(int(-np.log10(step)) * 10 + n)
    mean, cov = case(rng, n, cond=100.0)
    a = rng.standard_normal((n, n))
    cov_q = cov + step * np.abs(cov).max() * (a + a.T) / 2
    mean_q = mean + step * rng.standard_normal(n)
    p, q = ng.Gaussian(mean, cov), ng.Gaussian(mean_q, cov_q)
    for x, y in ((p, q), (q, p)):
        want = _mp_kl(x.mean, x.cov, y.mean, y.cov)
        assert want > 0
        assert x.kl(y) == pytest.approx(want, rel=KL_RTOL, abs=0)
    # the mean part alone and the covariance part alone
    for x, y in ((p, ng.Gaussian(mean_q, cov)), (p, ng.Gaussian(mean, cov_q))):
        assert x.kl(y) == pytest.approx(_mp_kl(x.mean, x.cov, y.mean, y.cov), rel=KL_RTOL, abs=0)


@pytest.mark.parametrize("n", [1, 2, 4, 7])
def test_kl_of_far_and_mixed_members_against_mpmath(n, rng):
    for _ in range(5):
        mean, cov = case(rng, n, cond=100.0)
        mean_q, cov_q = case(rng, n, cond=30.0)
        cov_q = cov_q * rng.uniform(1e-3, 1e3)
        want = _mp_kl(mean, cov, mean_q, cov_q)
        assert ng.Gaussian(mean, cov).kl(ng.Gaussian(mean_q, cov_q)) == pytest.approx(
            want, rel=KL_RTOL, abs=0
        )
    # one direction far (eigenvalue ratio 1e-4 or 1e4), the others within 1e-9
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    lam = np.geomspace(1.0, 0.1, n)
    for ratio in (1e-4, 0.6, 1e4):
        lam_q = lam * (1 + 1e-9 * rng.standard_normal(n))
        lam_q[0] = lam[0] * ratio
        cov, cov_q = (q * lam) @ q.T, (q * lam_q) @ q.T
        cov, cov_q = (cov + cov.T) / 2, (cov_q + cov_q.T) / 2
        mean = rng.standard_normal(n)
        want = _mp_kl(mean, cov, mean, cov_q)
        assert ng.Gaussian(mean, cov).kl(ng.Gaussian(mean, cov_q)) == pytest.approx(
            want, rel=KL_RTOL, abs=0
        )


def test_kl_properties(rng):
    # Tolerances are what is reached (over 300 seeds of this construction) times a margin of
    # about 4: |KL(p‖p)| <= 4.4e-16, relative to the twin <= 8.9e-16, to the Bregman form of ψ
    # (which cancels) <= 1.6e-15. They used to be 1e-13, 1e-11 and 1e-10.
    p, q = ng.Gaussian(*case(rng, 4)), ng.Gaussian(*case(rng, 4))
    assert p.kl(p) == pytest.approx(0.0, abs=2e-15)
    assert p.kl(q) > 0
    assert p.kl(q) == pytest.approx(ref.kl(p.mean, p.cov, q.mean, q.cov), rel=4e-15, abs=0)
    # Bregman form of the base class: psi(theta') - psi(theta) - <theta' - theta, eta>
    bregman = q.log_partition() - p.log_partition() - (q.natural() - p.natural()) @ p.expectation()
    assert p.kl(q) == pytest.approx(bregman, rel=6e-15, abs=0)


def test_log_prob_and_stats(rng):
    mean, cov = case(rng, 4)
    g = ng.Gaussian(mean, cov)
    x = rng.standard_normal((7, 4))
    np.testing.assert_allclose(g.log_prob(x), ref.log_prob(mean, cov, x), rtol=1e-13)
    np.testing.assert_allclose(g.sufficient_stats(x), ref.sufficient_stats(x), rtol=0)
    # exponential-family form: log p = <theta, T(x)> - psi
    np.testing.assert_allclose(
        g.log_prob(x), g.sufficient_stats(x) @ g.natural() - g.log_partition(), rtol=1e-11
    )
    assert g.log_prob(x[0]).shape == ()
    assert g.sufficient_stats(x[0]).shape == (14,)


def test_sampling_moments_within_five_standard_errors(rng):
    mean, cov = case(rng, 3)
    g = ng.Gaussian(mean, cov)
    n_samples = 20000
    x = g.sample(n_samples, rng)
    assert x.shape == (n_samples, 3)
    t = g.sufficient_stats(x)
    eta = g.expectation()
    se = np.sqrt(np.diag(g.fisher("natural")) / n_samples)  # Var(T) = diag of Cov(T, T)
    z = (t.mean(axis=0) - eta) / se
    assert np.max(np.abs(z)) < 5.0
    # reproducible from the generator, and the kernel equals mean + L z
    z0 = np.random.default_rng(1).standard_normal((5, 3))
    np.testing.assert_allclose(
        g.sample(5, np.random.default_rng(1)), ref.sample(mean, cov, z0), rtol=1e-14
    )


def test_immutable_and_no_aliasing(rng):
    mean, cov = case(rng, 3)
    m0, c0 = mean.copy(), cov.copy()
    g = ng.Gaussian(mean, cov)
    mean[0] += 1.0
    cov[0, 0] += 1.0
    np.testing.assert_array_equal(g.mean, m0)
    np.testing.assert_array_equal(g.cov, c0)
    out = g.mean
    out[0] = 99.0
    np.testing.assert_array_equal(g.mean, m0)
    theta = g.natural()
    h = ng.Gaussian.from_natural(theta)
    theta[0] = 5.0
    assert h.natural()[0] != 5.0


def test_layout_policy_accepts_and_converts(rng):
    mean, cov = case(rng, 4)
    ref_g = ng.Gaussian(mean, cov)
    readonly = cov.copy()
    readonly.setflags(write=False)
    for m, c in [
        (mean.astype(np.float32), cov.astype(np.float32)),
        (mean, np.asfortranarray(cov)),
        (np.repeat(mean, 2)[::2], np.repeat(np.repeat(cov, 2, 0), 2, 1)[::2, ::2]),
        (mean[::-1][::-1], readonly),
        (mean.tolist(), cov.tolist()),
    ]:
        # each layout against a fresh C-contiguous float64 copy of the same values: bit for bit
        m64 = np.array(np.asarray(m, dtype=np.float64), order="C")
        c64 = np.array(np.asarray(c, dtype=np.float64), order="C")
        assert c64.flags.c_contiguous and c64.base is None
        g, want = ng.Gaussian(m, c), ng.Gaussian(m64, c64)
        for got_x, want_x in [
            (g.natural(), want.natural()),
            (g.expectation(), want.expectation()),
            (g.fisher("expectation"), want.fisher("expectation")),
            (g.log_prob(c64), want.log_prob(c64)),
        ]:
            np.testing.assert_array_equal(got_x, want_x)
    np.testing.assert_allclose(
        ng.Gaussian(mean, np.asfortranarray(cov)).natural(), ref_g.natural(), rtol=0
    )
    c32 = cov.astype(np.float32)
    g32 = ng.Gaussian(mean, c32)
    np.testing.assert_array_equal(g32.cov, c32.astype(np.float64))


def test_tiny_asymmetry_is_symmetrised_large_is_refused(rng):
    cov = spd(rng, 3)
    bumped = cov.copy()
    bumped[0, 1] += 1e-14 * np.abs(cov).max()
    g = ng.Gaussian(np.zeros(3), bumped)
    np.testing.assert_array_equal(g.cov, g.cov.T)
    bumped[0, 1] += 1e-9
    with pytest.raises(ValueError, match="cov must be symmetric"):
        ng.Gaussian(np.zeros(3), bumped)


@pytest.mark.parametrize(
    ("mean", "cov", "match"),
    [
        (np.zeros(2), np.eye(3), r"cov must have shape \(2, 2\)"),
        (np.zeros(2), np.ones((2, 3)), "cov must have shape"),
        (np.zeros((2, 1)), np.eye(2), "mean must be 1-dimensional"),
        (np.zeros(0), np.eye(0), "mean must have at least one"),
        ([0.0, np.nan], np.eye(2), "mean must be finite"),
        (np.zeros(2), [[1.0, 0.0], [0.0, np.inf]], "cov must be finite"),
        (
            np.zeros(2),
            [[1.0, 2.0], [2.0, 1.0]],
            r"cov must be symmetric positive definite.*pivot 1",
        ),
        (np.zeros(3), np.diag([1.0, 0.0, 1.0]), r"positive definite.*pivot 1"),
        (np.zeros(2), [[1.0, 0.5], [0.0, 1.0]], "cov must be symmetric"),
        (np.zeros(2), np.array([[1j, 0], [0, 1]]), "cov must contain real numbers"),
        ("ab", np.eye(2), "mean must contain real numbers"),
    ],
)
def test_bad_constructor_input(mean, cov, match):
    with pytest.raises(ValueError, match=match):
        ng.Gaussian(mean, cov)


def test_bad_natural_and_expectation():
    with pytest.raises(ValueError, match="theta must have a negative-definite"):
        ng.Gaussian.from_natural(pack(np.zeros(2), np.eye(2)))  # Theta positive definite
    with pytest.raises(ValueError, match="theta must have length"):
        ng.Gaussian.from_natural(np.zeros(4))
    with pytest.raises(ValueError, match="theta must be finite"):
        ng.Gaussian.from_natural([0.0, np.nan, -1.0, -1.0, 0.0])
    # eta with E - mu mu' not PD: second moment smaller than the squared mean
    with pytest.raises(ValueError, match=r"eta must have E - eta_mu eta_mu' positive definite"):
        ng.Gaussian.from_expectation([2.0, 0.0, 1.0, 1.0, 0.0])
    with pytest.raises(ValueError, match="eta must have length"):
        ng.Gaussian.from_expectation(np.ones(3))
    with pytest.raises(ValueError, match="xi must have a positive-definite"):
        ng.Gaussian.from_mean_cov([0.0, 0.0, 1.0, 1.0, 3.0])


def test_bad_method_input(rng):
    g = ng.Gaussian(*case(rng, 2))
    with pytest.raises(ValueError, match="coords must be one of"):
        g.fisher("theta")
    with pytest.raises(ValueError, match=r"v must have shape \(5,\), got"):
        g.fisher_product(np.ones(4))
    with pytest.raises(ValueError, match="grad must be finite"):
        g.natural_gradient([np.nan] * 5)
    with pytest.raises(ValueError, match="damping must be >= 0"):
        g.natural_gradient(np.ones(5), damping=-1.0)
    with pytest.raises(ValueError, match=r"x must have shape \(2,\) or \(N, 2\)"):
        g.log_prob(np.ones((3, 3)))
    with pytest.raises(ValueError, match="x must be finite"):
        g.sufficient_stats([np.inf, 0.0])
    with pytest.raises(ValueError, match="size must be"):
        g.sample(-1, rng)
    with pytest.raises(ValueError, match="rng must be a numpy.random.Generator"):
        g.sample(2, rng=42)
    with pytest.raises(ValueError, match="other must have dimension 2"):
        g.kl(ng.Gaussian(np.zeros(3), np.eye(3)))
    with pytest.raises(ValueError, match="free must be strictly increasing"):
        g.fisher("natural", free=[2, 1])
    with pytest.raises(ValueError, match="free must be strictly increasing"):
        g.fisher("natural", free=[0, 5])


def test_core_refuses_wrong_layout_without_crashing():
    with pytest.raises(TypeError):
        _core.gaussian_natural_from_mean_cov(np.zeros(2, np.float32), np.eye(2))
    with pytest.raises(ValueError, match=r"cov must have shape \(2, 2\)"):
        _core.gaussian_natural_from_mean_cov(np.zeros(2), np.eye(3))
    with pytest.raises(ValueError, match="free indices must be strictly increasing"):
        _core.gaussian_fisher_mean_cov(np.eye(2), [1, 1])


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 5),
    seed=st.integers(0, 2**32 - 1),
    log_cond=st.floats(0.0, 4.0),
    shift=st.floats(-5.0, 5.0),
)
def test_bindings_properties(n, seed, log_cond, shift):
    rng = np.random.default_rng(seed)
    mean = rng.standard_normal(n) + shift
    cov = spd(rng, n, 10.0**log_cond) * rng.uniform(0.1, 10.0)
    g = ng.Gaussian(mean, cov)
    theta, eta = g.natural(), g.expectation()
    h = ng.Gaussian.from_natural(theta)
    scale = np.linalg.cond(cov) * (1 + mean @ mean)
    np.testing.assert_allclose(h.cov, cov, atol=1e-13 * scale * np.abs(cov).max())
    np.testing.assert_allclose(h.mean, mean, atol=1e-12 * scale)
    np.testing.assert_allclose(
        eta, ref.expectation_from_mean_cov(mean, cov), rtol=1e-14, atol=1e-14
    )
    psi, phi, pair = g.log_partition(), g.legendre_dual(), float(theta @ eta)
    assert abs(psi + phi - pair) <= 1e-12 * scale * (abs(psi) + abs(phi) + abs(pair))
    # reached: |KL(g‖h)| <= 1.5e-16 · scale over 300 random draws (the bound was 1e-10 · scale)
    assert g.kl(h) == pytest.approx(0.0, abs=1e-15 * scale)


class _NotGaussian:
    dim = 2


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda g: g.fisher_product([np.nan, 0, 0, 0, 0]), "v must be finite"),
        (lambda g: g.fisher_product(np.ones((5, 1))), r"v must have shape \(5,\), got"),
        (
            lambda g: g.natural_gradient(np.ones(5), "mean_cov", damping=np.inf),
            "damping must be finite",
        ),
        (
            lambda g: g.natural_gradient(np.ones(5), "natural", damping="a"),
            "damping must be a real",
        ),
        (lambda g: g.kl(_NotGaussian()), "other must be a Gaussian"),
        (lambda g: g.log_prob([[0.0, np.nan]]), "x must be finite"),
        (lambda g: g.sample(2.5, None), "size must be an integer"),
        (lambda g: g.fisher("natural", free=[[0, 1]]), "free must be a 1-D sequence"),
        (lambda g: g.fisher("natural", free=[0.5]), "free must be a 1-D sequence"),
        (
            lambda g: ng.Gaussian.from_expectation([0.0, np.inf, 1.0, 1.0, 0.0]),
            "eta must be finite",
        ),
        (lambda g: ng.Gaussian.from_natural(np.ones((5, 1))), "theta must be 1-dimensional"),
        (lambda g: ng.Gaussian.from_mean_cov([0.0, 0.0, 1.0, 1.0]), "xi must have length"),
    ],
)
def test_more_bad_input(rng, call, match):
    g = ng.Gaussian(*case(rng, 2))
    with pytest.raises(ValueError, match=match):
        call(g)


def test_overflow_is_refused_not_returned_as_inf():
    """A float64 overflow inside a conversion used to come back silently as inf: a Gaussian built
    from a tiny Θ had cov = [[inf]], and a huge mean gave η, ψ and I_θ containing inf."""
    with pytest.raises(ValueError, match="^theta: the result is not representable"):
        ng.Gaussian.from_natural([0.0, -1e-320])  # Σ = −½Θ⁻¹ overflows
    with pytest.raises(ValueError, match="^theta: the result is not representable"):
        ng.Gaussian.from_natural([1e300, -1e-300])  # μ = Σθ overflows
    far = ng.Gaussian([1e200], [[1.0]])  # a valid Gaussian whose E[x²] = 1e400 is not a float64
    assert far.natural()[0] == 1e200 and np.isfinite(far.neg_entropy())
    for call, name in [
        (far.expectation, "expectation"),
        (far.log_partition, "log_partition"),
        (lambda: far.fisher("natural"), "fisher"),
        (lambda: far.fisher("expectation"), "fisher"),
        (lambda: far.fisher_product(np.ones(2), "natural"), "fisher_product"),
        (lambda: far.natural_gradient(np.ones(2), "expectation"), "natural_gradient"),
        (lambda: far.kl(ng.Gaussian([0.0], [[1.0]])), "kl"),
    ]:
        with pytest.raises(ValueError, match=rf"^{name}: the result is not representable"):
            call()
    thin = ng.Gaussian([0.0], [[1e-320]])  # subnormal variance: the precision 1e320 overflows
    with pytest.raises(ValueError, match="^precision: the result is not representable"):
        thin.fisher("mean_cov")
    with pytest.raises(ValueError, match="^natural: the result is not representable"):
        thin.natural()


def test_cov_near_overflow_is_symmetrised_without_overflow():
    # 0.5 * (cov + cov.T) overflowed to inf for entries near 1e308 and the finite, valid cov was
    # reported as "cov contains NaN or Inf"
    g = ng.Gaussian([0.0, 0.0], [[1.5e308, 0.0], [0.0, 1.5e308]])
    np.testing.assert_array_equal(g.cov, np.diag([1.5e308, 1.5e308]))
    assert np.isfinite(g.neg_entropy())


def test_bool_is_not_a_real_number_for_float_arguments(rng):
    # as_int refused bools but as_float took damping=True as 1.0
    g = ng.Gaussian(*case(rng, 2))
    with pytest.raises(ValueError, match="^damping must be a real number, got True"):
        g.natural_gradient(np.ones(5), damping=True)
    with pytest.raises(ValueError, match="^damping must be a real number"):
        ng.natural_gradient(np.eye(2), np.ones(2), damping=np.bool_(False))
    with pytest.raises(ValueError, match=r"^grad must have shape \(5,\), got \(3,\)"):
        g.natural_gradient(np.ones(3))


# --- numerically positive definite covariances (defect 8) ---

# (A Aᵀ for an integer 3 x 2 matrix A: exactly singular, det = 0 in exact arithmetic, yet its
# float64 Cholesky factorisation succeeds with a last pivot of 1.2e-7)
SINGULAR_3 = np.array([[145.0, -6.0, -96.0], [-6.0, 72.0, 30.0], [-96.0, 30.0, 73.0]])


def test_exactly_singular_cov_is_refused():
    from fractions import Fraction

    a = [[Fraction(int(v)) for v in row] for row in SINGULAR_3]
    det = (
        a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1])
        - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0])
        + a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0])
    )
    assert det == 0
    with pytest.raises(ValueError, match=r"^cov is numerically singular: estimated condition"):
        ng.Gaussian(np.zeros(3), SINGULAR_3)


@pytest.mark.parametrize("lam", [3e-16, 2e-16, 1e-17])
def test_cov_at_condition_beyond_one_over_n_eps_is_refused(lam):
    q = np.linalg.qr(np.random.default_rng(1).standard_normal((2, 2)))[0]
    cov = q @ np.diag([1.0, lam]) @ q.T
    with pytest.raises(ValueError, match=r"^cov (is numerically singular|must be symmetric pos)"):
        ng.Gaussian([0.0, 0.0], 0.5 * (cov + cov.T))


@pytest.mark.parametrize("n", [2, 5, 30])
def test_accepted_cov_round_trips_to_what_its_condition_allows(rng, n):
    # just inside the criterion (the 1-norm estimate is within a factor ~n of κ₂): accepted, with
    # an AccuracyWarning on inversion, and the Σ → θ → Σ round trip is off by at most ~κ·ε
    cond = 0.02 / (n * n * np.finfo(float).eps)
    cov = spd(rng, n, cond)
    g = ng.Gaussian(np.zeros(n), cov)
    with pytest.warns(ng.AccuracyWarning):
        theta = g.natural()
    with pytest.warns(ng.AccuracyWarning):
        back = ng.Gaussian.from_natural(theta).cov
    err = np.abs(back - cov).max() / np.abs(cov).max()
    assert err < 4 * n * cond * np.finfo(float).eps


def test_condition_number_is_the_two_norm_condition(rng):
    import mpmath

    cov = spd(rng, 4, 1e6)
    g = ng.Gaussian(np.zeros(4), cov)
    mpmath.mp.dps = 40
    ev = mpmath.eigsy(mpmath.matrix(cov.tolist()))[0]
    vals = sorted(float(v) for v in ev)
    assert g.condition_number() == pytest.approx(vals[-1] / vals[0], rel=1e-9)
    assert ng.Gaussian([0.0], [[3.0]]).condition_number() == 1.0
    assert ng.Gaussian([0.0, 0.0], np.diag([2.0, 1e-6])).condition_number() == pytest.approx(2e6)


def test_from_natural_and_from_expectation_refuse_numerically_singular_results():
    # Θ = −½ P with P = SINGULAR_3 (halving is exact, so P is exactly singular)
    theta = pack(np.zeros(3), -0.5 * SINGULAR_3, offdiag_scale=1.0)
    with pytest.raises(ValueError, match=r"^theta: the precision -2Θ is numerically singular"):
        ng.Gaussian.from_natural(theta)
    eta = pack(np.zeros(3), SINGULAR_3, offdiag_scale=2.0)
    with pytest.raises(ValueError, match=r"^eta: the covariance E - μμᵀ is numerically singular"):
        ng.Gaussian.from_expectation(eta)
    xi = pack(np.zeros(3), SINGULAR_3)
    with pytest.raises(ValueError, match=r"^xi: the covariance is numerically singular"):
        ng.Gaussian.from_mean_cov(xi)


def test_ill_conditioned_inversion_warns(rng):
    cov = spd(rng, 3, 1e11)  # cond·eps = 2e-5 > 1e-6: accepted, but Σ⁻¹ carries ~1e-5 error
    g = ng.Gaussian(np.zeros(3), cov)
    with pytest.warns(ng.AccuracyWarning, match="condition number"):
        g.natural()
    ok = ng.Gaussian(np.zeros(3), spd(rng, 3, 1e8))
    ok.natural()  # no warning (filterwarnings = error)
    ok.precision  # noqa: B018
