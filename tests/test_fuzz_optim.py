"""Bounded fuzzing of the optimiser layer: strategies, Optimizer and minimize given hostile
input either work (finite output of the right shape) or raise ValueError naming the problem;
nothing crashes, hangs, returns a silent NaN, mutates its input or half-updates an optimiser."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import natgrad as ng
from natgrad.functions import sphere
from natgrad.optim import GMRF, IGOCMA, SNES, SNGD, XNES, BinarySNGD, LowRankNES, Optimizer

STRATEGIES = [
    IGOCMA(), XNES(), XNES(sigma_rule="csa"), SNES(), SNGD(), BinarySNGD(), LowRankNES(),
    LowRankNES(rank=0), IGOCMA(sigma_rule="tpa"), GMRF(),
]  # fmt: skip
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SPECIAL = [0.0, -0.0, 1.0, -1.0, 5e-324, -5e-324, 1e-300, 1e300, -1e300, 1.7e308, np.nan, np.inf]
scalars = st.one_of(
    st.sampled_from(SPECIAL),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-3, 3),
    st.sampled_from([None, True, "1.0", "x", b"1", 1j, [1.0], [[1.0]], (), object()]),
)


@st.composite
def arrays(draw, shape):
    """An array near ``shape`` (sometimes another shape), of any dtype, values and layout."""
    pick = draw(st.integers(0, 9))
    if pick == 0:
        shape = ()
    elif pick == 1:
        shape = (*shape, 2)
    elif pick == 2 and shape:
        shape = (max(shape[0] - 1, 0), *shape[1:])
    elif pick == 3:
        shape = tuple(0 for _ in shape)
    size = int(np.prod(shape)) if shape else 1
    values = draw(
        st.lists(st.sampled_from(SPECIAL) | st.floats(-10, 10), min_size=size, max_size=size)
    )
    a = np.array(values, dtype=float).reshape(shape)
    kind = draw(st.integers(0, 7))
    if kind == 1:
        a = np.asfortranarray(a)
    elif kind == 2 and a.ndim:
        big = np.repeat(a, 2, axis=-1)
        a = big[..., ::2]
    elif kind == 3:
        a.flags.writeable = False
    elif kind == 4 and np.all(np.abs(a) < 1e18):
        a = a.astype(np.int64)
    elif kind == 5:
        a = a.astype(object)
    elif kind == 6 and np.all(np.abs(a[np.isfinite(a)]) < 1e38):
        a = a.astype(np.float32)
    return a


def same(a, b):
    """Equal contents (NaN equal to NaN), for the no-mutation checks."""
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype == object or b.dtype == object:
        return repr(a.tolist()) == repr(b.tolist())
    return a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


def check_array_result(out, shape):
    assert isinstance(out, np.ndarray) and out.shape == shape
    assert np.isfinite(out).all()


@pytest.mark.parametrize("strategy", STRATEGIES, ids=lambda s: repr(s))
@FUZZ
@given(data=st.data())
def test_strategy_update_and_sample(strategy, data):
    n, lam = 3, 6
    binary = strategy.domain == "binary"
    state = strategy.initial_state(np.zeros(n) if binary else np.ones(n), 0.5)
    rng = np.random.default_rng(0)
    Z = rng.random((lam, n)) if binary else rng.standard_normal((lam, n))
    X = strategy.sample(state, Z)
    v = sphere(X)
    which = data.draw(st.sampled_from(["noise", "X", "values", "state"]))
    args = {"noise": Z, "X": X, "values": v}
    if which == "state":
        field = data.draw(st.sampled_from(sorted(strategy.state_fields)))
        kind = strategy.state_fields[field]
        shape = (n, n) if kind == "matrix" else (n,)
        bad = data.draw(scalars if kind in ("step", "count", "nonnegative") else arrays(shape))
        state = state._replace(**{field: bad})
    else:
        args[which] = data.draw(arrays(np.shape(args[which])))
    before = [copy.deepcopy(a) for a in args.values()]
    try:
        new = strategy.update(state, args["noise"], args["X"], args["values"])
    except ValueError:
        pass
    else:
        assert all(np.all(np.isfinite(x)) for x in new if isinstance(x, (float, np.ndarray))), new
    for a, b in zip(args.values(), before, strict=True):
        assert same(a, b)
    try:
        check_array_result(strategy.sample(state, args["noise"]), (np.shape(args["noise"])[0], n))
    except ValueError:
        pass


OPTIONS = ["popsize", "bounds", "max_evals", "ftarget", "tolx", "tolfun", "stagnation",
           "max_condition", "seed"]  # fmt: skip


@FUZZ
@given(
    method=st.sampled_from(sorted(ng.optim.METHODS) + ["nope", 3]),
    x0=arrays((3,)),
    sigma0=scalars,
    option=st.sampled_from(OPTIONS),
    value=scalars | arrays((3,)),
)
def test_optimizer_constructor(method, x0, sigma0, option, value):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # sigma0 given to the binary model
            opt = Optimizer(method, x0, sigma0, **{option: value})
    except ValueError:
        return
    X = opt.ask()
    assert X.shape == (opt.popsize, opt.dim) and np.isfinite(X).all()


@FUZZ
@given(values=arrays((6,)) | st.lists(scalars, min_size=0, max_size=8) | scalars)
def test_tell_with_hostile_values(values):
    opt = Optimizer("igo-cma", np.ones(3), 0.5, popsize=6, seed=0)
    X = opt.ask()
    run = opt._run
    try:
        opt.tell(X, values)
    except ValueError:
        assert opt._run is run  # unchanged, and the batch can still be told
        opt.tell(X, sphere(X))
    assert opt.generation == 1 and np.isfinite(opt.mean).all()


@settings(max_examples=25, deadline=None)
@given(
    option=st.sampled_from(["max_evals", "ftarget", "restarts", "max_time", "seed", "bounds"]),
    value=scalars | arrays((2,)),
)
def test_minimize_options(option, value):
    kwargs = {"max_evals": 300, option: value}
    try:
        res = ng.minimize(sphere, np.ones(2), 0.5, vectorized=True, **kwargs)
    except ValueError:
        return
    assert np.isfinite(res.x).all() and res.nfev > 0
