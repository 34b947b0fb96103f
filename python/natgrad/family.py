"""The interface every exponential family in natgrad implements.

p(x; θ) = h(x) exp(⟨θ, T(x)⟩ − ψ(θ)),  η = E_θ[T] = ∇ψ(θ),  φ(η) = sup_θ ⟨θ, η⟩ − ψ(θ),
I_θ = Hess ψ = Cov_θ(T, T),  I_η = Hess φ = I_θ⁻¹.

Instances are immutable: methods return new arrays or new instances and never change ``self``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ._validation import FloatArray, as_float_array, check_coords


class ExponentialFamily(ABC):
    """Abstract base: one member of a minimal exponential family.

    Subclasses implement the abstract methods; the rest have generic definitions in terms of them
    (``entropy = -neg_entropy``, ``kl`` as the Bregman divergence of ψ, ...), which a subclass may
    override with a closed form or a more accurate route.
    """

    #: names accepted by :meth:`fisher` / :meth:`natural_gradient`
    coordinate_systems: tuple[str, ...] = ("natural", "expectation")

    # --- construction -------------------------------------------------------------------
    @classmethod
    @abstractmethod
    def from_natural(cls, theta: ArrayLike) -> ExponentialFamily:
        """The member with natural parameter ``theta``."""

    @classmethod
    @abstractmethod
    def from_expectation(cls, eta: ArrayLike) -> ExponentialFamily:
        """The member with expectation parameter ``eta = E[T]``."""

    def with_natural(self, theta: ArrayLike) -> ExponentialFamily:
        """A member of the same family (same fixed hyperparameters, e.g. trials) at ``theta``."""
        return type(self).from_natural(theta)

    def with_expectation(self, eta: ArrayLike) -> ExponentialFamily:
        """A member of the same family (same fixed hyperparameters) at ``eta``."""
        return type(self).from_expectation(eta)

    # --- coordinates and potentials ---------------------------------------------------------
    @abstractmethod
    def natural(self) -> FloatArray:
        """Natural parameter θ (a new array)."""

    @abstractmethod
    def expectation(self) -> FloatArray:
        """Expectation parameter η = E[T(X)] = ∇ψ(θ) (a new array)."""

    @abstractmethod
    def log_partition(self) -> float:
        """ψ(θ) = log ∫ h(x) exp⟨θ, T(x)⟩ dx."""

    @abstractmethod
    def legendre_dual(self) -> float:
        """φ(η) = ⟨θ, η⟩ − ψ(θ), the convex conjugate of ψ at η."""

    def neg_entropy(self) -> float:
        """E[log p(X)]; equals φ(η) only when the base measure h is 1."""
        return self.legendre_dual()

    def entropy(self) -> float:
        """Differential (or Shannon) entropy −E[log p(X)]."""
        return -self.neg_entropy()

    @property
    def dimension(self) -> int:
        """Number m of natural (and expectation) coordinates."""
        return int(self.natural().size)

    # --- geometry ---------------------------------------------------------------------------
    def _check_coords(self, coords: str) -> str:
        return check_coords(coords, self.coordinate_systems)

    @abstractmethod
    def fisher(self, coords: str = "natural") -> FloatArray:
        """Fisher information matrix in the coordinate system ``coords``."""

    def fisher_product(self, v: ArrayLike, coords: str = "natural") -> FloatArray:
        """I·v in ``coords`` (here through the assembled matrix; the Gaussian never forms it)."""
        f = self.fisher(coords)
        vec = as_float_array("v", v, shape=(f.shape[0],))
        return np.asarray(f @ vec)

    def natural_gradient(
        self, grad: ArrayLike, coords: str = "natural", damping: float = 0.0
    ) -> FloatArray:
        """(I + damping·Id)⁻¹ grad, where ``grad`` is the ordinary gradient in ``coords``."""
        from .linalg import natural_gradient

        return natural_gradient(self.fisher(coords), grad, damping)

    def _check_other(self, other: Any) -> Any:
        if type(other) is not type(self):
            raise ValueError(f"other must be a {type(self).__name__}, got {type(other).__name__}")
        if other.dimension != self.dimension:
            raise ValueError(f"other must have dimension {self.dimension}, got {other.dimension}")
        return other

    def kl(self, other: ExponentialFamily) -> float:
        """KL(self ‖ other), the Bregman divergence of ψ (see :meth:`bregman_divergence`).

        Subclasses may override it with an algebraically identical form that avoids cancellation.
        """
        return self.bregman_divergence(other)

    def bregman_divergence(self, other: ExponentialFamily) -> float:
        """B_ψ(θ', θ) = ψ(θ') − ψ(θ) − ⟨θ' − θ, η⟩ with θ' = other's natural parameter.

        Equal to KL(self ‖ other) = B_φ(η, η'); evaluated literally, so it cancels when the two
        members are close (``kl`` may do better).
        """
        self._check_other(other)
        theta, eta = self.natural(), self.expectation()
        return float(
            other.log_partition() - self.log_partition() - np.dot(other.natural() - theta, eta)
        )

    # --- data -------------------------------------------------------------------------------
    @abstractmethod
    def sample(self, size: int, rng: Any = None) -> np.ndarray:
        """``size`` independent draws from the numpy Generator ``rng`` (its stream advances), or
        from fresh OS entropy when ``rng`` is None; anything else raises ValueError."""

    @abstractmethod
    def log_prob(self, x: ArrayLike) -> FloatArray:
        """log p(x) for a batch of points."""

    @abstractmethod
    def sufficient_stats(self, x: ArrayLike) -> FloatArray:
        """T(x) for a batch of points, shape (N, m)."""
