"""The validated strategy boundary: every strategy checks state, draws, candidates and values
before any kernel runs; states are read-only; a step scaling really scales the samples."""

from __future__ import annotations

import copy
import pickle
import warnings

import numpy as np
import pytest

import natgrad as ng
from natgrad import _core
from natgrad.functions import sphere
from natgrad.optim import GMRF, IGOCMA, SNES, SNGD, XNES, BinarySNGD, LowRankNES, Optimizer

CONTINUOUS = [
    IGOCMA(), XNES(), XNES(sigma_rule="csa"), SNES(), SNGD(), SNGD(fisher="empirical"),
    LowRankNES(), LowRankNES(rank=0), IGOCMA(sigma_rule="tpa"), GMRF(),
]  # fmt: skip
CONTINUOUS_IDS = [
    "igo-cma", "xnes", "xnes-csa", "snes", "sngd", "sngd-empirical", "lowrank", "lowrank-0",
    "igo-cma-tpa", "gmrf",
]  # fmt: skip
ALL = [*CONTINUOUS, BinarySNGD()]
ALL_IDS = [*CONTINUOUS_IDS, "binary-sngd"]


def generation(strategy, state, rng, lam):
    shape = strategy.noise_shape(state, lam)
    Z = rng.random(shape) if strategy.domain == "binary" else rng.standard_normal(shape)
    X = strategy.sample(state, Z)
    return Z, X, sphere(X)


def start(strategy, n=4):
    x0 = np.zeros(n) if strategy.domain == "binary" else np.linspace(-1, 1, n)
    return strategy.initial_state(x0, 0.5)


def advanced(strategy, rng, n, generations):
    """A state after a few generations on the sphere, and λ."""
    state, lam = start(strategy, n), strategy.default_popsize(n)
    for _ in range(generations):
        Z, X, v = generation(strategy, state, rng, lam)
        state = strategy.update(state, Z, X, v)
    return state, lam


@pytest.mark.parametrize("strategy", ALL, ids=ALL_IDS)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_update_refuses_non_finite_values(rng, strategy, bad):
    """Defect: IGOCMA/XNES/SNES used directly accepted NaN, which broke the sort and mis-ranked
    the finite values ([5, 4, nan, 3, 2, 1] was ranked [1, 2, 3, 5, 4, nan])."""
    state = start(strategy)
    lam = strategy.default_popsize(4)
    Z, X, v = generation(strategy, state, rng, lam)
    v[2] = bad
    with pytest.raises(ValueError, match="values must be finite"):
        strategy.update(state, Z, X, v)


@pytest.mark.parametrize("kernel", ["igo-cma", "xnes", "snes", "lowrank"])
def test_kernels_refuse_nan_values(rng, kernel):
    """The compiled kernels themselves refuse NaN (std::stable_sort needs a strict weak order)."""
    n, lam = 3, 6
    Z = rng.standard_normal((lam, n))
    v = np.array([5.0, 4.0, np.nan, 3.0, 2.0, 1.0])
    m, A = np.zeros(n), np.eye(n)
    with pytest.raises(ValueError, match="values contains NaN"):
        if kernel == "igo-cma":
            p = IGOCMA().parameters(n, lam)
            _core.igo_cma_update(m, 1.0, A, m, m, Z, Z, v, 0, compiled(p))
        elif kernel == "xnes":
            _core.xnes_update(m, 1.0, A, m, Z, Z, v, compiled(XNES().parameters(n, lam)))
        elif kernel == "snes":
            _core.snes_update(m, 1.0, np.ones(n), Z, v, compiled(SNES().parameters(n, lam)))
        else:
            p = compiled(LowRankNES().parameters(n, lam))
            _core.lowrank_nes_update(m, 1.0, np.ones(n), np.ones(n), m, m, Z, v, p)


def compiled(p):
    """The kernel's C++ struct, built by keyword from a parameter record."""
    return getattr(_core, type(p).__name__.replace("Parameters", "Params"))(**p._asdict())


def test_kernel_parameters_are_built_by_name(rng):
    """The C++ parameter structs take keywords only (no positional swap is possible), a
    missing field is refused, and the kernel checks the constants it is given."""
    n, lam = 3, 6
    Z = rng.standard_normal((lam, n))
    m, A = np.zeros(n), np.eye(n)
    p = IGOCMA().parameters(n, lam)
    with pytest.raises(TypeError):
        _core.IGOCMAParams(*p)  # positional
    with pytest.raises(TypeError):
        _core.IGOCMAParams(**p._replace()._asdict() | {"c1": "big"})
    fields = p._asdict()
    del fields["c1"]
    with pytest.raises(TypeError):
        _core.IGOCMAParams(**fields)
    for cls, record in (
        (_core.IGOCMAParams, p),
        (_core.XNESParams, XNES().parameters(n, lam)),
        (_core.SNESParams, SNES().parameters(n, lam)),
        (_core.LowRankNESParams, LowRankNES().parameters(n, lam)),
    ):
        built = cls(**record._asdict())
        for name in ("weights", "utilities", "c1", "eta_b", "eta_sigma"):
            if hasattr(built, name):
                np.testing.assert_array_equal(getattr(built, name), getattr(record, name))
    args = (m, 1.0, A, m, m, Z, Z, np.arange(lam, dtype=float), 0)
    with pytest.raises(ValueError, match="params.d_sigma must be finite and > 0"):
        _core.igo_cma_update(*args, compiled(p._replace(d_sigma=0.0)))
    with pytest.raises(ValueError, match="params.weights must have length 6"):
        _core.igo_cma_update(*args, compiled(p._replace(weights=p.weights[:-1])))
    with pytest.raises(TypeError):
        _core.igo_cma_update(*args, p)  # the Python record is not the kernel's struct


@pytest.mark.parametrize("strategy", ALL, ids=ALL_IDS)
def test_bad_states_are_value_errors(rng, strategy):
    """Wrong record type, a field of the wrong shape, a non-finite field, sigma <= 0, a
    negative generation: ValueError naming the field (TypeError or a crash before)."""
    state = start(strategy)
    lam = strategy.default_popsize(4)
    Z, X, v = generation(strategy, state, rng, lam)
    with pytest.raises(ValueError, match="state must be a"):
        strategy.update(tuple(state), Z, X, v)
    array_field = next(k for k, kind in strategy.state_fields.items() if kind != "count")
    for field, kind in strategy.state_fields.items():
        value = getattr(state, field)
        if kind in ("vector", "positive_vector", "matrix"):
            bads = [np.asarray(value)[:-1], np.full_like(value, np.nan), "text"]
        elif kind == "count":
            bads = [-1, 1.5, "3"]
        else:
            bads = [-1.0, np.nan, "0.5"] if kind == "step" else [np.nan, "0.5"]
        for bad in bads:
            with pytest.raises(ValueError, match=f"state.{field}"):
                strategy.update(state._replace(**{field: bad}), Z, X, v)
    assert array_field  # every strategy has at least one checked array field


@pytest.mark.parametrize("strategy", CONTINUOUS, ids=CONTINUOUS_IDS)
def test_any_layout_gives_the_contiguous_result(rng, strategy):
    """Fortran-ordered, strided and read-only inputs give exactly the C-contiguous result."""
    n = 5
    state, lam = advanced(strategy, rng, n, 2)
    Z, X, v = generation(strategy, state, rng, lam)
    want = strategy.update(state, Z, X, v)

    def fortran(a):
        return np.asfortranarray(a) if np.ndim(a) == 2 else a

    def strided(a):
        if not isinstance(a, np.ndarray) or a.ndim == 0:
            return a
        big = np.zeros(tuple(2 * s for s in a.shape))
        view = big[tuple(slice(None, None, 2) for _ in a.shape)]
        view[...] = a
        return view

    for layout in (fortran, strided):
        odd_state = state._replace(
            **{k: layout(np.array(val)) for k, val in state._asdict().items() if np.ndim(val)}
        )
        got = strategy.update(odd_state, layout(Z), layout(X), layout(v))
        for field, value in want._asdict().items():
            np.testing.assert_array_equal(getattr(got, field), value, err_msg=field)
        np.testing.assert_array_equal(strategy.sample(odd_state, layout(Z)), X)


@pytest.mark.parametrize("strategy", ALL, ids=ALL_IDS)
def test_states_are_read_only_and_inputs_untouched(rng, strategy):
    x0 = np.zeros(4) if strategy.domain == "binary" else np.linspace(-1, 1, 4)
    keep = x0.copy()
    state = strategy.initial_state(x0, 0.5)
    assert x0.flags.writeable and np.array_equal(x0, keep)  # the caller's array is left alone
    lam = strategy.default_popsize(4)
    Z, X, v = generation(strategy, state, rng, lam)
    copies = [a.copy() for a in (Z, X, v)]
    new = strategy.update(state, Z, X, v)
    for a, b in zip((Z, X, v), copies, strict=True):
        np.testing.assert_array_equal(a, b)
        assert a.flags.writeable
    for record in (state, new):
        for field, value in record._asdict().items():
            if isinstance(value, np.ndarray):
                with pytest.raises(ValueError, match="read-only"):
                    value[...] = 123.0
                assert not value.flags.writeable, field


@pytest.mark.parametrize("method", ["igo-cma", "xnes", "snes", "sngd", "binary-sngd", "lowrank"])
def test_optimizer_state_cannot_be_changed_through_the_property(method):
    """Defect: ``opt.state.mean[:] = 123`` changed the run although the state is immutable."""
    x0, sigma0 = (np.zeros(3), None) if method == "binary-sngd" else (np.ones(3), 0.5)
    opt = Optimizer(method, x0, sigma0, seed=3)
    twin = Optimizer(method, x0, sigma0, seed=3)
    for o in (opt, twin):
        X = o.ask()
        o.tell(X, sphere(X))
    with pytest.raises(ValueError, match="read-only"):
        opt.state.mean[:] = 123.0
    for o in (opt, twin):
        X = o.ask()
        o.tell(X, sphere(X))
    np.testing.assert_array_equal(opt.state.mean, twin.state.mean)
    np.testing.assert_array_equal(opt.best_x, twin.best_x)


@pytest.mark.parametrize("method", ["igo-cma", "snes", "binary-sngd"])
@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
def test_copied_optimizer_state_cannot_be_changed_through_the_property(method, how):
    """Defect: a deep copy or an unpickled optimizer handed out writeable state arrays (copying
    drops the read-only flag), so ``copy.state.mean[:] = 123`` changed the copied run."""
    x0, sigma0 = (np.zeros(3), None) if method == "binary-sngd" else (np.ones(3), 0.5)
    opt = Optimizer(method, x0, sigma0, seed=3)
    X = opt.ask()
    opt.tell(X, sphere(X))
    twin = copy.deepcopy(opt) if how == "deepcopy" else pickle.loads(pickle.dumps(opt))
    for field, value in twin.state._asdict().items():
        if isinstance(value, np.ndarray):
            with pytest.raises(ValueError, match="read-only"):
                value[...] = 123.0
            assert not value.flags.writeable, field
    for o in (opt, twin):
        X = o.ask()
        o.tell(X, sphere(X))
    np.testing.assert_array_equal(opt.state.mean, twin.state.mean)


@pytest.mark.parametrize("strategy", CONTINUOUS, ids=CONTINUOUS_IDS)
def test_scale_step_scales_the_samples(rng, strategy):
    """Defect: the all-invalid "halve σ" rule only renamed σ for SNGD (samples unchanged)."""
    n = 4
    state, lam = advanced(strategy, rng, n, 3)
    Z = rng.standard_normal((lam, n))
    half = strategy.scale_step(state, 0.5)
    np.testing.assert_allclose(
        strategy.sample(half, Z) - half.mean, 0.5 * (strategy.sample(state, Z) - state.mean),
        rtol=1e-14, atol=1e-15,
    )  # fmt: skip
    np.testing.assert_allclose(half.sigma, 0.5 * state.sigma, rtol=1e-15)
    np.testing.assert_allclose(strategy.axis_scales(half), 0.5 * strategy.axis_scales(state))


@pytest.mark.parametrize("method", ["sngd", "binary-sngd", "igo-cma", "lowrank"])
def test_all_invalid_generation_shrinks_what_is_reported(method):
    """After a generation of NaN the reported σ and the spread of the next samples agree:
    halved for the Gaussian models; unchanged for the binary model, which has no step size."""
    x0, sigma0 = (np.zeros(3), None) if method == "binary-sngd" else (np.ones(3), 0.5)
    opt = Optimizer(method, x0, sigma0, seed=4)
    sigma, scales = opt.sigma, opt.strategy.axis_scales(opt.state)
    X = opt.ask()
    opt.tell(X, [None] * opt.popsize)
    factor = 1.0 if method == "binary-sngd" else 0.5
    assert opt.sigma == pytest.approx(factor * sigma, rel=1e-15)
    np.testing.assert_allclose(opt.strategy.axis_scales(opt.state), factor * scales, rtol=1e-15)


def test_optimizer_accepts_a_method_name():
    """``Optimizer("igo-cma", ...)`` is ``Optimizer(IGOCMA(), ...)`` (the name minimize takes)."""
    runs = []
    for strategy in ("igo-cma", ng.IGOCMA()):
        opt = Optimizer(strategy, np.ones(4), 0.5, seed=2)
        for _ in range(5):
            X = opt.ask()
            opt.tell(X, sphere(X))
        runs.append(opt.state.factor)
    np.testing.assert_array_equal(*runs)
    with pytest.raises(ValueError, match="method must be one of"):
        Optimizer("igo_cma", np.ones(4), 0.5)


def test_one_popsize_rule():
    """λ = 4 + ⌊3 ln n⌋ everywhere (the empirical-Fisher SNGD needs more than m samples)."""
    import math

    for n in (1, 2, 3, 10, 21, 1000):
        want = 4 + math.floor(3 * math.log(n))
        for s in (IGOCMA(), XNES(), SNES(), SNGD(), BinarySNGD()):
            assert s.default_popsize(n) == want, (s, n)
    assert SNGD(fisher="empirical").default_popsize(3) == 2 * (3 + 6 + 1)


@pytest.mark.parametrize("sigma0", [1e200, 1e-200])
def test_sngd_refuses_a_step_size_whose_square_is_not_representable(sigma0):
    """Defect: Optimizer(SNGD(), x0, 1e200) raised OverflowError (Σ = σ0² I overflows)."""
    with pytest.raises(ValueError, match="sigma0"):
        Optimizer(SNGD(), np.ones(2), sigma0)


def test_sngd_overflow_is_a_value_error_not_a_numpy_warning():
    """Defect (found by the fuzz): a huge SNGD state made NumPy warn "overflow encountered in
    matmul" (an error under -W error) before the boundary's ValueError."""
    s = SNGD()
    state = s.initial_state(np.zeros(3), 1.0)
    chol = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1e300, 0.0, 0.0]])
    huge = state._replace(chol=chol, cov=np.eye(3))
    noise = np.full((8, 3), 1e10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="overflowed"):
            s.sample(huge, noise)
        X = np.random.default_rng(0).standard_normal((8, 3))
        try:
            s.update(huge, noise, X, np.arange(8.0))
        except ValueError:
            pass  # refused or stopped: both are the contract; a warning is not
