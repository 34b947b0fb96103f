"""Natural-gradient descent in θ is mirror descent in η (exactly); plain gradient descent in η is
not (SEED_ERRATA #9); one natural step of size 1 solves the ML and the variational problems;
small-step natural trajectories do not depend on the chart."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import natgrad as ng
import natgrad.descent
from family_cases import PAIRS
from natgrad.reference import gaussian as ref

families = pytest.mark.parametrize("name", list(PAIRS))


def cross_entropy(data_stats: np.ndarray) -> ng.Objective:
    """L(θ) = −mean log p(x_i) + const = ψ(θ) − ⟨θ, t̄⟩, so ∇_θ L = η − t̄ (no Fisher used)."""
    return ng.Objective(
        lambda p: p.expectation() - data_stats,
        coords="natural",
        value=lambda p: p.log_partition() - float(p.natural() @ data_stats),
    )


def reverse_kl(target: ng.ExponentialFamily, wobble: float = 0.0) -> ng.Objective:
    """L(η) = KL(p_η ‖ target) + wobble·Σ sin η_i: ∇_η L = θ − θ* + wobble·cos η."""
    t_star = target.natural()
    return ng.Objective(
        lambda p: p.natural() - t_star + wobble * np.cos(p.expectation()),
        coords="expectation",
        value=lambda p: p.kl(target) + wobble * float(np.sum(np.sin(p.expectation()))),
    )


def _independent_fisher_expectation(member: ng.ExponentialFamily) -> np.ndarray:
    """I_η by a route the NGD step does not take: the Gaussian's from the NumPy twin (closed-form
    blocks from Σ⁻¹), the other families' assembled closed form (NGD solves with I_θ)."""
    if isinstance(member, ng.Gaussian):
        return ref.fisher_expectation(member.mean, np.linalg.inv(member.cov))
    return member.fisher("expectation")


def _mirror_descent_independently(
    obj: ng.Objective, which: str, p0: ng.ExponentialFamily, step: float, n_steps: int
) -> np.ndarray:
    """θ ← θ − β ∇_η L, with ∇_η L = I_η ∇_θ L through _independent_fisher_expectation for the
    cross-entropy (given in θ) and given directly for the reverse KL (given in η)."""
    member, out = p0, [p0.natural()]
    for _ in range(n_steps):
        g = obj.grad(member, obj.coords)
        if which == "cross_entropy":
            g = _independent_fisher_expectation(member) @ g
        member = member.with_natural(member.natural() - step * g)
        out.append(member.natural())
    return np.array(out)


@families
@pytest.mark.parametrize("which", ["cross_entropy", "reverse_kl"])
def test_natural_gradient_descent_equals_mirror_descent(name: str, which: str) -> None:
    p0, other = PAIRS[name]
    obj = (
        cross_entropy(other.expectation()) if which == "cross_entropy" else reverse_kl(other, 0.05)
    )
    ngd = ng.NaturalGradientDescent(obj, step_size=0.1).run(p0, 8)
    mirror = _mirror_descent_independently(obj, which, p0, 0.1, 8)
    # NGD solves with I_θ (Cholesky; the Gaussian's compiled I_θ⁻¹ = I_η product); the mirror
    # route multiplies by an independently built I_η, or uses ∇_η L directly. Stated tolerance
    # 2e-15 relative to max|θ| over 8 steps (reached: at most 6e-16, gamma).
    scale = np.abs(ngd.naturals).max()
    np.testing.assert_allclose(ngd.naturals, mirror, rtol=0, atol=2e-15 * scale)
    if name == "gaussian":  # the two routes used to be one compiled kernel, bit for bit
        assert not np.array_equal(ngd.naturals[1:], mirror[1:])
    # the library's MirrorDescent is the same iteration
    md = ng.MirrorDescent(obj, step_size=0.1).run(p0, 8)
    np.testing.assert_allclose(md.naturals, mirror, rtol=0, atol=2e-15 * scale)
    # and both make progress on L
    assert ngd.values[-1] < ngd.values[0]


@families
def test_gradient_descent_in_eta_differs_at_first_order(name: str) -> None:
    """SEED_ERRATA #9: the GD-in-η step differs from the mirror step by O(β), not O(β²)."""
    p0, other = PAIRS[name]
    obj = reverse_kl(other)
    eta0 = p0.expectation()
    ratios = []
    for beta in (1e-3, 1e-4):
        md = ng.MirrorDescent(obj, beta).step(ng.MirrorDescent(obj, beta).init(p0))
        gd_opt = ng.GradientDescent(obj, beta, coords="expectation")
        gd = gd_opt.step(gd_opt.init(p0))
        d_md = md.member.expectation() - eta0
        d_gd = gd.member.expectation() - eta0
        ratios.append(np.linalg.norm(d_gd - d_md) / np.linalg.norm(d_md))
    assert ratios[0] > 1e-2 and ratios[1] > 1e-2
    # the relative difference does not vanish with β: it is a first-order discrepancy
    assert ratios[1] == pytest.approx(ratios[0], rel=0.05, abs=0)


@families
def test_maximum_likelihood_in_one_natural_step(name: str, rng: np.random.Generator) -> None:
    """NGD in η with β = 1 on L = ψ(θ) − ⟨θ, t̄⟩: η ← η − I_θ I_η (η − t̄) = t̄, the ML estimate."""
    p0, other = PAIRS[name]
    x = other.sample(500, rng)
    t_bar = p0.sufficient_stats(x).mean(axis=0)
    if name in ("bernoulli", "binary", "categorical", "binomial"):
        # a sample can sit on the boundary (e.g. no successes); use the population mean there
        t_bar = other.expectation()
    opt = ng.NaturalGradientDescent(cross_entropy(t_bar), step_size=1.0, coords="expectation")
    fitted = opt.step(opt.init(p0)).member
    np.testing.assert_allclose(fitted.expectation(), t_bar, rtol=1e-12, atol=1e-13)
    # and it is the maximum: the gradient of the cross-entropy vanishes there
    np.testing.assert_allclose(cross_entropy(t_bar).grad(fitted, "natural"), 0.0, atol=1e-12)


@families
def test_variational_problem_in_one_natural_step(name: str) -> None:
    """NGD in θ with β = 1 on L = KL(p ‖ p*): θ ← θ − I_θ⁻¹ I_θ (θ − θ*) = θ* (the conjugate case
    of natural-gradient variational inference)."""
    p0, target = PAIRS[name]
    # give the gradient in θ (∇_θ KL = I_θ (θ − θ*)) so the step really solves with I_θ
    obj = ng.Objective(lambda p: p.fisher("natural") @ (p.natural() - target.natural()), "natural")
    opt = ng.NaturalGradientDescent(obj, step_size=1.0)
    np.testing.assert_allclose(
        opt.step(opt.init(p0)).member.natural(), target.natural(), rtol=1e-12, atol=1e-13
    )


def test_natural_gradient_in_theta_on_ml_is_newton() -> None:
    """On the ML objective NGD in θ is Newton's method (Hess_θ L = I_θ): quadratic convergence."""
    p0, other = ng.Gamma(2.5, 1.5), ng.Gamma(2.7, 1.4)
    res = ng.NaturalGradientDescent(cross_entropy(other.expectation()), 1.0).run(p0, 6)
    err = np.linalg.norm(res.naturals - other.natural(), axis=1)
    assert err[1] > 1e-3  # not one step
    assert err[3] < 10 * err[2] ** 2 and err[5] < 1e-12


def _quartic_objective(n: int) -> ng.Objective:
    """F = E[f], f(x) = Σ x_i⁴/4 − x_i² + x_i/2, for a diagonal Gaussian, as a function of η."""

    def value(p: ng.ExponentialFamily) -> float:
        e = p.expectation()
        m, s = e[:n], e[n:]
        v = s - m * m
        m4 = m**4 + 6 * m * m * v + 3 * v * v
        return float(np.sum(m4 / 4 - s + m / 2))

    def grad_eta(p: ng.ExponentialFamily) -> np.ndarray:
        e = p.expectation()
        m, s = e[:n], e[n:]
        # E[x⁴] = −2 m⁴ + 3 s² in terms of (m, s) = (η₁, η₂)
        return np.concatenate([-2 * m**3 + 0.5, 1.5 * s - 1.0])

    return ng.Objective(grad_eta, "expectation", value)


def test_quartic_objective_gradient_by_finite_differences() -> None:
    p = ng.DiagonalGaussian([0.4, -0.3], [0.8, 1.1])
    obj = _quartic_objective(2)
    e = p.expectation()
    fd = []
    for i in range(4):
        d = np.zeros(4)
        d[i] = 1e-6
        assert obj.value is not None
        fd.append(
            (obj.value(p.with_expectation(e + d)) - obj.value(p.with_expectation(e - d))) / 2e-6
        )
    np.testing.assert_allclose(obj.grad(p, "expectation"), fd, rtol=1e-8)


def _natural_flow_endpoint(p0: ng.DiagonalGaussian, obj: ng.Objective, t_end: float) -> np.ndarray:
    """θ' = −∇_η F (the natural flow in θ), integrated to 1e-12."""
    sol = solve_ivp(
        lambda t, th: -obj.grad(p0.with_natural(th), "expectation"),
        (0, t_end),
        p0.natural(),
        rtol=1e-12,
        atol=1e-12,
        method="DOP853",
    )
    return sol.y[:, -1]


def _euler_mean_var(
    p0: ng.DiagonalGaussian, obj: ng.Objective, beta: float, steps: int, natural: bool = True
) -> ng.DiagonalGaussian:
    """Natural-gradient Euler steps in (μ, v): ∇_(μ,v) F by the chain rule through η = (μ, v + μ²),
    then the Fisher solve with I_(μ,v) = diag(1/v, 1/(2v²))."""
    p = p0
    for _ in range(steps):
        g = obj.grad(p, "expectation")
        n = p.n
        m, v = p.mean, p.var
        grad_mv = np.concatenate([g[:n] + 2 * m * g[n:], g[n:]])
        step = p.natural_gradient(grad_mv, "mean_var") if natural else grad_mv
        p = ng.DiagonalGaussian(m - beta * step[:n], v - beta * step[n:])
    return p


def test_natural_flow_is_invariant_to_reparameterisation() -> None:
    """Small-step natural trajectories in θ, η and (μ, v) converge to the same flow, at O(β);
    plain gradient descent in θ and in η converge to two different curves."""
    p0 = ng.DiagonalGaussian([0.4, -0.5], [0.8, 1.5])
    obj = _quartic_objective(2)
    t_end = 0.6
    exact = p0.with_natural(_natural_flow_endpoint(p0, obj, t_end))
    errors: dict[str, list[float]] = {"natural": [], "expectation": [], "mean_var": []}
    for beta in (2e-2, 2e-3):
        steps = round(t_end / beta)
        for coords in ("natural", "expectation"):
            res = ng.NaturalGradientDescent(obj, beta, coords=coords).run(p0, steps)
            errors[coords].append(np.sqrt(exact.kl(res.final.member)))
        errors["mean_var"].append(np.sqrt(exact.kl(_euler_mean_var(p0, obj, beta, steps))))
    for coords, (e_big, e_small) in errors.items():
        # first-order Euler: the distance to the flow shrinks ~10x with β
        assert e_small < 0.15 * e_big, (coords, e_big, e_small)
        assert e_small < 5e-3, coords
    # plain gradient flows in two charts do not coincide
    beta = 2e-3
    steps = round(t_end / beta)
    gd_t = ng.GradientDescent(obj, beta, "natural").run(p0, steps).final.member
    gd_mv = _euler_mean_var(p0, obj, beta, steps, natural=False)
    assert np.sqrt(gd_t.kl(gd_mv)) > 20 * max(e[-1] for e in errors.values())


def test_damped_natural_gradient_tends_to_scaled_gradient() -> None:
    p0, other = PAIRS["gamma"]
    obj = cross_entropy(other.expectation())
    big = 1e6
    ngd = ng.NaturalGradientDescent(obj, 1.0, damping=big)
    gd = ng.GradientDescent(obj, 1.0 / big)
    a = ngd.step(ngd.init(p0)).member.natural() - p0.natural()
    b = gd.step(gd.init(p0)).member.natural() - p0.natural()
    np.testing.assert_allclose(a, b, rtol=1e-5)


def test_state_is_data_and_step_is_pure() -> None:
    p0, other = PAIRS["beta"]
    opt = ng.MirrorDescent(reverse_kl(other), 0.2)
    s0 = opt.init(p0)
    s1 = opt.step(s0)
    assert s0.iteration == 0 and s1.iteration == 1 and s0.member is p0
    np.testing.assert_array_equal(opt.step(s0).member.natural(), s1.member.natural())
    assert s1.value is not None and s1.value < s0.value  # type: ignore[operator]


def test_bad_arguments() -> None:
    p0, other = PAIRS["exponential"]
    obj = cross_entropy(other.expectation())
    with pytest.raises(ValueError, match="^step_size"):
        ng.GradientDescent(obj, -1.0)
    with pytest.raises(ValueError, match="^coords"):
        ng.GradientDescent(obj, 0.1, coords="mean_var")
    with pytest.raises(ValueError, match="^coords"):
        ng.Objective(lambda p: p.natural(), coords="polar")
    with pytest.raises(ValueError, match="^damping"):
        ng.NaturalGradientDescent(obj, 0.1, damping=-1.0)
    with pytest.raises(ValueError, match="^objective"):
        ng.MirrorDescent(lambda p: p, 0.1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="^gradient"):
        bad = ng.Objective(lambda p: np.zeros(3), coords="natural")
        ng.GradientDescent(bad, 0.1).run(p0, 1)
    with pytest.raises(ValueError, match="^n_steps"):
        ng.GradientDescent(obj, 0.1).run(p0, -2)
    # a step that leaves the domain (θ = −b must stay negative) is reported, not wrapped around
    with pytest.raises(ValueError, match="^step_size=100.0 too large"):
        ng.GradientDescent(obj, 100.0).run(p0, 3)


def test_docstring_examples() -> None:
    assert doctest.testmod(natgrad.descent).failed == 0


def _chain_rule_grad(p: ng.ExponentialFamily, chart: str, grad_eta: np.ndarray) -> np.ndarray:
    """∇_ξ F = (dη/dξ)ᵀ ∇_η F, with dη/dξ by central differences of the chart map."""
    xi = _chart_point(p, chart)
    cols = []
    for i in range(xi.size):
        d = np.zeros(xi.size)
        d[i] = 1e-6
        cols.append(
            (
                _chart_member(p, chart, xi + d).expectation()
                - _chart_member(p, chart, xi - d).expectation()
            )
            / 2e-6
        )
    return np.array(cols) @ grad_eta


def _chart_point(p: ng.ExponentialFamily, chart: str) -> np.ndarray:
    if chart == "mean_cov":
        return p.mean_cov()  # type: ignore[attr-defined, no-any-return]
    return np.concatenate([p.mean, p.var])  # type: ignore[attr-defined]


def _chart_member(p: ng.ExponentialFamily, chart: str, xi: np.ndarray) -> ng.ExponentialFamily:
    if chart == "mean_cov":
        return ng.Gaussian.from_mean_cov(xi)  # type: ignore[attr-defined, no-any-return]
    n = xi.size // 2
    return ng.DiagonalGaussian(xi[:n], xi[n:])


GAUSSIANS = [
    (
        "diag",
        ng.DiagonalGaussian([0.4, -0.5], [0.8, 1.5]),
        ng.DiagonalGaussian([-0.3, 0.2], [0.5, 0.9]),
        "mean_var",
    )
]
if hasattr(ng, "Gaussian"):
    GAUSSIANS.append(
        (
            "full",
            ng.Gaussian([0.4, -0.5], [[0.8, 0.3], [0.3, 1.5]]),
            ng.Gaussian([-0.3, 0.2], [[0.5, -0.1], [-0.1, 0.9]]),
            "mean_cov",
        )
    )


@pytest.mark.parametrize(
    ("label", "p0", "target", "chart"), GAUSSIANS, ids=[g[0] for g in GAUSSIANS]
)
def test_natural_flow_invariance_theta_eta_mean_cov(label: str, p0, target, chart: str) -> None:  # type: ignore[no-untyped-def]
    """Natural-gradient Euler trajectories in θ, η and (μ, Σ) for F = KL(p ‖ target) + 0.1 Σ sin η
    approach one flow (the exact one, from solve_ivp in θ) at O(β): as distributions they coincide."""
    obj = reverse_kl(target, wobble=0.1)
    t_end = 0.5
    sol = solve_ivp(
        lambda t, th: -obj.grad(p0.with_natural(th), "expectation"),
        (0, t_end),
        p0.natural(),
        rtol=1e-12,
        atol=1e-12,
    )
    exact = p0.with_natural(sol.y[:, -1])
    dist: dict[str, list[float]] = {"natural": [], "expectation": [], chart: []}
    for beta in (2e-2, 2e-3):
        steps = round(t_end / beta)
        for coords in ("natural", "expectation"):
            member = ng.NaturalGradientDescent(obj, beta, coords=coords).run(p0, steps).final.member
            dist[coords].append(float(np.sqrt(exact.kl(member))))
        p = p0
        for _ in range(steps):
            g_xi = _chain_rule_grad(p, chart, obj.grad(p, "expectation"))
            p = _chart_member(
                p, chart, _chart_point(p, chart) - beta * p.natural_gradient(g_xi, chart)
            )
        dist[chart].append(float(np.sqrt(exact.kl(p))))
    for coords, (d_big, d_small) in dist.items():
        assert d_small < 0.15 * d_big, (coords, d_big, d_small)
        assert d_small < 2e-3, (coords, d_small)


def test_chain_rule_uses_products_not_the_assembled_gaussian_fisher(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Objective.grad converts ∇_η L to ∇_θ L = I_θ ∇_η L; for the Gaussian that must not form the
    m × m matrix (it used fisher(coords) @ g)."""
    p0, target = PAIRS["gaussian"]
    obj = reverse_kl(target)
    want = p0.fisher("natural") @ obj.grad(p0, "expectation")

    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("the m x m Fisher matrix was assembled")

    monkeypatch.setattr(ng.Gaussian, "fisher", refuse)
    np.testing.assert_allclose(obj.grad(p0, "natural"), want, rtol=1e-13, atol=1e-14)
    ng.MirrorDescent(cross_entropy(target.expectation()), 0.1).run(p0, 2)
    ng.NaturalGradientDescent(obj, 0.1, coords="natural").run(p0, 2)
