"""The multivariate Gaussian N(μ, Σ) as an exponential family, on the compiled core.

Coordinates (MATH.md), all packed as ``[vector (n) | diagonal (n) | pairs i<j row-major]``,
m = n + n(n+1)/2 entries:

* natural ``θ = (Σ⁻¹μ, −½(Σ⁻¹)_ii, −½(Σ⁻¹)_ij)`` for ``T(x) = (x_i, x_i², 2x_i x_j)``;
* expectation ``η = E[T] = (μ_i, E_ii, 2E_ij)`` with ``E = Σ + μμᵀ``;
* mean/covariance ``ξ = (μ_i, σ_ii, σ_ij)`` (``"mean_cov"``).

Factor-2 conventions: the pair coordinate θ_ij (i<j) moves Θ_ij and Θ_ji together, so a gradient
with respect to it is twice the symmetric-matrix gradient entry; η_ij = 2E_ij; σ_ij moves σ_ij and
σ_ji. For f(x) = c₀ + bᵀx + xᵀQx: ∂F/∂σ_ij = 2Q_ij but ∂F/∂η_ij = Q_ij.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.linalg.lapack import dpocon

from . import _core
from ._validation import (
    FloatArray,
    as_damping,
    as_float_array,
    as_generator,
    as_int,
    check_coords,
    symmetric,
    warn_if_inaccurate,
)
from .family import ExponentialFamily
from .packing import dim_from_packed_size, packed_size

#: largest assembled Fisher matrix, in entries (2**30 float64 = 8 GiB); beyond it ``fisher`` refuses
MAX_FISHER_ENTRIES = 2**30

_COORDS = ("natural", "expectation", "mean_cov")


def _packed(name: str, value: ArrayLike) -> tuple[FloatArray, int]:
    arr = as_float_array(name, value, ndim=1)
    try:
        n = dim_from_packed_size(arr.shape[0])
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(
            f"{name} must have length n + n(n+1)/2 for some n >= 1 (2, 5, 9, 14, ...), "
            f"got {arr.shape[0]}"
        )
    return arr, n


def _representable(what: str, value: Any, dim: int) -> Any:
    """``value`` unchanged if every entry is finite, else ValueError: an overflow (e.g. a precision
    1/σ² from a subnormal variance, or μμᵀ from a huge mean) is never returned as inf or NaN."""
    parts = value if isinstance(value, tuple) else (value,)
    if not all(np.all(np.isfinite(part)) for part in parts):
        raise ValueError(
            f"{what}: the result is not representable in float64 for this Gaussian (n = {dim}): "
            "an intermediate overflowed; rescale the problem"
        )
    return value


_EPS = float(np.finfo(np.float64).eps)


def certified_condition(what: str, spd: FloatArray) -> float:
    """Estimated condition number of a symmetric matrix that must be numerically positive definite
    (the covariance, or the precision, which has the same condition), else ValueError.

    Criterion: the Cholesky factorisation succeeds **and** LAPACK's estimate κ̂ of the 1-norm
    condition number (``dpocon`` on the factor, O(n²)) satisfies κ̂ < 1/(n·ε). Why: Cholesky is
    backward stable with a perturbation of relative size about n·ε, so when λ_min ≤ n·ε·‖Σ‖ the
    matrix is within rounding of a singular or indefinite one and "positive definite" cannot be
    certified (an exactly singular A Aᵀ factorises with a pivot of 1e-7; at κ = 1e17 the
    Σ → θ → Σ round trip is off by 19 %). κ₂ ≤ κ₁, and κ̂ is a lower bound of κ₁, usually within
    a factor of 3.
    """
    factor = np.asarray(_core.gaussian_cholesky(spd))  # ValueError naming the failed pivot
    n = spd.shape[0]
    # κ is scale-invariant: estimate it for Σ / max diag, so subnormal or huge scales cannot
    # underflow or overflow inside the estimator
    scale = float(np.max(np.diag(spd)))
    anorm = float(np.max(np.sum(np.abs(spd / scale), axis=0)))
    rcond, info = dpocon(factor / np.sqrt(scale), anorm, uplo="L")
    kappa = float("inf") if info != 0 or not rcond > 0 else 1.0 / float(rcond)
    if not kappa * n * _EPS < 1.0:
        raise ValueError(
            f"{what} is numerically singular: estimated condition number {kappa:.3g} is at "
            f"least 1/(n·ε) = {1.0 / (n * _EPS):.3g} for n = {n}, so positive definiteness cannot "
            "be certified in float64"
        )
    return kappa


def _fisher_natural_diagonal(mean: FloatArray, cov: FloatArray) -> FloatArray:
    """diag I_θ = Var(T) in O(n²) (Isserlis): Var x_i = σ_ii, Var x_i² = 2σ_ii² + 4μ_i²σ_ii,
    Var 2x_ix_j = 4(σ_iiσ_jj + σ_ij² + μ_i²σ_jj + μ_j²σ_ii + 2μ_iμ_jσ_ij)."""
    d = np.diag(cov)
    iu, ju = np.triu_indices(mean.shape[0], k=1)
    mi, mj, sij = mean[iu], mean[ju], cov[iu, ju]
    pairs = 4.0 * (
        d[iu] * d[ju] + sij * sij + mi * mi * d[ju] + mj * mj * d[iu] + 2 * mi * mj * sij
    )
    return np.concatenate([d, 2.0 * d * d + 4.0 * mean * mean * d, pairs])


def _damped_condition_lower_bound(diagonal: FloatArray, damping: float) -> float:
    """(max diag + δ)/(min diag + δ) ≤ cond(A + δI) for symmetric positive definite A."""
    return float((diagonal.max() + damping) / (diagonal.min() + damping))


def _check_coords(coords: Any) -> str:
    return check_coords(coords, _COORDS)


class Gaussian(ExponentialFamily):
    """A multivariate normal distribution N(mean, cov), immutable.

    Parameters
    ----------
    mean : (n,) array_like
        Mean vector μ.
    cov : (n, n) array_like
        Symmetric positive-definite covariance Σ. An asymmetry up to
        ``SYMMETRY_RTOL = 1e-10`` times ``max|cov|`` (rounding noise) is removed by symmetrising;
        a larger one raises ValueError, as does a matrix that is not numerically positive
        definite: its Cholesky factorisation fails (the message names the pivot), or its
        estimated condition number is at least 1/(n·ε) (e.g. 2.3e15 at n = 2), where a rounding
        perturbation can make it singular. :meth:`condition_number` tells how close Σ is.

    Notes
    -----
    Inputs may be any real dtype and memory layout (float32, Fortran order, strided views): they
    are copied to C-contiguous float64, so the instance never aliases the caller's arrays.
    Internally the instance keeps (μ, Σ) and, when built from θ, θ itself and the exact precision
    Σ⁻¹ = −2Θ, so quantities that depend on θ do not pay for a double inversion.

    Examples
    --------
    >>> import numpy as np, natgrad as ng
    >>> g = ng.Gaussian([0.0, 1.0], [[2.0, 0.5], [0.5, 1.0]])
    >>> theta = g.natural()
    >>> h = ng.Gaussian.from_natural(theta)
    >>> bool(np.allclose(h.cov, g.cov))
    True
    """

    coordinate_systems = _COORDS

    def __init__(self, mean: ArrayLike, cov: ArrayLike) -> None:
        mu = as_float_array("mean", mean, ndim=1)
        n = mu.shape[0]
        if n < 1:
            raise ValueError("mean must have at least one entry, got shape (0,)")
        sigma = as_float_array("cov", cov, ndim=2)
        if sigma.shape != (n, n):
            raise ValueError(f"cov must have shape ({n}, {n}) to match mean, got {sigma.shape}")
        sigma = symmetric("cov", sigma)
        kappa = certified_condition("cov", sigma)
        self._init(mu, sigma, None, None, kappa)

    def _init(
        self,
        mean: FloatArray,
        cov: FloatArray,
        precision: FloatArray | None,
        theta: FloatArray | None,
        kappa: float,
    ) -> None:
        self._kappa = kappa  # estimated condition number of Σ (and of Σ⁻¹)
        self._mean = mean
        self._cov = cov
        self._precision = precision
        self._theta = theta
        for arr in (mean, cov, precision, theta):
            if arr is not None:
                arr.setflags(write=False)

    @classmethod
    def _make(
        cls,
        mean: Any,
        cov: Any,
        precision: Any = None,
        theta: FloatArray | None = None,
        *,
        what: str,
    ) -> Gaussian:
        obj = cls.__new__(cls)
        cov = np.ascontiguousarray(cov, dtype=np.float64)
        prec = None if precision is None else np.ascontiguousarray(precision, dtype=np.float64)
        kappa = certified_condition(what, cov if prec is None else prec)
        obj._init(np.ascontiguousarray(mean, dtype=np.float64), cov, prec, theta, kappa)
        return obj

    # --- construction ---------------------------------------------------------------------
    @classmethod
    def from_natural(cls, theta: ArrayLike) -> Gaussian:
        """The Gaussian with natural parameter θ.

        ValueError unless Θ is negative definite and the precision −2Θ numerically positive
        definite (the criterion of the constructor); AccuracyWarning when Σ = (−2Θ)⁻¹ is
        ill-conditioned (κ·ε > 1e-6).
        """
        arr, n = _packed("theta", theta)
        mean, cov, precision = _core.gaussian_mean_cov_from_natural(arr)
        _representable("theta", (mean, cov), n)  # e.g. Θ so small that Σ = −½Θ⁻¹ overflows
        out = cls._make(mean, cov, precision, arr, what="theta: the precision -2Θ")
        warn_if_inaccurate("from_natural: Σ = (−2Θ)⁻¹", out._kappa)
        return out

    @classmethod
    def from_expectation(cls, eta: ArrayLike) -> Gaussian:
        """The Gaussian with η = E[T] (ValueError unless E − η_μη_μᵀ is positive definite).

        Σ = E − μμᵀ cancels about log10(|μ|²/λ_min(Σ)) digits; prefer (μ, Σ) or θ when you can.
        """
        arr, n = _packed("eta", eta)
        mean, cov, _ = _core.gaussian_mean_cov_from_expectation(arr)
        _representable("eta", (mean, cov), n)
        return cls._make(mean, cov, what="eta: the covariance E - μμᵀ")

    @classmethod
    def from_mean_cov(cls, xi: ArrayLike) -> Gaussian:
        """The Gaussian with packed ξ = (μ_i, σ_ii, σ_ij)."""
        arr, _ = _packed("xi", xi)
        mean, cov, _ = _core.gaussian_mean_cov_from_packed(arr)
        return cls._make(mean, cov, what="xi: the covariance")

    # --- properties -------------------------------------------------------------------------
    @property
    def dim(self) -> int:
        """Dimension n of the sample space."""
        return int(self._mean.shape[0])

    @property
    def num_params(self) -> int:
        """Number of packed coordinates m = n + n(n+1)/2."""
        return packed_size(self.dim)

    @property
    def mean(self) -> FloatArray:
        """Mean μ (a new array)."""
        return self._mean.copy()

    @property
    def cov(self) -> FloatArray:
        """Covariance Σ (a new array)."""
        return self._cov.copy()

    @property
    def precision(self) -> FloatArray:
        """Precision Σ⁻¹ (a new array; exactly −2Θ for an instance built from θ)."""
        return self._prec().copy()

    def condition_number(self) -> float:
        """2-norm condition number κ₂(Σ) = λ_max/λ_min of the covariance (= that of Σ⁻¹).

        Σ⁻¹, θ and the Fisher matrices built from them carry a relative error of about κ₂·ε;
        the constructor refuses κ ≥ 1/(n·ε) (numerically singular), and inversions warn
        (:class:`natgrad.AccuracyWarning`) beyond κ·ε = 1e-6. O(n³) (symmetric eigenvalues).
        """
        ev = np.linalg.eigvalsh(self._cov)
        return float(ev[-1] / ev[0])

    def _prec(self) -> FloatArray:
        if self._precision is None:
            warn_if_inaccurate("precision: Σ⁻¹", self._kappa, stacklevel=4)
            p = _representable(
                "precision", np.asarray(_core.gaussian_precision_from_cov(self._cov)), self.dim
            )
            p.setflags(write=False)
            self._precision = p
        return self._precision

    def __repr__(self) -> str:
        return f"Gaussian(mean={self._mean!r}, cov={self._cov!r})"

    # --- coordinates and potentials -----------------------------------------------------------
    def natural(self) -> FloatArray:
        """θ = (Σ⁻¹μ, −½(Σ⁻¹)_ii, −½(Σ⁻¹)_ij)."""
        if self._theta is not None:
            return self._theta.copy()
        warn_if_inaccurate("natural: θ = (Σ⁻¹μ, −½Σ⁻¹)", self._kappa)
        out = np.asarray(_core.gaussian_natural_from_mean_cov(self._mean, self._cov))
        return _representable("natural", out, self.dim)

    def expectation(self) -> FloatArray:
        """η = E[T] = (μ_i, Σ_ii + μ_i², 2Σ_ij + 2μ_iμ_j)."""
        out = np.asarray(_core.gaussian_expectation_from_mean_cov(self._mean, self._cov))
        return _representable("expectation", out, self.dim)

    def mean_cov(self) -> FloatArray:
        """ξ = (μ_i, σ_ii, σ_ij), the packed (μ, Σ) coordinates."""
        return np.asarray(_core.gaussian_pack_mean_cov(self._mean, self._cov))

    def log_partition(self) -> float:
        """ψ(θ) = n/2 log 2π + ½ μᵀΣ⁻¹μ + ½ log|Σ|."""
        if self._theta is not None:
            out = float(_core.gaussian_log_partition_natural(self._theta))
        else:
            out = float(_core.gaussian_log_partition_mean_cov(self._mean, self._cov))
        return float(_representable("log_partition", out, self.dim))

    def legendre_dual(self) -> float:
        """φ(η) = −n/2 (log 2π + 1) − ½ log|Σ|, the negative entropy."""
        if self._theta is not None:
            out = float(_core.gaussian_neg_entropy_natural(self._theta))
        else:
            out = float(_core.gaussian_neg_entropy_mean_cov(self._cov))
        return float(_representable("legendre_dual", out, self.dim))

    # --- geometry ------------------------------------------------------------------------------
    def fisher(self, coords: str = "natural", free: Sequence[int] | None = None) -> FloatArray:
        """Fisher information matrix in ``coords`` ("natural", "expectation" or "mean_cov").

        Parameters
        ----------
        coords : str
            Coordinate system.
        free : sequence of int, optional
            Strictly increasing packed indices: assemble only those rows and columns (in
            O(len(free)²)), e.g. the free coordinates of a sparse-precision sub-model.

        Raises
        ------
        ValueError
            If the matrix would have more than ``MAX_FISHER_ENTRIES`` (2**30) entries: m = 501,500
            at n = 1000 would need 2 TB. ``fisher_product`` and ``natural_gradient`` work at any n.
        """
        c = _check_coords(coords)
        idx = None if free is None else self._free(free)
        size = self.num_params if idx is None else len(idx)
        if size * size > MAX_FISHER_ENTRIES:
            raise ValueError(
                f"fisher: the {size} x {size} matrix (n = {self.dim}) would need "
                f"{8 * size * size / 2**30:.3g} GiB, more than MAX_FISHER_ENTRIES = "
                f"{MAX_FISHER_ENTRIES} entries; use fisher_product / natural_gradient (which never "
                "form it) or assemble a block with free=[...]"
            )
        if c == "natural":
            out = _core.gaussian_fisher_natural(self._mean, self._cov, idx)
        elif c == "expectation":
            out = _core.gaussian_fisher_expectation(self._mean, self._prec(), idx)
        else:
            out = _core.gaussian_fisher_mean_cov(self._prec(), idx)
        return np.asarray(out)  # the kernel refuses a non-finite entry (ValueError) as it writes

    def _free(self, free: Sequence[int]) -> list[int]:
        arr = np.asarray(free)
        if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
            raise ValueError(f"free must be a 1-D sequence of integers, got {free!r}")
        m = self.num_params
        if arr.size and (arr.min() < 0 or arr.max() >= m or np.any(np.diff(arr) <= 0)):
            raise ValueError(f"free must be strictly increasing indices in [0, {m}), got {free!r}")
        return [int(a) for a in arr]

    def fisher_product(self, v: ArrayLike, coords: str = "natural") -> FloatArray:
        """I·v in ``coords`` in O(n³), without forming the m × m matrix."""
        c = _check_coords(coords)
        vec = as_float_array("v", v, shape=(self.num_params,))
        if c == "natural":
            out = _core.gaussian_fisher_product_natural(self._mean, self._cov, vec)
        elif c == "expectation":
            out = _core.gaussian_fisher_product_expectation(self._mean, self._prec(), vec)
        else:
            out = _core.gaussian_fisher_product_mean_cov(self._prec(), vec)
        return _representable("fisher_product", np.asarray(out), self.dim)

    def natural_gradient(
        self, grad: ArrayLike, coords: str = "natural", damping: float = 0.0
    ) -> FloatArray:
        """(I + damping·Id)⁻¹ grad, grad the ordinary gradient in ``coords``; never forms I.

        With ``damping = 0`` this is exact in O(n³): I_θ⁻¹ = I_η, I_η⁻¹ = I_θ and
        I_ξ⁻¹ g = (Σg_μ, 2ΣGΣ). With damping δ > 0: in "mean_cov" an eigendecomposition of Σ and
        a conjugate-gradient solve of condition number ≤ 2 (O(n³) per iteration, ~20
        iterations); in "natural" conjugate gradients with a structured preconditioner of
        condition number ≤ 2 (about 20 O(n³) iterations); in "expectation" through the natural
        solve, x = I_θ (I_θ + Id/δ)⁻¹ grad / δ, because I_η = I_θ⁻¹ is itself ill-conditioned
        far from the origin (cond(I_η + δ Id) ~ 1e20 at |μ| = 100, λ(Σ) = (1, 1e-8), where any
        route through I_η loses every digit) while I_θ + Id/δ is not. A ValueError (suggesting
        the dense route ``natgrad.natural_gradient(g.fisher(coords), grad, damping)``) is raised
        if the iteration does not converge, or if the result overflows.

        Warns
        -----
        AccuracyWarning
            In "natural" and "expectation" with damping, when the lower bound
            (max diag I_θ + c)/(min diag I_θ + c) of cond(I_θ + c·Id), c = δ resp. 1/δ, times ε
            exceeds 1e-6; whenever Σ⁻¹ is formed from an ill-conditioned Σ.
        """
        c = _check_coords(coords)
        g = as_float_array("grad", grad, shape=(self.num_params,))
        d = as_damping(damping)
        if c == "natural":
            if d > 0:
                warn_if_inaccurate(
                    "natural_gradient: I_θ + damping·Id",
                    _damped_condition_lower_bound(
                        _fisher_natural_diagonal(self._mean, self._cov), d
                    ),
                )
            out = _core.gaussian_natural_gradient_natural(self._mean, self._cov, self._prec(), g, d)
        elif c == "expectation":
            out = (
                self._damped_expectation_solve(g, d)
                if d > 0
                else (
                    _core.gaussian_natural_gradient_expectation(
                        self._mean, self._cov, self._prec(), g, d
                    )
                )
            )
        else:
            out = _core.gaussian_natural_gradient_mean_cov(self._cov, g, d)
        return _representable("natural_gradient", np.asarray(out), self.dim)

    def _damped_expectation_solve(self, g: FloatArray, damping: float) -> FloatArray:
        # (I_η + δ Id) x = g with I_η = I_θ⁻¹  ⇔  x = I_θ y / δ,  (I_θ + Id/δ) y = g
        inv = 1.0 / damping
        if not np.isfinite(inv):  # δ subnormal: (I_η + δ Id)⁻¹ = I_θ to relative δ·‖I_θ‖
            return np.asarray(_core.gaussian_fisher_product_natural(self._mean, self._cov, g))
        warn_if_inaccurate(
            "natural_gradient: I_θ + Id/damping",
            _damped_condition_lower_bound(_fisher_natural_diagonal(self._mean, self._cov), inv),
            stacklevel=4,
        )
        y = np.asarray(
            _core.gaussian_natural_gradient_natural(self._mean, self._cov, self._prec(), g, inv)
        )
        return np.asarray(_core.gaussian_fisher_product_natural(self._mean, self._cov, y)) * inv

    def kl(self, other: ExponentialFamily) -> float:
        """KL(self ‖ other) in closed form through Cholesky factors."""
        if not isinstance(other, Gaussian):
            raise ValueError(f"other must be a Gaussian, got {type(other).__name__}")
        if other.dim != self.dim:
            raise ValueError(f"other must have dimension {self.dim}, got {other.dim}")
        out = float(_core.gaussian_kl(self._mean, self._cov, other._mean, other._cov))
        return float(_representable("kl", out, self.dim))

    # --- data -----------------------------------------------------------------------------------
    def sample(self, size: int, rng: Any = None) -> FloatArray:
        """``size`` draws, shape (size, n): x = μ + Lz with z ~ N(0, I) from ``rng``.

        ``rng`` is a numpy Generator (its stream advances) or None for fresh entropy.
        """
        count = as_int("size", size, minimum=0)
        gen = as_generator(rng)
        z = gen.standard_normal((count, self.dim))
        return np.asarray(_core.gaussian_sample(self._mean, self._cov, z))

    def _points(self, x: ArrayLike) -> tuple[FloatArray, bool]:
        arr = as_float_array("x", x)
        single = arr.ndim == 1
        pts = arr[None, :] if single else arr
        if pts.ndim != 2 or pts.shape[1] != self.dim:
            raise ValueError(f"x must have shape ({self.dim},) or (N, {self.dim}), got {arr.shape}")
        return np.ascontiguousarray(pts), single

    def log_prob(self, x: ArrayLike) -> FloatArray:
        """log p(x) for x of shape (n,) (0-d result) or (N, n) (shape (N,))."""
        pts, single = self._points(x)
        out = np.asarray(_core.gaussian_log_prob(self._mean, self._cov, pts))
        if np.any(np.isnan(out)):  # −inf (a density that underflows) is a valid answer
            raise ValueError("log_prob: the result is not representable in float64 (NaN)")
        return out.reshape(()) if single else out

    def sufficient_stats(self, x: ArrayLike) -> FloatArray:
        """T(x) = (x_i, x_i², 2x_ix_j), shape (m,) for one point or (N, m) for a batch."""
        pts, single = self._points(x)
        out = _representable(
            "sufficient_stats", np.asarray(_core.gaussian_sufficient_stats(pts)), self.dim
        )
        return out[0] if single else out
