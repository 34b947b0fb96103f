"""The numerical core of the gradient flows (no display needed)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit

import natgrad as ng
from natgrad import flows
from natgrad.packing import pack, unpack


def toy_f(x: np.ndarray) -> np.ndarray:
    return x[:, 0] + 2 * x[:, 1] + 3 * x[:, 0] * x[:, 1]


@pytest.fixture
def toy() -> flows.BinaryRelaxation:
    return flows.BinaryRelaxation(toy_f, 2)


def _fd_grad(fun, x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    out = np.empty(x.size)
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = h
        out[i] = (fun(x + e) - fun(x - e)) / (2 * h)
    return out


def test_toy_table_and_closed_forms(toy: flows.BinaryRelaxation) -> None:
    """Seed 003: f table (6, −4, −2, 0), F(μ) = −4μ₁ − 2μ₂ + 12μ₁μ₂, ∇F(μ) = (−4 + 12μ₂, −2 + 12μ₁),
    F(θ) = (−4e^{θ₁−θ₂} − 2e^{−θ₁+θ₂} + 6e^{θ₁+θ₂}) / Z."""
    table = dict(zip(map(tuple, toy.points), toy.fvalues, strict=True))
    assert table == {(1.0, 1.0): 6.0, (1.0, -1.0): -4.0, (-1.0, 1.0): -2.0, (-1.0, -1.0): 0.0}
    mu = np.array([0.27, 0.61])
    assert toy.value(mu, "marginal") == pytest.approx(
        -4 * mu[0] - 2 * mu[1] + 12 * mu[0] * mu[1], rel=1e-15, abs=0
    )
    np.testing.assert_allclose(
        toy.gradient(mu, "marginal"), [-4 + 12 * mu[1], -2 + 12 * mu[0]], rtol=1e-15
    )

    def f_theta(t: np.ndarray) -> float:
        z = np.exp(t[0] + t[1]) + np.exp(t[0] - t[1]) + np.exp(-t[0] + t[1]) + np.exp(-t[0] - t[1])
        return float(
            (-4 * np.exp(t[0] - t[1]) - 2 * np.exp(-t[0] + t[1]) + 6 * np.exp(t[0] + t[1])) / z
        )

    theta = np.array([-0.4, 0.9])
    assert toy.value(theta, "natural") == pytest.approx(f_theta(theta), rel=1e-14, abs=0)
    np.testing.assert_allclose(toy.gradient(theta, "natural"), _fd_grad(f_theta, theta), rtol=1e-8)


def test_toy_gradient_in_theta_is_cov_f_x_and_natural_gradient_is_grad_eta(
    toy: flows.BinaryRelaxation,
) -> None:
    theta = np.array([0.7, -1.3])
    model = ng.BinaryIndependence(theta)
    p = np.exp(model.log_prob(toy.points))
    eta = model.expectation()
    cov = (p * toy.fvalues) @ (toy.points - eta)  # Cov_θ(f, X) by enumeration
    np.testing.assert_allclose(toy.gradient(theta, "natural"), cov, rtol=1e-13)
    # I_θ⁻¹ ∇_θ F = ∇_η F = ½ ∇_μ F (SEED_ERRATA #16)
    np.testing.assert_allclose(
        toy.natural_gradient(theta, "natural"), model.natural_gradient(cov), rtol=1e-13
    )
    np.testing.assert_allclose(
        toy.natural_gradient(theta, "natural"),
        0.5 * toy.gradient(model.marginals(), "marginal"),
        rtol=1e-14,
    )
    # in η and μ: the natural gradient is I⁻¹ ∇ with the family's Fisher matrices
    g_eta = toy.gradient(eta, "expectation")
    np.testing.assert_allclose(
        toy.natural_gradient(eta, "expectation"),
        model.natural_gradient(g_eta, "expectation"),
        rtol=1e-13,
    )
    mu = model.marginals()
    np.testing.assert_allclose(
        toy.natural_gradient(mu, "marginal"),
        model.natural_gradient(toy.gradient(mu, "marginal"), "marginal"),
        rtol=1e-13,
    )
    np.testing.assert_allclose(
        g_eta, _fd_grad(lambda e: toy.value(e, "expectation"), eta), rtol=1e-9
    )


def test_natural_flow_is_the_same_curve_in_every_chart(toy: flows.BinaryRelaxation) -> None:
    theta0 = np.array([-0.2, -0.35])
    mu0 = expit(2 * theta0)
    ft = toy.flow(theta0, "natural", "natural", t_end=2.0, n_points=41)
    fm = toy.flow(mu0, "marginal", "natural", t_end=2.0, n_points=41)
    fe = toy.flow(2 * mu0 - 1, "expectation", "natural", t_end=2.0, n_points=41)
    np.testing.assert_allclose(expit(2 * ft.xi), fm.xi, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(np.tanh(ft.xi), fe.xi, rtol=1e-7, atol=1e-9)
    # the vanilla flows are different curves
    vt = toy.flow(theta0, "natural", "vanilla", t_end=2.0, n_points=41)
    vm = toy.flow(mu0, "marginal", "vanilla", t_end=2.0, n_points=41)
    common = np.isin(vt.t, vm.t)
    at_vm = np.isin(vm.t, vt.t)
    assert common.sum() > 5
    assert np.max(np.abs(expit(2 * vt.xi[common]) - vm.xi[at_vm][: common.sum()])) > 0.05


@pytest.mark.parametrize("coords", ["natural", "marginal", "expectation"])
@pytest.mark.parametrize("kind", ["vanilla", "natural"])
def test_descent_flows_decrease_F(toy: flows.BinaryRelaxation, coords: str, kind: str) -> None:
    x0 = {"natural": [0.1, -0.6], "marginal": [0.55, 0.25], "expectation": [0.1, -0.5]}[coords]
    fl = toy.flow(x0, coords, kind, t_end=3.0)
    assert np.all(np.diff(fl.values) <= 1e-12)
    up = toy.flow(x0, coords, kind, direction="ascent", t_end=0.5)
    assert np.all(np.diff(up.values) >= -1e-12)


def test_flow_endpoints_and_plateaus(toy: flows.BinaryRelaxation) -> None:
    """From the basin of x* = (+1, −1) (f = −4): the vanilla flow in μ reaches the vertex μ = (1, 0)
    in finite time and stops (projection); the natural flows approach δ_x*; the vanilla flow in θ
    crawls over the plateau (its gradient Cov(f, X) vanishes as the marginals saturate)."""
    mu0 = np.array([0.55, 0.25])
    vm = toy.flow(mu0, "marginal", "vanilla", t_end=2.0)
    assert vm.stopped.startswith("vertex") and np.array_equal(vm.xi[-1], [1.0, 0.0])
    assert vm.values[-1] == -4.0
    nm = toy.flow(mu0, "marginal", "natural", t_end=4.0)
    np.testing.assert_allclose(nm.xi[-1], [1.0, 0.0], atol=1e-3)
    theta0 = 0.5 * np.log(mu0 / (1 - mu0))
    nt = toy.flow(theta0, "natural", "natural", t_end=4.0)
    vt = toy.flow(theta0, "natural", "vanilla", t_end=4.0)
    assert nt.values[-1] < -3.99
    assert vt.values[-1] > nt.values[-1] + 0.05  # the plateau: vanilla θ lags far behind
    # the other basin: a local minimum at x = (−1, +1), f = −2
    other = toy.flow(np.array([0.3, 0.6]), "marginal", "natural", t_end=4.0)
    np.testing.assert_allclose(other.xi[-1], [0.0, 1.0], atol=1e-3)


# ------------------------------------------------------------------------------------------
QUADRATIC = [0.0, 1.0, -3.0]  # f = x − 3x²
QUARTIC = [0.0, 6.0, 8.0, -1.0, -2.0]  # f = 6x + 8x² − x³ − 2x⁴


@pytest.mark.parametrize("coeffs", [QUADRATIC, QUARTIC])
def test_gaussian_1d_gradients(coeffs: list[float], rng: np.random.Generator) -> None:
    g = flows.GaussianRelaxation1D(coeffs)
    ms = np.array([0.3, 0.8])
    # F by Gauss–Hermite quadrature (exact for polynomials of degree ≤ 2·40 − 1)
    x, w = np.polynomial.hermite_e.hermegauss(40)
    assert g.value(ms) == pytest.approx(
        float(w @ g.f(ms[0] + ms[1] * x)) / np.sqrt(2 * np.pi), rel=1e-13, abs=0
    )
    np.testing.assert_allclose(
        g.gradient(ms), _fd_grad(g.value, ms), rtol=1e-8, atol=1e-8 * np.abs(g.gradient(ms)).max()
    )
    dg = ng.DiagonalGaussian([ms[0]], [ms[1] ** 2])
    np.testing.assert_allclose(
        g.natural_gradient(ms), dg.natural_gradient(g.gradient(ms), "mean_std"), rtol=1e-14
    )
    theta = dg.natural()
    g_t = g.gradient(theta, "natural")
    np.testing.assert_allclose(
        g_t,
        _fd_grad(lambda t: g.value(t, "natural"), theta),
        rtol=1e-8,
        atol=1e-8 * np.abs(g_t).max(),
    )
    np.testing.assert_allclose(
        g.natural_gradient(theta, "natural"),
        dg.natural_gradient(g.gradient(theta, "natural")),
        rtol=1e-12,
    )


def test_gaussian_1d_natural_flow_converges_to_delta_at_argmax() -> None:
    """FOGA'15 (seed 003): f = x − 3x² = ⟨c, T⟩ with c = (1, −3) ∈ span(T); the natural ascent
    flow in θ is the line θ₀ + t·c, so μ(t) = (θ₁⁰ + t)/(6t − 2θ₂⁰) → 1/6 and σ²(t) = 1/(6t − 2θ₂⁰) → 0:
    the flow tends to δ at the maximiser x* = 1/6, at rate 1/t."""
    g = flows.GaussianRelaxation1D(QUADRATIC)
    fl = g.flow([-1.0, 1.5], kind="natural", direction="ascent", t_end=50.0, n_points=101)
    th1, th2 = -1.0 / 1.5**2, -0.5 / 1.5**2
    t = fl.t
    np.testing.assert_allclose(fl.xi[:, 0], (th1 + t) / (6 * t - 2 * th2), rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(fl.xi[:, 1], 1 / np.sqrt(6 * t - 2 * th2), rtol=1e-7)
    assert abs(fl.xi[-1, 0] - 1 / 6) < 5e-3 and fl.xi[-1, 1] < 0.06
    assert np.all(np.diff(fl.values) >= -1e-12)
    # the same curve through θ
    theta0 = ng.DiagonalGaussian([-1.0], [1.5**2]).natural()
    ft = g.flow(theta0, "natural", "natural", "ascent", t_end=50.0, n_points=101)
    back = np.column_stack([ft.xi[:, 0] * (-0.5 / ft.xi[:, 1]), np.sqrt(-0.5 / ft.xi[:, 1])])
    np.testing.assert_allclose(back, fl.xi, rtol=1e-6, atol=1e-9)


def test_gaussian_1d_quartic_has_two_basins() -> None:
    g = flows.GaussianRelaxation1D(QUARTIC)
    # f' = 6 + 16x − 3x² − 8x³ = −(8x + 3)(x² − 2): local maxima at ±√2 (f(√2) > f(−√2)),
    # a local minimum at −3/8. The natural flows shrink σ ~ 1/t and end near the two maxima.
    assert np.allclose(np.polynomial.polynomial.polyval(np.sqrt(2), [6, 16, -3, -8]), 0, atol=1e-13)
    ends = [g.flow([m0, 0.5], kind="natural", t_end=400.0) for m0 in (-2.0, 2.0)]
    np.testing.assert_allclose([e.xi[-1, 0] for e in ends], [-np.sqrt(2), np.sqrt(2)], atol=2e-3)
    assert all(e.xi[-1, 1] < 0.03 for e in ends)
    assert ends[1].values[-1] > ends[0].values[-1]


def test_gaussian_quadratic_2d_flows() -> None:
    b = np.array([1.0, 2.0])
    Q = np.array([[-3.0, -1.0], [-1.0, -2.0]])  # f = x1 + 2x2 − 3x1² − 2x1x2 − 2x2²
    g = flows.GaussianQuadraticRelaxation(b, Q)
    mu0, cov0 = np.array([1.5, -1.0]), np.array([[1.0, -0.5], [-0.5, 2.0]])
    xi0 = g.from_mean_cov(mu0, cov0, "mean_cov")
    # value by Monte-Carlo-free closed form vs sampling (5 standard errors)
    rng = np.random.default_rng(5)
    x = rng.multivariate_normal(mu0, cov0, 200_000)
    fx = g.f(x)
    assert abs(fx.mean() - g.value(xi0)) < 5 * fx.std() / np.sqrt(len(fx))
    np.testing.assert_allclose(g.gradient(xi0), _fd_grad(g.value, xi0), rtol=1e-8)
    th0 = g.from_mean_cov(mu0, cov0, "natural")
    np.testing.assert_allclose(
        g.gradient(th0, "natural"), _fd_grad(lambda t: g.value(t, "natural"), th0, 1e-6), rtol=1e-7
    )
    # natural flow in θ is the line θ0 + t c; in (μ, Σ) it is the same curve
    fl_t = g.flow(th0, "natural", "natural", t_end=3.0, n_points=31)
    c = pack(b, Q)
    np.testing.assert_allclose(fl_t.xi, th0 + fl_t.t[:, None] * c, rtol=1e-9, atol=1e-9)
    fl_m = g.flow(xi0, "mean_cov", "natural", t_end=3.0, n_points=31)
    mapped = np.array([g.from_mean_cov(*g.to_mean_cov(r, "natural"), "mean_cov") for r in fl_t.xi])
    np.testing.assert_allclose(mapped, fl_m.xi, rtol=1e-7, atol=1e-9)
    # μ(t) → argmax f = −Q⁻¹b/2 = (0, 1/2), Σ(t) → 0 at rate 1/t (E19 in SEED_ERRATA)
    argmax = -0.5 * np.linalg.solve(Q, b)
    long = g.flow(xi0, "mean_cov", "natural", t_end=400.0)
    np.testing.assert_allclose(long.xi[-1, :2], argmax, atol=2e-3)
    far = g.to_mean_cov(th0 + 1e7 * c, "natural")
    np.testing.assert_allclose(far[0], argmax, atol=1e-6)
    assert np.all(np.diff(long.values) >= -1e-10)
    # vanilla: Σ' = Q (packed with 2Q_ij) leaves the cone in finite time and the flow stops there
    van = g.flow(xi0, "mean_cov", "vanilla", t_end=5.0)
    assert van.stopped.startswith("boundary")
    _, sig_end = unpack(van.xi[-1])
    assert np.linalg.eigvalsh(sig_end)[0] == pytest.approx(1e-9, abs=1e-9)


def test_bad_flow_arguments(toy: flows.BinaryRelaxation) -> None:
    with pytest.raises(ValueError, match="^xi"):
        toy.flow([1.2, 0.5], "marginal")
    with pytest.raises(ValueError, match="^kind"):
        toy.flow([0.2, 0.5], "marginal", kind="fast")
    with pytest.raises(ValueError, match="^direction"):
        toy.flow([0.2, 0.5], "marginal", direction="up")
    with pytest.raises(ValueError, match="^coords"):
        toy.flow([0.2, 0.5], "polar")
    with pytest.raises(ValueError, match="^f"):
        flows.BinaryRelaxation(lambda x: np.ones(3), 2)
    with pytest.raises(ValueError, match="^xi"):
        flows.GaussianRelaxation1D(QUADRATIC).flow([0.0, -1.0])
    with pytest.raises(ValueError, match="^Q"):
        flows.GaussianQuadraticRelaxation([1.0, 0.0], [[1.0, 2.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="^t_end"):
        toy.flow([0.2, 0.5], "marginal", t_end=0.0)


def test_gaussian_1d_coefficients_cannot_drift_from_their_derivatives() -> None:
    # f' and f'' are precomputed from coeffs: writing into coeffs used to change F but not its
    # gradient, silently
    g = flows.GaussianRelaxation1D([0.0, 1.0, -3.0])
    with pytest.raises(ValueError, match="read-only"):
        g.coeffs[2] = 5.0
    np.testing.assert_allclose(g.gradient([0.5, 1.0]), [1.0 - 6.0 * 0.5, -6.0], rtol=1e-15)
