"""Monte Carlo estimation: core vs NumPy twin, exact values, rates, and errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import natgrad as ng
import natgrad.estimation as est
from natgrad.packing import pack, packed_size, unpack
from natgrad.reference import estimation as ref


def random_gaussian(rng, n, offset=1.0):
    A = rng.normal(size=(n, n))
    cov = A @ A.T / n + 0.5 * np.eye(n)
    return offset * rng.normal(size=n), cov


def random_quadratic(rng, n):
    b = rng.normal(size=n)
    B = rng.normal(size=(n, n))
    return 0.3, b, 0.5 * (B + B.T)


def quad_values(X, c0, b, Q):
    return c0 + X @ b + np.einsum("si,ij,sj->s", X, Q, X)


def theta_from_mean_cov(mean, cov):
    P = np.linalg.inv(cov)
    return pack(P @ mean, -0.5 * P)


def eta_from_theta(theta):
    t, Theta = unpack(theta)
    cov = np.linalg.inv(-2.0 * Theta)
    mu = cov @ t
    return pack(mu, cov + np.outer(mu, mu), offdiag_scale=2.0)


# --- the Isserlis twin itself, against an independent route: I_theta = d eta / d theta (FD) ---


def test_isserlis_fisher_equals_jacobian_of_eta(rng):
    mean, cov = random_gaussian(rng, 3)
    theta = theta_from_mean_cov(mean, cov)
    m, h = len(theta), 1e-6
    J = np.empty((m, m))
    for k in range(m):
        e = np.zeros(m)
        e[k] = h
        J[:, k] = (eta_from_theta(theta + e) - eta_from_theta(theta - e)) / (2 * h)
    F = ref.fisher_theta(mean, cov)
    # central differences: error O(h^2 |eta'''|) + O(eps |eta| / h) ~ 1e-9 relative here
    np.testing.assert_allclose(F, J, rtol=1e-6, atol=1e-7 * np.abs(F).max())
    np.testing.assert_allclose(F, F.T, rtol=1e-13, atol=0)


# --- core == reference twin ---


@pytest.mark.parametrize("n", [1, 2, 4])
def test_core_equals_reference(rng, n):
    mean, cov = random_gaussian(rng, n)
    X = rng.multivariate_normal(mean, cov, size=60)
    f = np.sin(X).sum(axis=1) + X[:, 0] ** 3
    rtol = 1e-11  # sums of 60 products of O(1) numbers, different orders of summation
    np.testing.assert_allclose(est.cov_f_stats(X, f), ref.cov_f_stats(X, f), rtol=rtol, atol=1e-13)
    np.testing.assert_allclose(
        est.empirical_fisher(X), ref.empirical_fisher(X), rtol=rtol, atol=1e-13
    )
    for damping in (0.0, 0.1):
        got = est.estimate_natural_gradient(X, f, fisher="empirical", damping=damping)
        want = ref.natural_gradient_theta_empirical(X, f, damping)
        # a solve with cond(Cov^(T,T)) up to ~1e4 here: 1e-8 relative leaves room for that
        np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10 * np.abs(want).max())
    got = est.estimate_natural_gradient(X, f, mean=mean, coords="mean_cov")
    np.testing.assert_allclose(
        got, ref.natural_gradient_mean_cov(X, f, mean), rtol=rtol, atol=1e-13
    )
    # core: push-forward through (mu, Sigma), O(n^3); twin: dense Isserlis I_theta solve, O(m^3)
    got = est.estimate_natural_gradient(X, f, mean=mean, cov=cov)
    want = ref.natural_gradient_theta_exact(X, f, mean, cov)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-11 * np.abs(want).max())
    dxi = rng.normal(size=packed_size(n))
    np.testing.assert_allclose(
        est.tangent_mean_cov_to_theta(mean, cov, dxi),
        ref.tangent_mean_cov_to_theta(mean, cov, dxi),
        rtol=1e-10,
        atol=1e-12,
    )
    np.testing.assert_allclose(
        est.tangent_theta_to_mean_cov(mean, cov, dxi),
        ref.tangent_theta_to_mean_cov(mean, cov, dxi),
        rtol=1e-10,
        atol=1e-12,
    )


def test_inputs_not_mutated(rng):
    X = rng.normal(size=(20, 2))
    f = X.sum(axis=1)
    X0, f0 = X.copy(), f.copy()
    est.cov_f_stats(X, f)
    est.estimate_natural_gradient(X, f, mean=np.zeros(2), cov=np.eye(2))
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(f, f0)


# --- Monte Carlo against exact values ---


def test_cov_f_stats_within_five_standard_errors(rng):
    n, N = 3, 20000
    mean, cov = random_gaussian(rng, n)
    c0, b, Q = random_quadratic(rng, n)
    c = pack(b, Q)  # f = c0 + <c, T(x)>
    exact = ref.fisher_theta(mean, cov) @ c  # MATH.md: grad_theta F = I_theta c
    X = rng.multivariate_normal(mean, cov, size=N)
    f = quad_values(X, c0, b, Q)
    got = est.cov_f_stats(X, f)
    S = ref.sufficient_stats(X)
    terms = (f - f.mean())[:, None] * (S - S.mean(axis=0))
    se = terms.std(axis=0, ddof=1) / np.sqrt(N)
    assert np.all(np.abs(got - exact) < 5 * se), (got - exact) / se


def test_cov_f_stats_rmse_rate(rng):
    n, reps = 2, 60
    mean, cov = random_gaussian(rng, n)
    c0, b, Q = random_quadratic(rng, n)
    exact = ref.fisher_theta(mean, cov) @ pack(b, Q)
    sizes = np.array([100, 400, 1600, 6400])
    rmse = []
    for N in sizes:
        err = [
            est.cov_f_stats(X, quad_values(X, c0, b, Q)) - exact
            for X in (rng.multivariate_normal(mean, cov, size=N) for _ in range(reps))
        ]
        rmse.append(np.sqrt(np.mean(np.square(err))))
    slope = np.polyfit(np.log(sizes), np.log(rmse), 1)[0]
    # 60 repetitions: the RMSE itself fluctuates by ~1/sqrt(2*60*m) ~ 4 %, slope error ~ 0.03
    assert -0.6 < slope < -0.4, slope


def test_shared_sample_estimator_exact_in_span(rng):
    for n in (2, 3, 4):
        m = packed_size(n)
        mean, cov = random_gaussian(rng, n)
        c0, b, Q = random_quadratic(rng, n)
        X = rng.multivariate_normal(mean, cov, size=m + 3)  # any N > m
        got = est.estimate_natural_gradient(X, quad_values(X, c0, b, Q), fisher="empirical")
        # least squares on the centred statistics: error ~ cond(S) * eps, cond(S) <~ 1e4 here
        np.testing.assert_allclose(got, pack(b, Q), rtol=1e-9, atol=1e-10)


def test_exact_fisher_estimator_unbiased(rng):
    n, N, reps = 2, 50, 400
    mean, cov = random_gaussian(rng, n)
    c0, b, Q = random_quadratic(rng, n)
    draws = np.array(
        [
            est.estimate_natural_gradient(X, quad_values(X, c0, b, Q), mean=mean, cov=cov)
            for X in (rng.multivariate_normal(mean, cov, size=N) for _ in range(reps))
        ]
    )
    se = draws.std(axis=0, ddof=1) / np.sqrt(reps)
    z = (draws.mean(axis=0) - pack(b, Q)) / se
    assert np.all(np.abs(z) < 5), z


def test_mean_cov_natural_gradient_quadratic(rng):
    n, N = 3, 20000
    mean, cov = random_gaussian(rng, n)
    c0, b, Q = random_quadratic(rng, n)
    exact = pack(cov @ (b + 2 * Q @ mean), 2 * cov @ Q @ cov)  # MATH.md worked identity
    X = rng.multivariate_normal(mean, cov, size=N)
    f = quad_values(X, c0, b, Q)
    got = est.estimate_natural_gradient(X, f, coords="mean_cov", mean=mean)
    Y = X - mean
    iu, ju = np.triu_indices(n, 1)
    terms = (f - f.mean())[:, None] * np.hstack([Y, Y**2, Y[:, iu] * Y[:, ju]])
    se = terms.std(axis=0, ddof=1) / np.sqrt(N)
    assert np.all(np.abs(got - exact) < 5 * se), (got - exact) / se
    # the exact tangent vector in (mu, Sigma) pushed to theta is c (MATH.md / errata section 6)
    np.testing.assert_allclose(
        est.tangent_mean_cov_to_theta(mean, cov, exact), pack(b, Q), rtol=1e-12, atol=1e-12
    )


def test_charts_agree(rng):
    """The estimated natural gradients in theta, eta and (mu, Sigma) are one tangent vector."""
    n = 3
    mean, cov = random_gaussian(rng, n)
    X = rng.multivariate_normal(mean, cov, size=40)
    f = np.cos(X).sum(axis=1)
    dxi = est.estimate_natural_gradient(X, f, coords="mean_cov", mean=mean)
    dtheta = est.estimate_natural_gradient(X, f, mean=mean, cov=cov)
    deta = est.estimate_natural_gradient(X, f, coords="expectation")
    dmu, dS = unpack(dxi)
    # d eta = (d mu, dSigma + d mu mu^T + mu d mu^T), pairs scaled by 2
    pushed_eta = pack(dmu, dS + np.outer(dmu, mean) + np.outer(mean, dmu), offdiag_scale=2.0)
    np.testing.assert_allclose(pushed_eta, deta, rtol=1e-10, atol=1e-12)
    # d eta = I_theta d theta (Jacobian of eta(theta))
    np.testing.assert_allclose(ref.fisher_theta(mean, cov) @ dtheta, deta, rtol=1e-9, atol=1e-11)
    back = est.tangent_theta_to_mean_cov(mean, cov, dtheta)
    np.testing.assert_allclose(back, dxi, rtol=1e-10, atol=1e-12)
    # empirical Fisher in (mu, Sigma) is the push-forward of the empirical theta estimate
    X = rng.multivariate_normal(mean, cov, size=40)
    g = est.estimate_natural_gradient(X, f, fisher="empirical")
    gx = est.estimate_natural_gradient(
        X, f, fisher="empirical", coords="mean_cov", mean=mean, cov=cov
    )
    np.testing.assert_allclose(
        gx, ref.tangent_theta_to_mean_cov(mean, cov, g), rtol=1e-10, atol=1e-12
    )


def test_tangent_map_is_jacobian(rng):
    n = 3
    mean, cov = random_gaussian(rng, n)
    dxi = rng.normal(size=packed_size(n))
    dmu, dS = unpack(dxi)
    h = 1e-6
    fd = (
        theta_from_mean_cov(mean + h * dmu, cov + h * dS)
        - theta_from_mean_cov(mean - h * dmu, cov - h * dS)
    ) / (2 * h)
    got = est.tangent_mean_cov_to_theta(mean, cov, dxi)
    np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-8)


# --- binary independence model ---


def enumerate_pm1(n):
    return np.array(np.meshgrid(*[[-1.0, 1.0]] * n, indexing="ij")).reshape(n, -1).T


def toy(X):
    return X[:, 0] + 2 * X[:, 1] + 3 * X[:, 0] * X[:, 1]


def test_binary_toy_enumeration(rng):
    theta = np.array([0.3, -0.7])
    states = enumerate_pm1(2)
    p = np.prod(np.exp(theta * states) / (2 * np.cosh(theta)), axis=1)
    f = toy(states)
    mu = (1 + np.tanh(theta)) / 2  # P(X = +1)
    F_mu = -4 * mu[0] - 2 * mu[1] + 12 * mu[0] * mu[1]
    assert np.isclose(p @ f, F_mu, rtol=1e-14)
    grad_mu = np.array([-4 + 12 * mu[1], -2 + 12 * mu[0]])
    cov_fx = p @ ((f - p @ f)[:, None] * (states - p @ states))
    eta = np.tanh(theta)
    # errata #16: natural gradient in theta = grad_eta F = 1/2 grad_mu F
    np.testing.assert_allclose(cov_fx / (1 - eta**2), 0.5 * grad_mu, rtol=1e-14)
    np.testing.assert_allclose(cov_fx / est.binary_fisher(theta), 0.5 * grad_mu, rtol=1e-14)
    # Monte Carlo estimator within 5 standard errors
    N = 20000
    X = np.where(rng.random((N, 2)) < mu, 1.0, -1.0)
    fx = toy(X)
    got = est.binary_natural_gradient(X, fx, theta)
    terms = (fx - fx.mean())[:, None] * (X - X.mean(axis=0)) / est.binary_fisher(theta)
    se = terms.std(axis=0, ddof=1) / np.sqrt(N)
    assert np.all(np.abs(got - 0.5 * grad_mu) < 5 * se)
    np.testing.assert_allclose(est.binary_cov_f_x(X, fx), ref.binary_cov_f_x(X, fx), rtol=1e-12)
    np.testing.assert_allclose(got, ref.binary_natural_gradient(X, fx, theta), rtol=1e-12)


def test_binary_fisher_stable_far_out():
    theta = np.array([0.0, 1.0, -5.0, 15.0, -30.0, 300.0])
    got = est.binary_fisher(theta)
    # independent route 1/cosh^2, accurate to a few ulps for these |theta| (no cancellation)
    np.testing.assert_allclose(got, ref.binary_fisher_theta(theta), rtol=1e-14, atol=0)
    # the cancelling form loses digits: 1 - tanh(15)^2 is off by >1e-5 relative
    assert abs((1 - np.tanh(15.0) ** 2) / got[3] - 1) > 1e-5


def _mp_binary_fisher(t: float) -> float:
    mpmath = pytest.importorskip("mpmath")
    with mpmath.workdps(40):
        e = mpmath.exp(-2 * abs(mpmath.mpf(t)))
        return float(4 * e / (1 + e) ** 2)


@pytest.mark.parametrize("size", range(1, 10))
def test_binary_fisher_underflow_at_every_position(size):
    """Eigen 3.4's vectorised exp clamps its argument at -709.78, so exp(-2|theta|) came back as
    ~5.6e-309 instead of 0 for |theta| >= 355 in the SIMD packets (not in the scalar tail): the
    Fisher information depended on the position and on the ISA level, and the underflow guard of
    binary_natural_gradient never fired (a 6.6e306 "gradient" at theta = 400 under v2)."""
    X = np.where(np.random.default_rng(size).random((8, size)) < 0.5, -1.0, 1.0)
    f = X.sum(axis=1) + X[:, 0]
    for big in (354.0, 354.85, 354.95, 355.0, 372.0, 400.0, 1e3, 1e4, 1e300):
        for pos in range(size):
            theta = np.full(size, 0.3)
            theta[pos] = big if pos % 2 else -big
            want = np.array([_mp_binary_fisher(t) for t in theta])
            # rtol for normal results; atol: 4 x half an ulp of the subnormal exp(-2|theta|)
            np.testing.assert_allclose(est.binary_fisher(theta), want, rtol=1e-14, atol=1e-323)
            if big <= 354.85:  # I_theta = 4 exp(-2|theta|) is still a normal float64
                assert np.all(np.isfinite(est.binary_natural_gradient(X, f, theta)))
            else:
                with pytest.raises(ValueError, match="theta"):
                    est.binary_natural_gradient(X, f, theta)


# --- bad input ---


@pytest.mark.parametrize(
    ("call", "word"),
    [
        (lambda: est.cov_f_stats(np.ones((1, 2)), np.ones(1)), "X"),
        (lambda: est.cov_f_stats(np.ones((5, 2)), np.ones(4)), "values"),
        (lambda: est.cov_f_stats(np.ones(5), np.ones(5)), "X"),
        (lambda: est.cov_f_stats(np.full((5, 2), np.nan), np.ones(5)), "X"),
        (lambda: est.cov_f_stats(np.ones((5, 2)), [1, 2, 3, np.inf, 5]), "values"),
        (lambda: est.estimate_natural_gradient(np.ones((5, 2)), np.ones(5)), "mean"),
        (lambda: est.estimate_natural_gradient(np.ones((5, 2)), np.ones(5), coords="x"), "coords"),
        (lambda: est.estimate_natural_gradient(np.ones((5, 2)), np.ones(5), fisher="x"), "fisher"),
        (
            lambda: est.estimate_natural_gradient(
                np.ones((5, 2)), np.ones(5), mean=np.zeros(2), cov=[[1, 2], [0, 1]]
            ),
            "cov",
        ),
        (
            lambda: est.estimate_natural_gradient(
                np.ones((5, 2)), np.ones(5), mean=np.zeros(2), cov=[[1, 2], [2, 1]]
            ),
            "cov",
        ),
        (
            lambda: est.estimate_natural_gradient(np.ones((5, 2)), np.ones(5), fisher="empirical"),
            "empirical Fisher",
        ),
        (
            lambda: est.estimate_natural_gradient(
                np.ones((5, 2)), np.ones(5), fisher="empirical", damping=-1
            ),
            "damping",
        ),
        (lambda: est.binary_cov_f_x(np.zeros((4, 2)), np.ones(4)), "X"),
        (lambda: est.binary_natural_gradient(np.ones((4, 2)), np.ones(4), [0.0]), "theta"),
        (lambda: est.binary_natural_gradient(np.ones((4, 2)), np.ones(4), [0.0, 400.0]), "theta"),
    ],
)
def test_bad_input(call, word):
    with pytest.raises(ValueError, match=word):
        call()


def _offset_copy(a, shift):
    """A C-contiguous copy of ``a`` starting ``shift`` doubles into a fresh buffer."""
    buf = np.empty(a.size + shift)
    out = buf[shift:].reshape(a.shape)
    out[...] = a
    return out


def test_results_do_not_depend_on_buffer_alignment(rng):
    """Bit-reproducible runs: the kernels give identical bits for identical values at any address."""
    from natgrad import _core

    n, N = 3, 37
    mean, cov = random_gaussian(rng, n)
    X = rng.multivariate_normal(mean, cov, size=N)
    f = np.cos(X).sum(axis=1)
    theta = rng.normal(size=n)
    calls = [
        lambda X, f, m: _core.cov_f_stats(X, f),
        lambda X, f, m: _core.natural_gradient_mean_cov(X, f, m),
        lambda X, f, m: _core.natural_gradient_theta_exact(X, f, m, cov),
        lambda X, f, m: _core.natural_gradient_theta_empirical(X, f, 0.0),
        lambda X, f, m: _core.empirical_fisher(X),
        lambda X, f, m: _core.binary_natural_gradient(np.where(X > 0, 1.0, -1.0), f, theta),
    ]
    for call in calls:
        want = call(X, f, mean)
        for shift in (1, 2, 3):
            got = call(_offset_copy(X, shift), _offset_copy(f, shift), _offset_copy(mean, shift))
            np.testing.assert_array_equal(got, want)


def ill_conditioned_gaussian(rng, n, cond):
    U, _ = np.linalg.qr(rng.normal(size=(n, n)))
    cov = U @ np.diag(np.logspace(0, -np.log10(cond), n)) @ U.T
    return rng.normal(size=n), 0.5 * (cov + cov.T)


def test_exact_theta_estimator_ill_conditioned(rng):
    """cond(Sigma) = 1e8: the estimator against the same formula evaluated with 40 digits."""
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 40
    n, N = 3, 30
    mean, cov = ill_conditioned_gaussian(rng, n, 1e8)
    X = rng.multivariate_normal(mean, cov, size=N)
    f = np.cos(X).sum(axis=1) + X[:, 0] ** 2
    got = est.estimate_natural_gradient(X, f, mean=mean, cov=cov)
    P = mp.matrix(cov.tolist()) ** -1
    fbar = mp.fsum([mp.mpf(v) for v in f]) / N
    fc = [mp.mpf(v) - fbar for v in f]
    Y = [mp.matrix([mp.mpf(X[s, i]) - mp.mpf(mean[i]) for i in range(n)]) for s in range(N)]
    dmu = sum((fc[s] * Y[s] for s in range(N)), mp.matrix(n, 1)) / (N - 1)
    dS = sum((fc[s] * (Y[s] * Y[s].T) for s in range(N)), mp.matrix(n, n)) / (N - 1)
    dTheta = P * dS * P / 2
    dt = P * (dmu - dS * P * mp.matrix(mean.tolist()))
    want = np.array(
        [float(dt[i]) for i in range(n)]
        + [float(dTheta[i, i]) for i in range(n)]
        + [float(dTheta[i, j]) for i in range(n) for j in range(i + 1, n)]
    )
    # forming Sigma^-1 costs cond(Sigma) * eps = 2e-8 relative; measured 4e-9
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-7 * np.abs(want).max())


def test_tangent_theta_to_mean_cov_ill_conditioned(rng):
    """theta -> (mu, Sigma) needs no inverse: exact to rounding even at cond(Sigma) = 1e8."""
    n = 4
    mean, cov = ill_conditioned_gaussian(rng, n, 1e8)
    _, b, Q = random_quadratic(rng, n)
    want = pack(cov @ (b + 2 * Q @ mean), 2 * cov @ Q @ cov)
    got = est.tangent_theta_to_mean_cov(mean, cov, pack(b, Q))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-14 * np.abs(want).max())


def test_against_gaussian_class(rng):
    """Independent routes from natgrad.Gaussian: Isserlis Fisher, statistics, I_eta products."""
    import natgrad as ng

    n = 3
    mean, cov = random_gaussian(rng, n)
    g = ng.Gaussian(mean, cov)
    F = g.fisher("natural")
    np.testing.assert_allclose(
        ref.fisher_theta(mean, cov), F, rtol=1e-12, atol=1e-13 * np.abs(F).max()
    )
    X = rng.multivariate_normal(mean, cov, size=25)
    np.testing.assert_allclose(g.sufficient_stats(X), ref.sufficient_stats(X), rtol=1e-15)
    f = np.sin(X).sum(axis=1)
    cov_fT = est.cov_f_stats(X, f)
    np.testing.assert_allclose(
        est.estimate_natural_gradient(X, f, mean=mean, cov=cov),
        g.natural_gradient(cov_fT, "natural"),
        rtol=1e-10,
        atol=1e-12,
    )
    # (mu, Sigma): the ordinary gradient there is J^T grad_theta, J = d theta / d xi (columns
    # from the tangent map); I_xi^{-1} J^T Cov(f, T) is the estimator in (mu, Sigma)
    J = np.column_stack(
        [est.tangent_mean_cov_to_theta(mean, cov, e) for e in np.eye(packed_size(n))]
    )
    np.testing.assert_allclose(
        est.estimate_natural_gradient(X, f, coords="mean_cov", mean=mean),
        g.natural_gradient(J.T @ cov_fT, "mean_cov"),
        rtol=1e-10,
        atol=1e-12,
    )


# --- properties (Hypothesis) ---


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 4),
    N=st.integers(2, 40),
    seed=st.integers(0, 2**32 - 1),
    a=st.floats(-1e3, 1e3),
    k=st.floats(-10, 10),
)
def test_cov_f_stats_properties(n, N, seed, a, k):
    r = np.random.default_rng(seed)
    X = r.normal(size=(N, n)) * r.uniform(0.1, 10) + r.normal(size=n)
    f, h = r.normal(size=N), r.normal(size=N)
    base = est.cov_f_stats(X, f)
    scale = np.abs(base).max() + np.abs(est.cov_f_stats(X, h)).max() + 1e-300
    # affine in the values: Cov(k f + h + a, T) = k Cov(f, T) + Cov(h, T); constants drop out.
    # Rounding: a few eps of the values' size (|a| + |k| + 1) times the statistics' size |X|^2
    # (measured: at most 3e-3 of this bound over 300 random cases)
    big = max(1.0, np.abs(X).max()) ** 2
    tol = 1e-15 * (1 + abs(a) + abs(k)) * scale * big
    np.testing.assert_allclose(
        est.cov_f_stats(X, k * f + h + a), k * base + est.cov_f_stats(X, h), rtol=0, atol=tol
    )
    # a constant is centred to (almost) zero: mean(a, ..., a) may differ from a by an ulp
    const = est.cov_f_stats(X, np.full(N, a))
    np.testing.assert_allclose(const, 0.0, rtol=0, atol=4 * np.finfo(float).eps * abs(a) * big)
    # the order of the samples does not matter
    p = r.permutation(N)
    np.testing.assert_allclose(est.cov_f_stats(X[p], f[p]), base, rtol=0, atol=tol)


# --- one vocabulary ---


@pytest.mark.parametrize(("old", "new"), [("theta", "natural"), ("eta", "expectation")])
def test_old_coordinate_names_are_refused_naming_the_new_one(old, new):
    X = np.random.default_rng(0).standard_normal((6, 2))
    with pytest.raises(
        ValueError,
        match=rf"^coords must be one of 'natural', 'expectation', 'mean_cov', got '{old}' "
        rf"\(.* is '{new}'\)",
    ):
        est.estimate_natural_gradient(X, X[:, 0], coords=old, mean=np.zeros(2), cov=np.eye(2))


# --- errors and accuracy (defect 7) ---


@pytest.mark.parametrize("scale", [1e300, 1e160])
def test_overflowing_statistics_raise_instead_of_nan(rng, scale):
    X = rng.standard_normal((10, 2)) * scale
    v = rng.standard_normal(10)
    with pytest.raises(ValueError, match=r"^cov_f_stats: the result is not representable"):
        est.cov_f_stats(X, v)
    with pytest.raises(ValueError, match=r"^empirical_fisher: the result is not representable"):
        est.empirical_fisher(X)
    with pytest.raises(ValueError, match=r"not representable"):
        est.estimate_natural_gradient(X, v, fisher="empirical", damping=1.0)


def test_large_but_representable_statistics_are_finite(rng):
    X = rng.standard_normal((10, 2))
    v = rng.standard_normal(10)
    s = 2.0**500  # x² ~ 1e301 is still a float64: exact power-of-two scaling of the result
    np.testing.assert_allclose(
        est.cov_f_stats(X * s, v),
        est.cov_f_stats(X, v) * np.repeat([s, s * s], [2, 3]),
        rtol=1e-12,
    )


@pytest.mark.parametrize(
    ("cov", "match"),
    [
        ([[5e-324]], r"^cov must be symmetric positive definite"),
        ([[1.0, 2.0], [2.0, 1.0]], r"^cov must be symmetric positive definite"),
        (
            np.array([[145.0, -6.0, -96.0], [-6.0, 72.0, 30.0], [-96.0, 30.0, 73.0]]),
            r"^cov is numerically singular",
        ),
    ],
)
def test_tangent_maps_validate_cov_as_gaussian_does(cov, match):
    n = np.shape(cov)[0]
    m = n + n * (n + 1) // 2
    for fn in (est.tangent_mean_cov_to_theta, est.tangent_theta_to_mean_cov):
        with pytest.raises(ValueError, match=match):
            fn(np.zeros(n), cov, np.ones(m))
    with pytest.raises(ValueError, match=match):
        ng.Gaussian(np.zeros(n), cov)


def test_tangent_map_overflow_is_a_value_error():
    # Σ = 1e-300 is a valid covariance, but P dΣ P = 1e600 is not a float64
    with pytest.raises(ValueError, match=r"^tangent_mean_cov_to_theta: the result is not repr"):
        est.tangent_mean_cov_to_theta([0.0], [[1e-300]], [1.0, 1.0])
