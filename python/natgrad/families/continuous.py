"""Continuous exponential families: Exponential, Gamma, Beta and the diagonal Gaussian.

Conventions (MATH.md): base measure h = 1 for all four, so ``neg_entropy`` equals φ(η).
Gamma(shape a, rate b): T = (log x, x), θ = (a − 1, −b). Beta(a, b): T = (log x, log(1 − x)),
θ = (a − 1, b − 1). (A convention θ = (a, −b) with base measure 1/x shifts θ by a constant;
η, Fisher and KL are unchanged.) DiagonalGaussian: T = (x_1..x_n, x_1²..x_n²), the packed
Gaussian layout restricted to the diagonal, θ = (μ/v, −1/(2v)), η = (μ, v + μ²).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import betaln, digamma, gammaln, polygamma

from .._validation import FloatArray, as_float, as_float_array, as_generator, as_int
from ..family import ExponentialFamily
from ._base import ClosedFormFamily
from ._special import (
    a_trigamma_minus_one,
    lgamma_bregman,
    log_minus_digamma,
    log_ratio,
    newton_log_space,
    polygamma_difference,
    ratio_minus_one_minus_log,
)


def _vector_param(name: str, value: ArrayLike, size: int) -> FloatArray:
    arr = as_float_array(name, value).reshape(-1)
    if arr.size != size:
        raise ValueError(f"{name} must have {size} entries, got {arr.size}")
    return arr


def _points(x: ArrayLike) -> FloatArray:
    return as_float_array("x", x).reshape(-1)


# --------------------------------------------------------------------------------------------
class Exponential(ClosedFormFamily):
    """Exponential(rate b) on (0, ∞): T(x) = x, θ = −b, ψ(θ) = −log(−θ), η = 1/b."""

    def __init__(self, rate: float) -> None:
        self._rate = as_float("rate", rate, positive=True)

    @classmethod
    def from_natural(cls, theta: ArrayLike) -> Exponential:
        t = _vector_param("theta", theta, 1)[0]
        if not t < 0:
            raise ValueError(f"theta must be < 0, got {t!r}")
        return cls(-t)

    @classmethod
    def from_expectation(cls, eta: ArrayLike) -> Exponential:
        e = _vector_param("eta", eta, 1)[0]
        if not e > 0:
            raise ValueError(f"eta must be > 0, got {e!r}")
        return cls(1.0 / e)

    @property
    def rate(self) -> float:
        """The rate b."""
        return self._rate

    def natural(self) -> FloatArray:
        return np.array([-self._rate])

    def expectation(self) -> FloatArray:
        return np.array([1.0 / self._rate])

    def log_partition(self) -> float:
        return float(-np.log(self._rate))

    def legendre_dual(self) -> float:
        return float(np.log(self._rate) - 1.0)

    def _fisher(self, coords: str) -> FloatArray:
        # 1/b² as (1/b)²: b² underflows to 0 below b ~ 1e-162 (inf is refused by fisher())
        inv = 1.0 / self._rate
        return np.array([[inv * inv if coords == "natural" else self._rate * self._rate]])

    def kl(self, other: ExponentialFamily) -> float:
        o = self._check_other(other)
        # log(b/b') + b'/b − 1 = r − 1 − log r,  r = b'/b
        return float(ratio_minus_one_minus_log(o._rate, self._rate))

    def sample(self, size: int, rng: Any = None) -> np.ndarray:
        size = as_int("size", size, minimum=0)
        return as_generator(rng).exponential(1.0 / self._rate, size)

    def log_prob(self, x: ArrayLike) -> FloatArray:
        x = _points(x)
        return np.where(x >= 0, np.log(self._rate) - self._rate * x, -np.inf)

    def sufficient_stats(self, x: ArrayLike) -> FloatArray:
        x = _points(x)
        if np.any(x < 0):
            raise ValueError(f"x must be >= 0, got {x}")
        return x[:, None].copy()

    def __repr__(self) -> str:
        return f"Exponential(rate={self._rate!r})"


# --------------------------------------------------------------------------------------------
class Gamma(ClosedFormFamily):
    """Gamma(shape a, rate b) on (0, ∞): T = (log x, x), θ = (a − 1, −b),
    ψ(θ) = log Γ(a) − a log b, η = (digamma(a) − log b, a / b).

    :meth:`from_expectation` solves log a − digamma(a) = log η₂ − η₁ by a safeguarded Newton
    iteration in log a (relative accuracy ~1e-15 times the conditioning of that equation).
    """

    def __init__(self, shape: float, rate: float) -> None:
        self._a = as_float("shape", shape, positive=True)
        self._b = as_float("rate", rate, positive=True)

    @classmethod
    def from_natural(cls, theta: ArrayLike) -> Gamma:
        t = _vector_param("theta", theta, 2)
        if not (t[0] > -1 and t[1] < 0):
            raise ValueError(f"theta must satisfy theta[0] > -1 and theta[1] < 0, got {t}")
        return cls(t[0] + 1.0, -t[1])

    @classmethod
    def from_expectation(cls, eta: ArrayLike) -> Gamma:
        e = _vector_param("eta", eta, 2)
        c = np.log(e[1]) - e[0] if e[1] > 0 else np.nan
        if not (e[1] > 0 and c > 0):
            raise ValueError(
                f"eta must satisfy eta[1] > 0 and eta[0] < log(eta[1]) (Jensen), got {e}"
            )

        def residual(u: FloatArray) -> FloatArray:
            return np.log(log_minus_digamma(np.exp(u))) - np.log(c)

        def jac(u: FloatArray) -> FloatArray:
            a = np.exp(u)
            # d/du log(log a − ψ(a)) = −(a ψ'(a) − 1) / (log a − ψ(a))
            return np.array([[-a_trigamma_minus_one(a)[0] / log_minus_digamma(a)[0]]])

        # Minka's approximation to the root, exact as a → 0 and a → ∞: (3 − c + √D)/(12c) with
        # D = (c − 3)² + 24c, rationalised as 2/(c − 3 + √D) when c > 3 (no cancellation)
        root = np.hypot(c - 3.0, np.sqrt(24.0 * c))
        a0 = 2.0 / (c - 3.0 + root) if c > 3.0 else (3.0 - c + root) / (12.0 * c)
        u = newton_log_space(residual, jac, np.array([np.log(a0)]), name="eta", max_step=2.0)
        a = float(np.exp(u[0]))
        return cls(a, a / e[1])

    @property
    def shape(self) -> float:
        """The shape a."""
        return self._a

    @property
    def rate(self) -> float:
        """The rate b."""
        return self._b

    def natural(self) -> FloatArray:
        return np.array([self._a - 1.0, -self._b])

    def expectation(self) -> FloatArray:
        return np.array([digamma(self._a) - np.log(self._b), self._a / self._b])

    def log_partition(self) -> float:
        return float(gammaln(self._a) - self._a * np.log(self._b))

    def legendre_dual(self) -> float:
        a, b = self._a, self._b
        # ⟨θ, η⟩ − ψ = (a − 1)(ψ(a) − log b) − a − log Γ(a) + a log b
        return float((a - 1.0) * digamma(a) + np.log(b) - a - gammaln(a))

    def _fisher(self, coords: str) -> FloatArray:
        a, b = self._a, self._b
        if coords == "natural":
            return np.array([[polygamma(1, a), 1.0 / b], [1.0 / b, a / (b * b)]])
        d = float(a_trigamma_minus_one(a))  # b² det(I_θ), cancellation-free
        return np.array([[a / d, -b / d], [-b / d, b * b * polygamma(1, a) / d]])

    def kl(self, other: ExponentialFamily) -> float:
        """KL(self ‖ other) = D(a', a) + a (r − 1 − log r) + (a − a') log r, r = b'/b, where
        D(a', a) = log Γ(a') − log Γ(a) − (a' − a) ψ(a): the Bregman divergence of ψ regrouped
        into non-negative terms that are each computed without cancellation for close members."""
        o = self._check_other(other)
        return float(
            lgamma_bregman(o._a, self._a)
            + self._a * float(ratio_minus_one_minus_log(o._b, self._b))
            + (self._a - o._a) * log_ratio(o._b, self._b)
        )

    def sample(self, size: int, rng: Any = None) -> np.ndarray:
        size = as_int("size", size, minimum=0)
        return as_generator(rng).gamma(self._a, 1.0 / self._b, size)

    def log_prob(self, x: ArrayLike) -> FloatArray:
        x = _points(x)
        ok = x > 0
        xs = np.where(ok, x, 1.0)
        val = (self._a - 1.0) * np.log(xs) - self._b * xs - self.log_partition()
        return np.where(ok, val, -np.inf)

    def sufficient_stats(self, x: ArrayLike) -> FloatArray:
        x = _points(x)
        if np.any(x <= 0):
            raise ValueError(f"x must be > 0, got {x}")
        return np.column_stack([np.log(x), x])

    def __repr__(self) -> str:
        return f"Gamma(shape={self._a!r}, rate={self._b!r})"


# --------------------------------------------------------------------------------------------
class Beta(ClosedFormFamily):
    """Beta(a, b) on (0, 1): T = (log x, log(1 − x)), θ = (a − 1, b − 1), ψ(θ) = log B(a, b),
    η = (digamma(a) − digamma(a + b), digamma(b) − digamma(a + b)).

    :meth:`from_expectation` solves the two digamma equations by a safeguarded 2-D Newton
    iteration in (log a, log b) from an asymptotic initial guess.
    """

    def __init__(self, a: float, b: float) -> None:
        self._a = as_float("a", a, positive=True)
        self._b = as_float("b", b, positive=True)

    @classmethod
    def from_natural(cls, theta: ArrayLike) -> Beta:
        t = _vector_param("theta", theta, 2)
        if not np.all(t > -1):
            raise ValueError(f"theta must have both entries > -1, got {t}")
        return cls(t[0] + 1.0, t[1] + 1.0)

    @classmethod
    def from_expectation(cls, eta: ArrayLike) -> Beta:
        e = _vector_param("eta", eta, 2)
        gap = -np.expm1(np.logaddexp(e[0], e[1])) if np.all(e < 0) else np.nan
        if not gap > 0:
            raise ValueError(f"eta must satisfy eta < 0 and exp(eta[0]) + exp(eta[1]) < 1, got {e}")

        def residual(u: FloatArray) -> FloatArray:
            a, b = np.exp(u)
            return Beta._eta(a, b) - e

        def jac(u: FloatArray) -> FloatArray:
            a, b = np.exp(u)
            return Beta(a, b).fisher("natural") * np.array([a, b])[None, :]

        # digamma(x) ≈ log(x − ½) gives a + b − ½ = ½ / (1 − e^η₁ − e^η₂), exact for large a, b
        s = 0.5 / gap
        a0 = 0.5 + np.exp(e[0]) * s
        b0 = 0.5 + np.exp(e[1]) * s
        # small a: digamma(a) ≈ −1/a dominates η₁
        a0 = min(a0, -1.0 / e[0]) if e[0] < -2 else a0
        b0 = min(b0, -1.0 / e[1]) if e[1] < -2 else b0
        u = newton_log_space(residual, jac, np.log([a0, b0]), name="eta")
        a, b = np.exp(u)
        return cls(a, b)

    @property
    def a(self) -> float:
        """First shape parameter."""
        return self._a

    @property
    def b(self) -> float:
        """Second shape parameter."""
        return self._b

    def natural(self) -> FloatArray:
        return np.array([self._a - 1.0, self._b - 1.0])

    @staticmethod
    def _eta(a: float, b: float) -> FloatArray:
        # ψ(a) − ψ(a + b) = −[ψ(a + b) − ψ(a)], by a series when b ≪ a (the digammas cancel)
        return np.array([-polygamma_difference(0, a, b), -polygamma_difference(0, b, a)])

    def expectation(self) -> FloatArray:
        return self._eta(self._a, self._b)

    def log_partition(self) -> float:
        return float(betaln(self._a, self._b))

    def legendre_dual(self) -> float:
        return float(np.dot(self.natural(), self.expectation()) - self.log_partition())

    def _fisher(self, coords: str) -> FloatArray:
        a, b = self._a, self._b
        ts = polygamma(1, a + b)
        # ψ'(a) − ψ'(a + b) > 0 without cancellation when b ≪ a (and symmetrically)
        f = np.array(
            [
                [-polygamma_difference(1, a, b), -ts],
                [-ts, -polygamma_difference(1, b, a)],
            ]
        )
        if coords == "natural":
            return f
        det = f[0, 0] * f[1, 1] - ts * ts
        return np.array([[f[1, 1], ts], [ts, f[0, 0]]]) / det

    def kl(self, other: ExponentialFamily) -> float:
        """KL(self ‖ other) = D(a', a) + D(b', b) − D(a' + b', a + b) with
        D(x', x) = log Γ(x') − log Γ(x) − (x' − x) ψ(x) (the Bregman divergence of ψ = log B
        regrouped; each D is computed without cancellation for close members)."""
        o = self._check_other(other)
        return float(
            lgamma_bregman(o._a, self._a)
            + lgamma_bregman(o._b, self._b)
            # (a' − a) + (b' − b) is exact to rounding of δ; (a' + b') − (a + b) is not
            - lgamma_bregman(o._a + o._b, self._a + self._b, (o._a - self._a) + (o._b - self._b))
        )

    def sample(self, size: int, rng: Any = None) -> np.ndarray:
        size = as_int("size", size, minimum=0)
        return as_generator(rng).beta(self._a, self._b, size)

    def log_prob(self, x: ArrayLike) -> FloatArray:
        x = _points(x)
        ok = (x > 0) & (x < 1)
        xs = np.where(ok, x, 0.5)
        val = (self._a - 1.0) * np.log(xs) + (self._b - 1.0) * np.log1p(-xs)
        return np.where(ok, val - self.log_partition(), -np.inf)

    def sufficient_stats(self, x: ArrayLike) -> FloatArray:
        x = _points(x)
        if np.any((x <= 0) | (x >= 1)):
            raise ValueError(f"x must lie in (0, 1), got {x}")
        return np.column_stack([np.log(x), np.log1p(-x)])

    def __repr__(self) -> str:
        return f"Beta(a={self._a!r}, b={self._b!r})"


# --------------------------------------------------------------------------------------------
class DiagonalGaussian(ClosedFormFamily):
    """Gaussian with diagonal covariance on Rⁿ: T = (x_i, x_i²), θ = (μ/v, −1/(2v)),
    η = (μ, v + μ²), ψ = Σ μ²/(2v) + ½ log(2πv).

    Coordinates: "natural", "expectation", "mean_var" ((μ, v), alias "mean_cov", the Gaussian's
    (μ, Σ) restricted to the diagonal) and "mean_std" ((μ, σ), σ = √v).
    """

    coordinate_systems = ("natural", "expectation", "mean_var", "mean_cov", "mean_std")

    def __init__(self, mean: ArrayLike, var: ArrayLike) -> None:
        m = as_float_array("mean", mean, ndim=1)
        v = as_float_array("var", var, ndim=1)
        if m.size < 1 or v.shape != m.shape:
            raise ValueError(f"var must have the shape of mean {m.shape}, got {v.shape}")
        if np.any(v <= 0):
            raise ValueError(f"var must be > 0, got {v}")
        self._mean, self._var = m, v

    @classmethod
    def from_natural(cls, theta: ArrayLike) -> DiagonalGaussian:
        t = as_float_array("theta", theta, ndim=1)
        if t.size < 2 or t.size % 2:
            raise ValueError(f"theta must have an even number 2n >= 2 of entries, got {t.size}")
        n = t.size // 2
        if np.any(t[n:] >= 0):
            raise ValueError(f"theta[n:] must be < 0, got {t[n:]}")
        v = -0.5 / t[n:]
        return cls(t[:n] * v, v)

    @classmethod
    def from_expectation(cls, eta: ArrayLike) -> DiagonalGaussian:
        e = as_float_array("eta", eta, ndim=1)
        if e.size < 2 or e.size % 2:
            raise ValueError(f"eta must have an even number 2n >= 2 of entries, got {e.size}")
        n = e.size // 2
        v = e[n:] - e[:n] ** 2
        if np.any(v <= 0):
            raise ValueError(f"eta must satisfy eta[n:] > eta[:n]**2, got {e}")
        return cls(e[:n], v)

    @property
    def mean(self) -> FloatArray:
        """The mean μ (a new array)."""
        return self._mean.copy()

    @property
    def var(self) -> FloatArray:
        """The variances v (a new array)."""
        return self._var.copy()

    @property
    def n(self) -> int:
        """Dimension of the sample space."""
        return int(self._mean.size)

    def natural(self) -> FloatArray:
        return np.concatenate([self._mean / self._var, -0.5 / self._var])

    def expectation(self) -> FloatArray:
        return np.concatenate([self._mean, self._var + self._mean**2])

    def log_partition(self) -> float:
        m, v = self._mean, self._var
        return float(np.sum(0.5 * m * m / v + 0.5 * np.log(2 * np.pi * v)))

    def legendre_dual(self) -> float:
        return float(-0.5 * self.n * (np.log(2 * np.pi) + 1.0) - 0.5 * np.sum(np.log(self._var)))

    def _fisher(self, coords: str) -> FloatArray:
        m, v = self._mean, self._var
        if coords == "natural":  # Cov(T, T)
            blocks = (v, 2 * m * v, 2 * v * v + 4 * m * m * v)
        elif coords == "expectation":  # its inverse, block by block
            blocks = (1 / v + 2 * m * m / (v * v), -m / (v * v), 0.5 / (v * v))
        elif coords == "mean_std":
            blocks = (1 / v, np.zeros_like(v), 2 / v)
        else:
            blocks = (1 / v, np.zeros_like(v), 0.5 / (v * v))
        d11, d12, d22 = (np.diag(b) for b in blocks)
        return np.block([[d11, d12], [d12, d22]])

    def kl(self, other: ExponentialFamily) -> float:
        o = self._check_other(other)
        r = ratio_minus_one_minus_log(self._var, o._var)
        return float(0.5 * np.sum(r + (self._mean - o._mean) ** 2 / o._var))

    def sample(self, size: int, rng: Any = None) -> np.ndarray:
        size = as_int("size", size, minimum=0)
        z = as_generator(rng).standard_normal((size, self.n))
        return self._mean + np.sqrt(self._var) * z

    @property
    def dim(self) -> int:
        """Dimension of the sample space (the Gaussian's name for it; same as :attr:`n`)."""
        return self.n

    def _as_points(self, x: ArrayLike) -> tuple[FloatArray, bool]:
        """(N, n) points and whether ``x`` was one point of shape (n,) (n > 1), as for the
        Gaussian. With n = 1 a 1-D ``x`` is a batch of N scalars."""
        x = as_float_array("x", x)
        single = x.ndim == 1 and self.n > 1 and x.size == self.n
        if x.ndim == 1:
            x = x[None, :] if self.n > 1 or x.size == 1 else x[:, None]
        if x.ndim != 2 or x.shape[1] != self.n:
            raise ValueError(f"x must have shape ({self.n},) or (N, {self.n}), got {x.shape}")
        return x, single

    def log_prob(self, x: ArrayLike) -> FloatArray:
        """log p(x): shape (N,) for a batch (N, n), a 0-d array for one point of shape (n,)."""
        pts, single = self._as_points(x)
        r = (pts - self._mean) ** 2 / self._var
        out = -0.5 * np.sum(r + np.log(2 * np.pi * self._var), axis=1)
        return out.reshape(()) if single else out

    def sufficient_stats(self, x: ArrayLike) -> FloatArray:
        """T(x) = (x_i, x_i²): shape (N, 2n) for a batch, (2n,) for one point of shape (n,)."""
        pts, single = self._as_points(x)
        out = np.concatenate([pts, pts * pts], axis=1)
        return out[0] if single else out

    def __repr__(self) -> str:
        return f"DiagonalGaussian(mean={self._mean!r}, var={self._var!r})"
