"""Fisher information of the Gaussian in θ, η and (μ, Σ): assembly, products, solves, checked
against the NumPy twin, finite differences, KL Hessians, duality and high precision."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import natgrad as ng
from gaussian_cases import case, spd
from natgrad import _core
from natgrad.packing import pack, unpack
from natgrad.reference import gaussian as ref

COORDS = ("natural", "expectation", "mean_cov")
DIMS = [1, 2, 3, 5]


def _to_coords(g: ng.Gaussian, coords: str) -> np.ndarray:
    return {"natural": g.natural, "expectation": g.expectation, "mean_cov": g.mean_cov}[coords]()


def _from_coords(x: np.ndarray, coords: str) -> ng.Gaussian:
    return {
        "natural": ng.Gaussian.from_natural,
        "expectation": ng.Gaussian.from_expectation,
        "mean_cov": ng.Gaussian.from_mean_cov,
    }[coords](x)


@pytest.mark.parametrize("n", DIMS)
def test_assembly_matches_reference(rng, n):
    mean, cov = case(rng, n)
    g = ng.Gaussian(mean, cov)
    prec = np.linalg.inv(cov)
    np.testing.assert_allclose(
        g.fisher("natural"), ref.fisher_natural(mean, cov), rtol=1e-13, atol=1e-13
    )
    np.testing.assert_allclose(
        g.fisher("expectation"), ref.fisher_expectation(mean, prec), rtol=1e-10, atol=1e-11
    )
    np.testing.assert_allclose(
        g.fisher("mean_cov"), ref.fisher_mean_cov(prec), rtol=1e-10, atol=1e-11
    )
    for c in COORDS:
        f = g.fisher(c)
        np.testing.assert_array_equal(f, f.T)
        assert np.linalg.eigvalsh(f).min() > 0


@pytest.mark.parametrize("n", [7, 9, 16])
def test_assembly_matches_reference_at_vector_widths(rng, n):
    # The full assembly runs over contiguous segments of l whose lengths n - 1 - k take every
    # remainder modulo the vector width; the twin evaluates Isserlis' six terms entry by entry.
    mean, cov = 3.0 * rng.standard_normal(n), spd(rng, n, cond=1e3)
    g = ng.Gaussian(mean, cov)
    prec = g.precision
    want = {
        "natural": ref.fisher_natural(mean, cov),
        "expectation": ref.fisher_expectation(mean, prec),
        "mean_cov": ref.fisher_mean_cov(prec),
    }
    for c in COORDS:
        f = g.fisher(c)
        scale = np.sqrt(np.outer(np.diag(want[c]), np.diag(want[c])))
        np.testing.assert_array_less(np.abs(f - want[c]), 1e-12 * scale + 1e-300, err_msg=c)
        np.testing.assert_array_equal(f, f.T)


@pytest.mark.parametrize("coords", COORDS)
@pytest.mark.parametrize("n", [6, 11])
def test_free_assembly_is_the_full_sub_matrix_bit_for_bit(rng, coords, n):
    # The restricted assembly evaluates each entry alone, the full one in vectorised runs: the
    # same operations in the same order, so the bits agree for any subset (rows of every kind,
    # subsets that start inside the pair block).
    g = ng.Gaussian(*case(rng, n))
    m = g.num_params
    full = g.fisher(coords)
    for size in (1, 2, m // 3, m - 1):
        free = np.sort(rng.choice(m, size=size, replace=False))
        np.testing.assert_array_equal(
            g.fisher(coords, free=free.tolist()), full[np.ix_(free, free)]
        )
    tail = list(range(2 * n + 3, m))
    np.testing.assert_array_equal(g.fisher(coords, free=tail), full[np.ix_(tail, tail)])


@pytest.mark.parametrize("n", DIMS)
def test_fisher_inverse_pair(rng, n):
    g = ng.Gaussian(*case(rng, n))
    f_t, f_e = g.fisher("natural"), g.fisher("expectation")
    cond = np.linalg.cond(f_t)
    np.testing.assert_allclose(f_t @ f_e, np.eye(len(f_t)), atol=1e-13 * cond)


def test_isserlis_against_monte_carlo_free_covariance(rng):
    # I_theta = Cov(T, T): compare with the sample covariance of T over many draws (5 SE).
    g = ng.Gaussian(*case(rng, 2))
    t = g.sufficient_stats(g.sample(200_000, rng))
    emp = np.cov(t.T)
    f = g.fisher("natural")
    # standard error of a sample covariance entry: sqrt(Var((T_a - m_a)(T_b - m_b)) / N)
    centred = t - t.mean(axis=0)
    prod = centred[:, :, None] * centred[:, None, :]
    se = prod.std(axis=0) / np.sqrt(len(t))
    assert np.max(np.abs(emp - f) / se) < 5.0


def _jacobian(fn, x, h):
    cols = []
    for k in range(len(x)):
        e = np.zeros_like(x)
        e[k] = h
        cols.append((fn(x + e) - fn(x - e)) / (2 * h))
    return np.array(cols).T


@pytest.mark.parametrize("n", [1, 2, 3])
def test_fisher_is_hessian_of_potentials(rng, n):
    g = ng.Gaussian(*case(rng, n, cond=3.0))
    theta, eta = g.natural(), g.expectation()
    # Hess psi = Jacobian of grad psi = eta(theta); Hess phi = Jacobian of theta(eta)
    j_psi = _jacobian(_core.gaussian_expectation_from_natural, theta, 1e-6)
    j_phi = _jacobian(_core.gaussian_natural_from_expectation, eta, 1e-6)
    np.testing.assert_allclose(
        g.fisher("natural"), j_psi, rtol=1e-6, atol=1e-6 * np.abs(j_psi).max()
    )
    np.testing.assert_allclose(
        g.fisher("expectation"), j_phi, rtol=1e-6, atol=1e-6 * np.abs(j_phi).max()
    )
    # plain second differences of the scalar potentials
    for fn, x, f in [
        (_core.gaussian_log_partition_natural, theta, g.fisher("natural")),
        (_core.gaussian_neg_entropy_expectation, eta, g.fisher("expectation")),
    ]:
        h = 1e-4
        m = len(x)
        hess = np.empty((m, m))
        for a in range(m):
            for b in range(m):
                ea, eb = np.eye(m)[a] * h, np.eye(m)[b] * h
                hess[a, b] = (
                    fn(x + ea + eb) - fn(x + ea - eb) - fn(x - ea + eb) + fn(x - ea - eb)
                ) / (4 * h * h)
        np.testing.assert_allclose(hess, f, rtol=1e-4, atol=1e-4 * np.abs(f).max())


@pytest.mark.parametrize("coords", COORDS)
def test_hessian_of_kl_is_fisher(rng, coords):
    g = ng.Gaussian(*case(rng, 2, cond=3.0))
    x0 = _to_coords(g, coords)
    m = len(x0)

    def kl(x):
        return g.kl(_from_coords(x, coords))

    h = 1e-4
    hess = np.empty((m, m))
    for a in range(m):
        for b in range(m):
            ea, eb = np.eye(m)[a] * h, np.eye(m)[b] * h
            hess[a, b] = (
                kl(x0 + ea + eb) - kl(x0 + ea - eb) - kl(x0 - ea + eb) + kl(x0 - ea - eb)
            ) / (4 * h * h)
    f = g.fisher(coords)
    np.testing.assert_allclose(hess, f, rtol=1e-5, atol=1e-5 * np.abs(f).max())


def _quadratic(rng, n):
    b = rng.standard_normal(n)
    q = rng.standard_normal((n, n))
    q = 0.5 * (q + q.T)
    return b, q, pack(b, q)  # c = (b, Q_ii, Q_ij): f = c0 + <c, T(x)>


@pytest.mark.parametrize("n", [1, 2, 4])
def test_duality_for_quadratic(rng, n):
    mean, cov = case(rng, n)
    g = ng.Gaussian(mean, cov)
    b, q, c = _quadratic(rng, n)
    # F(theta) = c0 + <c, eta(theta)>: grad_theta F = I_theta c (finite differences of F)
    grad_theta = _jacobian(
        lambda t: np.atleast_1d(c @ _core.gaussian_expectation_from_natural(t)), g.natural(), 1e-6
    )[0]
    np.testing.assert_allclose(grad_theta, g.fisher_product(c, "natural"), rtol=1e-6, atol=1e-7)
    # natural gradient in theta = grad_eta F = c
    np.testing.assert_allclose(g.natural_gradient(grad_theta, "natural"), c, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(
        g.natural_gradient(g.fisher_product(c, "natural"), "natural"), c, rtol=1e-11, atol=1e-12
    )
    # in (mu, Sigma): grad = (b + 2 Q mu, Q_ii, 2 Q_ij) and the natural gradient is
    # (Sigma (b + 2 Q mu), 2 Sigma Q Sigma) (MATH.md worked identity)
    grad_xi = pack(b + 2 * q @ mean, q, offdiag_scale=2.0)
    want = pack(cov @ (b + 2 * q @ mean), 2 * cov @ q @ cov)
    np.testing.assert_allclose(
        g.natural_gradient(grad_xi, "mean_cov"), want, rtol=1e-12, atol=1e-13
    )
    f_xi = g.fisher("mean_cov")
    np.testing.assert_allclose(np.linalg.solve(f_xi, grad_xi), want, rtol=1e-9, atol=1e-10)
    # the natural gradient is a tangent vector: push theta's (= c) to xi with the Jacobian
    jac = _jacobian(lambda t: ng.Gaussian.from_natural(t).mean_cov(), g.natural(), 1e-6)
    np.testing.assert_allclose(jac @ c, want, rtol=1e-6, atol=1e-7)
    # (mu, Sigma) is not dual: the natural gradient there is not the plain gradient
    assert not np.allclose(want, grad_xi)


@pytest.mark.parametrize("coords", COORDS)
@pytest.mark.parametrize("n", [1, 3, 6])
def test_products_and_solves_match_assembled(rng, coords, n):
    g = ng.Gaussian(*case(rng, n))
    f = g.fisher(coords)
    m = len(f)
    v = rng.standard_normal(m)
    np.testing.assert_allclose(
        g.fisher_product(v, coords), f @ v, rtol=1e-11, atol=1e-11 * np.abs(f @ v).max()
    )
    cond = np.linalg.cond(f)
    for damping in (0.0, 1e-3, 0.5, 10.0):
        want = np.linalg.solve(f + damping * np.eye(m), v)
        got = g.natural_gradient(v, coords, damping=damping)
        np.testing.assert_allclose(got, want, atol=1e-13 * cond * np.abs(want).max())
        np.testing.assert_allclose(
            got, ng.natural_gradient(f, v, damping), atol=1e-13 * cond * np.abs(want).max()
        )


def test_products_match_reference(rng):
    mean, cov = case(rng, 5)
    g = ng.Gaussian(mean, cov)
    prec = np.linalg.inv(cov)
    v = rng.standard_normal(20)
    np.testing.assert_allclose(
        g.fisher_product(v, "natural"), ref.fisher_product_natural(mean, cov, v), rtol=1e-12
    )
    np.testing.assert_allclose(
        g.fisher_product(v, "expectation"), ref.fisher_product_expectation(mean, prec, v), rtol=1e-9
    )
    np.testing.assert_allclose(
        g.fisher_product(v, "mean_cov"), ref.fisher_product_mean_cov(prec, v), rtol=1e-9
    )
    for c in COORDS:
        np.testing.assert_allclose(
            g.natural_gradient(v, c),
            ref.natural_gradient_undamped(mean, cov, v, c),
            rtol=1e-9,
            atol=1e-12,
        )
        np.testing.assert_allclose(
            g.natural_gradient(v, c, 0.3),
            ref.natural_gradient(mean, cov, v, c, 0.3),
            rtol=1e-9,
            atol=1e-12,
        )


@pytest.mark.parametrize("coords", COORDS)
def test_sparse_free_coordinates(rng, coords):
    # A GMRF-like sub-model: theta_(0,2) and theta_(1,3) fixed to 0; assemble only the free rows.
    n = 4
    g = ng.Gaussian(*case(rng, n))
    m = g.num_params
    fixed = {2 * n + 1, 2 * n + 4}  # pair indices of (0, 2) and (1, 3)
    free = [a for a in range(m) if a not in fixed]
    full = g.fisher(coords)
    np.testing.assert_array_equal(g.fisher(coords, free=free), full[np.ix_(free, free)])
    np.testing.assert_array_equal(g.fisher(coords, free=[3]), full[3:4, 3:4])
    assert g.fisher(coords, free=[]).shape == (0, 0)
    prec = g.precision
    reference = {
        "natural": lambda: ref.fisher_natural(g.mean, g.cov, np.array(free)),
        "expectation": lambda: ref.fisher_expectation(g.mean, prec, np.array(free)),
        "mean_cov": lambda: ref.fisher_mean_cov(prec, np.array(free)),
    }[coords]()
    np.testing.assert_allclose(g.fisher(coords, free=free), reference, rtol=1e-10, atol=1e-12)


def test_not_the_literal_seed_formulas():
    # SEED_ERRATA #2-#4: for k=l, m=n, k != m the seed doubles the entry.
    cov = np.array([[2.0, 0.6], [0.6, 1.0]])
    mean = np.array([0.3, -0.5])
    g = ng.Gaussian(mean, cov)
    b = np.linalg.inv(cov)
    # (mu, Sigma): alpha_(00)(11) = 1/2 (sigma^01)^2, seed prints sigma^01 sigma^01 (twice that)
    alpha = g.fisher("mean_cov")[2, 3]
    assert alpha == pytest.approx(0.5 * b[0, 1] ** 2, rel=1e-14, abs=0)
    assert alpha != pytest.approx(b[0, 1] ** 2, rel=1e-3, abs=0)
    # theta, mu = 0: the pair block of I_theta is 1/2 lambda_klmn with A = Theta^-1 = -2 Sigma.
    # True lambda_(00)(11) = tr(A D_00 A D_11) = A_01^2, so I[(0,0),(1,1)] = 1/2 A_01^2 = 2 S_01^2
    # (= Cov(x0^2, x1^2)); the literal seed case "A_km A_ln + A_lm A_kn" gives 2 A_01^2 (twice).
    g0 = ng.Gaussian(np.zeros(2), cov)
    a = -2.0 * cov
    true_entry, seed_entry = 0.5 * a[0, 1] ** 2, 0.5 * 2 * a[0, 1] ** 2
    assert g0.fisher("natural")[2, 3] == pytest.approx(true_entry, rel=1e-14, abs=0)
    assert g0.fisher("natural")[2, 3] == pytest.approx(2 * cov[0, 1] ** 2, rel=1e-14, abs=0)
    assert g0.fisher("natural")[2, 3] != pytest.approx(seed_entry, rel=1e-3, abs=0)
    # Lambda_klmn (seed splits on the wrong pair): the true I_theta is symmetric
    f = g.fisher("natural")
    np.testing.assert_array_equal(f, f.T)
    # Monte-Carlo-free check of the true value: Cov(x0^2, x1^2) = 2 S01^2 + 4 mu0 mu1 S01
    assert f[2, 3] == pytest.approx(
        2 * cov[0, 1] ** 2 + 4 * mean[0] * mean[1] * cov[0, 1], rel=1e-14, abs=0
    )


def _mp_isserlis(mpmath, mean, cov):
    n = len(mean)
    iu = [(i, j) for i in range(n) for j in range(i + 1, n)]
    stats = (
        [(k, None, 1) for k in range(n)]
        + [(i, i, 1) for i in range(n)]
        + [(i, j, 2) for i, j in iu]
    )
    mu = [mpmath.mpf(float(x)) for x in mean]
    s = [[mpmath.mpf(float(cov[i, j])) for j in range(n)] for i in range(n)]

    def cov_tt(a, b):
        i, j, ca = a
        k, l, cb = b
        if j is None and l is None:
            return s[i][k]
        if j is None:
            return cb * (mu[k] * s[i][l] + mu[l] * s[i][k])
        if l is None:
            return ca * (mu[i] * s[k][j] + mu[j] * s[k][i])
        return (
            ca
            * cb
            * (
                s[i][k] * s[j][l]
                + s[i][l] * s[j][k]
                + mu[i] * mu[k] * s[j][l]
                + mu[i] * mu[l] * s[j][k]
                + mu[j] * mu[k] * s[i][l]
                + mu[j] * mu[l] * s[i][k]
            )
        )

    return mpmath.matrix([[cov_tt(a, b) for b in stats] for a in stats])


def test_ill_conditioned_each_fisher_against_exact(rng):
    # cond Sigma = 1e8: cond I_theta ~ 1e16, so I_theta and I_eta cannot be checked against each
    # other in float64 (SEED_ERRATA section 7); check each against a 40-digit computation instead.
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    n = 3
    mean, cov = case(rng, n, cond=1e8)
    g = ng.Gaussian(mean, cov)
    exact_t = _mp_isserlis(mpmath, mean, cov)
    f_t = g.fisher("natural")
    err = max(abs(float(exact_t[a, b]) - f_t[a, b]) for a in range(9) for b in range(9))
    # Isserlis from (mu, Sigma) is forward stable: errors ~ eps * max entry, independent of cond
    assert err <= 1e-14 * np.abs(f_t).max()
    # I_eta = I_theta^-1 exactly: compare I_eta with the 40-digit inverse of the exact I_theta;
    # the float64 precision Sigma^-1 carries relative error ~ eps * cond(Sigma) = 1e-8.
    exact_e = exact_t**-1
    f_e = g.fisher("expectation")
    err_e = max(abs(float(exact_e[a, b]) - f_e[a, b]) for a in range(9) for b in range(9))
    assert err_e <= 1e-16 * 1e8 * 100 * np.abs(f_e).max()
    # ... while the same Gaussian built from theta (exact precision -2 Theta) does much better
    # for the Sigma-block of I_(mu,Sigma), which depends on the precision only.
    h = ng.Gaussian.from_natural(g.natural())
    b = mpmath.matrix(h.precision.tolist())
    f_x = h.fisher("mean_cov")
    assert f_x[n + 0, n + 1] == pytest.approx(float(b[0, 1] ** 2 / 2), rel=1e-14, abs=0)
    # products and solves stay consistent with the exact natural gradient of a quadratic
    bq, q, c = _quadratic(rng, n)
    grad_xi = pack(bq + 2 * q @ mean, q, offdiag_scale=2.0)
    want = pack(cov @ (bq + 2 * q @ mean), 2 * cov @ q @ cov)
    np.testing.assert_allclose(
        g.natural_gradient(grad_xi, "mean_cov"), want, rtol=1e-12, atol=1e-14 * np.abs(want).max()
    )
    # Products against the 40-digit matrices: I_theta v is forward stable (~eps * |I||v|); I_eta v
    # inherits the 1e-8 relative error of the float64 precision. (Solving I_theta x = I_theta c
    # back to c is a cond(I_theta) ~ 1e16 problem and is not attempted in float64.)
    cv = mpmath.matrix(c.tolist())
    exact_tc = [float(x) for x in exact_t * cv]
    got_tc = g.fisher_product(c, "natural")
    assert np.max(np.abs(got_tc - exact_tc)) <= 1e-14 * np.abs(f_t).max() * np.abs(c).sum()
    exact_ec = [float(x) for x in exact_e * cv]
    got_ec = g.fisher_product(c, "expectation")
    assert np.max(np.abs(got_ec - exact_ec)) <= 1e-6 * np.abs(f_e).max() * np.abs(c).sum()


def test_damped_mean_cov_solve_large_n_against_cg_free_check(rng):
    # n = 60 (m = 1890): check (I + d Id) x = g through the product instead of assembling.
    g = ng.Gaussian(*case(rng, 60, cond=1e3))
    v = rng.standard_normal(g.num_params)
    for coords in COORDS:
        x = g.natural_gradient(v, coords, damping=0.1)
        resid = g.fisher_product(x, coords) + 0.1 * x - v
        assert np.linalg.norm(resid) <= 1e-9 * np.linalg.norm(v)


def test_damped_solve_with_damping_far_above_lambda_min(rng):
    # cond I_theta ~ 1e12 and damping = 1 >> lambda_min: the dual-preconditioned CG stalls here
    # and the solver must switch to plain CG (condition number ~6).
    g = ng.Gaussian(*case(rng, 4, cond=1e6))
    v = rng.standard_normal(g.num_params)
    x = g.natural_gradient(v, "natural", damping=1.0)
    f = g.fisher("natural")
    np.testing.assert_allclose(
        x, np.linalg.solve(f + np.eye(len(f)), v), atol=1e-8 * np.abs(x).max()
    )


def test_unpack_helper_consistency(rng):
    vec, mat = unpack(pack(np.arange(3.0), spd(rng, 3)))
    assert vec.shape == (3,) and mat.shape == (3, 3)


@pytest.mark.parametrize("coords", ["natural", "expectation"])
@pytest.mark.parametrize(
    ("shift", "cond", "damping"),
    [(0.0, 1e2, 0.1), (10.0, 1e6, 1e-3), (10.0, 1e6, 100.0), (3.0, 1e4, 1.0)],
)
def test_damped_dual_solves_hard_cases(rng, coords, shift, cond, damping):
    # large |mu| and ill-conditioned Sigma: compare with the dense solve, tolerance set by
    # cond(I + damping Id) (both routes lose that many digits).
    mean, cov = case(rng, 5, cond)
    g = ng.Gaussian(mean + shift, cov)
    v = rng.standard_normal(g.num_params)
    f = g.fisher(coords) + damping * np.eye(g.num_params)
    want = np.linalg.solve(f, v)
    got = g.natural_gradient(v, coords, damping=damping)
    tol = 1e-14 * np.linalg.cond(f) * np.abs(want).max()
    np.testing.assert_allclose(got, want, atol=tol)


def _mp_fisher_by_miller(mpmath, mean, cov, coords):
    """40-digit Fisher matrix by Miller's formula applied to the exact Jacobian of (mu, Sigma)."""
    n = len(mean)
    mu = mpmath.matrix(mean.tolist())
    s = mpmath.matrix(cov.tolist())
    b = s**-1
    pairs = [(i, i) for i in range(n)] + [(i, j) for i in range(n) for j in range(i + 1, n)]

    def e(i, j):
        out = mpmath.matrix(n, n)
        out[i, j] = 1
        out[j, i] = 1
        return out

    # tangent (dmu, dSigma) of each coordinate direction
    tangents = []
    for k in range(n):
        dmu = mpmath.matrix(n, 1)
        dmu[k] = 1
        if coords == "mean_cov":
            tangents.append((dmu, mpmath.matrix(n, n)))
        else:  # eta: Sigma = E - mu mu', so moving mu_k moves Sigma by -(e_k mu' + mu e_k')
            tangents.append((dmu, -(dmu * mu.T + mu * dmu.T)))
    for i, j in pairs:
        scale = 1 if (coords == "mean_cov" or i == j) else mpmath.mpf(1) / 2  # eta_ij = 2 E_ij
        tangents.append((mpmath.matrix(n, 1), e(i, j) * scale))  # e(i, i) = e_i e_i'
    m = len(tangents)
    out = mpmath.matrix(m, m)
    for a in range(m):
        for c in range(m):
            (mu_a, s_a), (mu_c, s_c) = tangents[a], tangents[c]
            tr = sum(((b * s_a * b * s_c)[i, i] for i in range(n)), mpmath.mpf(0))
            out[a, c] = (mu_a.T * b * mu_c)[0] + tr / 2
    return out


@pytest.mark.parametrize("coords", COORDS)
def test_fisher_against_40_digit_reference(rng, coords):
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    mean, cov = case(rng, 3, cond=10.0)
    g = ng.Gaussian(mean, cov)
    if coords == "natural":
        exact = _mp_isserlis(mpmath, mean, cov)
    else:
        exact = _mp_fisher_by_miller(mpmath, mean, cov, coords)
    got = g.fisher(coords)
    want = np.array([[float(exact[a, b]) for b in range(9)] for a in range(9)])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13 * np.abs(want).max())
    if coords == "natural":  # and I_eta = I_theta^-1 at 40 digits
        inv = exact**-1
        want_e = np.array([[float(inv[a, b]) for b in range(9)] for a in range(9)])
        np.testing.assert_allclose(
            g.fisher("expectation"), want_e, rtol=1e-11, atol=1e-12 * np.abs(want_e).max()
        )


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 4),
    seed=st.integers(0, 2**32 - 1),
    log_cond=st.floats(0.0, 3.0),
    shift=st.floats(-3.0, 3.0),
    damping=st.sampled_from([0.0, 1e-3, 0.5, 20.0]),
)
def test_fisher_bindings_properties(n, seed, log_cond, shift, damping):
    rng = np.random.default_rng(seed)
    g = ng.Gaussian(rng.standard_normal(n) + shift, spd(rng, n, 10.0**log_cond))
    m = g.num_params
    v = rng.standard_normal(m)
    for coords in COORDS:
        f = g.fisher(coords)
        np.testing.assert_array_equal(f, f.T)
        scale = np.abs(f).max() * np.abs(v).max()
        np.testing.assert_allclose(g.fisher_product(v, coords), f @ v, atol=1e-12 * m * scale)
        shifted = f + damping * np.eye(m)
        cond = np.linalg.cond(shifted)
        if cond < 1e12:
            want = np.linalg.solve(shifted, v)
            got = g.natural_gradient(v, coords, damping=damping)
            np.testing.assert_allclose(got, want, atol=1e-14 * cond * m * np.abs(want).max())
    f_t, f_e = g.fisher("natural"), g.fisher("expectation")
    cond_t = np.linalg.cond(f_t)
    if cond_t < 1e12:
        np.testing.assert_allclose(f_t @ f_e, np.eye(m), atol=1e-14 * m * cond_t)


def test_huge_assembly_is_refused_with_a_clear_error():
    # n = 1000: m = 501,500 and an m x m matrix of 2 TB. It used to reach the allocator and fail
    # with MemoryError("std::bad_alloc") (or, with overcommit, be killed while filling it).
    from natgrad.gaussian import MAX_FISHER_ENTRIES

    g = ng.Gaussian(np.zeros(1000), np.eye(1000))
    for coords in COORDS:
        with pytest.raises(
            ValueError, match=r"^fisher: the 501500 x 501500 matrix .*fisher_product"
        ):
            g.fisher(coords)
    big = int(np.sqrt(MAX_FISHER_ENTRIES)) + 1
    with pytest.raises(ValueError, match=rf"^fisher: the {big} x {big} matrix"):
        g.fisher("mean_cov", free=list(range(big)))
    # a block of the free coordinates is still fine, and the products work at this n
    np.testing.assert_array_equal(g.fisher("mean_cov", free=[0, 1000]), np.diag([1.0, 0.5]))
    v = np.zeros(g.num_params)
    v[0] = 1.0
    assert g.fisher_product(v, "natural")[0] == 1.0


@pytest.mark.parametrize("damping", [1.0, 1e-3, 1e3])
def test_damped_expectation_solve_far_from_origin_against_mpmath(damping):
    """(I_η + δI) x = g at Σ = Q diag(1, 1e-8) Qᵀ, |μ| ≈ 100 (defect 7): cond(I_η + δI) ~ 1e20,
    so any float64 route through I_η is hopeless (the conjugate-gradient answer was off by a
    relative 3e4, silently). The problem itself is benign: x = I_θ (I + δ I_θ)⁻¹ g, and
    cond(I + δ I_θ) ≤ 3e7. Reference: 60-digit Isserlis I_θ, inverted and solved in mpmath."""
    import mpmath

    mpmath.mp.dps = 60
    th = 0.7
    q = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    cov = q @ np.diag([1.0, 1e-8]) @ q.T
    cov = 0.5 * (cov + cov.T)
    mean = np.array([100.0, -60.0])
    g = ng.Gaussian(mean, cov)
    v = np.random.default_rng(0).standard_normal(5)
    i_theta = _mp_isserlis(mpmath, mean, cov)
    a = i_theta**-1 + damping * mpmath.eye(5)
    want = np.array([float(x) for x in mpmath.lu_solve(a, mpmath.matrix(v.tolist()))])
    got = g.natural_gradient(v, "expectation", damping)
    # stated accuracy: 2e-15 · cond(I + δ I_θ) relative to max|x| (reached: at most 6.4e-16 · cond)
    f64 = np.array(i_theta.tolist(), dtype=float)
    bound = 2e-15 * np.linalg.cond(np.eye(5) + damping * f64)
    np.testing.assert_allclose(got, want, rtol=0, atol=bound * np.abs(want).max())


def test_natural_fisher_diagonal_closed_form(rng):
    from natgrad.gaussian import _fisher_natural_diagonal

    for n in (1, 2, 4):
        mean, cov = case(rng, n)
        g = ng.Gaussian(mean + 3.0, cov)
        np.testing.assert_allclose(
            _fisher_natural_diagonal(g.mean, g.cov), np.diag(g.fisher("natural")), rtol=1e-13
        )


def test_ill_conditioned_damped_natural_solve_warns():
    g = ng.Gaussian([1e4, 0.0], np.diag([1.0, 1e-6]))  # Var(x₀²) = 4e8 + 2, Var(x₁) = 1e-6
    with pytest.warns(ng.AccuracyWarning, match="condition number"):
        g.natural_gradient(np.ones(5), "natural", 1e-9)


@pytest.mark.parametrize("coords", COORDS)
@pytest.mark.parametrize("free", [None, [0, 3, 7]])
def test_overflowing_assembly_is_refused(coords, free):
    # μμᵀ-sized entries overflow in θ; 1/σ² overflows B in η and (μ, Σ). The full assembly checks
    # each row as it writes it, the restricted one its result.
    if coords == "natural":
        g = ng.Gaussian(np.full(3, 1e160), np.eye(3))
    else:
        g = ng.Gaussian(np.zeros(3), 1e-170 * np.eye(3))
    with pytest.raises(ValueError, match=r"^fisher: the result is not representable in float64"):
        g.fisher(coords, free=free)
