"""A bounded fuzz of every ``natgrad._core`` binding.

Each binding is described once in ``FUZZ_TABLE`` (name -> argument kinds and the shape of a valid
result); the harness builds valid arguments from the kinds, then breaks one of them: a shape of
0, 1, off by one or 3-D, a NaN/Inf/huge/subnormal value, a Fortran-ordered, strided, read-only,
misaligned or mistyped array, a bad scalar. The contract of every binding:

* it returns a finite result (of the documented shape when the arguments were valid), or raises
  ValueError; TypeError only where pybind11 itself refuses the Python type, dimension count or
  layout ("incompatible function arguments");
* it never crashes the interpreter (the process surviving this test is the check; the known
  crashers are replayed in a subprocess below) and never writes into its inputs.

To fuzz a new binding, add one line to FUZZ_TABLE (new argument kinds go into ``_build``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from _kernel_battery import core_kernels
from natgrad import _core, graphs
from natgrad.optim import GMRF, IGOCMA, SNES, XNES, LowRankNES


@dataclass(frozen=True)
class Dims:
    n: int  # dimension of the Gaussian (or of the linear system)
    big_n: int  # number of samples
    k: int  # right-hand sides / columns of u
    free: int  # number of selected packed coordinates (m when no selection)

    @property
    def m(self) -> int:
        return self.n + self.n * (self.n + 1) // 2


Shape = Callable[[Dims], Any]
SCALAR: Shape = lambda d: ()  # noqa: E731


def _tuple3(d: Dims) -> tuple[tuple[int, ...], ...]:
    return ((d.n,), (d.n, d.n), (d.n, d.n))


def _tuple2(d: Dims) -> tuple[Any, ...]:
    return ((d.n,), (d.n, d.n), None)


# name -> (argument kinds, shape of the result for valid arguments)
FUZZ_TABLE: dict[str, tuple[tuple[str, ...], Shape]] = {
    "damped_cholesky_solve": (("spd", "rhs", "damping"), lambda d: (d.n, d.k)),
    "woodbury_solve": (("u", "rhs", "damping+"), lambda d: (d.n, d.k)),
    "gaussian_cholesky": (("spd",), lambda d: (d.n, d.n)),
    "gaussian_precision_from_cov": (("spd",), lambda d: (d.n, d.n)),
    "gaussian_natural_from_mean_cov": (("vec", "spd"), lambda d: (d.m,)),
    "gaussian_expectation_from_mean_cov": (("vec", "spd"), lambda d: (d.m,)),
    "gaussian_pack_mean_cov": (("vec", "spd"), lambda d: (d.m,)),
    "gaussian_mean_cov_from_natural": (("theta",), _tuple3),
    "gaussian_mean_cov_from_expectation": (("eta",), _tuple2),
    "gaussian_mean_cov_from_packed": (("xi",), _tuple2),
    "gaussian_expectation_from_natural": (("theta",), lambda d: (d.m,)),
    "gaussian_natural_from_expectation": (("eta",), lambda d: (d.m,)),
    "gaussian_log_partition_natural": (("theta",), SCALAR),
    "gaussian_log_partition_mean_cov": (("vec", "spd"), SCALAR),
    "gaussian_neg_entropy_natural": (("theta",), SCALAR),
    "gaussian_neg_entropy_expectation": (("eta",), SCALAR),
    "gaussian_neg_entropy_mean_cov": (("spd",), SCALAR),
    "gaussian_kl": (("vec", "spd", "vec", "spd"), SCALAR),
    "gaussian_log_prob": (("vec", "spd", "batch"), lambda d: (d.big_n,)),
    "gaussian_sufficient_stats": (("batch",), lambda d: (d.big_n, d.m)),
    "gaussian_sample": (("vec", "spd", "batch"), lambda d: (d.big_n, d.n)),
    "gaussian_fisher_natural": (("vec", "spd", "free"), lambda d: (d.free, d.free)),
    "gaussian_fisher_expectation": (("vec", "spd", "free"), lambda d: (d.free, d.free)),
    "gaussian_fisher_mean_cov": (("spd", "free"), lambda d: (d.free, d.free)),
    "gaussian_fisher_product_natural": (("vec", "spd", "grad"), lambda d: (d.m,)),
    "gaussian_fisher_product_expectation": (("vec", "spd", "grad"), lambda d: (d.m,)),
    "gaussian_fisher_product_mean_cov": (("spd", "grad"), lambda d: (d.m,)),
    "gaussian_natural_gradient_natural": (
        ("vec", "spd", "spd", "grad", "damping"),
        lambda d: (d.m,),
    ),
    "gaussian_natural_gradient_expectation": (
        ("vec", "spd", "spd", "grad", "damping"),
        lambda d: (d.m,),
    ),
    "gaussian_natural_gradient_mean_cov": (("spd", "grad", "damping"), lambda d: (d.m,)),
    "cov_f_stats": (("batch", "values"), lambda d: (d.m,)),
    "empirical_fisher": (("batch",), lambda d: (d.m, d.m)),
    "natural_gradient_theta_empirical": (("batch", "values", "damping"), lambda d: (d.m,)),
    "natural_gradient_theta_exact": (("batch", "values", "vec", "spd"), lambda d: (d.m,)),
    "natural_gradient_mean_cov": (("batch", "values", "vec"), lambda d: (d.m,)),
    "tangent_mean_cov_to_theta": (("vec", "spd", "grad"), lambda d: (d.m,)),
    "tangent_theta_to_mean_cov": (("vec", "spd", "grad"), lambda d: (d.m,)),
    "binary_cov_f_x": (("binary", "values"), lambda d: (d.n,)),
    "binary_fisher_theta": (("theta_b",), lambda d: (d.n,)),
    "binary_natural_gradient": (("binary", "values", "theta_b"), lambda d: (d.n,)),
    # Fisher blocks of a layer: big_n samples of n inputs, k units
    "fisher_blocks_factor": (
        ("batch", "unit_weights", "damping+"),
        lambda d: (d.k, (d.n + 1) ** 2),
    ),
    "fisher_blocks_solve": (("block_factors", "unit_grads"), lambda d: (d.k, d.n + 1)),
    "fisher_blocks_inverse": (("block_factors",), lambda d: (d.k, (d.n + 1) ** 2)),
    "fisher_blocks_woodbury_factor": (
        ("batch", "unit_weights", "damping+"),
        lambda d: (d.k, d.big_n**2),
    ),
    "fisher_blocks_woodbury_solve": (
        ("batch", "unit_weights", "woodbury_factors", "unit_grads", "damping+"),
        lambda d: (d.k, d.n + 1),
    ),
    # search kernels: a generation of big_n samples in dimension n (K = k rank-one terms)
    "sample_full": (("vec", "step", "spd", "batch"), lambda d: (d.big_n, d.n)),
    "sample_diagonal": (("vec", "step", "scales", "batch"), lambda d: (d.big_n, d.n)),
    "gemm_factor_update": (
        ("spd", "kn", "kn", "kvec", "damping+"),
        lambda d: ((d.n, d.n), (d.k, d.k)),
    ),
    "lowrank_expm_factor": (("spd", "kn", "kn", "kvec"), lambda d: (d.n, d.n)),
    "igo_cma_update": (
        ("vec", "step", "spd", "vec", "vec", "batch", "batch", "values", "count", "igo_params"),
        lambda d: ((d.n,), (), (d.n, d.n), (d.n,), (d.n,), (), ()),
    ),
    "xnes_update": (
        ("vec", "step", "spd", "vec", "batch", "batch", "values", "xnes_params"),
        lambda d: ((d.n,), (), (d.n, d.n), (d.n,)),
    ),
    "snes_update": (
        ("vec", "step", "scales", "batch", "values", "snes_params"),
        lambda d: ((d.n,), (), (d.n,)),
    ),
    # GMRF kernels on the band-1 graph of n vertices (|E| = n - 1 pattern slots)
    "gmrf_complete": (("scales", "pattern", "structure"), lambda d: ((_nnz(d),), (d.n,))),
    "gmrf_sample": (
        ("vec", "step", "pattern", "scales", "batch", "structure"),
        lambda d: (d.big_n, d.n),
    ),
    "gmrf_whiten": (
        ("vec", "step", "pattern", "scales", "batch", "structure"),
        lambda d: (d.big_n, d.n),
    ),
    "gmrf_precision_diagonal": (("pattern", "scales", "structure"), lambda d: (d.n,)),
    "gmrf_precision_off": (("pattern", "scales", "structure"), lambda d: (_nnz(d),)),
    "gmrf_pattern_covariance": (("pattern", "scales", "structure"), lambda d: ((d.n,), (_nnz(d),))),
    "gmrf_factor": (("scales", "pattern", "structure"), lambda d: ((_nnz(d),), (d.n,))),
    "gmrf_solve": (("pattern", "scales", "vec", "structure"), lambda d: (d.n,)),
    "gmrf_update": (
        (
            "vec",
            "step",
            "scales",
            "pattern",
            "vec",
            "vec",
            "batch",
            "batch",
            "values",
            "count",
            "gmrf_params",
            "structure",
        ),
        lambda d: (
            (d.n,),
            (),
            (d.n,),
            (_nnz(d),),
            (d.n,),
            (d.n,),
            (_nnz(d),),
            (d.n,),
            (),
        ),
    ),
    "standard_normal": (("key", "count", "count"), lambda d: (3, 3)),
    "splitmix64": (("key", "key"), SCALAR),
    "lowrank_nes_sample": (
        ("vec", "step", "scales", "vec", "batch", "rank"),
        lambda d: (d.big_n, d.n),
    ),
    "lowrank_nes_update": (
        ("vec", "step", "scales", "vec", "vec", "vec", "batch", "values", "lowrank_params"),
        lambda d: ((d.n,), (), (d.n,), (d.n,), (d.n,), (d.n,)),
    ),
}


def _nnz(d: Dims) -> int:
    return max(d.n - 1, 0)


def _structure(n: int) -> Any:
    return graphs.band(n, 1).compiled()


_PARAMS = {
    "igo_params": IGOCMA(),
    "xnes_params": XNES(sigma_rule="csa"),
    "snes_params": SNES(),
    "gmrf_params": GMRF(),
    "lowrank_params": LowRankNES(),
}


def _compiled_params(kind: str, n: int, popsize: int) -> Any:
    record = _PARAMS[kind].parameters(max(n, 1), max(popsize, 2))
    return getattr(_core, type(record).__name__.replace("Parameters", "Params"))(**record._asdict())


_BAD_VALUES = (np.nan, np.inf, -np.inf, 1e300, -1e300, 1e308, 5e-324, -5e-324, 0.0, -0.0)
_BAD_SCALARS = (np.nan, np.inf, -np.inf, -1.0, -0.0, 0.0, 5e-324, 1e-300, 1e300, 1e308)


def _spd(rng: np.random.Generator, n: int) -> np.ndarray:
    a = rng.standard_normal((n, n))
    return a @ a.T / max(n, 1) + 0.5 * np.eye(n)


def _pack(vec: np.ndarray, mat: np.ndarray, scale: float) -> np.ndarray:
    iu = np.triu_indices(vec.size, 1)
    return np.concatenate([vec, np.diag(mat), scale * mat[iu]])


def _build(kind: str, d: Dims, rng: np.random.Generator, free: list[int] | None) -> Any:
    """A valid argument of the given kind."""
    n = d.n
    if kind == "vec":
        return rng.standard_normal(n)
    if kind == "spd":
        return _spd(rng, n)
    if kind == "theta":
        p = _spd(rng, n)
        return _pack(p @ rng.standard_normal(n), -0.5 * p, 1.0)
    if kind in ("eta", "xi"):
        mu, cov = rng.standard_normal(n), _spd(rng, n)
        return _pack(mu, cov + np.outer(mu, mu), 2.0) if kind == "eta" else _pack(mu, cov, 1.0)
    if kind == "grad":
        return rng.standard_normal(d.m)
    if kind == "batch":
        return rng.standard_normal((d.big_n, n))
    if kind == "binary":
        return np.where(rng.random((d.big_n, n)) < 0.5, -1.0, 1.0)
    if kind == "values":
        return rng.standard_normal(d.big_n)
    if kind == "theta_b":
        return 0.5 * rng.standard_normal(n)
    if kind == "rhs":
        return rng.standard_normal((n, d.k))
    if kind == "u":
        return rng.standard_normal((n, d.big_n))
    if kind == "unit_weights":
        return rng.uniform(0.01, 0.25, (d.big_n, d.k))
    if kind == "unit_grads":
        return rng.standard_normal((d.k, n + 1))
    if kind == "block_factors":
        return np.tile(np.linalg.cholesky(_spd(rng, n + 1)).ravel(), (d.k, 1))
    if kind == "woodbury_factors":
        return np.tile(np.linalg.cholesky(_spd(rng, d.big_n)).ravel(), (d.k, 1))
    if kind == "damping":
        return float(rng.choice([0.0, 0.1, 2.0]))
    if kind == "damping+":
        return float(rng.choice([0.1, 2.0]))
    if kind == "free":
        return free
    if kind == "step":
        return 0.7
    if kind == "count":
        return 3
    if kind == "key":
        return int(rng.integers(0, 2**63)) * 2 + 1
    if kind == "rank":
        return 1
    if kind == "scales":
        return np.exp(0.3 * rng.standard_normal(n))
    if kind == "kn":
        return rng.standard_normal((d.k, n))
    if kind == "kvec":
        return rng.uniform(0.01, 0.1, d.k)
    if kind == "pattern":
        return 0.1 * rng.standard_normal(_nnz(d))
    if kind == "structure":
        return _structure(max(n, 1))
    if kind in _PARAMS:
        return _compiled_params(kind, n, d.big_n)
    raise AssertionError(f"unknown argument kind {kind!r}")


def _break_shape(a: np.ndarray, how: int) -> np.ndarray:
    shape = list(a.shape)
    axis = how % a.ndim if a.ndim else 0
    if how % 5 == 0 and a.ndim:
        shape[axis] = 0
    elif how % 5 == 1 and a.ndim:
        shape[axis] += 1
    elif how % 5 == 2 and a.ndim and shape[axis] > 0:
        shape[axis] -= 1
    elif how % 5 == 3:
        return np.zeros((*a.shape, 2))  # one dimension too many
    else:
        return np.zeros(a.size) if a.ndim == 2 else np.zeros((a.size, 1))
    return np.full(shape, 0.5)


def _break_layout(a: np.ndarray, how: int) -> Any:
    if how == 0:
        return np.asfortranarray(a) if a.ndim == 2 and min(a.shape) > 1 else a[..., None]
    if how == 1:
        wide = np.repeat(a, 2, axis=-1) if a.ndim else a
        return wide[..., ::2]  # same values, every other element: strided
    if how == 2:
        out = a.copy()
        out.flags.writeable = False  # read-only input: valid, must work
        return out
    if how == 3:
        buf = np.zeros(a.nbytes + 8, dtype=np.uint8)  # misaligned float64 data (odd address)
        out = np.frombuffer(buf, dtype=np.float64, count=a.size, offset=1).reshape(a.shape)
        return out
    if how == 4:
        return a.astype(np.float32)
    if how == 5:
        return a.astype(np.int64)
    return a.tolist()


def _finite(result: Any) -> bool:
    parts = result if isinstance(result, tuple) else (result,)
    return all(p is None or bool(np.all(np.isfinite(np.asarray(p)))) for p in parts)


def _shape(result: Any) -> Any:
    if isinstance(result, tuple):
        return tuple(None if p is None else np.shape(p) for p in result)
    return np.shape(result)


@st.composite
def fuzzed_call(draw: st.DrawFn, name: str) -> tuple[list[Any], Dims, bool]:
    kinds, _ = FUZZ_TABLE[name]
    n = draw(st.sampled_from([0, 1, 2, 3, 5]))
    big_n = draw(st.sampled_from([0, 1, 2, 3, 7, 30]))
    k = draw(st.sampled_from([0, 1, 3]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    m = n + n * (n + 1) // 2
    free: list[int] | None = None
    if "free" in kinds and draw(st.booleans()):
        free = sorted(rng.choice(m, size=draw(st.integers(0, m)), replace=False).tolist())
    d = Dims(n, big_n, k, m if free is None else len(free))
    args = [_build(kind, d, rng, free) for kind in kinds]
    if draw(st.booleans()):  # a clean call now and then, so that the success paths run too
        return args, d, True
    i = draw(st.integers(0, len(args) - 1))
    kind, a = kinds[i], args[i]
    shape_kept = True
    if kind == "free":
        bad = [[-1], [m], [2**62], [0, 0], [1, 0], list(range(m + 1))]
        args[i] = draw(st.sampled_from(bad))
        shape_kept = False
    elif kind == "structure":  # the tables of another dimension, or not a structure at all
        args[i] = draw(st.sampled_from([_structure(n + 1), _structure(max(n + 3, 4)), None, a]))
        shape_kept = False
    elif isinstance(a, float):
        args[i] = draw(st.sampled_from(_BAD_SCALARS))
    elif kind == "count":
        args[i] = draw(st.sampled_from([-1, -(2**40), 2**40]))
    elif kind == "key":  # outside the 64-bit range, or not an integer: pybind11 refuses it
        args[i] = draw(st.sampled_from([-1, 2**64, 1.5, None]))
    elif kind == "rank":
        args[i] = draw(st.sampled_from([-1, 2, 2**40, -(2**40)]))
    elif kind in _PARAMS:
        # constants for another population, a non-finite constant, the Python record itself
        # (not the kernel's struct: pybind11 refuses it), or nothing
        record = _PARAMS[kind].parameters(max(n, 1), max(big_n, 2))
        field = record._fields[0]
        broken = [
            _compiled_params(kind, n, big_n + 1),
            getattr(_core, type(record).__name__.replace("Parameters", "Params"))(
                **record._replace(**{field: np.full_like(getattr(record, field), np.nan)})._asdict()
            ),
            record,
            None,
        ]
        args[i] = draw(st.sampled_from(broken))
        shape_kept = False
    else:
        mode = draw(st.sampled_from(["shape", "value", "scale", "layout"]))
        if mode == "shape":
            args[i] = _break_shape(a, draw(st.integers(0, 9)))
            shape_kept = False
        elif mode == "value" and a.size:
            out = a.copy()
            out.flat[draw(st.integers(0, a.size - 1))] = draw(st.sampled_from(_BAD_VALUES))
            args[i] = out
        elif mode == "scale":
            args[i] = a * draw(st.sampled_from([1e300, 1e-300, 1e154, -1e200]))
        else:
            how = draw(st.integers(0, 6))
            args[i] = _break_layout(a, how)
            shape_kept = how not in (0, 6)
    return args, d, shape_kept


def _snapshot(args: list[Any]) -> list[Any]:
    return [np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in args]


@pytest.mark.parametrize("name", sorted(FUZZ_TABLE))
def test_binding_survives_hostile_input(name: str) -> None:
    kernel = getattr(_core, name)
    _, out_shape = FUZZ_TABLE[name]

    @given(call=fuzzed_call(name))
    def check(call: tuple[list[Any], Dims, bool]) -> None:
        args, dims, shape_kept = call
        before = _snapshot(args)
        try:
            result = kernel(*args)
        except ValueError:
            result = None
        except TypeError as exc:
            assert "incompatible function arguments" in str(exc), f"{name}: {exc}"
            result = None
        for a, b in zip(args, before, strict=True):
            if isinstance(a, np.ndarray):
                assert np.array_equal(a, b, equal_nan=True), f"{name} wrote into its input"
        if result is None:
            return
        assert _finite(result), f"{name} returned a non-finite result"
        if shape_kept:
            assert _shape(result) == out_shape(dims), f"{name}: result shape"

    check()


def test_fuzz_table_covers_every_binding() -> None:
    assert set(FUZZ_TABLE) == set(core_kernels())


# Calls that crashed the interpreter or corrupted the heap before the bindings checked every shape
# first (issue 8, defect 2; the search kernels' empty dimensions and empty low-rank terms were
# found by this fuzz: minCoeff of an empty vector), with a word the ValueError must contain.
# Each runs in a fresh process, which must exit normally.
_CRASHERS = [
    ("gaussian_natural_gradient_natural(np.zeros(0), np.eye(1), np.eye(1), np.ones(2), 1.0)", "mean"),
    ("gaussian_natural_gradient_natural(np.zeros(3), np.eye(1), np.eye(1), np.ones(2), 1.0)", "cov"),
    ("gaussian_natural_gradient_expectation(np.zeros(0), np.eye(1), np.eye(1), np.ones(2), 1.0)", "mean"),
    ("gaussian_natural_gradient_expectation(np.zeros(3), np.eye(1), np.eye(1), np.ones(2), 1.0)", "cov"),
    ("gemm_factor_update(np.zeros((0, 0)), np.zeros((0, 0)), np.zeros((0, 0)), np.zeros(0), 2.0)", "A"),
    ("lowrank_expm_factor(np.zeros((0, 0)), np.zeros((0, 0)), np.zeros((0, 0)), np.zeros(0))", "A"),
    ("lowrank_expm_factor(np.eye(2), np.zeros((0, 2)), np.zeros((0, 2)), np.zeros(0))", "s"),
    ("igo_cma_update(np.zeros(0), 0.7, np.zeros((0, 0)), np.zeros(0), np.zeros(0), "
     "np.zeros((7, 0)), np.zeros((7, 0)), np.arange(7.0), 3, P['igo'])", "mean"),
    ("snes_update(np.zeros(0), 0.7, np.zeros(0), np.zeros((7, 0)), np.arange(7.0), P['snes'])", "mean"),
]  # fmt: skip


@pytest.mark.parametrize(("call", "word"), _CRASHERS)
def test_known_crashers_raise_value_error_in_a_fresh_process(call: str, word: str) -> None:
    code = textwrap.dedent(
        f"""
        import numpy as np
        from natgrad import _core
        from natgrad.optim import IGOCMA, SNES
        p, s = IGOCMA().parameters(1, 7), SNES().parameters(1, 7)
        P = {{"igo": _core.IGOCMAParams(**p._asdict()), "snes": _core.SNESParams(**s._asdict())}}
        try:
            _core.{call}
        except ValueError as exc:
            print("ValueError:", exc)
        else:
            print("returned")
        # a later valid call must still work (no corrupted heap)
        for _ in range(50):
            _core.gaussian_natural_gradient_natural(
                np.zeros(2), np.eye(2), np.eye(2), np.ones(5), 1.0
            )
        print("ok")
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"crashed with code {proc.returncode}: {proc.stderr[-500:]}"
    first = proc.stdout.splitlines()[0]
    assert first.startswith("ValueError:") and re.search(rf"\b{word} must", first), first
    assert proc.stdout.rstrip().endswith("ok")


def test_hypothesis_profile_follows_the_environment() -> None:
    tests = str(Path(__file__).resolve().parent)
    code = (
        f"import sys; sys.path.insert(0, {tests!r}); import conftest; "
        "from hypothesis import settings; d = settings.default; "
        "print(d.derandomize, d.max_examples, d.deadline)"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "NATGRAD_HYPOTHESIS_PROFILE")}
    out = {}
    for label, extra in [
        ("dev", {}),
        ("ci", {"CI": "1"}),
        ("forced", {"NATGRAD_HYPOTHESIS_PROFILE": "ci"}),
    ]:
        proc = subprocess.run(
            [sys.executable, "-c", code],
            env={**env, **extra},
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        out[label] = proc.stdout.split()
    assert out["ci"] == out["forced"] == ["True", "60", "None"]
    assert out["dev"][0] == "False"
