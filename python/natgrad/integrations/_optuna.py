"""An Optuna sampler that runs natgrad's continuous strategies (IGO-CMA by default).

How a study maps onto a strategy (the hooks are those of Optuna's ``CmaEsSampler``):

* ``infer_relative_search_space`` keeps the float and int parameters of the intersection search
  space that have more than one value; they are scaled to [0, 1] (log-scale parameters in log
  space, a step or an int widened by half a step on each side and rounded back), so ``sigma0``
  is in units of each parameter's range. Categorical parameters, parameters of a dynamic search
  space and those of the first ``n_startup_trials`` trials come from ``independent_sampler``.
* ``sample_relative`` gives each trial one candidate of the current generation:
  x = box(m + σ A z), with z ~ N(0, I) drawn from a seed stored in the trial (``seed`` and the
  trial number fix it) and ``box`` natgrad's linear/quadratic map onto [0, 1]
  (:class:`~natgrad.optim.BoxTransform`). Once ``popsize`` trials of the generation have
  finished, the first ``popsize`` of them (by trial number) update the strategy: the same
  pure, validated ``Strategy.update`` that ``natgrad.Optimizer`` uses, with the unbounded
  candidates (recomputed from the stored seeds), not the parameters folded into the box.
* Without the margin, int parameters (and floats with a step) are rounded by Optuna's
  untransform, and for igo-cma the update sees each candidate moved to the
  centre of its rounded value's cell (with the draw z recomputed), as ``CmaEsSampler`` tells
  the rounded parameters (``_Space.snapped``).
* ``with_margin=True`` encodes int parameters (and floats with a step) as CMA-ES with margin
  encodes integers (:mod:`natgrad.optim.integers`) instead of rounding them, and applies the
  margin correction after every update (see ``_Space``).
* Failed trials, and pruned ones unless ``consider_pruned_trials=True``, are not counted: the
  generation waits for further trials, as in ``CmaEsSampler``. Trials in parallel are all given
  candidates of the current generation; those beyond the first ``popsize`` are not used.
* The state (strategy, generation, population size, restart count, the state record) is JSON
  in the system attributes of the trial whose sampling made the update, in chunks of at most
  2045 characters (RDB storage's limit), with a marker written last, so that another process
  never reads a half-written state. Loading parses JSON only (no pickle, no code) and checks the
  record through the strategy's validated boundary (``Strategy.check_state``): a tampered or
  corrupt state is a ValueError naming the trial, never a crash inside a kernel.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import optuna
from optuna._transform import _SearchSpaceTransform
from optuna.distributions import BaseDistribution, FloatDistribution, IntDistribution
from optuna.samplers import BaseSampler, RandomSampler
from optuna.samplers._base import _INDEPENDENT_SAMPLING_WARNING_TEMPLATE
from optuna.search_space import IntersectionSearchSpace
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from .._validation import FloatArray, as_float, as_int
from ..optim.integers import IntegerLattice, default_margin
from ..optim.optimizer import BoxTransform
from ..optim.registry import build_strategy
from ..optim.strategy import Strategy

__all__ = ["SAMPLER_METHODS", "NatgradSampler"]

_logger = optuna.logging.get_logger(__name__)

#: methods whose candidates are independent row by row, so one trial can carry one row
#: ("lowrank" mirrors its draws in pairs, TPA uses rows 0 and 1 as a pair: not here)
SAMPLER_METHODS = ("igo-cma", "xnes", "snes", "sngd", "gmrf")
_FORMAT, _VERSION = "natgrad-optuna-state", 1
_KEY_GENERATION = "natgrad:generation"  # the generation a trial's candidate belongs to
_KEY_SEED = "natgrad:noise_seed"  # the seed of the trial's standard normal draw
_KEY_MARKER = "natgrad:state"  # [generation, chunks], written after the chunks
_KEY_CHUNK = "natgrad:state:"  # + chunk index
_SYSTEM_ATTR_MAX_LENGTH = 2045  # RDB storage keeps system attribute values below 2046 chars
_TOLFUN = 1e-12  # flat values of a generation: restart (with restart_strategy="ipop")
_TOLX = 1e-12  # every σ√C_ii below _TOLX·sigma0 in [0, 1] units: restart
_MAX_CONDITION = 1e14


def _reject_constant(name: str) -> float:
    raise ValueError(f"the stored state contains {name}, which natgrad never writes")


class _Space:
    """The map from the strategy's space to [0, 1]ⁿ, Optuna's transformed parameters.

    Continuous coordinates go through natgrad's box map onto [0, 1]. With the margin, a
    coordinate of K values (an int, or a float with a step) is instead encoded as CMA-ES with
    margin encodes integers, in lattice units w = K u − ½ (value k ∈ {0, …, K − 1} has the cell
    [k − ½, k + ½], i.e. u ∈ [k/K, (k + 1)/K]), and u = (w̄ + ½)/K is the centre of its cell.
    """

    def __init__(self, search_space: dict[str, BaseDistribution], with_margin: bool) -> None:
        n = len(search_space)
        counts = np.zeros(n)  # K values of each int parameter and stepped float (not log-scale)
        for i, dist in enumerate(search_space.values()):
            step = getattr(dist, "step", None)
            if step is not None and not getattr(dist, "log", False):
                counts[i] = math.floor((dist.high - dist.low) / step + 1e-9) + 1  # type: ignore[attr-defined]
        self.index = np.flatnonzero(counts >= 2)
        self.counts = counts[self.index]
        self.with_margin = with_margin and self.index.size > 0
        self.stepped, self.stepped_counts = self.index, self.counts
        if not self.with_margin:  # rounded by Optuna's untransform; see ``snapped``
            self.index, self.counts = self.index[:0], self.counts[:0]
        lower, upper = np.zeros(n), np.ones(n)
        lower[self.index], upper[self.index] = -np.inf, np.inf
        self.box = BoxTransform(lower, upper)
        self.lattice = (
            IntegerLattice(self.index, np.zeros(self.index.size), self.counts - 1)
            if self.with_margin
            else None
        )

    def snapped(self, strategy: Strategy, state: Any, x: FloatArray) -> tuple[Any, Any] | None:
        """Candidates moved to the centre of the cell of their rounded parameter on each int
        (or stepped) coordinate, with the standard draws z that give them, or None (no such
        coordinate, or a method other than igo-cma).

        This is what the update sees without the margin, as ``CmaEsSampler`` tells the rounded
        parameters: the variance along a coordinate that has settled on one value then
        collapses, instead of staying spread over a cell in which f is flat (on bench/
        optuna_sampler.py's mixed problem: best values 2e-7 instead of 1e-5 after 400 trials).
        """
        j, K = self.stepped, self.stepped_counts
        if self.with_margin or not j.size or strategy.name != "igo-cma":
            return None
        u = self.box(x)
        u[:, j] = (np.clip(np.floor(u[:, j] * K), 0, K - 1) + 0.5) / K
        moved = x.copy()
        moved[:, j] = self.box.inverse(u)[:, j]
        # x = m + σ A z; xNES's exponential update overflows on the large z this can give
        z = np.linalg.solve(state.factor, ((moved - state.mean) / state.sigma).T).T
        # a moved point can lie far out in the distribution (a cell wide against σ√C_jj): its
        # length is clipped to that of a likely draw, as injected solutions are clipped in
        # CMA-ES (Hansen, "Injecting external solutions into CMA-ES", arXiv:1110.4181, 2011);
        # the told candidate is then the one these draws give, between x and the cell's centre
        n = z.shape[1]
        limit = math.sqrt(n) + 2 * n / (n + 2)
        norms = np.linalg.norm(z, axis=1)
        z = z * np.minimum(1.0, limit / np.maximum(norms, 1e-300))[:, None]
        return np.ascontiguousarray(z), strategy.sample(state, np.ascontiguousarray(z))

    def inverse(self, start: FloatArray) -> FloatArray:
        return self.box.inverse(start)

    def params(self, x: FloatArray, state: Any) -> FloatArray:
        """The point of [0, 1]ⁿ for the candidate x of the strategy's state."""
        u = self.box(x)
        if self.lattice is not None:
            j, K = self.index, self.counts
            w_mean, w_x = K * state.mean[j] - 0.5, K * x[j] - 0.5
            w = self.lattice.nearest(w_mean + state.margin_scale[j] * (w_x - w_mean))
            u[j] = (w + 0.5) / K
        return u

    def correct(self, strategy: Strategy, state: Any, popsize: int, margin: float | None) -> Any:
        """The margin correction (natgrad.optim.integers) in lattice units; the state otherwise."""
        if self.lattice is None:
            return state
        j, K = self.index, self.counts
        n = len(state.mean)
        scale = np.ones(n)
        scale[j] = K
        shift = np.zeros(n)
        shift[j] = 0.5
        alpha = default_margin(n, popsize) if margin is None else margin
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            w_mean, margin_scale = self.lattice.correct(
                scale * state.mean - shift,
                scale * strategy.axis_scales(state),
                state.margin_scale,
                alpha,
            )
        new = state._replace(mean=(w_mean + shift) / scale, margin_scale=margin_scale)
        return strategy.check_state(new)  # non-finite (an underflowed axis): ValueError


class NatgradSampler(BaseSampler):
    """Optuna sampler running IGO-CMA (or another continuous natgrad method) on float and int
    parameters, with independent sampling for the rest.

    Parameters
    ----------
    method : str or natgrad.optim.Strategy, default "igo-cma"
        One of ``SAMPLER_METHODS`` ("igo-cma", "xnes", "snes", "sngd", "gmrf"), or an instance
        of one of them (e.g. ``natgrad.IGOCMA(active=False)``). TPA's ``sigma_rule="tpa"`` and
        ``"lowrank"`` are refused: their candidates come in pairs, a trial carries one.
    options : dict, optional
        With a method name: the strategy's options, as in ``natgrad.minimize``.
    x0 : dict, optional
        Initial mean by parameter name (external values, inside each distribution); parameters
        not named start at the centre of their range (in log space for log-scale ones).
    sigma0 : float, optional
        Initial step size in units of each parameter's range (all are scaled to [0, 1]);
        default 1/6, as ``CmaEsSampler``'s ``min_range / 6``.
    popsize : int, optional
        Trials per generation λ (>= 2); default the strategy's, 4 + ⌊3 ln n⌋ for IGO-CMA.
    n_startup_trials : int, default 1
        Finished trials before the strategy takes over; until then everything is independent.
    independent_sampler : optuna.samplers.BaseSampler, optional
        For the parameters outside the relative search space; default
        ``RandomSampler(seed=seed)``.
    warn_independent_sampling : bool, default True
        Log a warning (Optuna's logger) when a parameter is sampled independently after the
        startup trials, and once when the search space changes.
    seed : int, optional
        Makes the candidates a function of the seed and the trial number, so a sequential study
        is reproducible, in memory or in an RDB.
    consider_pruned_trials : bool, default False
        Count pruned trials with their last intermediate value.
    restart_strategy : {None, "ipop"}, default None
        ``"ipop"``: when a generation's values are flat (within 1e-12), every axis scale is below
        1e-12·sigma0, or the covariance's condition number exceeds 1e14, start again from a
        uniform point of [0, 1]ⁿ with ``sigma0`` and ``inc_popsize`` times the population
        (Auger & Hansen, CEC 2005). A numerical breakdown of an update always restarts (with the
        same population size unless "ipop").
    inc_popsize : int, default 2
        Population growth factor of each IPOP restart.
    with_margin : bool, default False
        Treat int parameters and floats with a ``step`` (not log-scale ones) as CMA-ES with
        margin treats integers (:mod:`natgrad.optim.integers`, as ``CmaEsSampler``'s
        ``with_margin``): the probability of leaving the current value stays at least the
        strategy's ``margin`` (default 1/(nλ)); every method here has it.
    """

    def __init__(
        self,
        *,
        method: str | Strategy = "igo-cma",
        options: dict[str, Any] | None = None,
        x0: dict[str, Any] | None = None,
        sigma0: float | None = None,
        popsize: int | None = None,
        n_startup_trials: int = 1,
        independent_sampler: BaseSampler | None = None,
        warn_independent_sampling: bool = True,
        seed: int | None = None,
        consider_pruned_trials: bool = False,
        restart_strategy: str | None = None,
        inc_popsize: int = 2,
        with_margin: bool = False,
    ) -> None:
        if not isinstance(method, (str, Strategy)):
            raise ValueError(f"method must be a method name or a Strategy, got {method!r:.80}")
        name = method if isinstance(method, str) else method.name
        if name not in SAMPLER_METHODS:
            raise ValueError(
                f"method must be one of {', '.join(map(repr, SAMPLER_METHODS))} (methods whose "
                f"candidates are independent, one per trial), got {name!r}"
            )
        strategy = build_strategy(method, options)
        if getattr(strategy, "sigma_rule", None) == "tpa":
            raise ValueError(
                "sigma_rule='tpa' needs its mirrored pair in one batch; a trial carries one "
                "candidate: use sigma_rule='csa' with NatgradSampler"
            )
        if x0 is not None and not isinstance(x0, dict):
            raise ValueError(f"x0 must be a dict of parameter values by name, got {x0!r:.80}")
        if not isinstance(warn_independent_sampling, (bool, np.bool_)):
            raise ValueError(
                f"warn_independent_sampling must be True or False, got {warn_independent_sampling!r}"
            )
        if not isinstance(consider_pruned_trials, (bool, np.bool_)):
            raise ValueError(
                f"consider_pruned_trials must be True or False, got {consider_pruned_trials!r}"
            )
        if restart_strategy not in (None, "ipop"):
            raise ValueError(f"restart_strategy must be None or 'ipop', got {restart_strategy!r}")
        if not isinstance(with_margin, (bool, np.bool_)):
            raise ValueError(f"with_margin must be True or False, got {with_margin!r}")
        if independent_sampler is not None and not isinstance(independent_sampler, BaseSampler):
            raise ValueError(
                "independent_sampler must be an optuna.samplers.BaseSampler, got "
                f"{type(independent_sampler).__name__}"
            )
        self._strategy = strategy
        self._x0 = None if x0 is None else dict(x0)
        self._sigma0 = 1 / 6 if sigma0 is None else as_float("sigma0", sigma0, positive=True)
        self._popsize = None if popsize is None else as_int("popsize", popsize, minimum=2)
        self._n_startup_trials = as_int("n_startup_trials", n_startup_trials, minimum=0)
        self._seed = None if seed is None else as_int("seed", seed, minimum=0)
        self._independent_sampler = independent_sampler or RandomSampler(seed=self._seed)
        self._warn_independent_sampling = bool(warn_independent_sampling)
        self._consider_pruned_trials = bool(consider_pruned_trials)
        self._restart_strategy = restart_strategy
        self._inc_popsize = as_int("inc_popsize", inc_popsize, minimum=2)
        self._with_margin = bool(with_margin)
        self._search_space = IntersectionSearchSpace()

    # ------------------------------------------------------------------ Optuna's hooks
    def reseed_rng(self) -> None:
        # the relative draws are seeded per trial (seed, trial number): nothing to reseed
        self._independent_sampler.reseed_rng()

    def infer_relative_search_space(
        self, study: optuna.Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return {
            name: dist
            for name, dist in self._search_space.calculate(study).items()
            if not dist.single() and isinstance(dist, (FloatDistribution, IntDistribution))
        }

    def sample_relative(
        self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        self._raise_error_if_multi_objective(study)
        if not search_space:
            return {}
        trials = study.get_trials(deepcopy=False)
        finished = self._finished(trials)
        if len(finished) < self._n_startup_trials:
            return {}
        names = list(search_space)
        trans = _SearchSpaceTransform(search_space, transform_step=True, transform_0_1=True)
        space = _Space(search_space, self._with_margin)
        rng = np.random.default_rng(None if self._seed is None else [self._seed, trial.number])
        record = self._latest_record(trials)
        if record is None:
            record = self._initial_record(
                names, self._start(names, trans), space, generation=0, restart=0
            )
        elif record["params"] != names:
            if self._warn_independent_sampling:
                _logger.warning(
                    f"`{type(self).__name__}` does not support a dynamic search space (its "
                    f"state is over {record['params']}, this trial's space is {names}); "
                    f"`{type(self._independent_sampler).__name__}` is used instead."
                )
                self._warn_independent_sampling = False
            return {}
        generation = record["generation"]
        members = [(t, v) for t, v in finished if t.system_attrs.get(_KEY_GENERATION) == generation]
        if len(members) >= record["popsize"]:
            members.sort(key=lambda tv: tv[0].number)
            record = self._told(record, members[: record["popsize"]], study, names, space, rng)
            self._store(study, trial, record)

        state = record["state"]
        noise_seed = int(rng.integers(0, 2**63))
        z = self._noise(noise_seed, len(names))
        # check_state has validated the record; the draw is ours: the unchecked kernel suffices
        x = self._strategy._sample(state, z)[0]
        if not np.isfinite(x).all():  # σ grew beyond float64: start afresh
            record = self._initial_record(
                names, rng.random(len(names)), space, generation=generation + 1,
                restart=record["restart"] + 1,
            )  # fmt: skip
            self._store(study, trial, record)
            x = self._strategy._sample(record["state"], z)[0]
        storage = study._storage
        storage.set_trial_system_attr(trial._trial_id, _KEY_GENERATION, record["generation"])
        storage.set_trial_system_attr(trial._trial_id, _KEY_SEED, noise_seed)
        params: dict[str, Any] = trans.untransform(space.params(x, record["state"]))
        return params

    def sample_independent(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        self._raise_error_if_multi_objective(study)
        if self._warn_independent_sampling:
            finished = self._finished(study.get_trials(deepcopy=False))
            if len(finished) >= self._n_startup_trials:
                _logger.warning(
                    _INDEPENDENT_SAMPLING_WARNING_TEMPLATE.format(
                        param_name=param_name,
                        trial_number=trial.number,
                        independent_sampler_name=type(self._independent_sampler).__name__,
                        sampler_name=type(self).__name__,
                        fallback_reason=(
                            "dynamic search spaces, categorical parameters and single-valued "
                            f"distributions are not supported by `{type(self).__name__}`"
                        ),
                    )
                )
        return self._independent_sampler.sample_independent(
            study, trial, param_name, param_distribution
        )

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self._independent_sampler.before_trial(study, trial)

    def after_trial(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        if trial.constraints:
            warnings.warn(
                f"Constraints have been set, but {type(self).__name__} will not use them for "
                "optimization.",
                UserWarning,
                stacklevel=2,
            )
        self._independent_sampler.after_trial(study, trial, state, values)

    # ------------------------------------------------------------------ the generation
    def _finished(self, trials: Sequence[FrozenTrial]) -> list[tuple[FrozenTrial, float]]:
        """(trial, value) of the trials that count: complete ones, and pruned ones with an
        intermediate value when ``consider_pruned_trials``."""
        out = []
        for t in trials:
            if t.state == TrialState.COMPLETE and t.value is not None:
                out.append((t, float(t.value)))
            elif (
                self._consider_pruned_trials
                and t.state == TrialState.PRUNED
                and t.intermediate_values
            ):
                _, value = max(t.intermediate_values.items())
                if value is not None:
                    out.append((t, float(value)))
        return out

    def _noise(self, noise_seed: int, dim: int) -> FloatArray:
        return np.random.default_rng(noise_seed).standard_normal((1, dim))

    def _initial_record(
        self,
        names: list[str],
        start: FloatArray,
        space: _Space,
        *,
        generation: int,
        restart: int,
        popsize: int | None = None,
    ) -> dict[str, Any]:
        """Generation 0 of run ``restart``, with its mean at ``start`` (a point of [0, 1]ⁿ)."""
        if popsize is None:
            popsize = self._popsize or self._strategy.default_popsize(len(names))
        state = self._strategy.initial_state(space.inverse(start), self._sigma0)
        return {
            "params": names,
            "generation": generation,
            "restart": restart,
            "popsize": int(popsize),
            "state": state,
        }

    def _start(self, names: list[str], trans: _SearchSpaceTransform) -> FloatArray:
        """The first run's mean in [0, 1]ⁿ: ``x0`` where given, the centre elsewhere."""
        start = np.full(len(names), 0.5)
        if not self._x0:
            return start
        space = trans._search_space
        full: dict[str, Any] = {}
        for name, dist in space.items():
            if name not in self._x0:
                full[name] = dist.to_external_repr(dist.low)  # type: ignore[attr-defined]
                continue
            value = self._x0[name]
            if isinstance(value, (bool, str, bytes)) or not isinstance(value, (int, float)):
                raise ValueError(f"x0[{name!r}] must be a number, got {value!r:.80}")
            if not (math.isfinite(value) and dist.low <= value <= dist.high):  # type: ignore[attr-defined]
                raise ValueError(f"x0[{name!r}] must lie in {dist}, got {value!r}")
            full[name] = value
        point = trans.transform(full)
        for i, name in enumerate(names):
            if name in self._x0:
                start[i] = min(max(float(point[i]), 0.0), 1.0)
        return start

    def _told(
        self,
        record: dict[str, Any],
        members: list[tuple[FrozenTrial, float]],
        study: optuna.Study,
        names: list[str],
        space: _Space,
        rng: np.random.Generator,
    ) -> dict[str, Any]:
        """The record after the generation of ``members`` (pure: nothing is stored here)."""
        strategy, state, n = self._strategy, record["state"], len(names)
        z = np.concatenate([self._noise(self._stored_seed(t), n) for t, _ in members])
        values = np.array([v for _, v in members], dtype=np.float64)
        if study.direction == StudyDirection.MAXIMIZE:
            values = -values
        generation, restart, popsize = (
            record["generation"] + 1,
            record["restart"],
            record["popsize"],
        )
        finite = np.isfinite(values)
        if not finite.any():  # no usable value: no update, closer samples next time
            new_state = strategy.scale_step(state, 0.5)
        else:
            if not finite.all():  # ±inf ranks worst, as natgrad.Optimizer ranks it
                worst, best = float(values[finite].max()), float(values[finite].min())
                values[~finite] = worst + max(worst - best, abs(worst) * 1e-12, 1e-300)
            try:
                x = strategy.sample(state, z)
                snapped = space.snapped(strategy, state, x)
                try:
                    if snapped is None:
                        raise ValueError
                    new_state = strategy.update(state, *snapped, values)
                except ValueError:
                    # no int coordinate, or the moved points broke the factor update (e.g. all
                    # rows moved to one point): the update sees the candidates as drawn
                    new_state = strategy.update(state, z, x, values)
                new_state = space.correct(
                    strategy, new_state, popsize, getattr(strategy, "margin", None)
                )
            except ValueError as exc:
                _logger.warning(f"natgrad: the {strategy.name} update failed ({exc}); restarting")
                return self._initial_record(
                    names, rng.random(n), space, generation=generation, restart=restart + 1,
                    popsize=popsize,
                )  # fmt: skip
            if self._restart_strategy == "ipop" and self._converged(new_state, values):
                _logger.info(
                    f"natgrad: {strategy.name} converged at generation {generation}; IPOP "
                    f"restart {restart + 1} with popsize {popsize * self._inc_popsize}"
                )
                return self._initial_record(
                    names, rng.random(n), space, generation=generation, restart=restart + 1,
                    popsize=popsize * self._inc_popsize,
                )  # fmt: skip
        return {**record, "generation": generation, "state": new_state}

    def _converged(self, state: Any, values: FloatArray) -> bool:
        if float(values.max()) - float(values.min()) <= _TOLFUN:
            return True
        scales = self._strategy.axis_scales(state)
        high, low = float(scales.max()), float(scales.min())
        return high < _TOLX * self._sigma0 or low <= 0.0 or (high / low) ** 2 > _MAX_CONDITION

    def _stored_seed(self, trial: FrozenTrial) -> int:
        seed = trial.system_attrs.get(_KEY_SEED)
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
            raise ValueError(
                f"trial {trial.number} has an invalid {_KEY_SEED!r} system attribute: {seed!r:.80}"
            )
        return seed

    # ------------------------------------------------------------------ storage
    def _store(self, study: optuna.Study, trial: FrozenTrial, record: dict[str, Any]) -> None:
        """Write ``record`` into the trial's system attributes: chunks first, then the marker."""
        state = record["state"]
        fields = {
            k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in state._asdict().items()
        }
        text = json.dumps(
            {
                "format": _FORMAT,
                "version": _VERSION,
                "method": self._strategy.name,
                "params": record["params"],
                "generation": record["generation"],
                "restart": record["restart"],
                "popsize": record["popsize"],
                "state": fields,
            },
            allow_nan=False,
        )
        chunks = [
            text[i : i + _SYSTEM_ATTR_MAX_LENGTH]
            for i in range(0, len(text), _SYSTEM_ATTR_MAX_LENGTH)
        ]
        storage = study._storage
        for i, chunk in enumerate(chunks):
            storage.set_trial_system_attr(trial._trial_id, f"{_KEY_CHUNK}{i}", chunk)
        storage.set_trial_system_attr(
            trial._trial_id, _KEY_MARKER, [record["generation"], len(chunks)]
        )

    def _latest_record(self, trials: Sequence[FrozenTrial]) -> dict[str, Any] | None:
        """The stored record of the latest generation (ties: the lowest trial number)."""
        latest: tuple[int, int] | None = None
        carrier = None
        for t in trials:
            marker = t.system_attrs.get(_KEY_MARKER)
            if marker is None:
                continue
            if (
                not isinstance(marker, list)
                or len(marker) != 2
                or not all(isinstance(m, int) and not isinstance(m, bool) for m in marker)
                or marker[0] < 0
                or marker[1] < 1
            ):
                raise ValueError(
                    f"trial {t.number} has an invalid {_KEY_MARKER!r} system attribute: "
                    f"{marker!r:.80}"
                )
            key = (marker[0], -t.number)
            if latest is None or key > latest:
                latest, carrier = key, t
        if carrier is None:
            return None
        return self._parse(carrier)

    def _parse(self, trial: FrozenTrial) -> dict[str, Any]:
        generation, count = trial.system_attrs[_KEY_MARKER]
        where = f"the natgrad state stored in trial {trial.number}"
        try:
            text = "".join(trial.system_attrs[f"{_KEY_CHUNK}{i}"] for i in range(count))
            data = json.loads(text, parse_constant=_reject_constant)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{where} is incomplete or not JSON: {exc}") from exc
        try:
            return self._check_record(data, generation)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{where} is not valid: {exc}") from exc

    def _check_record(self, data: Any, generation: int) -> dict[str, Any]:
        strategy = self._strategy
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise ValueError(f"format must be {_FORMAT!r}")
        if data.get("version") != _VERSION:
            raise ValueError(f"version {data.get('version')!r} is not {_VERSION}")
        if data["method"] != strategy.name:
            raise ValueError(
                f"it was written for method {data['method']!r}, this sampler runs {strategy.name!r}"
            )
        names = data["params"]
        if not isinstance(names, list) or not names or not all(isinstance(p, str) for p in names):
            raise ValueError("params must be a non-empty list of names")
        if data["generation"] != generation:
            raise ValueError("its generation differs from its marker's")
        counts = {
            "restart": as_int("restart", data["restart"], minimum=0),
            "popsize": as_int("popsize", data["popsize"], minimum=2),
        }
        fields = data["state"]
        state_type: Any = strategy.state_type
        if not isinstance(fields, dict) or set(fields) != set(state_type._fields):
            raise ValueError(f"state must have the fields {state_type._fields}")
        values = {}
        for field, kind in strategy.state_fields.items():
            value = fields[field]
            if kind in ("vector", "positive_vector", "matrix", "pattern"):
                if not isinstance(value, list):
                    raise ValueError(f"state.{field} must be a list")
                value = np.array(value, dtype=np.float64)  # nested lists of numbers only
            elif isinstance(value, (bool, list, dict, str)) or value is None:
                raise ValueError(f"state.{field} must be a number, got {value!r:.40}")
            values[field] = value
        state = strategy.check_state(state_type(**values), len(names))
        return {"params": names, "generation": generation, **counts, "state": state}
