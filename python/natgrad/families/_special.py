"""Numerically careful scalar helpers shared by the families (cancellation-free forms)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import digamma, gammaln, polygamma

from .._validation import FloatArray

_ASYMPTOTIC_SHAPE = 50.0  # above this the Stirling-type series below are exact to rounding
_TINY_SHAPE = 1e-8  # below this the small-argument series are (the O(a²) terms are < 1e-16)


def softplus(x: ArrayLike) -> FloatArray:
    """log(1 + e^x) without overflow or loss for very negative x."""
    return np.asarray(np.logaddexp(0.0, x), dtype=np.float64)


def ratio_minus_one_minus_log(
    num: ArrayLike, den: ArrayLike, diff: ArrayLike | None = None
) -> FloatArray:
    """r − 1 − log r ≥ 0 for r = num/den > 0, by its Taylor series in d = r − 1 where the terms
    cancel (|d| < 0.01) and with log r itself (not log1p(r − 1), which loses tiny r) elsewhere.

    d is formed as (num − den)/den, not num/den − 1: for close arguments num − den is exact, while
    rounding r first would cost ~1e-16/|d| relative (1e-10 at d = 1e-6) in the result ~d²/2.
    ``diff`` = num − den when the caller has it more accurately (e.g. −(q' − q) for p' − p).
    """
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    delta = num - den if diff is None else np.asarray(diff, dtype=np.float64)
    d = np.asarray(delta / den, dtype=np.float64)
    out = np.empty_like(d)
    small = np.abs(d) < 0.01
    ds = d[small]
    # d²/2 − d³/3 + ... − d¹¹/11: the first omitted term is below 1e-20 relative
    series = np.zeros_like(ds)
    for k in range(11, 1, -1):
        series = ds * (((-1.0) ** k) / k + series)
    out[small] = ds * series
    r = np.broadcast_to(num / den, d.shape)[~small]
    out[~small] = (r - 1.0) - np.log(r)
    return out


def log_ratio(num: float, den: float) -> float:
    """log(num/den), through log1p((num − den)/den) when the two are within 1% (no rounding of
    the ratio first)."""
    d = (num - den) / den
    return float(np.log1p(d)) if abs(d) < 0.01 else float(np.log(num / den))


def log_minus_digamma(a: ArrayLike) -> FloatArray:
    """log a − ψ(a) > 0, with its asymptotic series for a ≥ 50 (the direct difference cancels)."""
    a = np.asarray(a, dtype=np.float64)
    out = np.empty_like(a)
    big = a >= _ASYMPTOTIC_SHAPE
    tiny = a < _TINY_SHAPE
    mid = ~(big | tiny)
    ab = a[big]
    r = 1.0 / (ab * ab)
    # 1/(2a) + Σ B_2k / (2k a^2k), Bernoulli numbers B_2..B_10
    out[big] = 0.5 / ab + r * (
        1.0 / 12 + r * (-1.0 / 120 + r * (1.0 / 252 + r * (-1.0 / 240 + r * (1.0 / 132))))
    )
    at = a[tiny]
    # ψ(a) = −1/a − γ + (π²/6) a + O(a²)
    out[tiny] = np.log(at) + 1.0 / at + np.euler_gamma - (np.pi**2 / 6) * at
    out[mid] = np.log(a[mid]) - digamma(a[mid])
    return out


def a_trigamma_minus_one(a: ArrayLike) -> FloatArray:
    """a ψ'(a) − 1 > 0, with its asymptotic series for a ≥ 50 (the direct form cancels)."""
    a = np.asarray(a, dtype=np.float64)
    out = np.empty_like(a)
    big = a >= _ASYMPTOTIC_SHAPE
    tiny = a < _TINY_SHAPE
    mid = ~(big | tiny)
    ab = a[big]
    r = 1.0 / (ab * ab)
    # ψ'(a) = 1/a + 1/(2a²) + Σ B_2k / a^(2k+1)
    out[big] = 0.5 / ab + r * (
        1.0 / 6 + r * (-1.0 / 30 + r * (1.0 / 42 + r * (-1.0 / 30 + r * (5.0 / 66))))
    )
    at = a[tiny]
    # ψ'(a) = 1/a² + π²/6 + O(a): a ψ'(a) overflows below ~1e-154 if formed directly
    out[tiny] = 1.0 / at - 1.0 + (np.pi**2 / 6) * at
    out[mid] = a[mid] * polygamma(1, a[mid]) - 1.0
    return out


def newton_log_space(
    residual: Callable[[FloatArray], FloatArray],
    jacobian_log: Callable[[FloatArray], FloatArray],
    u0: FloatArray,
    *,
    name: str,
    max_step: float = 1.0,
    max_iter: int = 200,
) -> FloatArray:
    """Safeguarded Newton solve of residual(exp(u)) = 0 in log-parameters u.

    Steps are capped at ``max_step`` in every log-coordinate (a factor e per iteration) and halved
    while they do not decrease the residual norm; near the root (step < 1e-6) the full Newton step
    is taken, so the iteration ends in its quadratic phase. Stops when the step is below
    4e-16 relative in every coordinate.
    """
    u = np.array(u0, dtype=np.float64)
    r = residual(u)
    for _ in range(max_iter):
        step = np.linalg.solve(jacobian_log(u), -r)
        if not np.all(np.isfinite(step)):
            break
        big = np.max(np.abs(step))
        if big > max_step:
            step *= max_step / big
        if big < 1e-6:
            u = u + step
            r = residual(u)
            if big <= 4e-16 * max(1.0, float(np.max(np.abs(u)))):
                return u
            continue
        norm = float(np.linalg.norm(r))
        t = 1.0
        while True:
            trial = u + t * step
            r_trial = residual(trial)
            if np.all(np.isfinite(r_trial)) and np.linalg.norm(r_trial) < norm:
                break
            t *= 0.5
            if t < 1e-12:
                raise ValueError(f"{name}: Newton solve for the parameters failed to progress")
        u, r = trial, r_trial
    if np.all(np.isfinite(u)) and np.linalg.norm(r) <= 1e-10 * (1 + np.linalg.norm(u)):
        return u
    raise ValueError(f"{name}: Newton solve for the parameters did not converge")


def _stirling_error(k: FloatArray) -> FloatArray:
    """log k! − [(k + ½) log k − k + ½ log 2π] for integers k ≥ 1 (series for k ≥ 15)."""
    out = np.empty_like(k)
    big = k >= 15
    kb = k[big]
    r = 1.0 / (kb * kb)
    out[big] = (1.0 / 12 - r * (1.0 / 360 - r * (1.0 / 1260 - r * (1.0 / 1680 - r / 1188)))) / kb
    ks = k[~big]
    out[~big] = gammaln(ks + 1.0) - (ks + 0.5) * np.log(ks) + ks - 0.5 * np.log(2 * np.pi)
    return out


def _deviance(k: FloatArray, rate: float) -> FloatArray:
    """k log(k/λ) + λ − k = λ[(1 + d) log(1 + d) − d], d = k/λ − 1, without cancellation."""
    d = (k - rate) / rate
    out = np.empty_like(d)
    small = np.abs(d) < 0.1
    ds = d[small]
    # Σ_{j≥2} (−d)^j / (j(j−1)); 20 terms leave < 1e-20 relative for |d| < 0.1
    series = np.zeros_like(ds)
    for j in range(21, 1, -1):
        series = ((-1.0) ** j) / (j * (j - 1)) + ds * series
    out[small] = rate * ds * ds * series
    dl = d[~small]
    out[~small] = rate * ((1.0 + dl) * np.log1p(dl) - dl)
    return out


def poisson_log_pmf(k: FloatArray, rate: float) -> FloatArray:
    """log(λ^k e^−λ / k!) for integers k ≥ 0, by Loader's saddle-point split (no cancellation
    between k log λ, λ and log k!, which are each ~λ while the result is ~log λ)."""
    k = np.asarray(k, dtype=np.float64)
    out = np.full_like(k, -rate)
    pos = k > 0
    kp = k[pos]
    out[pos] = -0.5 * np.log(2 * np.pi * kp) - _stirling_error(kp) - _deviance(kp, rate)
    return out


def binomial_log_pmf(
    k: FloatArray, trials: int, p: float, q: float, log_p: float, log_q: float
) -> FloatArray:
    """log(C(N, k) p^k q^(N−k)) for integers 0 ≤ k ≤ N, by Loader's saddle-point split (the
    log-binomial coefficient and the two powers are each ~N while the result is ~log N)."""
    k = np.asarray(k, dtype=np.float64)
    n = float(trials)
    out = np.empty_like(k)
    lo, hi = k == 0, k == n
    out[lo] = n * log_q
    out[hi] = n * log_p
    mid = ~(lo | hi)
    km = k[mid]
    nk = n - km
    stirl = _stirling_error(np.array([n]))[0] - _stirling_error(km) - _stirling_error(nk)
    dev = _deviance(km, n * p) + _deviance(nk, n * q)
    out[mid] = stirl - dev + 0.5 * np.log(n / (2 * np.pi * km * nk))
    return out


def polygamma_difference(order: int, x: float, delta: float) -> float:
    """ψ⁽ᵐ⁾(x + δ) − ψ⁽ᵐ⁾(x) for x, δ > 0 (m = ``order``).

    When δ ≤ 0.01·x the two values agree to many digits and their difference cancels; there the
    Taylor series Σ_{k≥1} δᵏ/k! ψ⁽ᵐ⁺ᵏ⁾(x) is used (terms shrink like (δ/x)ᵏ; 10 terms leave
    < 1e-18 relative).
    """
    if delta > 0.01 * x:
        return float(polygamma(order, x + delta) - polygamma(order, x))
    total, coeff = 0.0, 1.0
    for k in range(1, 11):
        coeff *= delta / k
        total += coeff * float(polygamma(order + k, x))
    return total


def lgamma_bregman(x_new: float, x: float, delta: float | None = None) -> float:
    """log Γ(x') − log Γ(x) − (x' − x) ψ(x) ≥ 0 for x, x' > 0: the Bregman divergence of log Γ.

    ``delta`` = x' − x when the caller has it more accurately than the rounded difference (e.g.
    for x = a + b, δ = (a' − a) + (b' − b)).

    For |δ| = |x' − x| ≤ 0.01·x the three terms cancel to O(δ²); there the Taylor series
    Σ_{k≥2} δᵏ/k! ψ⁽ᵏ⁻¹⁾(x) is summed (terms shrink like x (δ/x)ᵏ / k; 10 terms leave < 1e-20
    relative).
    """
    if delta is None:
        delta = x_new - x
    if abs(delta) > 0.01 * x:
        return float(gammaln(x_new) - gammaln(x) - delta * digamma(x))
    total, coeff = 0.0, delta
    for k in range(2, 12):
        coeff *= delta / k
        total += coeff * float(polygamma(k - 1, x))
    return total


def bernoulli_kl_terms(p: ArrayLike, q: ArrayLike, p2: ArrayLike, q2: ArrayLike) -> FloatArray:
    """KL(Bern(p) ‖ Bern(p')) elementwise, with q = 1 − p, q' = 1 − p' given accurately.

    Written as p φ(p'/p) + q φ(q'/q), φ(r) = r − 1 − log r ≥ 0 (the first-order terms
    (p' − p) + (q' − q) = 0 drop out exactly): no cancellation between p log(p/p') and
    q log(q/q'), which are each O(|p' − p|) while their sum is O(|p' − p|²). The difference
    p' − p is taken from whichever of (p, q) is smaller, where it is exact.
    """
    p, q, p2, q2 = (np.asarray(v, dtype=np.float64) for v in (p, q, p2, q2))
    diff = np.where(p <= q, p2 - p, q - q2)  # p' − p
    return np.asarray(
        p * ratio_minus_one_minus_log(p2, p, diff) + q * ratio_minus_one_minus_log(q2, q, -diff)
    )
