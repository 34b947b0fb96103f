"""Discrete exponential families: Bernoulli, Binomial, Categorical, Poisson and the ±1
independence model.

Conventions (see MATH.md): p(x; θ) = h(x) exp(⟨θ, T(x)⟩ − ψ(θ)), η = E[T]. Each family keeps the
quantities it needs in the form that is accurate near the boundary (log-probabilities through
softplus/log-sum-exp, never 1 − p formed from a rounded p).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import expit, logsumexp

from .. import _binary
from .._validation import FloatArray, as_float, as_float_array, as_generator, as_int
from ..family import ExponentialFamily
from ._base import ClosedFormFamily
from ._special import (
    bernoulli_kl_terms,
    binomial_log_pmf,
    poisson_log_pmf,
    ratio_minus_one_minus_log,
    softplus,
)


def _scalar_param(name: str, value: ArrayLike) -> float:
    arr = as_float_array(name, value)
    if arr.size != 1:
        raise ValueError(f"{name} must have exactly one entry, got shape {arr.shape}")
    return float(arr.reshape(-1)[0])


def _points(x: ArrayLike) -> FloatArray:
    return as_float_array("x", x).reshape(-1)


def _count_window(mean: float, sd: float, upper: float) -> FloatArray:
    """Integers carrying all but ~e^-800 of the mass of a count distribution (mean, sd)."""
    lo = max(0.0, np.floor(mean - 40.0 * sd - 40.0))
    hi = min(upper, np.ceil(mean + 40.0 * sd + 40.0))
    return np.arange(lo, hi + 1.0)


# --------------------------------------------------------------------------------------------
class Bernoulli(ClosedFormFamily):
    """Bernoulli(p) on {0, 1}: T(x) = x, θ = log(p / (1 − p)), ψ(θ) = log(1 + e^θ), η = p.

    Parameters
    ----------
    p : float
        Success probability, strictly inside (0, 1) (the family is minimal only there).
    """

    def __init__(self, p: float) -> None:
        p = as_float("p", p)
        if not 0.0 < p < 1.0:
            raise ValueError(f"p must be in (0, 1), got {p!r}")
        # keep the caller's p exactly; 1 − p is exact for p ≥ ½ and within 1 ulp below
        self._init(np.log(p) - np.log1p(-p), np.log(p), np.log1p(-p), p, 1.0 - p)

    def _init(self, theta: float, log_p: float, log_q: float, p: float, q: float) -> None:
        self._theta = float(theta)
        self._log_p = float(log_p)
        self._log_q = float(log_q)
        self._p = float(p)
        self._q = float(q)

    @classmethod
    def _from_theta(cls, theta: float) -> Bernoulli:
        p, q = float(expit(theta)), float(expit(-theta))
        if not (p > 0.0 and q > 0.0):  # |θ| ≳ 745: p or 1 − p underflows to 0
            raise ValueError(
                f"theta = {theta!r} is not representable: P(X = 1) = {p!r} and "
                f"P(X = 0) = {q!r}, but both must be > 0 in float64 (|theta| < ~745)"
            )
        out = cls.__new__(cls)
        out._init(theta, -float(softplus(-theta)), -float(softplus(theta)), p, q)
        return out

    @classmethod
    def from_natural(cls, theta: ArrayLike) -> Bernoulli:
        return cls._from_theta(_scalar_param("theta", theta))

    @classmethod
    def from_expectation(cls, eta: ArrayLike) -> Bernoulli:
        p = _scalar_param("eta", eta)
        if not 0.0 < p < 1.0:
            raise ValueError(f"eta must be in (0, 1), got {p!r}")
        return cls(p)

    @property
    def p(self) -> float:
        """Success probability."""
        return self._p

    def natural(self) -> FloatArray:
        return np.array([self._theta])

    def expectation(self) -> FloatArray:
        return np.array([self._p])

    def log_partition(self) -> float:
        return -self._log_q

    def legendre_dual(self) -> float:
        return self._p * self._log_p + self._q * self._log_q

    def _fisher(self, coords: str) -> FloatArray:
        pq = self._p * self._q
        return np.array([[pq if coords == "natural" else 1.0 / pq]])

    def kl(self, other: ExponentialFamily) -> float:
        o = self._check_other(other)
        return float(bernoulli_kl_terms(self._p, self._q, o._p, o._q))

    def sample(self, size: int, rng: Any = None) -> np.ndarray:
        size = as_int("size", size, minimum=0)
        return (as_generator(rng).random(size) < self._p).astype(np.float64)

    def log_prob(self, x: ArrayLike) -> FloatArray:
        x = _points(x)
        out = np.where(x == 1.0, self._log_p, self._log_q)
        return np.where((x == 0.0) | (x == 1.0), out, -np.inf)

    def sufficient_stats(self, x: ArrayLike) -> FloatArray:
        x = _points(x)
        if np.any((x != 0.0) & (x != 1.0)):
            raise ValueError(f"x must contain 0 or 1, got {x}")
        return x[:, None].copy()

    def __repr__(self) -> str:
        return f"Bernoulli(p={self._p!r})"


# --------------------------------------------------------------------------------------------
_MAX_SUMMED_VARIANCE = 1e9  # the summation window then has ~2.5e6 points
_MAX_SAMPLED_COUNT = 2**63 - 1  # numpy's binomial sampler takes an int64 count
_MAX_SAMPLED_RATE = 9.2e18  # numpy's Poisson sampler refuses rates near the int64 limit


class Binomial(ClosedFormFamily):
    """Binomial(trials, p) on {0..trials}: T(x) = x, h(x) = C(trials, x), θ = logit p,
    ψ(θ) = trials·log(1 + e^θ), η = trials·p.

    ``trials`` is a fixed hyperparameter: use :meth:`with_natural` / :meth:`with_expectation`
    (or the ``trials`` keyword of the class constructors) to build members with the same trials.
    """

    def __init__(self, trials: int, p: float) -> None:
        self._trials = as_int("trials", trials, minimum=1)
        self._bern = Bernoulli(p)

    @classmethod
    def _make(cls, trials: int, bern: Bernoulli) -> Binomial:
        out = cls.__new__(cls)
        out._trials = trials
        out._bern = bern
        return out

    @classmethod
    def from_natural(cls, theta: ArrayLike, trials: int = 1) -> Binomial:
        trials = as_int("trials", trials, minimum=1)
        return cls._make(trials, Bernoulli._from_theta(_scalar_param("theta", theta)))

    @classmethod
    def from_expectation(cls, eta: ArrayLike, trials: int = 1) -> Binomial:
        trials = as_int("trials", trials, minimum=1)
        e = _scalar_param("eta", eta)
        if not 0.0 < e < trials:
            raise ValueError(f"eta must be in (0, trials={trials}), got {e!r}")
        return cls._make(trials, Bernoulli(e / trials))

    def with_natural(self, theta: ArrayLike) -> Binomial:
        return self.from_natural(theta, trials=self._trials)

    def with_expectation(self, eta: ArrayLike) -> Binomial:
        return self.from_expectation(eta, trials=self._trials)

    @property
    def trials(self) -> int:
        """Number of trials (fixed)."""
        return self._trials

    @property
    def p(self) -> float:
        """Success probability."""
        return self._bern.p

    def natural(self) -> FloatArray:
        return self._bern.natural()

    def expectation(self) -> FloatArray:
        return self._trials * self._bern.expectation()

    def log_partition(self) -> float:
        return self._trials * self._bern.log_partition()

    def legendre_dual(self) -> float:
        return self._trials * self._bern.legendre_dual()

    def neg_entropy(self) -> float:
        # E[log p(X)] = φ(η) + E[log C(trials, X)], the expectation by summation over the support
        variance = self._trials * self._bern.p * self._bern._q
        if variance > _MAX_SUMMED_VARIANCE:
            raise ValueError(
                f"neg_entropy: trials*p*(1-p) = {variance:.3g} exceeds {_MAX_SUMMED_VARIANCE:.0e}, "
                "too many support points to sum exactly"
            )
        k = _count_window(self._trials * self._bern.p, float(np.sqrt(variance)), self._trials)
        logp = self._log_pmf(k)
        return float(np.sum(np.exp(logp) * logp))

    def _fisher(self, coords: str) -> FloatArray:
        pq = self._bern.p * self._bern._q
        n = self._trials
        return np.array([[n * pq if coords == "natural" else 1.0 / (n * pq)]])

    def kl(self, other: ExponentialFamily) -> float:
        o = self._check_other(other)
        if o._trials != self._trials:
            raise ValueError(f"other must have trials={self._trials}, got {o._trials}")
        return self._trials * self._bern.kl(o._bern)

    def sample(self, size: int, rng: Any = None) -> np.ndarray:
        size = as_int("size", size, minimum=0)
        if self._trials > _MAX_SAMPLED_COUNT:
            raise ValueError(
                f"sample: trials = {self._trials} exceeds {_MAX_SAMPLED_COUNT}, the largest count "
                "numpy's binomial sampler takes"
            )
        return as_generator(rng).binomial(self._trials, self._bern.p, size).astype(np.float64)

    def _log_pmf(self, k: FloatArray) -> FloatArray:
        b = self._bern
        return binomial_log_pmf(k, self._trials, b._p, b._q, b._log_p, b._log_q)

    def log_prob(self, x: ArrayLike) -> FloatArray:
        x = _points(x)
        ok = (x >= 0) & (x <= self._trials) & (x == np.round(x))
        return np.where(ok, self._log_pmf(np.where(ok, x, 0.0)), -np.inf)

    def sufficient_stats(self, x: ArrayLike) -> FloatArray:
        x = _points(x)
        if np.any((x < 0) | (x > self._trials) | (x != np.round(x))):
            raise ValueError(f"x must contain integers 0..{self._trials}, got {x}")
        return x[:, None].copy()

    def __repr__(self) -> str:
        return f"Binomial(trials={self._trials}, p={self._bern.p!r})"


# --------------------------------------------------------------------------------------------
class Categorical(ClosedFormFamily):
    """Categorical(probs) on {0, ..., K−1} with the minimal statistic T(x) = (1[x = k])_{k<K−1}:
    θ_k = log(p_k / p_{K−1}), ψ(θ) = log(1 + Σ e^θ_k), η_k = p_k (K − 1 coordinates).

    Parameters
    ----------
    probs : (K,) array_like
        Strictly positive probabilities summing to 1 (to 1e-10; they are renormalised), K ≥ 2.
    """

    def __init__(self, probs: ArrayLike) -> None:
        p = as_float_array("probs", probs, ndim=1)
        if p.size < 2:
            raise ValueError(f"probs must have at least 2 entries, got {p.size}")
        if np.any(p <= 0):
            raise ValueError(f"probs must be strictly positive, got {p}")
        total = float(np.sum(p))
        if abs(total - 1.0) > 1e-10:
            raise ValueError(f"probs must sum to 1, got sum {total!r}")
        self._init(np.log(p) - np.log(total))

    def _init(self, log_p: FloatArray) -> None:
        self._log_p = log_p
        self._p = np.exp(log_p)

    @classmethod
    def _from_log_p(cls, log_p: FloatArray) -> Categorical:
        out = cls.__new__(cls)
        out._init(log_p)
        return out

    @classmethod
    def from_natural(cls, theta: ArrayLike) -> Categorical:
        t = as_float_array("theta", theta, ndim=1)
        if t.size < 1:
            raise ValueError("theta must have at least 1 entry")
        full = np.append(t, 0.0)
        return cls._from_log_p(full - logsumexp(full))

    @classmethod
    def from_expectation(cls, eta: ArrayLike) -> Categorical:
        e = as_float_array("eta", eta, ndim=1)
        last = 1.0 - float(np.sum(e))
        if e.size < 1 or np.any(e <= 0) or not last > 0:
            raise ValueError(f"eta must be positive with sum < 1, got {e}")
        return cls._from_log_p(np.log(np.append(e, last)))

    @property
    def probs(self) -> FloatArray:
        """All K probabilities (a new array)."""
        return self._p.copy()

    def natural(self) -> FloatArray:
        return self._log_p[:-1] - self._log_p[-1]

    def expectation(self) -> FloatArray:
        return self._p[:-1].copy()

    def log_partition(self) -> float:
        return float(-self._log_p[-1])

    def legendre_dual(self) -> float:
        return float(np.dot(self._p, self._log_p))

    def _fisher(self, coords: str) -> FloatArray:
        p = self._p[:-1]
        if coords == "natural":
            return np.diag(p) - np.outer(p, p)
        return np.diag(1.0 / p) + 1.0 / self._p[-1]

    def kl(self, other: ExponentialFamily) -> float:
        o = self._check_other(other)
        if o._p.size != self._p.size:
            raise ValueError(f"other must have {self._p.size} categories, got {o._p.size}")
        # Σ p_k φ(p'_k/p_k), φ(r) = r − 1 − log r ≥ 0: the first-order terms Σ (p'_k − p_k) = 0
        # drop out, so close members do not cancel
        return float(np.dot(self._p, ratio_minus_one_minus_log(o._p, self._p)))

    def sample(self, size: int, rng: Any = None) -> np.ndarray:
        size = as_int("size", size, minimum=0)
        return as_generator(rng).choice(self._p.size, size=size, p=self._p).astype(np.float64)

    def log_prob(self, x: ArrayLike) -> FloatArray:
        x = _points(x)
        ok = (x >= 0) & (x < self._p.size) & (x == np.round(x))
        return np.where(ok, self._log_p[np.where(ok, x, 0).astype(np.intp)], -np.inf)

    def sufficient_stats(self, x: ArrayLike) -> FloatArray:
        x = _points(x)
        if np.any((x < 0) | (x >= self._p.size) | (x != np.round(x))):
            raise ValueError(f"x must contain categories 0..{self._p.size - 1}, got {x}")
        return (x[:, None] == np.arange(self._p.size - 1)[None, :]).astype(np.float64)

    def __repr__(self) -> str:
        return f"Categorical(probs={self._p!r})"


# --------------------------------------------------------------------------------------------
_POISSON_ASYMPTOTIC_RATE = 1e4  # the series below is exact to ~1e-17 from here on


class Poisson(ClosedFormFamily):
    """Poisson(rate) on {0, 1, ...}: T(x) = x, h(x) = 1/x!, θ = log rate, ψ(θ) = e^θ, η = rate.

    The base measure is not 1, so ``neg_entropy`` (E[log p]) differs from φ(η) = η log η − η.
    """

    def __init__(self, rate: float) -> None:
        r = as_float("rate", rate, positive=True)
        self._init(np.log(r), r)

    def _init(self, theta: float, rate: float) -> None:
        if not (np.isfinite(rate) and rate > 0):
            raise ValueError(f"theta gives a rate outside (0, inf): theta = {theta!r}")
        self._theta = float(theta)
        self._rate = float(rate)

    @classmethod
    def from_natural(cls, theta: ArrayLike) -> Poisson:
        t = _scalar_param("theta", theta)
        if t > 709.0:
            raise ValueError(f"theta must be <= 709 (the rate e^theta overflows), got {t!r}")
        out = cls.__new__(cls)
        out._init(t, float(np.exp(t)))
        return out

    @classmethod
    def from_expectation(cls, eta: ArrayLike) -> Poisson:
        e = _scalar_param("eta", eta)
        if not e > 0:
            raise ValueError(f"eta must be > 0, got {e!r}")
        return cls(e)

    @property
    def rate(self) -> float:
        """The mean rate."""
        return self._rate

    def natural(self) -> FloatArray:
        return np.array([self._theta])

    def expectation(self) -> FloatArray:
        return np.array([self._rate])

    def log_partition(self) -> float:
        return self._rate

    def legendre_dual(self) -> float:
        return self._rate * (self._theta - 1.0)

    def neg_entropy(self) -> float:
        lam = self._rate
        if lam >= _POISSON_ASYMPTOTIC_RATE:
            # H = ½ log(2πeλ) − 1/(12λ) − 1/(24λ²) − 19/(360λ³) + O(λ⁻⁴), the O term ≈ 0.12/λ⁴
            inv = 1.0 / lam
            h = 0.5 * np.log(2 * np.pi * np.e * lam) - inv * (
                1.0 / 12 + inv * (1.0 / 24 + inv * 19.0 / 360)
            )
            return float(-h)
        k = _count_window(lam, float(np.sqrt(lam)), np.inf)
        logp = self._log_pmf(k)
        return float(np.sum(np.exp(logp) * logp))

    def _fisher(self, coords: str) -> FloatArray:
        return np.array([[self._rate if coords == "natural" else 1.0 / self._rate]])

    def kl(self, other: ExponentialFamily) -> float:
        o = self._check_other(other)
        # λ log(λ/λ') − λ + λ' = λ (r − 1 − log r),  r = λ'/λ
        return float(self._rate * ratio_minus_one_minus_log(o._rate, self._rate))

    def sample(self, size: int, rng: Any = None) -> np.ndarray:
        size = as_int("size", size, minimum=0)
        if self._rate > _MAX_SAMPLED_RATE:
            raise ValueError(
                f"sample: rate = {self._rate!r} exceeds {_MAX_SAMPLED_RATE:g}, the largest rate "
                "numpy's Poisson sampler takes (draws must fit in int64)"
            )
        return as_generator(rng).poisson(self._rate, size).astype(np.float64)

    def _log_pmf(self, k: FloatArray) -> FloatArray:
        return poisson_log_pmf(k, self._rate)

    def log_prob(self, x: ArrayLike) -> FloatArray:
        x = _points(x)
        ok = (x >= 0) & (x == np.round(x))
        return np.where(ok, self._log_pmf(np.where(ok, x, 0.0)), -np.inf)

    def sufficient_stats(self, x: ArrayLike) -> FloatArray:
        x = _points(x)
        if np.any((x < 0) | (x != np.round(x))):
            raise ValueError(f"x must contain non-negative integers, got {x}")
        return x[:, None].copy()

    def __repr__(self) -> str:
        return f"Poisson(rate={self._rate!r})"


# --------------------------------------------------------------------------------------------
class BinaryIndependence(ClosedFormFamily):
    """Independence model on {−1, +1}ⁿ (seed 003): p(x; θ) = Π exp(θ_i x_i) / (e^θ_i + e^−θ_i).

    T(x) = x, η_i = E[X_i] = tanh θ_i. The marginal probabilities μ_i = P(X_i = +1) = (1 + η_i)/2
    (seed 003's μ) are *not* the expectation parameter (SEED_ERRATA #16): they are given by
    :meth:`marginals`, and ``fisher("marginal")`` is the Fisher matrix in those coordinates.
    """

    coordinate_systems = ("natural", "expectation", "marginal")

    def __init__(self, theta: ArrayLike) -> None:
        t = as_float_array("theta", theta, ndim=1)
        if t.size < 1:
            raise ValueError("theta must have at least 1 entry")
        self._theta = t
        # log P(X_i = +1) = −softplus(−2θ), log P(X_i = −1) = −softplus(2θ), both exact in the tails
        self._log_p = -softplus(-2.0 * t)
        self._log_q = -softplus(2.0 * t)
        self._p = np.exp(self._log_p)
        self._q = np.exp(self._log_q)

    @classmethod
    def from_natural(cls, theta: ArrayLike) -> BinaryIndependence:
        return cls(theta)

    @classmethod
    def from_expectation(cls, eta: ArrayLike) -> BinaryIndependence:
        e = as_float_array("eta", eta, ndim=1)
        if np.any(np.abs(e) >= 1):
            raise ValueError(f"eta must lie in (-1, 1), got {e}")
        return cls(np.arctanh(e))

    @classmethod
    def from_marginals(cls, mu: ArrayLike) -> BinaryIndependence:
        """The member with P(X_i = +1) = mu_i, each in (0, 1)."""
        m = as_float_array("mu", mu, ndim=1)
        if np.any((m <= 0) | (m >= 1)):
            raise ValueError(f"mu must lie in (0, 1), got {m}")
        return cls(0.5 * (np.log(m) - np.log1p(-m)))

    @property
    def n(self) -> int:
        """Number of binary variables."""
        return int(self._theta.size)

    def marginals(self) -> FloatArray:
        """μ_i = P(X_i = +1) = e^θ_i / (e^θ_i + e^−θ_i) (a new array)."""
        return self._p.copy()

    def natural(self) -> FloatArray:
        return self._theta.copy()

    def expectation(self) -> FloatArray:
        return np.tanh(self._theta)

    def log_partition(self) -> float:
        return float(np.sum(np.logaddexp(self._theta, -self._theta)))

    def legendre_dual(self) -> float:
        return float(np.sum(self._p * self._log_p + self._q * self._log_q))

    def _fisher(self, coords: str) -> FloatArray:
        i_theta = _binary.fisher_natural(self._theta)  # 1 − tanh²θ = 4pq, accurate in the tails
        if coords == "natural":
            return np.diag(i_theta)
        with np.errstate(divide="ignore", over="ignore"):  # inf is refused by fisher()
            if coords == "expectation":
                return np.diag(1.0 / i_theta)
            return np.diag(4.0 / i_theta)  # μ = (1 + η)/2: I_μ = 4 I_η

    def kl(self, other: ExponentialFamily) -> float:
        o = self._check_other(other)
        if o.n != self.n:
            raise ValueError(f"other must have n={self.n}, got {o.n}")
        return float(np.sum(bernoulli_kl_terms(self._p, self._q, o._p, o._q)))

    def sample(self, size: int, rng: Any = None) -> np.ndarray:
        size = as_int("size", size, minimum=0)
        u = as_generator(rng).random((size, self.n))
        return np.where(u < self._p, 1.0, -1.0)

    @property
    def dim(self) -> int:
        """Number of binary variables (the Gaussian's name for it; same as :attr:`n`)."""
        return self.n

    def _as_points(self, x: ArrayLike) -> tuple[FloatArray, bool]:
        """(N, n) points and whether ``x`` was one point of shape (n,), as for the Gaussian."""
        x = as_float_array("x", x)
        single = x.ndim == 1
        if single:
            x = x[None, :]
        if x.ndim != 2 or x.shape[1] != self.n:
            raise ValueError(f"x must have shape ({self.n},) or (N, {self.n}), got {x.shape}")
        return x, single

    def log_prob(self, x: ArrayLike) -> FloatArray:
        """log p(x): shape (N,) for a batch (N, n), a 0-d array for one point of shape (n,)."""
        pts, single = self._as_points(x)
        ok = np.all((pts == 1.0) | (pts == -1.0), axis=1)
        out = np.where(ok, pts @ self._theta - self.log_partition(), -np.inf)
        return out.reshape(()) if single else out

    def sufficient_stats(self, x: ArrayLike) -> FloatArray:
        """T(x) = x: shape (N, n) for a batch, (n,) for one point of shape (n,)."""
        pts, single = self._as_points(x)
        if np.any((pts != 1.0) & (pts != -1.0)):
            raise ValueError(f"x must contain -1 or +1, got {x!r}")
        return pts[0].copy() if single else pts.copy()

    def __repr__(self) -> str:
        return f"BinaryIndependence(theta={self._theta!r})"
