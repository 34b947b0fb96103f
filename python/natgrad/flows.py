"""Vanilla and natural gradient flows of the stochastic relaxation F(ξ) = E_ξ[f] (seed 003).

A flow is the solution of ξ'(t) = s ∇_ξ F(ξ) (vanilla) or ξ'(t) = s I_ξ⁻¹ ∇_ξ F(ξ) (natural),
integrated with :func:`scipy.integrate.solve_ivp`. The sign is explicit (SEED_ERRATA #19: the
lecture prints ξ' = ∇F for a minimisation problem): ``direction="descent"`` gives s = −1 and
minimises F, ``direction="ascent"`` gives s = +1 and maximises it.

Models:

* :class:`BinaryRelaxation` — the independence model on {−1, +1}ⁿ, F by enumeration, in the
  natural coordinates θ, the expectation coordinates η = tanh θ, or the marginal probabilities
  μ = P(X_i = +1) (seed 003's μ, SEED_ERRATA #16). The vanilla flows in μ and η are projected
  on the closed box: a coordinate that reaches the boundary stays there while the flow pushes
  outwards (the lecture's "projection is required").
* :class:`GaussianRelaxation1D` — N(μ, σ²) and a polynomial f, in the (μ, σ) half-plane
  (``coords="mean_std"``) or in θ; moments in closed form.
* :class:`GaussianQuadraticRelaxation` — N(μ, Σ) in Rⁿ and f(x) = c₀ + bᵀx + xᵀQx, in the packed
  (μ, Σ) coordinates ξ = (μ_i, σ_ii, σ_ij (i<j)) or in θ (MATH.md layout). The natural gradient in
  ξ is (Σ(b + 2Qμ), 2ΣQΣ); in θ it is the constant c = (b, Q_ii, Q_ij).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.integrate import solve_ivp
from scipy.special import expit

from ._validation import FloatArray, as_float, as_float_array, as_int, symmetric
from .packing import pack, unpack

__all__ = [
    "BinaryRelaxation",
    "Flow",
    "GaussianQuadraticRelaxation",
    "GaussianRelaxation1D",
]

_KINDS = ("vanilla", "natural")
_DIRECTIONS = ("descent", "ascent")


def _choice(name: str, value: str, options: tuple[str, ...]) -> str:
    if value not in options:
        raise ValueError(f"{name} must be one of {options}, got {value!r}")
    return value


def _time_grid(t_end: float, n_points: int) -> FloatArray:
    """0 then geometrically spaced times up to t_end: flows move fastest at the start (and the
    natural flows of Gaussians slow down like 1/t), so equal spacing would draw early kinks."""
    return np.concatenate([[0.0], np.geomspace(t_end * 1e-4, t_end, n_points - 1)])


@dataclass(frozen=True)
class Flow:
    """A solved flow: times ``t`` (K,), points ``xi`` (K, m) in chart ``coords``, and F there.

    The times are 0 followed by ``n_points − 1`` geometrically spaced times in [1e-4·t_end, t_end]
    (plus the time a boundary was reached, if any).

    ``stopped`` says why integration ended early (a boundary reached), or is empty.
    """

    t: FloatArray
    xi: FloatArray
    values: FloatArray
    coords: str
    kind: str
    direction: str
    stopped: str = ""


def _integrate(
    rhs: Callable[[float, FloatArray], FloatArray],
    xi0: FloatArray,
    t_end: float,
    n_points: int,
    events: list[Callable[[float, FloatArray], float]] | None = None,
    rtol: float = 1e-10,
    atol: float = 1e-12,
) -> tuple[FloatArray, FloatArray, str]:
    t_eval = _time_grid(t_end, n_points)
    for ev in events or []:
        ev.terminal = True  # type: ignore[attr-defined]
    sol = solve_ivp(
        rhs, (0.0, t_end), xi0, t_eval=t_eval, events=events, rtol=rtol, atol=atol, method="DOP853"
    )
    if sol.status < 0:
        raise ValueError(f"the flow could not be integrated: {sol.message}")
    t, y = sol.t, sol.y.T
    stopped = ""
    if sol.status == 1:
        # append the event point so the curve ends on the boundary
        for te, ye in zip(sol.t_events, sol.y_events, strict=True):
            if len(te):
                t = np.append(t, te[0])
                y = np.vstack([y, ye[0]])
                stopped = f"boundary reached at t = {te[0]:.6g}"
    return t, y, stopped


# ============================================================================================
class BinaryRelaxation:
    """F(p) = E_p[f] over the independence model on {−1, +1}ⁿ, f given on all 2ⁿ points.

    Parameters
    ----------
    f : callable
        ``f(X) -> values`` for X of shape (2ⁿ, n) with entries ±1.
    n : int
        Number of binary variables (enumeration costs 2ⁿ; n ≤ 20).

    Coordinates: ``"natural"`` (θ ∈ Rⁿ), ``"expectation"`` (η = tanh θ ∈ [−1, 1]ⁿ) and
    ``"marginal"`` (μ = P(X = +1) = (1 + η)/2 ∈ [0, 1]ⁿ). In μ, F is multilinear and defined on
    the closed cube, which contains the vertices δ_x (the minimisers).
    """

    coordinate_systems = ("natural", "expectation", "marginal")

    def __init__(self, f: Callable[[FloatArray], ArrayLike], n: int) -> None:
        self.n = as_int("n", n, minimum=1)
        if self.n > 20:
            raise ValueError(f"n must be <= 20 (enumeration of 2**n points), got {self.n}")
        self.points = np.array(list(itertools.product([-1.0, 1.0], repeat=self.n)))
        self.fvalues = as_float_array("f", np.asarray(f(self.points.copy()), dtype=float))
        if self.fvalues.shape != (len(self.points),):
            raise ValueError(
                f"f must return one value per point, shape ({len(self.points)},), "
                f"got {self.fvalues.shape}"
            )

    # --- chart maps ----------------------------------------------------------------------
    def _marginals(self, xi: FloatArray, coords: str) -> FloatArray:
        if coords == "natural":
            return np.asarray(expit(2.0 * xi))
        if coords == "expectation":
            return 0.5 * (1.0 + xi)
        return xi

    def _check_point(self, xi: ArrayLike, coords: str) -> FloatArray:
        _choice("coords", coords, self.coordinate_systems)
        x = as_float_array("xi", xi, shape=(self.n,))
        lo, hi = {"natural": (-np.inf, np.inf), "expectation": (-1, 1), "marginal": (0, 1)}[coords]
        if np.any((x < lo) | (x > hi)):
            raise ValueError(f"xi must lie in [{lo}, {hi}]^n for coords={coords!r}, got {x}")
        return x

    # --- F and its gradients -------------------------------------------------------------
    def _weights(self, mu: FloatArray) -> FloatArray:
        """(2ⁿ, n) factors P(X_j = x_j) = μ_j or 1 − μ_j."""
        return np.where(self.points > 0, mu, 1.0 - mu)

    def value(self, xi: ArrayLike, coords: str = "natural") -> float:
        """F(ξ) = Σ_x f(x) Π_i P(X_i = x_i)."""
        x = self._check_point(xi, coords)
        if coords == "natural":  # through log-probabilities, exact in the tails
            logp = self.points @ x - np.sum(np.logaddexp(x, -x))
            return float(np.exp(logp) @ self.fvalues)
        w = self._weights(self._marginals(x, coords))
        return float(np.prod(w, axis=1) @ self.fvalues)

    def _grad_marginal(self, mu: FloatArray) -> FloatArray:
        """∂F/∂μ_i = Σ_x f(x) x_i Π_{j≠i} P(X_j = x_j) (F is multilinear in μ)."""
        w = self._weights(mu)
        out = np.empty(self.n)
        for i in range(self.n):
            others = np.prod(np.delete(w, i, axis=1), axis=1)
            out[i] = (self.fvalues * self.points[:, i]) @ others
        return out

    def gradient(self, xi: ArrayLike, coords: str = "natural") -> FloatArray:
        """Vanilla gradient ∇_ξ F. In θ it is Cov_θ(f, X) (seed 003, SEED_ERRATA #13)."""
        x = self._check_point(xi, coords)
        g_mu = self._grad_marginal(self._marginals(x, coords))
        if coords == "marginal":
            return g_mu
        if coords == "expectation":
            return 0.5 * g_mu  # μ = (1 + η)/2
        mu, nu = expit(2.0 * x), expit(-2.0 * x)
        return 2.0 * mu * nu * g_mu  # dμ/dθ = 2μ(1 − μ)

    def natural_gradient(self, xi: ArrayLike, coords: str = "natural") -> FloatArray:
        """I_ξ⁻¹ ∇_ξ F. In θ it equals ∇_η F = ½ ∇_μ F (SEED_ERRATA #16)."""
        x = self._check_point(xi, coords)
        mu = self._marginals(x, coords)
        g_mu = self._grad_marginal(mu)
        if coords == "natural":
            return 0.5 * g_mu
        if coords == "marginal":  # I_μ = diag(1/(μ(1 − μ)))
            return mu * (1.0 - mu) * g_mu
        return (1.0 - x * x) * 0.5 * g_mu  # I_η = diag(1/(1 − η²)), ∇_η F = ½ ∇_μ F

    # --- flows ---------------------------------------------------------------------------
    def flow(
        self,
        xi0: ArrayLike,
        coords: str = "natural",
        kind: str = "natural",
        direction: str = "descent",
        t_end: float = 1.0,
        n_points: int = 200,
    ) -> Flow:
        """Integrate the vanilla or natural flow from ``xi0`` over [0, t_end].

        The vanilla flows in "marginal" and "expectation" coordinates are projected on the box:
        when a coordinate reaches the boundary and the flow pushes outwards it is frozen there.
        """
        x0 = self._check_point(xi0, coords)
        _choice("kind", kind, _KINDS)
        sign = -1.0 if _choice("direction", direction, _DIRECTIONS) == "descent" else 1.0
        t_end = as_float("t_end", t_end, positive=True)
        n_points = as_int("n_points", n_points, minimum=2)
        grad = self.natural_gradient if kind == "natural" else self.gradient
        lo, hi = {"natural": (-np.inf, np.inf), "expectation": (-1.0, 1.0), "marginal": (0.0, 1.0)}[
            coords
        ]
        if kind == "natural" or coords == "natural":
            t, y, stopped = _integrate(
                lambda _t, x: sign * grad(np.clip(x, lo, hi), coords), x0, t_end, n_points
            )
            return Flow(t, y, self._values(y, coords), coords, kind, direction, stopped)
        return self._projected_flow(x0, coords, sign, t_end, n_points, lo, hi)

    def _values(self, y: FloatArray, coords: str) -> FloatArray:
        return np.array([self.value(row, coords) for row in y])

    def _projected_flow(
        self,
        x0: FloatArray,
        coords: str,
        sign: float,
        t_end: float,
        n_points: int,
        lo: float,
        hi: float,
    ) -> Flow:
        """Vanilla flow on a box: integrate until a free coordinate hits a face, freeze it there
        (while the velocity points outwards), restart. Ends when all coordinates are frozen."""
        ts, ys = [np.array([0.0])], [x0[None, :]]
        t0, x = 0.0, x0.copy()
        grid = _time_grid(t_end, n_points)
        stopped = ""

        def velocity(xx: FloatArray) -> FloatArray:
            return sign * self.gradient(np.clip(xx, lo, hi), coords)

        for _ in range(4 * self.n + 4):
            v = velocity(x)
            frozen = ((x <= lo) & (v < 0)) | ((x >= hi) & (v > 0))
            if frozen.all():
                stopped = f"vertex reached at t = {t0:.6g}"
                break

            def rhs(_t: float, xx: FloatArray, frozen: FloatArray = frozen) -> FloatArray:
                return np.where(frozen, 0.0, velocity(xx))

            events = []
            for i in np.flatnonzero(~frozen):
                events.append(lambda _t, xx, i=i: xx[i] - lo)
                events.append(lambda _t, xx, i=i: xx[i] - hi)
            for ev in events:
                ev.terminal = True  # type: ignore[attr-defined]
            t_eval = grid[(grid > t0) & (grid <= t_end)]
            sol = solve_ivp(
                rhs,
                (t0, t_end),
                x,
                t_eval=t_eval,
                events=events,
                rtol=1e-10,
                atol=1e-12,
                method="DOP853",
            )
            if sol.status < 0:
                raise ValueError(f"the flow could not be integrated: {sol.message}")
            ts.append(sol.t)
            ys.append(sol.y.T)
            if sol.status == 0:
                break
            hit = [
                (te[0], ye[0]) for te, ye in zip(sol.t_events, sol.y_events, strict=True) if len(te)
            ]
            t0, x = min(hit, key=lambda p: p[0])
            x = np.clip(np.where(np.isclose(x, lo, atol=1e-9), lo, x), lo, hi)
            x = np.where(np.isclose(x, hi, atol=1e-9), hi, x)
            ts.append(np.array([t0]))
            ys.append(x[None, :])
        if stopped:
            ts.append(np.array([t_end]))
            ys.append(x[None, :])
        t = np.concatenate(ts)
        y = np.clip(np.vstack(ys), lo, hi)
        return Flow(
            t,
            y,
            self._values(y, coords),
            coords,
            "vanilla",
            "descent" if sign < 0 else "ascent",
            stopped,
        )


# ============================================================================================
def _gaussian_moments(mu: float, sigma: float, degree: int) -> FloatArray:
    """E[X^k], k = 0..degree, for X ~ N(μ, σ²): m_k = μ m_{k−1} + (k − 1) σ² m_{k−2}."""
    m = np.empty(degree + 1)
    m[0] = 1.0
    if degree >= 1:
        m[1] = mu
    for k in range(2, degree + 1):
        m[k] = mu * m[k - 1] + (k - 1) * sigma * sigma * m[k - 2]
    return m


class GaussianRelaxation1D:
    """F(μ, σ) = E[f(X)], X ~ N(μ, σ²), for a polynomial f(x) = Σ_k coeffs[k] x^k.

    ∂F/∂μ = E[f'(X)] and ∂F/∂σ = σ E[f''(X)] (Stein), in closed form from the moments.
    Coordinates: "mean_std" ((μ, σ), Fisher diag(1/σ², 2/σ²)) and "natural"
    (θ = (μ/σ², −1/(2σ²)), where the natural gradient is ∇_η F).
    """

    coordinate_systems = ("mean_std", "natural")

    def __init__(self, coeffs: ArrayLike) -> None:
        c = as_float_array("coeffs", coeffs, ndim=1)
        if c.size < 1:
            raise ValueError("coeffs must have at least one entry")
        c.setflags(write=False)  # f' and f'' below are derived from it once
        self.coeffs = c
        self.degree = c.size - 1
        k = np.arange(c.size)
        self._d1 = (k * c)[1:]  # f'
        self._d2 = (k * (k - 1) * c)[2:]  # f''

    def f(self, x: ArrayLike) -> FloatArray:
        """f evaluated pointwise."""
        return np.asarray(np.polynomial.polynomial.polyval(np.asarray(x, dtype=float), self.coeffs))

    def _mean_std(self, xi: ArrayLike, coords: str) -> tuple[float, float]:
        _choice("coords", coords, self.coordinate_systems)
        x = as_float_array("xi", xi, shape=(2,))
        if coords == "mean_std":
            if not x[1] > 0:
                raise ValueError(f"xi must have sigma = xi[1] > 0, got {x}")
            return float(x[0]), float(x[1])
        if not x[1] < 0:
            raise ValueError(f"xi must have theta[1] < 0, got {x}")
        var = -0.5 / x[1]
        return float(x[0] * var), float(np.sqrt(var))

    def value(self, xi: ArrayLike, coords: str = "mean_std") -> float:
        """F = Σ c_k E[X^k]."""
        mu, sigma = self._mean_std(xi, coords)
        return float(self.coeffs @ _gaussian_moments(mu, sigma, self.degree))

    def _grad_mean_std(self, mu: float, sigma: float) -> FloatArray:
        m = _gaussian_moments(mu, sigma, self.degree)
        g_mu = float(self._d1 @ m[: self._d1.size]) if self._d1.size else 0.0
        g_sigma = sigma * float(self._d2 @ m[: self._d2.size]) if self._d2.size else 0.0
        return np.array([g_mu, g_sigma])

    def gradient(self, xi: ArrayLike, coords: str = "mean_std") -> FloatArray:
        """Vanilla gradient ∇_ξ F."""
        mu, sigma = self._mean_std(xi, coords)
        g = self._grad_mean_std(mu, sigma)
        if coords == "mean_std":
            return g
        # (μ, σ) as functions of θ: μ = −θ₁/(2θ₂), σ = (−2θ₂)^−½
        t1, t2 = np.asarray(xi, dtype=float)
        jac = np.array([[-0.5 / t2, 0.5 * t1 / t2**2], [0.0, 0.5 * sigma / (-t2)]])
        return jac.T @ g

    def natural_gradient(self, xi: ArrayLike, coords: str = "mean_std") -> FloatArray:
        """I_ξ⁻¹ ∇_ξ F: (σ² ∂_μF, σ²/2 ∂_σF) in (μ, σ); ∇_η F in θ."""
        mu, sigma = self._mean_std(xi, coords)
        g = self._grad_mean_std(mu, sigma)
        nat_ms = np.array([sigma * sigma * g[0], 0.5 * sigma * sigma * g[1]])
        if coords == "mean_std":
            return nat_ms
        # push the tangent vector to θ with dθ/d(μ, σ) (the natural gradient is chart-free)
        jac = np.array([[1 / sigma**2, -2 * mu / sigma**3], [0.0, 1 / sigma**3]])
        return jac @ nat_ms

    def flow(
        self,
        xi0: ArrayLike,
        coords: str = "mean_std",
        kind: str = "natural",
        direction: str = "ascent",
        t_end: float = 1.0,
        n_points: int = 200,
        sigma_min: float = 1e-6,
    ) -> Flow:
        """Integrate the vanilla or natural flow; stops if σ falls below ``sigma_min``."""
        self._mean_std(xi0, coords)
        x0 = as_float_array("xi0", xi0, shape=(2,))
        _choice("kind", kind, _KINDS)
        sign = -1.0 if _choice("direction", direction, _DIRECTIONS) == "descent" else 1.0
        t_end = as_float("t_end", t_end, positive=True)
        n_points = as_int("n_points", n_points, minimum=2)
        smin = as_float("sigma_min", sigma_min, positive=True)
        grad = self.natural_gradient if kind == "natural" else self.gradient

        def sigma_of(x: FloatArray) -> float:
            return (
                float(x[1]) if coords == "mean_std" else float(np.sqrt(-0.5 / min(x[1], -1e-300)))
            )

        t, y, stopped = _integrate(
            lambda _t, x: sign * grad(x, coords),
            x0,
            t_end,
            n_points,
            [lambda _t, x: sigma_of(x) - smin],
        )
        return Flow(
            t, y, np.array([self.value(r, coords) for r in y]), coords, kind, direction, stopped
        )


# ============================================================================================
class GaussianQuadraticRelaxation:
    """F(μ, Σ) = E[f(X)] = c₀ + bᵀμ + μᵀQμ + tr(QΣ) for f(x) = c₀ + bᵀx + xᵀQx on Rⁿ.

    Coordinates (MATH.md packed layout): "mean_cov" ξ = (μ_i, σ_ii, σ_ij (i<j)) and "natural"
    θ = (Σ⁻¹μ, −½(Σ⁻¹)_ii, −½(Σ⁻¹)_ij). Vanilla gradient in ξ: (b + 2Qμ, Q_ii, 2Q_ij);
    natural gradient in ξ: (Σ(b + 2Qμ), 2ΣQΣ); in θ both the natural gradient and ∇_η F are
    c = (b, Q_ii, Q_ij), so the natural flow in θ is the straight line θ₀ + s·t·c.
    """

    coordinate_systems = ("mean_cov", "natural")

    def __init__(self, b: ArrayLike, Q: ArrayLike, c0: float = 0.0) -> None:
        self.b = as_float_array("b", b, ndim=1)
        n = self.b.size
        self.Q = symmetric("Q", as_float_array("Q", Q, shape=(n, n)))
        self.c0 = as_float("c0", c0)
        self.n = n

    def f(self, x: ArrayLike) -> FloatArray:
        """f at points x of shape (N, n)."""
        x = np.atleast_2d(np.asarray(x, dtype=float))
        return np.asarray(self.c0 + x @ self.b + np.einsum("ni,ij,nj->n", x, self.Q, x))

    def to_mean_cov(self, xi: ArrayLike, coords: str) -> tuple[FloatArray, FloatArray]:
        """(μ, Σ) of a point given in ``coords``; ValueError unless Σ is positive definite."""
        _choice("coords", coords, self.coordinate_systems)
        m = self.n + self.n * (self.n + 1) // 2
        x = as_float_array("xi", xi, shape=(m,))
        v, mat = unpack(x)
        if coords == "natural":
            prec = -2.0 * mat  # Σ⁻¹ = −2Θ
            if np.linalg.eigvalsh(prec)[0] <= 0:
                raise ValueError(f"xi must have -2*Theta positive definite, got {x}")
            cov = np.linalg.inv(prec)
            return cov @ v, 0.5 * (cov + cov.T)
        if np.linalg.eigvalsh(mat)[0] <= 0:
            raise ValueError(f"xi must have a positive definite covariance, got {x}")
        return v, mat

    def from_mean_cov(self, mean: ArrayLike, cov: ArrayLike, coords: str) -> FloatArray:
        """The packed point of (mean, cov) in ``coords``."""
        _choice("coords", coords, self.coordinate_systems)
        mu = as_float_array("mean", mean, shape=(self.n,))
        sig = as_float_array("cov", cov, shape=(self.n, self.n))
        if coords == "mean_cov":
            return pack(mu, sig)
        prec = np.linalg.inv(sig)
        return pack(prec @ mu, -0.5 * prec)

    def value(self, xi: ArrayLike, coords: str = "mean_cov") -> float:
        """F = c₀ + bᵀμ + μᵀQμ + tr(QΣ)."""
        mu, sig = self.to_mean_cov(xi, coords)
        return float(self.c0 + self.b @ mu + mu @ self.Q @ mu + np.sum(self.Q * sig))

    def gradient(self, xi: ArrayLike, coords: str = "mean_cov") -> FloatArray:
        """Vanilla gradient ∇_ξ F. In θ, F is linear in η with ∇_η F = c, so
        ∇_θ F = I_θ c = Cov(f, T) (Isserlis' theorem, see :func:`_cov_f_T`)."""
        mu, sig = self.to_mean_cov(xi, coords)
        if coords == "mean_cov":
            return pack(self.b + 2 * self.Q @ mu, self.Q, offdiag_scale=2.0)
        # ∇_θ F = I_θ c = Cov(T, T) c = Cov(f, T), by Isserlis in the packed layout
        return _cov_f_T(mu, sig, self.b, self.Q)

    def natural_gradient(self, xi: ArrayLike, coords: str = "mean_cov") -> FloatArray:
        """I_ξ⁻¹ ∇_ξ F: (Σ(b + 2Qμ), 2ΣQΣ) in (μ, Σ), the constant c = (b, Q_ii, Q_ij) in θ."""
        mu, sig = self.to_mean_cov(xi, coords)
        if coords == "mean_cov":
            return pack(sig @ (self.b + 2 * self.Q @ mu), 2 * sig @ self.Q @ sig)
        return pack(self.b, self.Q)

    def flow(
        self,
        xi0: ArrayLike,
        coords: str = "mean_cov",
        kind: str = "natural",
        direction: str = "ascent",
        t_end: float = 1.0,
        n_points: int = 200,
        eig_min: float = 1e-9,
    ) -> Flow:
        """Integrate the flow; stops when the smallest eigenvalue of Σ (resp. of −2Θ) falls
        below ``eig_min`` (the boundary of the cone)."""
        self.to_mean_cov(xi0, coords)
        x0 = as_float_array("xi0", xi0)
        _choice("kind", kind, _KINDS)
        sign = -1.0 if _choice("direction", direction, _DIRECTIONS) == "descent" else 1.0
        t_end = as_float("t_end", t_end, positive=True)
        n_points = as_int("n_points", n_points, minimum=2)
        emin = as_float("eig_min", eig_min, positive=True)
        grad = self.natural_gradient if kind == "natural" else self.gradient

        def smallest(_t: float, x: FloatArray) -> float:
            _, mat = unpack(x)
            return float(np.linalg.eigvalsh(mat if coords == "mean_cov" else -2 * mat)[0]) - emin

        def rhs(_t: float, x: FloatArray) -> FloatArray:
            if smallest(_t, x) <= -emin:  # a trial stage outside the cone: stop pushing
                return np.zeros_like(x)
            return sign * grad(x, coords)

        t, y, stopped = _integrate(rhs, x0, t_end, n_points, [smallest])
        vals = np.array([self.value(r, coords) if smallest(0, r) > -emin else np.nan for r in y])
        return Flow(t, y, vals, coords, kind, direction, stopped)


def _cov_f_T(mu: FloatArray, sig: FloatArray, b: FloatArray, Q: FloatArray) -> FloatArray:
    """Cov(f, T) for f = bᵀx + xᵀQx and T = (x_i, x_i², 2x_i x_j), X ~ N(μ, Σ).

    Cov(f, x_k) = (Σ(b + 2Qμ))_k; Cov(f, x_k x_l) = (Σ(b + 2Qμ))_k μ_l + μ_k (Σ(b + 2Qμ))_l
    + 2(ΣQΣ)_kl (Isserlis), and the statistic for k < l carries the factor 2.
    """
    s = sig @ (b + 2 * Q @ mu)
    m2 = np.outer(s, mu) + np.outer(mu, s) + 2 * sig @ Q @ sig
    return pack(s, m2, offdiag_scale=2.0)
