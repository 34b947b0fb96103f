"""Deterministic first-order optimisation of a differentiable objective over an exponential family.

Three update rules for L(p) over a minimal family with natural parameter θ and expectation
parameter η = ∇ψ(θ) (β is the step size):

* :class:`GradientDescent` — plain gradient descent in a chosen chart,
  ξ ← ξ − β ∇_ξ L, for ξ = θ ("natural") or ξ = η ("expectation"). Depends on the chart.
* :class:`NaturalGradientDescent` — ξ ← ξ − β (I_ξ + δ·Id)⁻¹ ∇_ξ L (Fisher solve, optional
  damping δ), in θ by default.
* :class:`MirrorDescent` — θ ← θ − β ∇_η L, i.e. η_{t+1} = argmin_η ⟨∇_η L(η_t), η⟩ +
  (1/β) B_φ(η, η_t), where B_φ(η, η_t) = KL(p_η ‖ p_η_t) is the Bregman divergence of the negative
  entropy φ (the mirror map is ∇φ: η ↦ θ).

Because I_θ⁻¹ ∇_θ L = ∇_η L exactly (SEED_ERRATA §6), natural-gradient descent in θ and mirror
descent in η produce the same iterates; plain gradient descent in η does not — it differs at
first order in β (SEED_ERRATA #9).

State is data: :meth:`init` gives a :class:`DescentState`, :meth:`step` maps a state to the next
one without side effects, and :meth:`run` iterates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from ._validation import FloatArray, as_damping, as_float, as_float_array, as_int
from .family import ExponentialFamily

_CHARTS = ("natural", "expectation")


def _check_chart(name: str, coords: str) -> str:
    if coords not in _CHARTS:
        raise ValueError(f"{name} must be one of {_CHARTS}, got {coords!r}")
    return coords


@dataclass(frozen=True)
class Objective:
    """A differentiable objective L over the members of one family.

    Parameters
    ----------
    gradient : callable
        ``gradient(member) -> array``: the ordinary gradient of L at ``member`` in the coordinate
        system ``coords``.
    coords : {"natural", "expectation"}
        Chart in which ``gradient`` differentiates: ∇_θ L or ∇_η L. The other one is obtained by
        the chain rule, ∇_θ L = I_θ ∇_η L and ∇_η L = I_η ∇_θ L (dη/dθ = I_θ).
    value : callable, optional
        ``value(member) -> float``, recorded in the states when given.
    """

    gradient: Callable[[ExponentialFamily], ArrayLike]
    coords: str = "expectation"
    value: Callable[[ExponentialFamily], float] | None = None

    def __post_init__(self) -> None:
        _check_chart("coords", self.coords)
        if not callable(self.gradient):
            raise ValueError(f"gradient must be callable, got {self.gradient!r}")

    def grad(self, member: ExponentialFamily, coords: str) -> FloatArray:
        """∇_ξ L at ``member`` for ξ = θ (``coords="natural"``) or η (``"expectation"``)."""
        _check_chart("coords", coords)
        g = as_float_array("gradient", self.gradient(member)).reshape(-1)
        if g.size != member.dimension:
            raise ValueError(f"gradient must have {member.dimension} entries, got {g.size}")
        if coords == self.coords:
            return g
        # a product, not fisher(coords) @ g: the Gaussian never forms its m x m matrix
        return np.asarray(member.fisher_product(g, coords))

    def evaluate(self, member: ExponentialFamily) -> float | None:
        """L(member), or None when no value function was given."""
        return None if self.value is None else float(self.value(member))


@dataclass(frozen=True)
class DescentState:
    """One iterate: the member, its iteration number and (if known) the objective value."""

    member: ExponentialFamily
    iteration: int = 0
    value: float | None = None


@dataclass(frozen=True)
class DescentResult:
    """What :meth:`run` returns: every state, first to last."""

    states: list[DescentState] = field(default_factory=list)

    @property
    def final(self) -> DescentState:
        """The last state."""
        return self.states[-1]

    @property
    def naturals(self) -> FloatArray:
        """θ of every iterate, shape (steps + 1, m)."""
        return np.array([s.member.natural() for s in self.states])

    @property
    def expectations(self) -> FloatArray:
        """η of every iterate, shape (steps + 1, m)."""
        return np.array([s.member.expectation() for s in self.states])

    @property
    def values(self) -> FloatArray:
        """Objective values (NaN where unknown)."""
        return np.array([np.nan if s.value is None else s.value for s in self.states])


class _Descent:
    coords: str = "natural"

    def __init__(self, objective: Objective, step_size: float) -> None:
        if not isinstance(objective, Objective):
            raise ValueError(f"objective must be an Objective, got {type(objective).__name__}")
        self.objective = objective
        self.step_size = as_float("step_size", step_size, positive=True)

    def init(self, member: ExponentialFamily) -> DescentState:
        """The state at ``member`` (iteration 0)."""
        if not isinstance(member, ExponentialFamily):
            raise ValueError(f"member must be an ExponentialFamily, got {type(member).__name__}")
        return DescentState(member, 0, self.objective.evaluate(member))

    def _direction(self, member: ExponentialFamily) -> FloatArray:
        raise NotImplementedError

    def step(self, state: DescentState) -> DescentState:
        """The next state (pure: ``state`` is not modified)."""
        member = state.member
        coords = self.coords
        xi = member.natural() if coords == "natural" else member.expectation()
        new = xi - self.step_size * self._direction(member)
        try:
            nxt = member.with_natural(new) if coords == "natural" else member.with_expectation(new)
        except ValueError as exc:
            raise ValueError(
                f"step_size={self.step_size!r} too large: the iterate left the parameter domain "
                f"at iteration {state.iteration + 1} ({exc})"
            ) from exc
        return DescentState(nxt, state.iteration + 1, self.objective.evaluate(nxt))

    def run(self, member: ExponentialFamily, n_steps: int) -> DescentResult:
        """``n_steps`` iterations from ``member``; every state is kept."""
        n_steps = as_int("n_steps", n_steps, minimum=0)
        states = [self.init(member)]
        for _ in range(n_steps):
            states.append(self.step(states[-1]))
        return DescentResult(states)


class GradientDescent(_Descent):
    """Plain gradient descent ξ ← ξ − β ∇_ξ L in the chart ``coords`` (θ or η).

    Its trajectory depends on the chart; in η it is *not* natural-gradient descent
    (SEED_ERRATA #9).

    Examples
    --------
    >>> import natgrad as ng
    >>> data_mean = 0.8  # cross-entropy to data: L(θ) = ψ(θ) − θ·t̄, ∇_θ L = η − t̄
    >>> obj = ng.Objective(lambda p: p.expectation() - data_mean, coords="natural")
    >>> res = ng.GradientDescent(obj, step_size=2.0).run(ng.Bernoulli(0.5), 200)
    >>> round(res.final.member.p, 6)
    0.8
    """

    def __init__(self, objective: Objective, step_size: float, coords: str = "natural") -> None:
        super().__init__(objective, step_size)
        self.coords = _check_chart("coords", coords)

    def _direction(self, member: ExponentialFamily) -> FloatArray:
        return self.objective.grad(member, self.coords)


class NaturalGradientDescent(_Descent):
    """Natural-gradient descent ξ ← ξ − β (I_ξ + δ·Id)⁻¹ ∇_ξ L, in θ by default.

    In θ (undamped) its iterates equal those of :class:`MirrorDescent`. In η with β = 1 it solves a
    maximum-likelihood fit L(θ) = ψ(θ) − ⟨θ, t̄⟩ in one step (η ← t̄); in θ with β = 1 it solves
    the variational problem L = KL(p ‖ p*) in one step (θ ← θ*).
    """

    def __init__(
        self,
        objective: Objective,
        step_size: float,
        coords: str = "natural",
        damping: float = 0.0,
    ) -> None:
        super().__init__(objective, step_size)
        self.coords = _check_chart("coords", coords)
        self.damping = as_damping(damping)

    def _direction(self, member: ExponentialFamily) -> FloatArray:
        g = self.objective.grad(member, self.coords)
        return np.asarray(member.natural_gradient(g, self.coords, self.damping))


class MirrorDescent(_Descent):
    """Mirror descent in η with the KL (Bregman of φ) proximity: θ ← θ − β ∇_η L.

    Equivalently η_{t+1} = argmin_η ⟨∇_η L(η_t), η⟩ + (1/β) KL(p_η ‖ p_{η_t}) — the exact form of
    seed 001's eq. (4), with the sign of a descent step (SEED_ERRATA #6).
    """

    coords = "natural"

    def _direction(self, member: ExponentialFamily) -> FloatArray:
        return self.objective.grad(member, "expectation")
