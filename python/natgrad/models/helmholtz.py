"""Helmholtz machines (sigmoid belief networks) trained by (natural) reweighted wake-sleep.

The generative network p has a factorised Bernoulli prior on the top layer and top-down
conditionals ``p(h^i | h^{i+1}) = Π_j Bern(σ(W^i_j h^{i+1} + b^i_j))`` down to the visible layer
``x = h^0``; the recognition network q is bottom-up, ``q(h^{i+1} | h^i) = Π_j Bern(σ(V^i_j h^i +
c^i_j))``. With ``units="spin"`` every unit takes values in {−1, +1} and
``p(v | a) = exp(v a) / (2 cosh a)``.

Training (docs/wake_sleep.md):

* ``"ws"`` wake-sleep (Hinton et al. 1995): wake p update on h ~ q(h|x), sleep q update on
  (x, h) ~ p;
* ``"rws"`` reweighted wake-sleep (Bornschein & Bengio 2015): K samples h ~ q(h|x) with normalised
  importance weights ``w̃_k ∝ p(x, h_k) / q(h_k | x)`` for the wake p update and a wake q update,
  averaged with the sleep q update;
* ``"nws"`` / ``"nrws"``: the same gradients, each unit's (incoming weights, bias) row
  preconditioned by its damped Fisher block, ``(1 + α)(F_j + αI)⁻¹ g_j`` (Várady, Volpi, Malagò,
  Ay 2022). The Fisher of p is block diagonal with blocks ``E_p[σ'(W_j h) h̃ h̃ᵀ]`` (h̃ = (h, 1)),
  estimated on the sleep samples; that of q with blocks ``E_q[σ'(V_j h) h̃ h̃ᵀ]`` on the wake
  samples (data x, h ~ q(h|x)).
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from os import PathLike
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import expit

from .._validation import (
    FloatArray,
    as_damping,
    as_float,
    as_float_array,
    as_generator,
    as_int,
)
from .fisher_blocks import DampedFisherBlocks

__all__ = ["EpochRecord", "FitHistory", "HelmholtzMachine"]

#: methods of HelmholtzMachine.fit
METHODS = ("rws", "nrws", "ws", "nws")
#: total hidden units up to which exact_log_likelihood enumerates
MAX_EXACT_HIDDEN = 20
#: rows × samples per chunk of log_likelihood (bounds the memory of K = 10⁴ estimates)
_CHUNK = 1 << 15
_FORMAT = "natgrad.HelmholtzMachine/1"


class _Params(NamedTuple):
    """All parameters; replaced as a whole (one assignment) so a model is never half-updated."""

    gen_weights: tuple[FloatArray, ...]  # W^i: (l_i, l_{i+1}), i = 0..L-1
    gen_biases: tuple[FloatArray, ...]  # b^i: (l_i,), i = 0..L (b^L: logits of the top prior)
    rec_weights: tuple[FloatArray, ...]  # V^i: (l_{i+1}, l_i)
    rec_biases: tuple[FloatArray, ...]  # c^i: (l_{i+1},)


def _frozen(a: ArrayLike) -> FloatArray:
    out = np.array(a, dtype=np.float64, order="C", copy=True)
    out.flags.writeable = False
    return out


# --- unit-level formulas ------------------------------------------------------------------------


def _log_prob(v: FloatArray, a: FloatArray, spin: bool) -> FloatArray:
    """Σ_j ln p(v_j | a_j): {0,1}: v a − softplus(a); {−1,+1}: v a − ln(2 cosh a)."""
    norm = np.logaddexp(a, -a) if spin else np.logaddexp(0.0, a)
    return np.asarray((v * a - norm).sum(axis=-1))


def _mean(a: FloatArray, spin: bool) -> FloatArray:
    """E[v | a]: σ(a) for {0,1} units, tanh(a) for {−1,+1} units."""
    return np.asarray(np.tanh(a) if spin else expit(a))


def _fisher_weight(a: FloatArray, spin: bool) -> FloatArray:
    """Var[v | a] = −∂² ln p / ∂a²: σ(a)(1 − σ(a)) or 1 − tanh²(a)."""
    if spin:
        t = np.tanh(a)
        return np.asarray(1.0 - t * t)
    s = expit(a)
    return np.asarray(s * (1.0 - s))


def _logsumexp_rows(a: FloatArray) -> FloatArray:
    """ln Σ_k exp(a_nk) per row, shifted by the row maximum (finite rows)."""
    m = a.max(axis=1)
    return np.asarray(m + np.log(np.exp(a - m[:, None]).sum(axis=1)))


def _draw(a: FloatArray, rng: np.random.Generator, spin: bool) -> FloatArray:
    u = rng.random(a.shape)
    if spin:
        return np.where(u < expit(2.0 * a), 1.0, -1.0)  # P(+1) = e^a / (e^a + e^-a)
    return (u < expit(a)).astype(np.float64)


# --- records ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EpochRecord:
    """One epoch of :meth:`HelmholtzMachine.fit`."""

    epoch: int
    train_bound: float  # mean importance-weighted bound (nats) over the epoch's minibatches
    validation_nll: float | None  # −mean log-likelihood estimate on the validation data
    seconds: float  # wall seconds of this epoch's training steps (validation excluded)
    total_seconds: float  # cumulative training seconds


@dataclass
class FitHistory:
    """What :meth:`HelmholtzMachine.fit` did, per epoch; ``stopped`` says why it ended."""

    method: str
    settings: dict[str, Any]
    records: list[EpochRecord] = field(default_factory=list)
    stopped: str = "epochs"  # "epochs", "callback" or "interrupted"

    @property
    def epoch(self) -> list[int]:
        return [r.epoch for r in self.records]

    @property
    def train_bound(self) -> list[float]:
        return [r.train_bound for r in self.records]

    @property
    def validation_nll(self) -> list[float | None]:
        return [r.validation_nll for r in self.records]

    @property
    def seconds(self) -> list[float]:
        return [r.seconds for r in self.records]

    @property
    def total_seconds(self) -> list[float]:
        return [r.total_seconds for r in self.records]

    def as_dict(self) -> dict[str, Any]:
        """Plain lists (JSON-ready)."""
        return {
            "method": self.method,
            "settings": dict(self.settings),
            "stopped": self.stopped,
            "epoch": self.epoch,
            "train_bound": self.train_bound,
            "validation_nll": self.validation_nll,
            "seconds": self.seconds,
            "total_seconds": self.total_seconds,
        }


# --- the model ----------------------------------------------------------------------------------


class HelmholtzMachine:
    """A Helmholtz machine: generative sigmoid belief network p and recognition network q.

    Parameters
    ----------
    sizes : sequence of int
        Layer sizes from the visible layer up, e.g. ``[64, 32, 16]``: at least two layers,
        each of size >= 1.
    units : {"binary", "spin"}, default "binary"
        Unit values {0, 1} or {−1, +1}.
    seed, rng :
        Seed of a new ``numpy.random.Generator``, or a Generator to use (its stream advances).
        It initialises the weights and drives :meth:`fit`, :meth:`sample` and
        :meth:`log_likelihood` unless they are given their own.
    init_scale : float, default 0.01
        Standard deviation of the initial weights (biases start at 0).

    Attributes
    ----------
    generative_weights : tuple of (l_i, l_{i+1}) arrays
        ``W^i``, from layer i + 1 down to layer i (read-only arrays).
    generative_biases : tuple of (l_i,) arrays
        ``b^i`` for i = 0..L; the last is the logits of the top prior.
    recognition_weights : tuple of (l_{i+1}, l_i) arrays
        ``V^i``, from layer i up to layer i + 1.
    recognition_biases : tuple of (l_{i+1},) arrays

    Examples
    --------
    >>> from natgrad.models import HelmholtzMachine, lines_dataset
    >>> X = lines_dataset()
    >>> hm = HelmholtzMachine([9, 6, 2], seed=0)
    >>> history = hm.fit(X, method="nrws", epochs=2)
    >>> len(history.records)
    2
    """

    def __init__(
        self,
        sizes: Sequence[int],
        units: str = "binary",
        *,
        seed: Any = None,
        rng: np.random.Generator | None = None,
        init_scale: float = 0.01,
    ) -> None:
        self._sizes = _check_sizes(sizes)
        self._units = _check_units(units)
        self._rng = as_generator(rng, seed)
        scale = as_float("init_scale", init_scale, nonnegative=True)
        s = self._sizes
        L = len(s) - 1
        gw = tuple(_frozen(scale * self._rng.standard_normal((s[i], s[i + 1]))) for i in range(L))
        rw = tuple(_frozen(scale * self._rng.standard_normal((s[i + 1], s[i]))) for i in range(L))
        gb = tuple(_frozen(np.zeros(s[i])) for i in range(L + 1))
        rb = tuple(_frozen(np.zeros(s[i + 1])) for i in range(L))
        self._params = _Params(gw, gb, rw, rb)

    # --- construction, persistence ---------------------------------------------------------

    @classmethod
    def from_parameters(
        cls,
        generative_weights: Sequence[ArrayLike],
        generative_biases: Sequence[ArrayLike],
        recognition_weights: Sequence[ArrayLike],
        recognition_biases: Sequence[ArrayLike],
        units: str = "binary",
        *,
        seed: Any = None,
        rng: np.random.Generator | None = None,
    ) -> HelmholtzMachine:
        """A model with the given parameters (shapes as the attributes of the same names)."""
        gb = [
            as_float_array(f"generative_biases[{i}]", b, ndim=1)
            for i, b in enumerate(generative_biases)
        ]
        sizes = [b.shape[0] for b in gb]
        self = cls(sizes, units, rng=rng, seed=seed, init_scale=0.0)
        L = len(sizes) - 1
        s = self._sizes

        def arrays(
            name: str, values: Sequence[ArrayLike], shapes: list[tuple[int, ...]]
        ) -> tuple[FloatArray, ...]:
            if len(values) != len(shapes):
                raise ValueError(f"{name} must hold {len(shapes)} arrays, got {len(values)}")
            return tuple(
                _frozen(as_float_array(f"{name}[{i}]", v, shape=shp))
                for i, (v, shp) in enumerate(zip(values, shapes, strict=True))
            )

        self._params = _Params(
            arrays("generative_weights", generative_weights, [(s[i], s[i + 1]) for i in range(L)]),
            arrays("generative_biases", gb, [(s[i],) for i in range(L + 1)]),
            arrays(
                "recognition_weights", recognition_weights, [(s[i + 1], s[i]) for i in range(L)]
            ),
            arrays("recognition_biases", recognition_biases, [(s[i + 1],) for i in range(L)]),
        )
        return self

    def save(self, path: str | PathLike[str]) -> None:
        """Write the parameters to a ``.npz`` file (plain arrays: loading executes no code)."""
        p = self._params
        arrays: dict[str, Any] = {
            "format": np.array(_FORMAT),
            "units": np.array(self._units),
            "sizes": np.array(self._sizes, dtype=np.int64),
        }
        for name, group in zip(("gw", "gb", "rw", "rb"), p, strict=True):
            for i, a in enumerate(group):
                arrays[f"{name}{i}"] = a
        np.savez(path, **arrays)

    @classmethod
    def load(
        cls, path: str | PathLike[str], *, seed: Any = None, rng: np.random.Generator | None = None
    ) -> HelmholtzMachine:
        """A model from a file written by :meth:`save` (read with ``allow_pickle=False``)."""
        with np.load(path, allow_pickle=False) as data:
            if "format" not in data or str(data["format"]) != _FORMAT:
                raise ValueError(f"path is not a {_FORMAT} file: {path!r}")
            L = len(data["sizes"]) - 1
            return cls.from_parameters(
                [data[f"gw{i}"] for i in range(L)],
                [data[f"gb{i}"] for i in range(L + 1)],
                [data[f"rw{i}"] for i in range(L)],
                [data[f"rb{i}"] for i in range(L)],
                str(data["units"]),
                seed=seed,
                rng=rng,
            )

    def __getstate__(self) -> dict[str, Any]:
        return {
            "sizes": self._sizes,
            "units": self._units,
            "rng": self._rng,
            "params": self._params,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._sizes, self._units, self._rng = state["sizes"], state["units"], state["rng"]
        self._params = _Params(*(tuple(_frozen(a) for a in g) for g in state["params"]))

    def __repr__(self) -> str:
        return f"HelmholtzMachine(sizes={list(self._sizes)}, units={self._units!r})"

    # --- attributes ------------------------------------------------------------------------

    @property
    def sizes(self) -> tuple[int, ...]:
        return self._sizes

    @property
    def units(self) -> str:
        return self._units

    @property
    def rng(self) -> np.random.Generator:
        return self._rng

    @property
    def generative_weights(self) -> tuple[FloatArray, ...]:
        return self._params.gen_weights

    @property
    def generative_biases(self) -> tuple[FloatArray, ...]:
        return self._params.gen_biases

    @property
    def recognition_weights(self) -> tuple[FloatArray, ...]:
        return self._params.rec_weights

    @property
    def recognition_biases(self) -> tuple[FloatArray, ...]:
        return self._params.rec_biases

    @property
    def _spin(self) -> bool:
        return self._units == "spin"

    # --- sampling and densities --------------------------------------------------------------

    def sample(
        self, n: int, rng: np.random.Generator | None = None, *, return_hidden: bool = False
    ) -> Any:
        """Draw n samples (x, h) from p; returns x (n, l_0), or the list [x, h^1, ..., h^L]."""
        count = as_int("n", n, minimum=0)
        gen = self._rng if rng is None else as_generator(rng)
        layers, _ = _sample_p(self._params, count, gen, self._spin)
        return layers if return_hidden else layers[0]

    def log_joint(self, layers: Sequence[ArrayLike]) -> FloatArray:
        """ln p(x, h) of states [x, h^1, ..., h^L] (each (M, l_i)), one value per row."""
        hs = self._check_layers(layers)
        return _log_p(self._params, hs, self._spin)[0]

    def log_recognition(self, layers: Sequence[ArrayLike]) -> FloatArray:
        """ln q(h | x) of states [x, h^1, ..., h^L], one value per row."""
        hs = self._check_layers(layers)
        return _log_q(self._params, hs, self._spin)[0]

    def log_likelihood(
        self,
        X: ArrayLike,
        samples: int = 100,
        *,
        rng: np.random.Generator | None = None,
        seed: Any = None,
    ) -> FloatArray:
        """Importance-sampled ln p(x) per row, q as proposal (the RWS / IWAE bound):
        ``ln (1/K) Σ_k p(x, h_k) / q(h_k | x)``, h_k ~ q(h | x), computed by logsumexp.

        Its expectation is a lower bound of ln p(x) that tightens as ``samples`` = K grows.
        Memory stays bounded for large K (chunks of rows × samples).
        """
        x = self._check_data("X", X)
        K = as_int("samples", samples, minimum=1)
        gen = self._rng if (rng is None and seed is None) else as_generator(rng, seed)
        return _log_likelihood(self._params, x, K, gen, self._spin)

    def exact_log_likelihood(self, X: ArrayLike) -> FloatArray:
        """ln p(x) per row by enumerating the hidden states (at most 20 hidden units in all)."""
        x = self._check_data("X", X)
        hidden = sum(self._sizes[1:])
        if hidden > MAX_EXACT_HIDDEN:
            raise ValueError(
                f"exact_log_likelihood enumerates 2**{hidden} hidden states: sizes {list(self._sizes)} "
                f"have more than {MAX_EXACT_HIDDEN} hidden units; use log_likelihood"
            )
        return _exact_log_likelihood(self._params, x, self._spin)

    def fisher_blocks(
        self,
        network: str,
        layers: Sequence[ArrayLike],
        probabilities: ArrayLike | None = None,
    ) -> list[FloatArray]:
        """Estimated per-unit Fisher blocks of one network, layer by layer.

        Parameters
        ----------
        network : {"generative", "recognition"}
            ``"generative"``: blocks ``E[σ'(W^i_j h^{i+1} + b^i_j) h̃ h̃ᵀ]`` of every unit of
            layers 0..L−1 (h̃ = (h^{i+1}, 1)) and the 1 × 1 blocks σ'(b^L_j) of the top prior;
            ``layers`` should be samples from p. ``"recognition"``: blocks
            ``E[σ'(V^i_j h^i + c^i_j) h̃ h̃ᵀ]`` (h̃ = (h^i, 1)), from samples x ~ data,
            h ~ q(h | x).
        layers : [x, h^1, ..., h^L]
            States, each (M, l_i).
        probabilities : (M,) array_like, optional
            Weights of the states (summing to 1) for an exact expectation over enumerated
            states; default 1/M each (Monte Carlo).

        Returns
        -------
        list of (J, d + 1, d + 1) arrays
            One per layer of units (generative: L + 1 entries, the top prior's last; recognition:
            L entries), with d the width of the layer's input.
        """
        from .fisher_blocks import fisher_blocks

        hs = self._check_layers(layers)
        M = hs[0].shape[0]
        if probabilities is None:
            prob = np.full(M, 1.0 / M)
        else:
            prob = as_float_array("probabilities", probabilities, shape=(M,))
            if np.any(prob < 0):
                raise ValueError("probabilities must be >= 0")
        p, spin = self._params, self._spin
        scale = (M * prob)[:, None]
        out: list[FloatArray] = []
        if network == "generative":
            for i in range(len(self._sizes) - 1):
                a = hs[i + 1] @ p.gen_weights[i].T + p.gen_biases[i]
                out.append(fisher_blocks(hs[i + 1], scale * _fisher_weight(a, spin)))
            top = _fisher_weight(p.gen_biases[-1], spin)
            out.append(np.asarray(top.reshape(-1, 1, 1) * prob.sum()))
        elif network == "recognition":
            for i in range(len(self._sizes) - 1):
                a = hs[i] @ p.rec_weights[i].T + p.rec_biases[i]
                out.append(fisher_blocks(hs[i], scale * _fisher_weight(a, spin)))
        else:
            raise ValueError(f"network must be 'generative' or 'recognition', got {network!r}")
        return out

    # --- training ----------------------------------------------------------------------------

    def fit(
        self,
        X: ArrayLike,
        method: str = "nrws",
        *,
        epochs: int = 10,
        batch_size: int = 32,
        samples: int = 10,
        learning_rate: float | None = None,
        momentum: float = 0.0,
        damping: float = 0.1,
        fisher_every: int = 1,
        sleep_samples: int | None = None,
        fisher_samples: int | None = None,
        validation: ArrayLike | None = None,
        validation_samples: int = 100,
        progress: bool = False,
        callback: Callable[[HelmholtzMachine, EpochRecord], Any] | None = None,
        rng: np.random.Generator | None = None,
        seed: Any = None,
    ) -> FitHistory:
        """Train by (natural) (reweighted) wake-sleep with plain SGD steps (ascent on the bound).

        Parameters
        ----------
        X : (n, l_0) array_like
            Training data, values in {0, 1} (``units="binary"``) or {−1, +1} (``"spin"``).
        method : {"nrws", "rws", "nws", "ws"}, default "nrws"
            See the module docstring; "n..." are the natural-gradient versions.
        epochs : int, default 10
            Passes over X (reshuffled each epoch).
        batch_size : int, default 32
            Data points per step (the last minibatch of an epoch may be smaller).
        samples : int, default 10
            K importance samples h ~ q(h | x) per data point (``"ws"``/``"nws"`` average them
            with equal weights).
        learning_rate : float, optional
            SGD step size; default 0.3 for "rws"/"ws" and 0.1 for "nrws"/"nws": the best
            200-epoch rates on the binarised digits, shallow net (the grids of BENCHMARKS.md,
            "Helmholtz machines"; NRWS with its Fisher from ``fisher_samples=1500``).
        momentum : float, default 0
            Heavy-ball momentum in [0, 1).
        damping : float, default 0.1
            Tikhonov damping α > 0 of the natural step ``(1 + α)(F_j + αI)⁻¹ g_j``
            (natural methods only; large α gives back the plain gradient).
        fisher_every : int, default 1
            Refresh the Fisher blocks every this many steps; in between their damped factors
            are reused.
        sleep_samples : int, optional
            Samples (x, h) ~ p drawn per step for the sleep phase and the Fisher of p; default
            ``batch_size``.
        fisher_samples : int, optional
            Natural methods: estimate the Fisher blocks at each refresh from fresh draws, this
            many training points (without replacement, at most all of X) with one h ~ q(h | x)
            each for the blocks of q and this many (x, h) ~ p for those of p. Default: the
            step's own samples (the minibatch's K wake samples per point and the sleep batch),
            which suits ``fisher_every=1``; blocks reused for many steps should be estimated
            from many samples: a block from the 32 distinct inputs of one minibatch has rank
            <= 32 and steps every direction outside their span by (1 + α)/α (BENCHMARKS.md,
            "Helmholtz machines").
        validation : (m, l_0) array_like, optional
            Data whose NLL is estimated after each epoch (``log_likelihood`` with
            ``validation_samples`` samples).
        validation_samples : int, default 100
        progress : bool, default False
            Show a progress bar (tqdm when installed, else one line per epoch on stderr).
        callback : callable, optional
            ``callback(model, record)`` after each epoch; returning True stops training.
        rng, seed :
            Randomness of this run; default the model's own generator.

        Returns
        -------
        FitHistory
            Per epoch: training bound, validation NLL, wall seconds. Ctrl-C ends the run after
            the last completed step (``stopped == "interrupted"``): parameters are replaced as a
            whole, never half-updated.
        """
        x = self._check_data("X", X)
        if method not in METHODS:
            raise ValueError(
                f"method must be one of {', '.join(map(repr, METHODS))}, got {method!r}"
            )
        n_epochs = as_int("epochs", epochs, minimum=0)
        B = as_int("batch_size", batch_size, minimum=1)
        K = as_int("samples", samples, minimum=1)
        natural = method.startswith("n")
        lr = (
            (0.1 if natural else 0.3)
            if learning_rate is None
            else as_float("learning_rate", learning_rate, positive=True)
        )
        mu = as_float("momentum", momentum, nonnegative=True)
        if mu >= 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        alpha = as_damping(damping, positive=True)
        every = as_int("fisher_every", fisher_every, minimum=1)
        n_sleep = B if sleep_samples is None else as_int("sleep_samples", sleep_samples, minimum=1)
        n_fisher = (
            None if fisher_samples is None else as_int("fisher_samples", fisher_samples, minimum=1)
        )
        x_val = None if validation is None else self._check_data("validation", validation)
        k_val = as_int("validation_samples", validation_samples, minimum=1)
        if callback is not None and not callable(callback):
            raise ValueError(f"callback must be callable, got {callback!r}")
        gen = self._rng if (rng is None and seed is None) else as_generator(rng, seed)
        settings = {
            "epochs": n_epochs,
            "batch_size": B,
            "samples": K,
            "learning_rate": lr,
            "momentum": mu,
            "damping": alpha,
            "fisher_every": every,
            "sleep_samples": n_sleep,
            "fisher_samples": n_fisher,
            "validation_samples": k_val,
        }
        history = FitHistory(method, settings)
        trainer = _Trainer(method, K, lr, mu, alpha, every, n_sleep, self._spin, n_fisher, x)
        bar = _Progress(n_epochs) if progress else None
        try:
            with _one_blas_thread():
                self._epochs(x, x_val, k_val, n_epochs, B, trainer, gen, history, bar, callback)
        except KeyboardInterrupt:
            history.stopped = "interrupted"
        finally:
            if bar is not None:
                bar.close()
        return history

    def _epochs(
        self,
        x: FloatArray,
        x_val: FloatArray | None,
        k_val: int,
        n_epochs: int,
        B: int,
        trainer: _Trainer,
        gen: np.random.Generator,
        history: FitHistory,
        bar: _Progress | None,
        callback: Callable[[HelmholtzMachine, EpochRecord], Any] | None,
    ) -> None:
        total = 0.0
        for epoch in range(1, n_epochs + 1):
            t0 = time.perf_counter()
            order = gen.permutation(x.shape[0])
            bounds = []
            for start in range(0, x.shape[0], B):
                new, bound = trainer.step(self._params, x[order[start : start + B]], gen)
                self._params = new  # the one commit of the step
                bounds.append(bound)
            seconds = time.perf_counter() - t0
            total += seconds
            val = None
            if x_val is not None:
                val = -float(np.mean(_log_likelihood(self._params, x_val, k_val, gen, self._spin)))
            record = EpochRecord(epoch, float(np.mean(bounds)), val, seconds, total)
            history.records.append(record)
            if bar is not None:
                bar.update(record)
            if callback is not None and callback(self, record) is True:
                history.stopped = "callback"
                break

    # --- validation helpers ------------------------------------------------------------------

    def _check_data(self, name: str, X: ArrayLike) -> FloatArray:
        x = as_float_array(name, X, ndim=2)
        if x.shape[1] != self._sizes[0]:
            raise ValueError(
                f"{name} must have shape (n, {self._sizes[0]}) (one row per data point), got {x.shape}"
            )
        _check_values(name, x, self._spin)
        return x

    def _check_layers(self, layers: Sequence[ArrayLike]) -> list[FloatArray]:
        if len(layers) != len(self._sizes):
            raise ValueError(
                f"layers must hold {len(self._sizes)} arrays [x, h^1, ..., h^L], got {len(layers)}"
            )
        hs = [as_float_array(f"layers[{i}]", h, ndim=2) for i, h in enumerate(layers)]
        M = hs[0].shape[0]
        for i, h in enumerate(hs):
            if h.shape != (M, self._sizes[i]):
                raise ValueError(
                    f"layers[{i}] must have shape ({M}, {self._sizes[i]}), got {h.shape}"
                )
            _check_values(f"layers[{i}]", h, self._spin)
        return hs


def _check_sizes(sizes: Any) -> tuple[int, ...]:
    try:
        values = list(sizes)
    except TypeError as exc:
        raise ValueError(f"sizes must be a sequence of layer sizes, got {sizes!r}") from exc
    if len(values) < 2:
        raise ValueError(f"sizes must list at least two layers (visible and hidden), got {sizes!r}")
    return tuple(as_int(f"sizes[{i}]", v, minimum=1) for i, v in enumerate(values))


def _check_units(units: Any) -> str:
    if units not in ("binary", "spin"):
        raise ValueError(f"units must be 'binary' or 'spin', got {units!r}")
    return str(units)


def _check_values(name: str, x: FloatArray, spin: bool) -> None:
    allowed = (-1.0, 1.0) if spin else (0.0, 1.0)
    bad = ~((x == allowed[0]) | (x == allowed[1]))
    if np.any(bad):
        value = x[bad].flat[0]
        raise ValueError(
            f"{name} must contain only {allowed[0]:g} and {allowed[1]:g} "
            f"(units={'spin' if spin else 'binary'!r}), got {value!r}"
        )


# --- the networks as pure functions of the parameters -----------------------------------------


def _log_p(
    params: _Params, hs: Sequence[FloatArray], spin: bool
) -> tuple[FloatArray, list[FloatArray]]:
    """ln p(x, h) per row, and the activations a^i = h^{i+1} W^iᵀ + b^i of layers 0..L−1."""
    L = len(params.gen_weights)
    acts = [hs[i + 1] @ params.gen_weights[i].T + params.gen_biases[i] for i in range(L)]
    total = _log_prob(hs[L], np.broadcast_to(params.gen_biases[L], hs[L].shape), spin)
    for i in range(L):
        total = total + _log_prob(hs[i], acts[i], spin)
    return np.asarray(total), acts


def _log_q(
    params: _Params, hs: Sequence[FloatArray], spin: bool
) -> tuple[FloatArray, list[FloatArray]]:
    """ln q(h | x) per row, and the activations a^i = h^i V^iᵀ + c^i of layers 1..L."""
    L = len(params.rec_weights)
    acts = [hs[i] @ params.rec_weights[i].T + params.rec_biases[i] for i in range(L)]
    total = np.zeros(hs[0].shape[0])
    for i in range(L):
        total = total + _log_prob(hs[i + 1], acts[i], spin)
    return total, acts


def _sample_q(
    params: _Params, x: FloatArray, rng: np.random.Generator, spin: bool
) -> tuple[list[FloatArray], list[FloatArray]]:
    """h ~ q(h | x) bottom-up: the layers [x, h^1, ..., h^L] and q's activations."""
    hs, acts = [x], []
    for V, c in zip(params.rec_weights, params.rec_biases, strict=True):
        a = hs[-1] @ V.T + c
        acts.append(a)
        hs.append(_draw(a, rng, spin))
    return hs, acts


def _sample_p(
    params: _Params, n: int, rng: np.random.Generator, spin: bool
) -> tuple[list[FloatArray], list[FloatArray]]:
    """(x, h) ~ p top-down: the layers [x, h^1, ..., h^L] and p's activations of layers 0..L−1."""
    L = len(params.gen_weights)
    top = np.broadcast_to(params.gen_biases[L], (n, params.gen_biases[L].shape[0]))
    hs: list[FloatArray] = [_draw(np.ascontiguousarray(top), rng, spin)]
    acts: list[FloatArray] = []
    for i in range(L - 1, -1, -1):
        a = hs[0] @ params.gen_weights[i].T + params.gen_biases[i]
        acts.insert(0, a)
        hs.insert(0, _draw(a, rng, spin))
    return hs, acts


def _log_weights(
    params: _Params, x: FloatArray, K: int, rng: np.random.Generator, spin: bool
) -> FloatArray:
    """ln p(x, h_k) − ln q(h_k | x) for K samples per row, shape (rows, K)."""
    xr = np.repeat(x, K, axis=0)
    hs, _ = _sample_q(params, xr, rng, spin)
    lp, _ = _log_p(params, hs, spin)
    lq, _ = _log_q(params, hs, spin)
    return (lp - lq).reshape(x.shape[0], K)


def _log_likelihood(
    params: _Params, x: FloatArray, K: int, rng: np.random.Generator, spin: bool
) -> FloatArray:
    out = np.empty(x.shape[0])
    k_chunk = min(K, _CHUNK)
    rows = max(1, _CHUNK // k_chunk)
    for r0 in range(0, x.shape[0], rows):
        xb = x[r0 : r0 + rows]
        acc = np.full(xb.shape[0], -np.inf)
        for k0 in range(0, K, k_chunk):
            lw = _log_weights(params, xb, min(k_chunk, K - k0), rng, spin)
            acc = np.logaddexp(acc, _logsumexp_rows(lw))
        out[r0 : r0 + rows] = acc - math.log(K)
    return out


def _states(n: int, spin: bool) -> FloatArray:
    """All 2**n states of n units, one per row (first unit most significant)."""
    bits = (np.arange(2**n)[:, None] >> np.arange(n - 1, -1, -1)) & 1
    return np.asarray((2.0 * bits - 1.0) if spin else bits, dtype=np.float64)


def _exact_log_likelihood(params: _Params, x: FloatArray, spin: bool) -> FloatArray:
    """ln p(x) = logsumexp over h^1 of ln p(x | h^1) + ln p(h^1), where the marginals
    ln p(h^i) of every layer's 2**l_i states come from the layer above by logsumexp."""
    L = len(params.gen_weights)
    top = _states(params.gen_biases[L].shape[0], spin)
    log_marg = _log_prob(top, np.broadcast_to(params.gen_biases[L], top.shape), spin)
    upper = top
    for i in range(L - 1, 0, -1):  # marginal of layer i from layer i + 1
        lower = _states(params.gen_biases[i].shape[0], spin)
        a = upper @ params.gen_weights[i].T + params.gen_biases[i]  # (S_up, l_i)
        cond = lower @ a.T - (np.logaddexp(a, -a) if spin else np.logaddexp(0.0, a)).sum(axis=1)
        log_marg = _logsumexp_rows(cond + log_marg[None, :])  # (S_low,)
        upper = lower
    a = upper @ params.gen_weights[0].T + params.gen_biases[0]  # (S_1, l_0)
    norm = (np.logaddexp(a, -a) if spin else np.logaddexp(0.0, a)).sum(axis=1)
    out = np.empty(x.shape[0])
    rows = max(1, _CHUNK // upper.shape[0])
    for r0 in range(0, x.shape[0], rows):
        cond = x[r0 : r0 + rows] @ a.T - norm  # (rows, S_1)
        out[r0 : r0 + rows] = _logsumexp_rows(cond + log_marg[None, :])
    return out


# --- one training step ------------------------------------------------------------------------


def _rows(grad_w: FloatArray, grad_b: FloatArray) -> FloatArray:
    """Per-unit gradient rows (incoming weights, bias), shape (J, d + 1)."""
    out = np.empty((grad_w.shape[0], grad_w.shape[1] + 1))
    out[:, :-1] = grad_w
    out[:, -1] = grad_b
    return out


def generative_gradients(
    params: _Params,
    hs: Sequence[FloatArray],
    acts: Sequence[FloatArray],
    weights: FloatArray,
    spin: bool,
) -> list[FloatArray]:
    """Σ_n ω_n ∇ ln p(x_n, h_n) as per-unit rows: L arrays (l_i, l_{i+1} + 1) and the top prior
    (l_L, 1). ``acts`` are p's activations at the states ``hs``; ``weights`` ω (M,)."""
    L = len(params.gen_weights)
    out = []
    for i in range(L):
        r = (hs[i] - _mean(acts[i], spin)) * weights[:, None]
        out.append(_rows(r.T @ hs[i + 1], r.sum(axis=0)))
    top = (hs[L] - _mean(params.gen_biases[L], spin)) * weights[:, None]
    out.append(top.sum(axis=0)[:, None])
    return out


def recognition_gradients(
    hs: Sequence[FloatArray], acts: Sequence[FloatArray], weights: FloatArray, spin: bool
) -> list[FloatArray]:
    """Σ_n ω_n ∇ ln q(h_n | x_n) as per-unit rows: L arrays (l_{i+1}, l_i + 1)."""
    out = []
    for i in range(len(acts)):
        r = (hs[i + 1] - _mean(acts[i], spin)) * weights[:, None]
        out.append(_rows(r.T @ hs[i], r.sum(axis=0)))
    return out


def wake_weights(log_w: FloatArray, reweighted: bool) -> FloatArray:
    """ω of the wake phase, (B·K,), summing to 1: softmax over each row's K samples / B
    (normalised importance weights) or 1/(B·K) each (plain wake-sleep)."""
    B, K = log_w.shape
    if not reweighted:
        return np.full(B * K, 1.0 / (B * K))
    w = np.exp(log_w - log_w.max(axis=1, keepdims=True))
    return np.asarray((w / w.sum(axis=1, keepdims=True)).ravel() / B)


class _Trainer:
    """The step of one fit run: (parameters, minibatch, generator) -> (new parameters, bound)."""

    def __init__(
        self,
        method: str,
        K: int,
        lr: float,
        momentum: float,
        damping: float,
        fisher_every: int,
        sleep_samples: int,
        spin: bool,
        fisher_samples: int | None = None,
        data: FloatArray | None = None,
    ) -> None:
        self.reweighted = method in ("rws", "nrws")
        self.natural = method.startswith("n")
        self.K, self.lr, self.momentum, self.damping = K, lr, momentum, damping
        self.every, self.n_sleep, self.spin = fisher_every, sleep_samples, spin
        self.n_fisher, self.data = fisher_samples, data
        self.steps = 0
        self.velocity: list[FloatArray] | None = None
        self.p_inverses: list[FloatArray] = []  # (1 + α)(F_j + αI)⁻¹ per layer, (J, q, q)
        self.q_inverses: list[FloatArray] = []
        self.top_scale: FloatArray | None = None  # (1 + α) / (σ'(b^L) + α), (l_L, 1)

    def step(
        self, params: _Params, xb: FloatArray, rng: np.random.Generator
    ) -> tuple[_Params, float]:
        spin, K, B = self.spin, self.K, xb.shape[0]
        # wake phase: K samples h ~ q(h | x) per data point
        hs, q_acts = _sample_q(params, np.repeat(xb, K, axis=0), rng, spin)
        lp, p_acts = _log_p(params, hs, spin)
        lq, _ = _log_q(params, hs, spin)
        log_w = (lp - lq).reshape(B, K)
        bound = float(np.mean(_logsumexp_rows(log_w))) - math.log(K)
        omega = wake_weights(log_w, self.reweighted)
        g_p = generative_gradients(params, hs, p_acts, omega, spin)
        # sleep phase: (x, h) ~ p
        hs_s, p_acts_s = _sample_p(params, self.n_sleep, rng, spin)
        _, q_acts_s = _log_q(params, hs_s, spin)
        g_q = recognition_gradients(hs_s, q_acts_s, np.full(self.n_sleep, 1.0 / self.n_sleep), spin)
        if self.reweighted:  # average the wake and the sleep q updates
            g_wake = recognition_gradients(hs, q_acts, omega, spin)
            g_q = [0.5 * (a + b) for a, b in zip(g_q, g_wake, strict=True)]
        if self.natural:
            if self.steps % self.every == 0:
                if self.n_fisher is None or self.data is None:
                    self._refresh(params, hs, q_acts, hs_s, p_acts_s)
                else:
                    self._refresh(params, *self._fisher_draws(params, rng))
            g_p, g_q = self._precondition(g_p, g_q)
        self.steps += 1
        steps = g_p + g_q
        if self.momentum > 0:
            if self.velocity is None:
                self.velocity = [np.zeros_like(s) for s in steps]
            steps = [self.momentum * v + s for v, s in zip(self.velocity, steps, strict=True)]
            self.velocity = steps
        return _apply(params, steps, self.lr), bound

    def _fisher_draws(
        self, params: _Params, rng: np.random.Generator
    ) -> tuple[list[FloatArray], list[FloatArray], list[FloatArray], list[FloatArray]]:
        """Fresh samples for the Fisher blocks: ``n_fisher`` training points (without
        replacement, at most all of them) with one h ~ q(h | x) each, and ``n_fisher`` (x, h) ~ p."""
        assert self.n_fisher is not None and self.data is not None
        n = self.data.shape[0]
        rows = rng.choice(n, size=min(self.n_fisher, n), replace=False)
        hs_q, q_acts = _sample_q(params, self.data[np.sort(rows)], rng, self.spin)
        hs_p, p_acts = _sample_p(params, self.n_fisher, rng, self.spin)
        return hs_q, q_acts, hs_p, p_acts

    def _refresh(
        self,
        params: _Params,
        hs: list[FloatArray],
        q_acts: list[FloatArray],
        hs_s: list[FloatArray],
        p_acts_s: list[FloatArray],
    ) -> None:
        spin, a = self.spin, self.damping
        scale = 1.0 + a  # the step (1 + α)(F + αI)⁻¹ g, folded into the cached inverses
        self.p_inverses = [
            scale
            * DampedFisherBlocks._unchecked(
                hs_s[i + 1], _fisher_weight(p_acts_s[i], spin), a
            ).inverse()
            for i in range(len(p_acts_s))
        ]
        self.top_scale = scale / (_fisher_weight(params.gen_biases[-1], spin)[:, None] + a)
        self.q_inverses = [
            scale
            * DampedFisherBlocks._unchecked(hs[i], _fisher_weight(q_acts[i], spin), a).inverse()
            for i in range(len(q_acts))
        ]

    def _precondition(
        self, g_p: list[FloatArray], g_q: list[FloatArray]
    ) -> tuple[list[FloatArray], list[FloatArray]]:
        # one batched product per layer with the cached (1 + α)(F_j + αI)⁻¹ instead of two
        # triangular solves per unit (the epoch cost: bench/wake_sleep.py --epoch-cost)
        assert self.top_scale is not None
        n_p = [_matvec(m, g) for m, g in zip(self.p_inverses, g_p[:-1], strict=True)]
        n_p.append(g_p[-1] * self.top_scale)
        n_q = [_matvec(m, g) for m, g in zip(self.q_inverses, g_q, strict=True)]
        return n_p, n_q


def _matvec(m: FloatArray, g: FloatArray) -> FloatArray:
    """Row j is m[j] @ g[j]: numpy.matvec (NumPy >= 2.2; faster than matmul on these (J, q, q)
    stacks), else matmul."""
    if _NP_MATVEC is not None:
        return np.asarray(_NP_MATVEC(m, g))
    return np.asarray(np.matmul(m, g[:, :, None])[:, :, 0])


_NP_MATVEC = getattr(np, "matvec", None)


def _apply(params: _Params, steps: list[FloatArray], lr: float) -> _Params:
    """New parameters θ + lr·step from per-unit rows [p layers 0..L−1, top prior, q layers]."""
    L = len(params.gen_weights)
    gw, gb, rw, rb = [], [], [], []
    for i in range(L):
        s = steps[i]
        gw.append(_frozen(params.gen_weights[i] + lr * s[:, :-1]))
        gb.append(_frozen(params.gen_biases[i] + lr * s[:, -1]))
    gb.append(_frozen(params.gen_biases[L] + lr * steps[L][:, 0]))
    for i in range(L):
        s = steps[L + 1 + i]
        rw.append(_frozen(params.rec_weights[i] + lr * s[:, :-1]))
        rb.append(_frozen(params.rec_biases[i] + lr * s[:, -1]))
    return _Params(tuple(gw), tuple(gb), tuple(rw), tuple(rb))


def _one_blas_thread() -> Any:
    """One BLAS thread for the training loop (threadpoolctl, when installed): its products are
    small (hundreds of rows), where threads cost more than they give, and on a busy machine
    OpenBLAS threads spinning against other processes made an epoch 12x slower (measured)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


class _Progress:
    """tqdm when installed, else one line per epoch on stderr."""

    def __init__(self, total: int) -> None:
        try:
            from tqdm.auto import tqdm

            self._bar: Any = tqdm(total=total, unit="epoch")
        except ImportError:
            self._bar = None

    def update(self, record: EpochRecord) -> None:
        text = f"bound {record.train_bound:.3f}"
        if record.validation_nll is not None:
            text += f", validation NLL {record.validation_nll:.3f}"
        if self._bar is not None:
            self._bar.set_postfix_str(text)
            self._bar.update(1)
        else:
            print(f"epoch {record.epoch}: {text} ({record.seconds:.2f} s)", file=sys.stderr)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
