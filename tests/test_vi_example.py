"""The worked example of docs/variational_inference.md: its gradients and its claim."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import natgrad as ng

_PATH = Path(__file__).resolve().parents[1] / "docs" / "examples" / "logistic_vi.py"


@pytest.fixture(scope="module")
def lv():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("logistic_vi", _PATH)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_elbo_gradients_by_finite_differences(lv) -> None:  # type: ignore[no-untyped-def]
    X, y = lv.make_data(n=60, d=3, seed=1)
    problem = lv.LogisticELBO(X, y, alpha=0.7)
    q = ng.DiagonalGaussian([0.3, -0.5, 1.1], [0.4, 0.9, 0.2])
    g_m, g_v = problem.grad_mean_var(q)
    fd = []
    for i in range(6):
        d = np.zeros(6)
        d[i] = 1e-6
        m, v = q.mean, q.var
        plus = ng.DiagonalGaussian(m + d[:3], v + d[3:])
        minus = ng.DiagonalGaussian(m - d[:3], v - d[3:])
        fd.append((problem.value(plus) - problem.value(minus)) / 2e-6)
    np.testing.assert_allclose(np.concatenate([g_m, g_v]), fd, rtol=1e-6, atol=1e-7)
    # ∇_η L by the chain rule, against finite differences in η
    e = q.expectation()
    fd_eta = []
    for i in range(6):
        d = np.zeros(6)
        d[i] = 1e-6
        fd_eta.append(
            (problem.value(q.with_expectation(e + d)) - problem.value(q.with_expectation(e - d)))
            / 2e-6
        )
    np.testing.assert_allclose(problem.grad_eta(q), fd_eta, rtol=1e-6, atol=1e-7)


def test_natural_gradient_beats_plain_gradient_in_iterations(lv) -> None:  # type: ignore[no-untyped-def]
    X, y = lv.make_data()
    problem = lv.LogisticELBO(X, y)
    q0 = ng.DiagonalGaussian(np.zeros(problem.d), np.ones(problem.d))
    nat = lv.run_natural(problem, q0, 1.0, 150)
    best = nat[-1]
    # stationary: the gradient vanishes at the natural-gradient fixed point
    res = ng.NaturalGradientDescent(problem.objective(), 1.0).run(q0, 150)
    assert np.abs(problem.grad_eta(res.final.member)).max() < 1e-9
    it_nat = lv.iterations_to(nat, best, 1e-6)
    plain = lv.run_gd_mean_logstd(problem, q0, 0.03, 150)
    it_plain = lv.iterations_to(plain, best, 1e-6)
    assert it_nat is not None and it_plain is not None
    assert it_nat * 3 < it_plain
