"""A short, real demonstration of natgrad's Gaussian core (``python -m natgrad demo``)."""

from __future__ import annotations

import numpy as np

from .gaussian import Gaussian
from .packing import pack


def run_demo() -> None:
    """Print conversions, the Legendre gap, Fisher matrices, a KL and a natural-gradient step."""
    np.set_printoptions(precision=4, suppress=True)
    mean = np.array([1.0, -0.5])
    cov = np.array([[2.0, 0.6], [0.6, 1.0]])
    g = Gaussian(mean, cov)
    print("natgrad: the Gaussian N(mu, Sigma) as an exponential family, n = 2, m = 5 coordinates")
    print("  packed layout [mu_1 mu_2 | (1,1) (2,2) | (1,2)], T(x) = (x_i, x_i^2, 2 x_i x_j)")
    print(f"  mean_cov  xi    = {g.mean_cov()}")
    print(f"  natural   theta = {g.natural()}")
    print(f"  expectation eta = {g.expectation()}")
    back = Gaussian.from_expectation(Gaussian.from_natural(g.natural()).expectation())
    print(
        f"  round trip (mu,Sigma) -> theta -> eta -> (mu,Sigma): max error "
        f"{max(np.abs(back.mean - mean).max(), np.abs(back.cov - cov).max()):.1e}"
    )
    psi, phi, pair = g.log_partition(), g.neg_entropy(), float(g.natural() @ g.expectation())
    print(f"  psi(theta) = {psi:.12f}, phi(eta) = {phi:.12f}, <theta, eta> = {pair:.12f}")
    print(f"  Legendre gap psi + phi - <theta, eta> = {psi + phi - pair:.1e}")
    f_theta, f_eta = g.fisher("natural"), g.fisher("expectation")
    print("  Fisher in theta (Cov(T, T) by Isserlis):")
    print("   " + str(f_theta).replace("\n", "\n   "))
    print(f"  |I_theta I_eta - Id|_max = {np.abs(f_theta @ f_eta - np.eye(5)).max():.1e}")
    other = Gaussian([0.0, 0.0], np.eye(2))
    print(f"  KL(g || N(0, I)) = {g.kl(other):.12f}")
    # One natural-gradient step on F = E[f], f(x) = b'x + x'Qx (minimum at x = -Q^-1 b / 2).
    b, q = np.array([1.0, -2.0]), np.array([[1.0, 0.2], [0.2, 0.5]])
    grad_xi = pack(b + 2 * q @ mean, q, offdiag_scale=2.0)  # dF/dmu, dF/dsigma_ii, dF/dsigma_ij
    nat = g.natural_gradient(grad_xi, "mean_cov")
    print(
        "  f(x) = b'x + x'Qx; natural gradient in (mu, Sigma) = (Sigma(b + 2Q mu), 2 Sigma Q Sigma):"
    )
    print(f"    computed {nat}")
    print(f"    formula  {pack(cov @ (b + 2 * q @ mean), 2 * cov @ q @ cov)}")
    c = pack(b, q)  # f = <c, T(x)>: the natural gradient in theta is grad_eta F = c
    step = Gaussian.from_natural(g.natural() - 0.1 * c)
    value = float(b @ g.mean + np.sum(q * (g.cov + np.outer(g.mean, g.mean))))
    new_value = float(b @ step.mean + np.sum(q * (step.cov + np.outer(step.mean, step.mean))))
    print(f"  natural-gradient step theta <- theta - 0.1 c: E[f] {value:.6f} -> {new_value:.6f}")
    print(f"    new mean {step.mean}, target {-0.5 * np.linalg.solve(q, b)}")
