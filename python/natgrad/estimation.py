"""Monte Carlo estimation for stochastic relaxation (seed 003, "Stochastic NGD").

For a search distribution p_θ in an exponential family with statistics T and F(θ) = E_θ[f],

* the gradient in the natural parameters is ∇_θ F = Cov_θ(f, T);
* the natural gradient in θ is ∇̃_θ F = I_θ⁻¹ ∇_θ F = ∇_η F = I_η(η(θ)) Cov(f, T) (errata #17);
* the natural gradient in η is ∇̃_η F = ∇_θ F = Cov(f, T);

and the three natural gradients (and the one in (μ, Σ) coordinates) are the same tangent vector
written in different charts. Every function below estimates these from one batch ``X`` (N, n) of
samples and their ``values`` (N,). Covariances centre the values on their sample mean and divide
by N − 1, so ``cov_f_stats`` is unbiased, and so are the exact-Fisher natural gradients (linear
in it). The Gaussian layout of a packed vector of length m = n + n(n+1)/2 is MATH.md's:
``[vector part (n) | diagonal (n) | pairs (i, j), i < j, row-major]`` with
T(x) = (x_i, x_i², 2 x_i x_j).

Costs: ``cov_f_stats`` and the exact-Fisher natural gradients are GEMM-shaped, O(N n²) (plus
O(n³) for Σ⁻¹ in θ), and never form the N × m statistics matrix. ``empirical_fisher`` and the
empirical-Fisher natural gradient do form it: O(N m²) = O(N n⁴) work, for small n only.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from . import _binary, _core
from ._validation import (
    FloatArray,
    as_damping,
    as_float_array,
    check_coords,
    not_representable,
    symmetric,
    warn_if_inaccurate,
)
from .gaussian import certified_condition

__all__ = [
    "binary_cov_f_x",
    "binary_fisher",
    "binary_natural_gradient",
    "cov_f_stats",
    "empirical_fisher",
    "estimate_natural_gradient",
    "tangent_mean_cov_to_theta",
    "tangent_theta_to_mean_cov",
]


_COORDS = ("natural", "expectation", "mean_cov")


def _batch(X: ArrayLike, values: ArrayLike) -> tuple[FloatArray, FloatArray]:
    x = as_float_array("X", X, ndim=2)
    if x.shape[0] < 2:
        raise ValueError(f"X must hold at least 2 samples (rows), got shape {x.shape}")
    if x.shape[1] < 1:
        raise ValueError(f"X must have at least one column, got shape {x.shape}")
    v = as_float_array("values", values, shape=(x.shape[0],))
    return x, v


def _finite(what: str, out: object) -> FloatArray:
    arr = np.asarray(out)
    if not np.all(np.isfinite(arr)):
        raise not_representable(what, "rescale the samples, the values or the parameters")
    return arr


def _mean_cov(
    mean: ArrayLike, cov: ArrayLike | None, n: int
) -> tuple[FloatArray, FloatArray, float]:
    """(mean, cov, estimated cond(cov)), cov validated exactly as :class:`natgrad.Gaussian` does
    (symmetric to 1e-10, Cholesky succeeds, estimated condition below 1/(n·ε))."""
    mu = as_float_array("mean", mean, shape=(n,))
    if cov is None:
        raise ValueError("cov must be given (an (n, n) covariance matrix), got None")
    c = symmetric("cov", as_float_array("cov", cov, shape=(n, n)))
    return mu, c, certified_condition("cov", c)


def cov_f_stats(X: ArrayLike, values: ArrayLike) -> FloatArray:
    """Estimate ∇_θ E[f] = Cov(f, T) for the Gaussian family from one batch.

    Parameters
    ----------
    X : (N, n) array_like
        Samples, one per row, N ≥ 2.
    values : (N,) array_like
        f at each sample.

    Returns
    -------
    (m,) ndarray
        ``[Cov(f, x_i) | Cov(f, x_i²) | Cov(f, 2 x_i x_j) for i < j]``, divisor N − 1 (unbiased).

    Notes
    -----
    Computed as one weighted GEMM (Y − c)ᵀ diag(f − f̄)(Y − c) on the data centred at its sample
    mean c, O(N n²); the N × m statistics matrix is never formed.
    """
    x, v = _batch(X, values)
    return _finite("cov_f_stats", _core.cov_f_stats(x, v))


def empirical_fisher(X: ArrayLike) -> FloatArray:
    """Empirical Fisher Ĉov(T, T) of the Gaussian statistics (m × m, divisor N − 1).

    Forms the centred N × m statistics matrix: O(N m²) = O(N n⁴) work and O(N m) memory, so it is
    meant for small n (the exact Fisher of a Gaussian is cheaper: use the Gaussian class).
    """
    x = as_float_array("X", X, ndim=2)
    if x.shape[0] < 2 or x.shape[1] < 1:
        raise ValueError(f"X must have at least 2 rows and 1 column, got shape {x.shape}")
    return _finite("empirical_fisher", _core.empirical_fisher(x))


def estimate_natural_gradient(
    X: ArrayLike,
    values: ArrayLike,
    *,
    coords: Literal["natural", "expectation", "mean_cov"] = "natural",
    fisher: Literal["exact", "empirical"] = "exact",
    mean: ArrayLike | None = None,
    cov: ArrayLike | None = None,
    damping: float = 0.0,
) -> FloatArray:
    """Estimate the natural gradient of F = E[f] under a Gaussian from one batch.

    Parameters
    ----------
    X : (N, n) array_like
        Samples from N(mean, cov), one per row.
    values : (N,) array_like
        f at each sample.
    coords : {"natural", "expectation", "mean_cov"}
        Chart of the result (all packed, length m), named as in :class:`natgrad.Gaussian`:

        * ``"natural"`` (θ): ∇̃_θ F = ∇_η F (a direction in θ; off-diagonal entries are dΘ_ij).
        * ``"expectation"`` (η): ∇̃_η F = ∇_θ F = Cov(f, T) (same with either ``fisher``).
        * ``"mean_cov"``: the tangent vector in ξ = (μ, Σ): (dμ, dΣ_ii, dΣ_ij). With the exact
          Fisher it is (Ĉov(f, x), Ĉov(f, (x − μ)(x − μ)ᵀ)), the IGO / NES form.
    fisher : {"exact", "empirical"}
        ``"exact"``: the true Fisher at (mean, cov), applied as I_η Ĉov(f, T) through the
        (μ, Σ) chart without any m × m matrix; unbiased, O(N n² + n³); needs ``mean`` (and
        ``cov`` unless ``coords="mean_cov"``). ``"empirical"``: the shared-sample estimator
        (Ĉov(T, T) + damping·I)⁻¹ Ĉov(f, T) in θ (pushed to (μ, Σ) with ``mean``/``cov`` when
        asked); biased but exact to rounding for f in span(T) when N > m; O(N m²), small n only.
    mean, cov : array_like, optional
        Parameters of the sampling distribution (see ``fisher``).
    damping : float, default 0
        Tikhonov damping of the empirical Fisher (in θ coordinates); must be > 0 when N ≤ m.

    Returns
    -------
    (m,) ndarray

    Raises
    ------
    ValueError
        On bad shapes, NaN/Inf, unknown options, a non-symmetric or not numerically positive
        definite ``cov`` (the criterion of :class:`natgrad.Gaussian`), a singular empirical
        Fisher without damping, or a result (or empirical Fisher) that overflows float64.

    Warns
    -----
    AccuracyWarning
        With the exact Fisher in ``"natural"`` coordinates when cond(cov)·ε > 1e-6 (Σ⁻¹ is
        formed).

    Notes
    -----
    The empirical Fisher is formed from T(x) as given: when the batch is far from the origin
    compared with its spread (σ ≪ |μ|), x_i² and x_i are nearly collinear and the solve loses
    2–3 digits per decade of |μ|/σ (measured for f in span(T), n = 3: relative error 2e-10 at
    |μ|/σ = 100, 3e-4 at 1e4). Standardising first (z = L⁻¹(x − μ)) and pushing the result
    back, as :class:`natgrad.optim.SNGD` does, gives the same tangent vector (undamped) without
    that loss. With the exact Fisher in θ, forming Σ⁻¹ costs about cond(Σ)·ε relative.
    """
    x, v = _batch(X, values)
    n = x.shape[1]
    coords = check_coords(coords, _COORDS)  # type: ignore[assignment]
    if fisher not in ("exact", "empirical"):
        raise ValueError(f"fisher must be 'exact' or 'empirical', got {fisher!r}")
    d = as_damping(damping)
    what = "estimate_natural_gradient"
    if coords == "expectation":
        return cov_f_stats(x, v)
    if fisher == "empirical":
        try:
            g = _finite(what, _core.natural_gradient_theta_empirical(x, v, d))
        except ValueError as exc:  # the core's check of the Fisher it formed from T(X)
            if "NaN or Inf" not in str(exc):
                raise
            raise not_representable(
                f"{what}: the empirical Fisher Cov(T, T)", "rescale the samples"
            ) from exc
        if coords == "natural":
            return g
        if mean is None:
            raise ValueError("mean must be given for coords='mean_cov', got None")
        mu, c, _ = _mean_cov(mean, cov, n)
        return _finite(what, _core.tangent_theta_to_mean_cov(mu, c, g))
    if mean is None:
        raise ValueError("mean must be given for fisher='exact', got None")
    if coords == "mean_cov":
        mu = as_float_array("mean", mean, shape=(n,))
        return _finite(what, _core.natural_gradient_mean_cov(x, v, mu))
    mu, c, kappa = _mean_cov(mean, cov, n)
    warn_if_inaccurate(f"{what}: Σ⁻¹", kappa)
    return _finite(what, _core.natural_gradient_theta_exact(x, v, mu, c))


def tangent_mean_cov_to_theta(mean: ArrayLike, cov: ArrayLike, dxi: ArrayLike) -> FloatArray:
    """Push a (μ, Σ) tangent vector (packed, scale 1) to θ = (Σ⁻¹μ, −½Σ⁻¹) at (mean, cov).

    dΘ = ½ P dΣ P and dt = P(dμ − dΣ P μ) with P = Σ⁻¹; O(n³).
    """
    mu = as_float_array("mean", mean, ndim=1)
    mu, c, kappa = _mean_cov(mu, cov, mu.size)
    dx = as_float_array("dxi", dxi, shape=(mu.size + mu.size * (mu.size + 1) // 2,))
    warn_if_inaccurate("tangent_mean_cov_to_theta: Σ⁻¹", kappa)
    return _finite("tangent_mean_cov_to_theta", _core.tangent_mean_cov_to_theta(mu, c, dx))


def tangent_theta_to_mean_cov(mean: ArrayLike, cov: ArrayLike, dtheta: ArrayLike) -> FloatArray:
    """Inverse of :func:`tangent_mean_cov_to_theta`: dΣ = 2ΣdΘΣ, dμ = Σ(dt + 2 dΘ μ)."""
    mu = as_float_array("mean", mean, ndim=1)
    mu, c, _ = _mean_cov(mu, cov, mu.size)
    dt = as_float_array("dtheta", dtheta, shape=(mu.size + mu.size * (mu.size + 1) // 2,))
    return _finite("tangent_theta_to_mean_cov", _core.tangent_theta_to_mean_cov(mu, c, dt))


def _binary_batch(X: ArrayLike, values: ArrayLike) -> tuple[FloatArray, FloatArray]:
    x, v = _batch(X, values)
    if not np.all(np.abs(x) == 1.0):
        raise ValueError("X must contain only -1 and +1 (the binary model's sample space)")
    return x, v


def binary_cov_f_x(X: ArrayLike, values: ArrayLike) -> FloatArray:
    """Estimate ∇_θ E[f] = Cov(f, x) for the independence model on {−1, +1}ⁿ (divisor N − 1)."""
    x, v = _binary_batch(X, values)
    return _finite("binary_cov_f_x", _core.binary_cov_f_x(x, v))


def binary_fisher(theta: ArrayLike) -> FloatArray:
    """Fisher information I_θ = 1 − tanh²θ = 4μ(1 − μ) of the ±1 independence model.

    Computed as 4e/(1 + e)² with e = exp(−2|θ|), exact to rounding at any θ (1 − tanh²θ from a
    rounded tanh loses every digit for |θ| ≳ 10; SEED_ERRATA §7). The same helper
    (``natgrad._binary.fisher_natural``) gives :class:`natgrad.BinaryIndependence` its Fisher.
    """
    t = as_float_array("theta", theta, ndim=1)
    return _binary.fisher_natural(t)


def binary_natural_gradient(X: ArrayLike, values: ArrayLike, theta: ArrayLike) -> FloatArray:
    """Estimate the natural gradient in θ, ∇_η F = Cov(f, x) / (1 − η²), η = tanh θ (errata #16).

    With μ = P(X = +1) = (1 + η)/2 this is ½ ∇_μ F, not ∇_μ F.
    """
    x, v = _binary_batch(X, values)
    t = as_float_array("theta", theta, shape=(x.shape[1],))
    return _finite("binary_natural_gradient", _core.binary_natural_gradient(x, v, t))
