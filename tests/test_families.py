"""One contract over every exponential family, checked against independent routes:
finite differences, enumeration, quadrature, Monte Carlo, closed forms and mpmath."""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate
from scipy.special import digamma, gammaln

import natgrad as ng
from family_cases import CASES, Case

# ------------------------------------------------------------------------------------------
# Independent expectation routes: enumeration of the support, or adaptive quadrature.


def _support(member: ng.ExponentialFamily) -> np.ndarray | None:
    """All support points carrying non-negligible mass (discrete families), else None."""
    if isinstance(member, ng.Bernoulli):
        return np.array([0.0, 1.0])
    if isinstance(member, ng.Binomial):
        return np.arange(member.trials + 1.0)
    if isinstance(member, ng.Categorical):
        return np.arange(float(member.probs.size))
    if isinstance(member, ng.Poisson):
        return np.arange(0.0, member.rate + 60 * np.sqrt(member.rate) + 60)
    if isinstance(member, ng.BinaryIndependence):
        return np.array(list(itertools.product([-1.0, 1.0], repeat=member.n)))
    return None


def _interval(member: ng.ExponentialFamily) -> tuple[float, float]:
    if isinstance(member, ng.Beta):
        return 0.0, 1.0
    return 0.0, np.inf


def expect(member: ng.ExponentialFamily, g: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """E_member[g(X)] for a vector-valued g, without using the family's own potentials."""
    pts = _support(member)
    if pts is not None:
        w = np.exp(member.log_prob(pts))
        return np.atleast_1d(np.einsum("n,n...->...", w, g(pts)))
    lo, hi = _interval(member)
    m = np.atleast_1d(g(np.array([0.5]))[0]).size
    out = np.empty(m)
    for k in range(m):

        def integrand(x: float, k: int = k) -> float:
            xa = np.array([x])
            return float(np.exp(member.log_prob(xa))[0] * np.atleast_1d(g(xa)[0])[k])

        out[k] = integrate.quad(integrand, lo, hi, epsabs=0, epsrel=1e-13, limit=200)[0]
    return out


# ------------------------------------------------------------------------------------------
ids = [c.name for c in CASES]
contract = pytest.mark.parametrize("case", CASES, ids=ids)


def _jacobian(fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray, h: float) -> np.ndarray:
    """Central finite-difference Jacobian (fourth-order stencil), truncation ~h⁴."""
    cols = []
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        cols.append((-fn(x + 2 * e) + 8 * fn(x + e) - 8 * fn(x - e) + fn(x - 2 * e)) / (12 * h))
    return np.array(cols).T


def _hessian(fn: Callable[[np.ndarray], float], x: np.ndarray, h: float) -> np.ndarray:
    m = x.size
    out = np.empty((m, m))
    for i in range(m):
        for j in range(m):
            ei, ej = np.zeros(m), np.zeros(m)
            ei[i], ej[j] = h, h
            out[i, j] = (fn(x + ei + ej) - fn(x + ei - ej) - fn(x - ei + ej) + fn(x - ei - ej)) / (
                4 * h * h
            )
    return out


@contract
def test_round_trips(case: Case) -> None:
    p = case.make()
    theta, eta = p.natural(), p.expectation()
    np.testing.assert_allclose(p.with_expectation(eta).natural(), theta, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(p.with_natural(theta).expectation(), eta, rtol=1e-14, atol=1e-14)
    assert p.dimension == theta.size == eta.size


@contract
def test_legendre_gap(case: Case) -> None:
    for p in (case.make(), case.other()):
        psi, phi, pair = p.log_partition(), p.legendre_dual(), float(p.natural() @ p.expectation())
        assert abs(psi + phi - pair) <= 1e-12 * (abs(psi) + abs(phi) + abs(pair))


@contract
def test_fisher_inverse_pair(case: Case) -> None:
    p = case.make()
    fi_t, fi_e = p.fisher("natural"), p.fisher("expectation")
    np.testing.assert_allclose(fi_t, fi_t.T, rtol=0, atol=1e-15 * np.abs(fi_t).max())
    cond = np.linalg.cond(fi_t)
    np.testing.assert_allclose(fi_t @ fi_e, np.eye(p.dimension), rtol=0, atol=1e-14 * cond)


@contract
def test_gradients_and_fisher_by_finite_differences(case: Case) -> None:
    p = case.make()
    theta, eta = p.natural(), p.expectation()

    def psi(t: np.ndarray) -> float:
        return p.with_natural(t).log_partition()

    def phi(e: np.ndarray) -> float:
        return p.with_expectation(e).legendre_dual()

    # ∇ψ = η and ∇φ = θ (fourth-order differences, h = 1e-4: truncation ~1e-13, rounding ~1e-12)
    np.testing.assert_allclose(
        _jacobian(lambda t: np.array([psi(t)]), theta, 1e-4)[0], eta, rtol=1e-9, atol=1e-9
    )
    np.testing.assert_allclose(
        _jacobian(lambda e: np.array([phi(e)]), eta, 1e-4)[0], theta, rtol=1e-8, atol=1e-8
    )
    # Hess ψ = I_θ and Hess φ = I_η: as Jacobians of the exact gradients, and as second differences
    jac_t = _jacobian(lambda t: p.with_natural(t).expectation(), theta, 1e-4)
    np.testing.assert_allclose(jac_t, p.fisher("natural"), rtol=1e-9, atol=1e-10)
    jac_e = _jacobian(lambda e: p.with_expectation(e).natural(), eta, 1e-4)
    np.testing.assert_allclose(jac_e, p.fisher("expectation"), rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(
        _hessian(psi, theta, 1e-4), p.fisher("natural"), rtol=1e-5, atol=1e-6
    )


@contract
def test_kl_hessian_is_fisher(case: Case) -> None:
    p = case.make()
    theta, eta = p.natural(), p.expectation()
    h_t = _hessian(lambda t: p.kl(p.with_natural(t)), theta, 1e-4)
    np.testing.assert_allclose(h_t, p.fisher("natural"), rtol=1e-5, atol=1e-7)
    h_e = _hessian(lambda e: p.kl(p.with_expectation(e)), eta, 1e-4)
    np.testing.assert_allclose(h_e, p.fisher("expectation"), rtol=1e-5, atol=1e-6)
    assert p.kl(p) == pytest.approx(0.0, abs=1e-15)


@contract
def test_kl_against_independent_reference(case: Case) -> None:
    p, q = case.make(), case.other()
    kl = p.kl(q)
    assert kl > 0
    # the Bregman divergence of ψ, evaluated literally, is the same number (reached: 6.7e-16
    # relative over these families; the bound was 1e-12)
    assert kl == pytest.approx(p.bregman_divergence(q), rel=3e-15, abs=0)
    if isinstance(p, ng.DiagonalGaussian):
        m0, v0, m1, v1 = p.mean, p.var, q.mean, q.var
        ref = 0.5 * np.sum(np.log(v1 / v0) + (v0 + (m0 - m1) ** 2) / v1 - 1)
    elif isinstance(p, (ng.Gaussian, ng.GaussianMRF)):  # the MRF: its dense covariance
        m0, s0, m1, s1 = p.mean, p.cov, q.mean, q.cov
        n = m0.size
        s1_inv = np.linalg.inv(s1)
        ref = 0.5 * (
            np.trace(s1_inv @ s0)
            + (m1 - m0) @ s1_inv @ (m1 - m0)
            - n
            + np.linalg.slogdet(s1)[1]
            - np.linalg.slogdet(s0)[1]
        )
    else:
        ref = expect(p, lambda x: p.log_prob(x) - q.log_prob(x))[0]
    # reached: 1.1e-15 relative (beta, by quadrature); the bound was 1e-11
    assert kl == pytest.approx(ref, rel=5e-15, abs=0)


@contract
def test_expectation_and_neg_entropy_by_enumeration_or_quadrature(case: Case) -> None:
    p = case.make()
    if isinstance(p, ng.DiagonalGaussian):
        ref_eta = np.concatenate([p.mean, p.var + p.mean**2])
        ref_neg_entropy = -0.5 * np.sum(np.log(2 * np.pi * np.e * p.var))
    elif isinstance(p, (ng.Gaussian, ng.GaussianMRF)):  # the MRF: its dense covariance
        # E[T] and E[log p] by a tensor Gauss–Hermite rule through the Cholesky factor
        z, w = np.polynomial.hermite_e.hermegauss(12)
        w = w / np.sqrt(2 * np.pi)
        zz = np.array(np.meshgrid(*[z] * p.mean.size, indexing="ij")).reshape(p.mean.size, -1).T
        ww = np.prod(
            np.array(np.meshgrid(*[w] * p.mean.size, indexing="ij")).reshape(p.mean.size, -1).T,
            axis=1,
        )
        x = p.mean + zz @ np.linalg.cholesky(p.cov).T
        ref_eta = ww @ p.sufficient_stats(x)
        ref_neg_entropy = float(ww @ p.log_prob(x))
        np.testing.assert_allclose(
            p.fisher("natural"),
            np.einsum(
                "k,ki,kj->ij", ww, p.sufficient_stats(x) - ref_eta, p.sufficient_stats(x) - ref_eta
            ),
            rtol=1e-11,
            atol=1e-13,
        )
    else:
        ref_eta = expect(p, p.sufficient_stats)
        ref_neg_entropy = expect(p, p.log_prob)[0]
        assert expect(p, lambda x: np.ones(len(x)))[0] == pytest.approx(1.0, rel=1e-12, abs=0)
        # Cov(T, T) = I_θ
        eta = p.expectation()
        cov = expect(
            p,
            lambda x: np.einsum("ni,nj->nij", *(2 * [p.sufficient_stats(x) - eta])).reshape(
                len(x), -1
            ),
        )
        np.testing.assert_allclose(
            cov.reshape(eta.size, eta.size), p.fisher("natural"), rtol=1e-11, atol=1e-13
        )
    np.testing.assert_allclose(p.expectation(), ref_eta, rtol=1e-12, atol=1e-13)
    assert p.neg_entropy() == pytest.approx(ref_neg_entropy, rel=1e-12, abs=1e-13)
    assert p.entropy() == -p.neg_entropy()


@contract
def test_moments_by_sampling(case: Case, rng: np.random.Generator) -> None:
    p = case.make()
    n = 40_000
    x = p.sample(n, rng)
    t = p.sufficient_stats(x)
    assert t.shape == (n, p.dimension)
    se = np.sqrt(np.diag(p.fisher("natural")) / n)
    z = (t.mean(axis=0) - p.expectation()) / se
    assert np.all(np.abs(z) < 5), z
    # the same seed reproduces the draws; a default generator works too
    np.testing.assert_array_equal(
        p.sample(5, np.random.default_rng(3)), p.sample(5, np.random.default_rng(3))
    )
    assert np.all(np.isfinite(p.log_prob(x[:100])))


@contract
def test_natural_gradient_is_gradient_in_the_dual_coordinates(case: Case) -> None:
    """Duality (SEED_ERRATA §6): I_θ⁻¹ ∇_θ F = ∇_η F for a smooth non-linear F(η)."""
    p = case.make()
    w = np.linspace(0.5, 1.5, p.dimension)

    def f_eta(e: np.ndarray) -> np.ndarray:
        return np.array([np.sum(w * np.sin(e))])

    grad_eta = w * np.cos(p.expectation())
    grad_theta = _jacobian(lambda t: f_eta(p.with_natural(t).expectation()), p.natural(), 1e-4)[0]
    np.testing.assert_allclose(
        p.natural_gradient(grad_theta, "natural"), grad_eta, rtol=1e-8, atol=1e-9
    )
    np.testing.assert_allclose(
        p.natural_gradient(grad_eta, "expectation"), grad_theta, rtol=1e-8, atol=1e-9
    )


@contract
def test_instances_do_not_alias_inputs_or_outputs(case: Case) -> None:
    p = case.make()
    t = p.natural()
    t[...] = 123.0
    assert not np.any(p.natural() == 123.0)
    with pytest.raises(ValueError, match="coords"):
        p.fisher("polar")
    with pytest.raises(ValueError, match="other"):
        p.kl(ng.Exponential(1.0) if not isinstance(p, ng.Exponential) else ng.Poisson(1.0))


# ------------------------------------------------------------------------------------------
# Bad parameters: ValueError naming the argument.
BAD = [
    (lambda: ng.Bernoulli(0.0), "p"),
    (lambda: ng.Bernoulli(1.0), "p"),
    (lambda: ng.Bernoulli(float("nan")), "p"),
    (lambda: ng.Bernoulli.from_expectation([1.5]), "eta"),
    (lambda: ng.Binomial(0, 0.5), "trials"),
    (lambda: ng.Binomial(2.5, 0.5), "trials"),
    (lambda: ng.Binomial.from_expectation([3.0], trials=3), "eta"),
    (lambda: ng.Categorical([0.5, 0.6]), "probs"),
    (lambda: ng.Categorical([1.0, 0.0]), "probs"),
    (lambda: ng.Categorical([1.0]), "probs"),
    (lambda: ng.Categorical.from_expectation([0.6, 0.5]), "eta"),
    (lambda: ng.Poisson(-1.0), "rate"),
    (lambda: ng.Poisson.from_natural([800.0]), "theta"),
    (lambda: ng.Exponential(0.0), "rate"),
    (lambda: ng.Exponential.from_natural([0.5]), "theta"),
    (lambda: ng.Gamma(-1.0, 1.0), "shape"),
    (lambda: ng.Gamma(1.0, float("inf")), "rate"),
    (lambda: ng.Gamma.from_expectation([1.0, 2.0]), "eta"),  # violates Jensen: E log X > log E X
    (lambda: ng.Gamma.from_natural([-1.5, -1.0]), "theta"),
    (lambda: ng.Beta(1.0, 0.0), "b"),
    (lambda: ng.Beta.from_expectation([-0.1, -0.1]), "eta"),
    (lambda: ng.Beta.from_natural([-1.0, 0.0]), "theta"),
    (lambda: ng.DiagonalGaussian([0.0], [-1.0]), "var"),
    (lambda: ng.DiagonalGaussian([0.0, 1.0], [1.0]), "var"),
    (lambda: ng.DiagonalGaussian.from_expectation([1.0, 0.5]), "eta"),
    (lambda: ng.DiagonalGaussian.from_natural([1.0, 0.5]), "theta"),
    (lambda: ng.BinaryIndependence([[0.0]]), "theta"),
    (lambda: ng.BinaryIndependence.from_expectation([1.0]), "eta"),
    (lambda: ng.BinaryIndependence.from_marginals([0.0]), "mu"),
    (lambda: ng.Bernoulli(0.5).sample(-1), "size"),
    (lambda: ng.Bernoulli(0.5).sample(3, rng=42), "rng"),
    (lambda: ng.Categorical([0.5, 0.5]).sufficient_stats([2]), "x"),
    (lambda: ng.BinaryIndependence([0.1, 0.2]).log_prob(np.ones((2, 3))), "x"),
]


@pytest.mark.parametrize(("build", "name"), BAD)
def test_bad_parameters_rejected(build: Callable[[], object], name: str) -> None:
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        build()


# ------------------------------------------------------------------------------------------
# Near-boundary parameters, against 50-digit mpmath references.
mpmath.mp.dps = 50


def _mp_bernoulli_kl(p: float, q: float) -> float:
    p_, q_ = mpmath.mpf(p), mpmath.mpf(q)
    # log1p: at 50 digits 1 - 1e-300 rounds to 1
    return float(p_ * mpmath.log(p_ / q_) + (1 - p_) * (mpmath.log1p(-p_) - mpmath.log1p(-q_)))


@pytest.mark.parametrize("p", [1e-12, 1e-300, 1 - 1e-12])
def test_bernoulli_near_boundary(p: float) -> None:
    b = ng.Bernoulli(p)
    p_ = mpmath.mpf(p)
    assert b.log_partition() == pytest.approx(float(-mpmath.log1p(-p_)), rel=1e-14, abs=0)
    theta_ref = float(mpmath.log(p_ / (1 - p_)))
    assert b.natural()[0] == pytest.approx(theta_ref, rel=1e-14, abs=0)
    assert b.fisher()[0, 0] == pytest.approx(float(p_ * (1 - p_)), rel=1e-14, abs=0)
    assert b.legendre_dual() == pytest.approx(
        float(p_ * mpmath.log(p_) + (1 - p_) * mpmath.log1p(-p_)), rel=1e-13, abs=0
    )
    other = 2 * p if p < 0.5 else 1 - 2 * (1 - p)
    assert b.kl(ng.Bernoulli(other)) == pytest.approx(_mp_bernoulli_kl(p, other), rel=1e-12, abs=0)
    # the tail probability survives a trip through θ
    back = ng.Bernoulli.from_natural(b.natural())
    # p = e^θ/(1 + e^θ) turns θ's rounding into |θ|·eps relative (|θ| = 691 at p = 1e-300)
    assert back.p == pytest.approx(p, rel=4e-16 * (1 + abs(theta_ref)), abs=0)


def test_bernoulli_kl_of_close_members_has_no_cancellation() -> None:
    p, q = 0.3, 0.3 * (1 + 1e-7)
    assert ng.Bernoulli(p).kl(ng.Bernoulli(q)) == pytest.approx(
        _mp_bernoulli_kl(p, q), rel=1e-8, abs=0
    )


def test_binary_model_far_in_the_tails() -> None:
    """|θ| = 15 (SEED_ERRATA §7): I_θ from P(+1)P(−1), not 1 − tanh²θ formed in float64."""
    m = ng.BinaryIndependence([15.0, -15.0, 300.0])
    t = mpmath.mpf(15)
    ref = float(1 - mpmath.tanh(t) ** 2)
    np.testing.assert_allclose(np.diag(m.fisher())[:2], [ref, ref], rtol=1e-14)
    assert m.fisher()[2, 2] > 0 and np.isfinite(m.fisher("expectation")[0, 0])
    assert m.marginals()[1] == pytest.approx(float(1 / (1 + mpmath.exp(30))), rel=1e-14, abs=0)
    # ψ = Σ log(2 cosh θ_i), finite at θ = 300
    ref_psi = float(mpmath.fsum(mpmath.log(2 * mpmath.cosh(t)) for t in (15, -15, 300)))
    assert m.log_partition() == pytest.approx(ref_psi, rel=1e-15, abs=0)


@pytest.mark.parametrize("rate", [1e-12, 1e5, 1e12, 1e200])
def test_poisson_extreme_rates(rate: float) -> None:
    p = ng.Poisson(rate)
    assert np.isfinite(p.neg_entropy()) and np.isfinite(p.legendre_dual())
    # KL = λ(d²/2 − d³/3 + ...) with d = 1e-6 (d itself carries rounding ~1e-10 relative)
    assert p.kl(ng.Poisson(rate * (1 + 1e-6))) == pytest.approx(
        rate * 0.5e-12 * (1 - 2e-6 / 3), rel=1e-9, abs=0
    )
    assert p.log_partition() == rate and p.natural()[0] == pytest.approx(
        np.log(rate), rel=1e-15, abs=0
    )


def _mp_poisson_neg_entropy(rate: float) -> float:
    lam = mpmath.mpf(rate)
    lo, hi = max(0, int(rate - 40 * rate**0.5 - 40)), int(rate + 40 * rate**0.5 + 40)
    terms = []
    for k in range(lo, hi + 1):
        lp = k * mpmath.log(lam) - lam - mpmath.loggamma(k + 1)
        terms.append(mpmath.exp(lp) * lp)
    return float(mpmath.fsum(terms))


@pytest.mark.parametrize("rate", [0.3, 7.5, 300.0, 9999.0, 10000.0])
def test_poisson_neg_entropy_against_mpmath(rate: float) -> None:
    """Summation with the saddle-point log-pmf below 1e4, the asymptotic series above: both
    exact to rounding on either side of the switch."""
    assert ng.Poisson(rate).neg_entropy() == pytest.approx(
        _mp_poisson_neg_entropy(rate), rel=1e-14, abs=0
    )


def test_poisson_log_prob_large_rate_against_mpmath() -> None:
    rate = 1e9
    k = np.array([rate - 1e5, rate, rate + 3e4])
    ref = [float(kk * mpmath.log(rate) - rate - mpmath.loggamma(kk + 1)) for kk in k]
    np.testing.assert_allclose(ng.Poisson(rate).log_prob(k), ref, rtol=1e-14)


def test_binomial_and_poisson_neg_entropy_differ_from_phi() -> None:
    """The base measure is not 1: E[log p] = φ(η) + E[log h(X)]."""
    for p in (ng.Binomial(9, 0.3), ng.Poisson(4.0)):
        k = _support(p)
        assert k is not None
        w = np.exp(p.log_prob(k))
        logh = (
            gammaln(9 + 1) - gammaln(k + 1) - gammaln(9 - k + 1)
            if isinstance(p, ng.Binomial)
            else -gammaln(k + 1)
        )
        assert p.neg_entropy() == pytest.approx(
            p.legendre_dual() + float(w @ logh), rel=1e-13, abs=0
        )
        assert abs(p.neg_entropy() - p.legendre_dual()) > 0.1


@pytest.mark.parametrize(
    ("shape", "rate"), [(1e-3, 2.0), (0.5, 1e-8), (3.0, 1e8), (1e4, 3.0), (1e8, 1.0)]
)
def test_gamma_from_expectation_newton(shape: float, rate: float) -> None:
    """Round trip through the digamma equation; the error allowed is rounding times the
    condition number of a ↦ log a − ψ(a) (≈ 1 for small a, ≈ 1 + 2a·log a for large a)."""
    g = ng.Gamma(shape, rate)
    back = ng.Gamma.from_expectation(g.expectation())
    eta = g.expectation()
    cond = max(1.0, abs(eta[0]) * 2 * shape)
    assert back.shape == pytest.approx(shape, rel=4e-16 * cond + 2e-15)
    assert back.rate == pytest.approx(rate, rel=4e-16 * cond + 2e-15)


@pytest.mark.parametrize(
    ("a", "b"), [(2.0, 3.0), (1e-3, 1e-3), (1e-2, 50.0), (300.0, 0.5), (1e4, 2e4), (0.7, 0.7)]
)
def test_beta_from_expectation_newton(a: float, b: float) -> None:
    """The error allowed is the rounding of the forward map (each η_i is a difference of two
    digammas, absolute error ~eps·(|ψ(a)| + |ψ(a + b)|)) pushed through the Jacobian
    d log(a, b) / dη = (I_θ diag(a, b))⁻¹."""
    m = ng.Beta(a, b)
    eta = m.expectation()
    back = ng.Beta.from_expectation(eta)
    jac = np.linalg.inv(m.fisher("natural") * np.array([a, b])[None, :])
    noise = 4e-16 * (np.abs(digamma([a, b])) + abs(digamma(a + b)))
    rtol = float(np.max(np.abs(jac) @ noise)) + 4e-15
    np.testing.assert_allclose([back.a, back.b], [a, b], rtol=rtol)
    np.testing.assert_allclose(back.expectation(), eta, rtol=1e-14, atol=1e-15)


@settings(max_examples=60, deadline=None)
@given(
    st.floats(min_value=-6, max_value=6),
    st.floats(min_value=-6, max_value=6),
)
def test_beta_newton_property(log_a: float, log_b: float) -> None:
    a, b = float(np.exp(log_a)), float(np.exp(log_b))
    eta = ng.Beta(a, b).expectation()
    back = ng.Beta.from_expectation(eta)
    np.testing.assert_allclose(back.expectation(), eta, rtol=1e-13, atol=1e-14)


@settings(max_examples=60, deadline=None)
@given(st.floats(min_value=-9, max_value=18))
def test_gamma_newton_property(log_a: float) -> None:
    a = float(np.exp(log_a))
    eta = ng.Gamma(a, 2.0).expectation()
    back = ng.Gamma.from_expectation(eta)
    np.testing.assert_allclose(back.expectation(), eta, rtol=1e-13, atol=1e-14)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(min_value=-30, max_value=30), min_size=2, max_size=6))
def test_categorical_natural_round_trip_property(theta: list[float]) -> None:
    c = ng.Categorical.from_natural(theta)
    # log-sum-exp at magnitude max|θ| is rounded to ulp(max|θ|): the probabilities carry that
    assert c.probs.sum() == pytest.approx(1.0, rel=4e-16 * (1 + max(map(abs, theta))), abs=0)
    np.testing.assert_allclose(c.natural(), theta, rtol=1e-13, atol=1e-13)


def test_no_warnings_at_extremes() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ng.Gamma(1e-300, 1e300).expectation()
        ng.Beta(1e-8, 1e8).fisher("expectation")
        ng.DiagonalGaussian([1e150], [1e-150]).kl(ng.DiagonalGaussian([0.0], [1.0]))


def _mp_binomial_log_pmf(k: float, n: int, p: float) -> float:
    k_, n_, p_ = mpmath.mpf(k), mpmath.mpf(n), mpmath.mpf(p)
    return float(
        mpmath.loggamma(n_ + 1)
        - mpmath.loggamma(k_ + 1)
        - mpmath.loggamma(n_ - k_ + 1)
        + k_ * mpmath.log(p_)
        + (n_ - k_) * mpmath.log(1 - p_)
    )


@pytest.mark.parametrize(("trials", "p"), [(10**9, 0.3), (10**6, 1e-12), (50, 0.5), (7, 1 - 1e-9)])
def test_binomial_log_prob_against_mpmath(trials: int, p: float) -> None:
    """Saddle-point form: no cancellation between log C(N, k) and the powers (each ~N)."""
    b = ng.Binomial(trials, p)
    mean = trials * p
    k = np.unique(
        np.clip(np.round([0, mean - 3 * np.sqrt(mean + 1), mean, mean + 5, trials]), 0, trials)
    )
    ref = np.array([_mp_binomial_log_pmf(kk, trials, p) for kk in k])
    # N·p is rounded (½ ulp); d log pmf / d(Np) = k/(Np) − 1 turns that into ~eps·|k − Np|
    err = np.abs(b.log_prob(k) - ref)
    assert np.all(err <= 1e-13 * np.abs(ref) + 1e-13 + 4e-16 * np.abs(k - mean)), err


def _mp_binomial_neg_entropy(n: int, p: float) -> float:
    sd = (n * p * (1 - p)) ** 0.5
    lo, hi = max(0, int(n * p - 40 * sd - 40)), min(n, int(n * p + 40 * sd + 40))
    terms = []
    for k in range(lo, hi + 1):
        lp = mpmath.mpf(_mp_binomial_log_pmf(k, n, p))
        terms.append(mpmath.exp(lp) * lp)
    return float(mpmath.fsum(terms))


def test_binomial_neg_entropy_large_trials() -> None:
    assert ng.Binomial(20_000, 0.3).neg_entropy() == pytest.approx(
        _mp_binomial_neg_entropy(20_000, 0.3), rel=1e-13, abs=0
    )
    with pytest.raises(ValueError, match="^neg_entropy"):
        ng.Binomial(10**13, 0.5).neg_entropy()


@pytest.mark.parametrize("shape", [1e-300, 1e-200, 1e-12, 1e-8, 3e-8])
def test_gamma_tiny_shape(shape: float) -> None:
    """Below 1e-8 the small-argument series replace log a − ψ(a) and a ψ'(a) − 1 (which overflow)."""
    g = ng.Gamma(shape, 2.0)
    back = ng.Gamma.from_expectation(g.expectation())
    # Newton runs in u = log a: exp(u) carries |log a|·eps relative (690·eps at a = 1e-300)
    rel = 4e-16 * (1 + abs(np.log(shape)))
    assert back.shape == pytest.approx(shape, rel=rel, abs=0)
    assert back.rate == pytest.approx(2.0, rel=rel, abs=0)
    a = mpmath.mpf(shape)
    ref = mpmath.log(a) - mpmath.digamma(a)
    from natgrad.families._special import a_trigamma_minus_one, log_minus_digamma

    assert log_minus_digamma(np.array([shape]))[0] == pytest.approx(float(ref), rel=1e-15, abs=0)
    assert a_trigamma_minus_one(np.array([shape]))[0] == pytest.approx(
        float(a * mpmath.psi(1, a) - 1), rel=1e-15, abs=0
    )


@pytest.mark.parametrize("shape", [1e-3, 0.7, 49.9, 50.0, 1e3, 1e10])
def test_gamma_special_functions_against_mpmath(shape: float) -> None:
    from natgrad.families._special import a_trigamma_minus_one, log_minus_digamma

    a = mpmath.mpf(shape)
    ref = mpmath.log(a) - mpmath.digamma(a)
    # below the switch to the series (a < 50) the direct difference cancels |log a| / (log a − ψ(a))
    # (up to ~400 at a = 49.9: 3e-14 relative there)
    cancel = float(abs(mpmath.log(a)) / ref) if shape < 50 else 1.0
    assert log_minus_digamma(np.array([shape]))[0] == pytest.approx(
        float(ref), rel=2e-15 + 2.2e-16 * cancel, abs=0
    )
    ref2 = a * mpmath.psi(1, a) - 1  # a ψ'(a) ≈ 1: direct form cancels 1 / ref2 below a = 50
    cancel2 = float(1 / ref2) if shape < 50 else 1.0
    assert a_trigamma_minus_one(np.array([shape]))[0] == pytest.approx(
        float(ref2), rel=2e-15 + 2.2e-16 * cancel2, abs=0
    )


@pytest.mark.parametrize(
    ("a", "b"), [(1e-8, 1e8), (1e8, 1e-3), (1e-5, 3.0), (1e-6, 1e-6), (40.0, 0.3)]
)
def test_beta_lopsided_parameters_against_mpmath(a: float, b: float) -> None:
    """When one parameter dwarfs the other, ψ(a) − ψ(a + b) and ψ'(a) − ψ'(a + b) cancel if formed
    directly (η₂ ≈ −1e-16 at (1e-8, 1e8) rounded to 0); the Taylor series keeps them exact, and then
    the Newton solve recovers (a, b) to rounding."""
    m = ng.Beta(a, b)
    A, B = mpmath.mpf(a), mpmath.mpf(b)
    eta_ref = [
        float(mpmath.digamma(A) - mpmath.digamma(A + B)),
        float(mpmath.digamma(B) - mpmath.digamma(A + B)),
    ]
    fisher_ref = [
        [float(mpmath.psi(1, A) - mpmath.psi(1, A + B)), float(-mpmath.psi(1, A + B))],
        [float(-mpmath.psi(1, A + B)), float(mpmath.psi(1, B) - mpmath.psi(1, A + B))],
    ]
    np.testing.assert_allclose(m.expectation(), eta_ref, rtol=1e-14)
    np.testing.assert_allclose(m.fisher(), fisher_ref, rtol=1e-14)
    back = ng.Beta.from_expectation(m.expectation())
    np.testing.assert_allclose([back.a, back.b], [a, b], rtol=1e-14)


@pytest.mark.parametrize(
    ("member", "coords"),
    [
        (ng.Exponential(1e200), "natural"),  # 1/rate² underflows
        (ng.Exponential(1e200), "expectation"),  # rate² overflows
        (ng.Poisson(1e-320), "expectation"),  # 1/rate overflows
        (ng.BinaryIndependence([400.0]), "natural"),  # 4 P(+1) P(−1) ~ e^-800 underflows
    ],
)
def test_unrepresentable_fisher_is_refused(member: ng.ExponentialFamily, coords: str) -> None:
    """Never a silent 0 or inf: the other quantities stay finite, the Fisher matrix raises."""
    assert np.isfinite(member.log_partition()) and np.all(np.isfinite(member.natural()))
    with pytest.raises(ValueError, match="^fisher"):
        member.fisher(coords)


@contract
def test_fisher_product_is_part_of_the_interface(case: Case, rng: np.random.Generator) -> None:
    """Same method names as the Gaussian: fisher_product(v, coords) = fisher(coords) @ v."""
    p = case.make()
    for coords in p.coordinate_systems:
        f = p.fisher(coords)
        v = rng.standard_normal(f.shape[0])
        np.testing.assert_allclose(
            p.fisher_product(v, coords), f @ v, rtol=1e-12, atol=1e-14 * np.abs(f).max()
        )
    with pytest.raises(ValueError, match="^v must"):
        p.fisher_product(np.ones(p.dimension + 1))
    with pytest.raises(ValueError, match="^coords"):
        p.fisher_product(np.ones(p.dimension), "polar")


def test_sampling_beyond_numpy_limits_is_a_clear_value_error(rng: np.random.Generator) -> None:
    # Binomial(2**70, p).sample raised OverflowError ("Python int too large to convert to C
    # long") and Poisson(1e200).sample numpy's bare "lam value too large".
    with pytest.raises(ValueError, match=r"^sample: trials = 1180591620717411303424 exceeds"):
        ng.Binomial(2**70, 0.5).sample(2, rng)
    with pytest.raises(ValueError, match=r"^sample: rate = 1e\+200 exceeds"):
        ng.Poisson(1e200).sample(2, rng)
    # everything else about these members still works, and large-but-valid draws do
    assert ng.Poisson(1e200).expectation()[0] == 1e200
    x = ng.Poisson(1e18).sample(2000, rng)
    assert abs(x.mean() - 1e18) < 5 * np.sqrt(1e18 / 2000)


@pytest.mark.parametrize(
    "member",
    [
        ng.Gaussian([0.5, -1.0], [[1.0, 0.3], [0.3, 0.8]]),
        ng.DiagonalGaussian([0.5, -1.0], [0.7, 2.0]),
        ng.BinaryIndependence([0.3, -1.1]),
    ],
    ids=["gaussian", "diag_gaussian", "binary"],
)
def test_multivariate_single_point_convention(member: ng.ExponentialFamily) -> None:
    """One point of shape (n,) gives a 0-d log_prob and T of shape (m,), a batch (N, n) gives (N,)
    and (N, m) -- the Gaussian's convention, which the diagonal and binary models did not follow
    (they returned (1,) and (1, m)); ``dim`` is n for all three."""
    x = np.array([[1.0, -1.0], [-1.0, -1.0]])
    assert member.dim == 2  # type: ignore[attr-defined]
    batch_lp, batch_t = member.log_prob(x), member.sufficient_stats(x)
    assert batch_lp.shape == (2,) and batch_t.shape == (2, member.dimension)
    lp, t = member.log_prob(x[1]), member.sufficient_stats(x[1])
    assert lp.shape == () and t.shape == (member.dimension,)
    assert lp == batch_lp[1]
    np.testing.assert_array_equal(t, batch_t[1])
    with pytest.raises(ValueError, match=r"^x must have shape \(2,\) or \(N, 2\)"):
        member.log_prob(np.ones(3))


@pytest.mark.parametrize(
    ("member", "outside"),
    [
        (ng.Bernoulli(0.3), [0.5]),
        (ng.Binomial(4, 0.3), [5.0]),
        (ng.Binomial(4, 0.3), [1.5]),
        (ng.Poisson(2.0), [-1.0]),
        (ng.Poisson(2.0), [2.5]),
        (ng.Exponential(2.0), [-0.1]),
        (ng.BinaryIndependence([0.1, 0.2]), [1.0, 0.0]),
        (ng.Categorical([0.5, 0.5]), [2.0]),
        (ng.Gamma(2.0, 1.0), [0.0]),
        (ng.Beta(2.0, 2.0), [1.0]),
    ],
)
def test_sufficient_stats_refuse_points_outside_the_support(
    member: ng.ExponentialFamily, outside: list[float]
) -> None:
    """Gamma, Beta and Categorical refused such points but Bernoulli, Binomial, Poisson,
    Exponential and the binary model returned T(x) of an impossible x (log_prob is -inf there)."""
    with pytest.raises(ValueError, match="^x must"):
        member.sufficient_stats(outside)
    assert np.all(np.isneginf(member.log_prob(outside)))


def _mp_gamma_kl(a: float, b: float, a2: float, b2: float) -> float:
    A, B, A2, B2 = (mpmath.mpf(v) for v in (a, b, a2, b2))
    return float(
        (A - A2) * mpmath.digamma(A)
        - mpmath.loggamma(A)
        + mpmath.loggamma(A2)
        + A2 * (mpmath.log(B) - mpmath.log(B2))
        + A * (B2 - B) / B
    )


def _mp_beta_kl(a: float, b: float, a2: float, b2: float) -> float:
    A, B, A2, B2 = (mpmath.mpf(v) for v in (a, b, a2, b2))
    return float(
        mpmath.log(mpmath.beta(A2, B2))
        - mpmath.log(mpmath.beta(A, B))
        + (A - A2) * mpmath.digamma(A)
        + (B - B2) * mpmath.digamma(B)
        + (A2 - A + B2 - B) * mpmath.digamma(A + B)
    )


@pytest.mark.parametrize(
    ("a", "b", "rel_step"),
    [(2.5, 1.5, 1e-6), (1e-3, 1e3, 1e-7), (300.0, 0.5, 1e-5), (2.5, 1.5, 0.5)],
)
def test_kl_of_close_members_against_mpmath(a: float, b: float, rel_step: float) -> None:
    """KL of members 1e-7..1e-5 apart is ~1e-12 while ψ, ⟨θ, η⟩ are ~1: Gamma and Beta evaluated the
    Bregman formula literally (relative error 2.5e-5 and 8e-5 at (2.5, 1.5), 1e-6 apart), and the
    ratio r = b'/b was rounded before r − 1 − log r (1e-10 relative for the Exponential,
    Poisson and diagonal Gaussian). The regrouped forms are exact to ~1e-12 here."""
    a2, b2 = a * (1 + rel_step), b * (1 - rel_step)
    assert ng.Gamma(a, b).kl(ng.Gamma(a2, b2)) == pytest.approx(
        _mp_gamma_kl(a, b, a2, b2), rel=1e-13, abs=0
    )
    assert ng.Beta(a, b).kl(ng.Beta(a2, b2)) == pytest.approx(
        _mp_beta_kl(a, b, a2, b2), rel=1e-12, abs=0
    )
    r = mpmath.mpf(b2) / mpmath.mpf(b)
    ref = float(r - 1 - mpmath.log(r))
    assert ng.Exponential(b).kl(ng.Exponential(b2)) == pytest.approx(ref, rel=1e-14, abs=0)
    assert ng.Poisson(b).kl(ng.Poisson(b2)) == pytest.approx(b * ref, rel=1e-14, abs=0)
    v = mpmath.mpf(b) / mpmath.mpf(b2)
    ref_diag = float((v - 1 - mpmath.log(v)) / 2)
    assert ng.DiagonalGaussian([0.0], [b]).kl(ng.DiagonalGaussian([0.0], [b2])) == pytest.approx(
        ref_diag, rel=1e-14, abs=0
    )


def test_discrete_kl_of_close_members_has_no_cancellation() -> None:
    """Σ p log(p/p') for members 1e-7 apart: the O(1e-7) terms cancel to O(1e-15). The literal
    sums were off by 0.5 % (Bernoulli) and 3 % (Categorical); the test of it passed only because
    pytest.approx's default abs=1e-12 dwarfs the value."""
    probs = ng.Categorical([0.1, 0.2, 0.7]).probs
    close = probs * np.array([1 + 1e-7, 1 - 1e-7, 1.0])
    close[2] = 1.0 - close[0] - close[1]
    p_mp = [mpmath.mpf(v) for v in probs]
    c = ng.Categorical(close)
    q_mp = [mpmath.mpf(v) for v in c.probs]
    p_mp, q_mp = [v / mpmath.fsum(p_mp) for v in p_mp], [v / mpmath.fsum(q_mp) for v in q_mp]
    ref = float(mpmath.fsum(a * mpmath.log(a / b) for a, b in zip(p_mp, q_mp, strict=True)))
    assert ng.Categorical(probs).kl(c) == pytest.approx(ref, rel=1e-12, abs=0)
    theta = np.array([0.3, -1.0, 12.0])
    other = theta + np.array([1e-7, -1e-7, 1e-7])
    ref_b = 0.0
    for t, u in zip(theta, other, strict=True):
        pt, pu = 1 / (1 + mpmath.exp(-2 * mpmath.mpf(t))), 1 / (1 + mpmath.exp(-2 * mpmath.mpf(u)))
        ref_b += pt * mpmath.log(pt / pu) + (1 - pt) * mpmath.log((1 - pt) / (1 - pu))
    got = ng.BinaryIndependence(theta).kl(ng.BinaryIndependence(other))
    # the marginals are stored rounded (~1e-16); their difference (~5e-8) carries ~2e-9 relative
    assert got == pytest.approx(float(ref_b), rel=1e-8, abs=0)


def test_binary_fisher_has_one_formula(monkeypatch: pytest.MonkeyPatch) -> None:
    """BinaryIndependence.fisher (every chart) and estimation.binary_fisher share one helper,
    natgrad._binary.fisher_natural, which is 1 − tanh²θ to rounding at any θ (mpmath)."""
    import natgrad._binary as binary
    import natgrad.estimation as est

    theta = np.array([0.0, 1e-9, -0.7, 3.0, -20.0, 180.0])
    mpmath.mp.dps = 50
    want = [float(mpmath.sech(mpmath.mpf(t)) ** 2) for t in theta]  # = 1 − tanh²θ
    np.testing.assert_allclose(binary.fisher_natural(theta), want, rtol=4e-16, atol=0)
    member = ng.BinaryIndependence(theta)
    i = binary.fisher_natural(theta)
    np.testing.assert_array_equal(np.diag(member.fisher("natural")), i)
    np.testing.assert_array_equal(np.diag(member.fisher("expectation")), 1.0 / i)
    np.testing.assert_array_equal(np.diag(member.fisher("marginal")), 4.0 / i)
    np.testing.assert_array_equal(est.binary_fisher(theta), i)
    monkeypatch.setattr(binary, "fisher_natural", lambda t: np.full(np.shape(t), 0.5))
    assert np.all(np.diag(ng.BinaryIndependence(theta).fisher("natural")) == 0.5)
    assert np.all(est.binary_fisher(theta) == 0.5)
