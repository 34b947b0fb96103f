"""Gaussian variational inference for Bayesian logistic regression with natural gradients.

The posterior p(w | X, y) ∝ N(w; 0, I/α) Π σ(y_i x_iᵀw) is not Gaussian (non-conjugate). We fit a
mean-field Gaussian q = N(m, diag(v)) by minimising L(q) = −ELBO = KL(q ‖ prior) − E_q[log lik]:

* natural-gradient descent in θ (= mirror descent in η, Khan & Lin's conjugate-computation VI),
  ``natgrad.NaturalGradientDescent`` with the gradient ∇_η L;
* plain gradient descent in θ (``natgrad.GradientDescent``) and in (m, log σ) (the usual
  reparameterisation), each with its best step size from a grid.

Expectations E_q[log σ(y a)] use 96-node Gauss–Hermite quadrature in the 1-D variable a = xᵀw, so every
run is deterministic and the comparison counts iterations, not noise.

Run: ``python docs/examples/logistic_vi.py`` (add ``--plot out.png`` to save the convergence curve;
that needs matplotlib).
"""

from __future__ import annotations

import argparse

import numpy as np

import natgrad as ng

GH_X, GH_W = np.polynomial.hermite_e.hermegauss(96)
GH_W = GH_W / np.sqrt(2 * np.pi)  # E[g(Z)], Z ~ N(0, 1), = Σ w_k g(x_k)


def make_data(n: int = 300, d: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), rng.standard_normal((n, d - 1))])
    w_true = rng.standard_normal(d) * 1.5
    y = np.where(rng.random(n) < 1 / (1 + np.exp(-X @ w_true)), 1.0, -1.0)
    return X, y


class LogisticELBO:
    """L(m, v) = −ELBO for q = N(m, diag v), prior N(0, I/alpha), labels y in {−1, +1}."""

    def __init__(self, X: np.ndarray, y: np.ndarray, alpha: float = 1.0) -> None:
        self.X, self.y, self.alpha = X, y, alpha
        self.d = X.shape[1]

    def _quadrature(self, m: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, ...]:
        mean_a = self.X @ m
        sd_a = np.sqrt((self.X**2) @ v)
        a = mean_a[:, None] + sd_a[:, None] * GH_X[None, :]  # (n, K) nodes for a_i = x_iᵀw
        ya = self.y[:, None] * a
        log_lik = -np.logaddexp(0.0, -ya)  # log σ(y a)
        s = 1 / (1 + np.exp(ya))  # σ(−y a)
        d1 = self.y[:, None] * s  # d/da log σ(y a)
        d2 = -s * (1 - s)  # d²/da² log σ(y a)
        return log_lik @ GH_W, d1 @ GH_W, d2 @ GH_W

    def value(self, q: ng.DiagonalGaussian) -> float:
        m, v = q.mean, q.var
        ell, _, _ = self._quadrature(m, v)
        kl_prior = 0.5 * np.sum(self.alpha * (v + m * m) - 1 - np.log(self.alpha * v))
        return float(kl_prior - ell.sum())

    def grad_mean_var(self, q: ng.DiagonalGaussian) -> tuple[np.ndarray, np.ndarray]:
        """(∂L/∂m, ∂L/∂v): Bonnet's and Price's theorems, ∂E[g]/∂m = E[∇g], ∂E[g]/∂v = ½E[∇²g]."""
        m, v = q.mean, q.var
        _, e1, e2 = self._quadrature(m, v)
        g_m = self.alpha * m - self.X.T @ e1
        g_v = 0.5 * (self.alpha - 1 / v) - 0.5 * (self.X**2).T @ e2
        return g_m, g_v

    def grad_eta(self, q: ng.DiagonalGaussian) -> np.ndarray:
        """∇_η L through η = (m, v + m²): ∂L/∂η₁ = ∂L/∂m − 2m ∂L/∂v, ∂L/∂η₂ = ∂L/∂v."""
        g_m, g_v = self.grad_mean_var(q)
        return np.concatenate([g_m - 2 * q.mean * g_v, g_v])

    def objective(self) -> ng.Objective:
        return ng.Objective(self.grad_eta, coords="expectation", value=self.value)


def iterations_to(values: np.ndarray, target: float, tol: float) -> int | None:
    hit = np.flatnonzero(values - target <= tol)
    return int(hit[0]) if hit.size else None


def run_natural(problem: LogisticELBO, q0: ng.DiagonalGaussian, step: float, n: int) -> np.ndarray:
    return ng.NaturalGradientDescent(problem.objective(), step).run(q0, n).values


def run_gd_theta(problem: LogisticELBO, q0: ng.DiagonalGaussian, step: float, n: int) -> np.ndarray:
    try:
        return ng.GradientDescent(problem.objective(), step, coords="natural").run(q0, n).values
    except ValueError:  # the step left the domain (a variance went negative)
        return np.full(n + 1, np.inf)


def run_gd_mean_logstd(
    problem: LogisticELBO, q0: ng.DiagonalGaussian, step: float, n: int
) -> np.ndarray:
    m, log_s = q0.mean, 0.5 * np.log(q0.var)
    out = []
    for _ in range(n + 1):
        q = ng.DiagonalGaussian(m, np.exp(2 * log_s))
        out.append(problem.value(q))
        g_m, g_v = problem.grad_mean_var(q)
        m, log_s = m - step * g_m, log_s - step * g_v * 2 * np.exp(2 * log_s)  # dv/dlog σ = 2v
        if not np.all(np.isfinite(log_s)) or np.any(np.abs(log_s) > 50):
            return np.full(n + 1, np.inf)
    return np.array(out)


def main(
    n_iter: int = 400, tol: float = 1e-6, plot: str | None = None
) -> dict[str, tuple[float, int | None]]:
    X, y = make_data()
    problem = LogisticELBO(X, y, alpha=1.0)
    q0 = ng.DiagonalGaussian(np.zeros(problem.d), np.ones(problem.d))  # the prior
    best = run_natural(problem, q0, 1.0, 200)[-1]  # reference optimum (natural steps, β = 1)
    results: dict[str, tuple[float, int | None]] = {}
    curves: dict[str, np.ndarray] = {}
    grids = {
        "natural gradient (theta)": (run_natural, [1.0, 0.5, 0.2]),
        "gradient descent (theta)": (run_gd_theta, [3.0, 1.0, 0.3, 0.1, 0.03, 0.01]),
        "gradient descent (m, log sigma)": (run_gd_mean_logstd, [0.3, 0.1, 0.05, 0.03, 0.01]),
    }
    for name, (runner, steps) in grids.items():
        options = []
        for step in steps:
            vals = runner(problem, q0, step, n_iter)
            it = iterations_to(vals, best, tol)
            options.append((it if it is not None else n_iter + 1, step, vals, it))
        _, step, vals, it = min(options, key=lambda o: (o[0], o[2][-1]))
        results[name] = (step, it)
        curves[name] = vals
    print(f"posterior fit: L* = -ELBO = {best:.10f} (n = {len(y)}, d = {problem.d})")
    print(f"{'method':<36}{'best step':>10}  iterations to |L - L*| < {tol:g}")
    for name, (step, it) in results.items():
        print(f"{name:<36}{step:>10g}  {it if it is not None else f'> {n_iter}'}")
    if plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 4.5), constrained_layout=True)
        for name, vals in curves.items():
            gap = np.maximum(vals - best, 1e-14)  # below: rounding of L (~1e-14 relative)
            ax.semilogy(gap, label=f"{name}, step {results[name][0]:g}")
        ax.set_xlabel("iteration")
        ax.set_ylabel(r"$L - L^*$ (negative ELBO gap)")
        ax.set_title("Mean-field Gaussian VI, Bayesian logistic regression")
        ax.legend()
        fig.savefig(plot, dpi=110)
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=400)
    parser.add_argument("--plot", default=None, help="save the convergence plot to this PNG")
    args = parser.parse_args()
    main(args.iterations, plot=args.plot)
