"""Recycled factor buffers (natgrad.optim._common.BufferPool): IGO-CMA and xNES write the n × n factor
into a buffer nobody else refers to; the bits of a run do not change, and nothing a caller can
still see is ever overwritten."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

from natgrad import _core
from natgrad.functions import ellipsoid
from natgrad.optim import IGOCMA, XNES, Optimizer, _common
from natgrad.optim.igo_cma import _compiled
from natgrad.optim.xnes import _compiled as _xnes_compiled

N = 140  # above BufferPool.min_size (128 x 128)


METHODS = ["igo-cma", "xnes"]


def _run(
    method: str, generations: int, *, pool: bool, monkeypatch: pytest.MonkeyPatch
) -> Optimizer:
    with monkeypatch.context() as m:
        if not pool:
            m.setattr(_common.BufferPool, "min_size", 10**18)
        opt = Optimizer(method, np.ones(N), 0.5, seed=3)
        for _ in range(generations):
            X = opt.ask()
            opt.tell(X, ellipsoid(X))
        return opt


@pytest.mark.parametrize("method", METHODS)
def test_recycling_changes_no_bit(method, monkeypatch):
    with_pool = _run(method, 12, pool=True, monkeypatch=monkeypatch)
    without = _run(method, 12, pool=False, monkeypatch=monkeypatch)
    for name in with_pool.state._fields:
        np.testing.assert_array_equal(
            getattr(with_pool.state, name), getattr(without.state, name), err_msg=name
        )
    assert with_pool.best_f == without.best_f


@pytest.mark.parametrize("method", METHODS)
def test_buffers_are_recycled(method):
    opt = Optimizer(method, np.ones(N), 0.5, seed=3)
    seen = set()
    for _ in range(12):
        X = opt.ask()
        opt.tell(X, ellipsoid(X))
        seen.add(opt.state.factor.__array_interface__["data"][0])
    assert len(seen) <= 3  # the state's, the last checked state's and one spare


@pytest.mark.parametrize("method", METHODS)
def test_a_factor_someone_holds_is_never_overwritten(method):
    opt = Optimizer(method, np.ones(N), 0.5, seed=3)
    held, copies = [], []
    for g in range(15):
        X = opt.ask()
        opt.tell(X, ellipsoid(X))
        if g % 4 == 0:
            held.append(opt.state.factor)  # the array itself
            copies.append(opt.state.factor.copy())
        if g == 5:
            view = opt.state.factor[3:7]  # a view keeps its base referenced
            view_copy = view.copy()
    for a, c in zip(held, copies, strict=True):
        np.testing.assert_array_equal(a, c)
    np.testing.assert_array_equal(view, view_copy)
    assert not any(a.flags.writeable for a in held)


@pytest.mark.parametrize("strategy", [IGOCMA, XNES])
def test_strategy_update_states_are_never_overwritten(strategy):
    s = strategy()
    rng = np.random.default_rng(0)
    st = s.initial_state(np.ones(N), 0.5)
    lam = s.default_popsize(N)
    states, copies = [], []
    for _ in range(8):
        Z = rng.standard_normal((lam, N))
        X = s.sample(st, Z)
        st = s.update(st, Z, X, ellipsoid(X))
        states.append(st)
        copies.append(st.factor.copy())
    for a, c in zip(states, copies, strict=True):
        np.testing.assert_array_equal(a.factor, c)


def test_copies_and_pickles_start_empty():
    s = IGOCMA(sigma_rule="tpa")
    opt = Optimizer(s, np.ones(N), 0.5, seed=1)
    X = opt.ask()
    opt.tell(X, ellipsoid(X))
    for other in (copy.deepcopy(s), pickle.loads(pickle.dumps(s))):
        assert other.options() == s.options()
        assert other._factors._arrays == []


def first_batch(s, n, seed, zero_column=None):
    """A generation-0 state of strategy s on n coordinates, its popsize, draws and samples."""
    st = s.initial_state(np.ones(n), 0.5)
    lam = s.default_popsize(n)
    Z = np.random.default_rng(seed).standard_normal((lam, n))
    if zero_column is not None:
        Z[:, zero_column] = 0.0
    return st, lam, Z, s.sample(st, Z)


def test_kernel_refuses_a_bad_output_buffer():
    s = IGOCMA()
    st, lam, Z, X = first_batch(s, N, 0)
    p = _compiled(N, lam, True)
    args = (st.mean, st.sigma, st.factor, st.p_sigma, st.p_c_z, Z, X, ellipsoid(X), 0, p)
    factor = np.array(st.factor)
    with pytest.raises(ValueError, match="factor_out must not share memory"):
        _core.igo_cma_update(*args[:2], factor, *args[3:], factor)
    with pytest.raises(ValueError, match=r"factor_out must have shape \(140, 140\)"):
        _core.igo_cma_update(*args, np.empty((N, N - 1)))
    with pytest.raises(ValueError, match="writeable"):
        frozen = np.empty((N, N))
        frozen.flags.writeable = False
        _core.igo_cma_update(*args, frozen)
    with pytest.raises(TypeError):  # a copy would silently lose the result: refused
        _core.igo_cma_update(*args, np.empty((N, N), dtype=np.float32))
    with pytest.raises(TypeError):
        _core.igo_cma_update(*args, np.empty((N, N), order="F"))
    out = np.full((N, N), np.nan)
    got = _core.igo_cma_update(*args, out)
    want = _core.igo_cma_update(*args)
    assert got[2] is out
    np.testing.assert_array_equal(out, want[2])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("n", [3, N])  # the n <= K Cholesky branch and the GEMM branch
def test_a_non_finite_factor_is_named_though_checked_late(bad, n):
    # The kernels read A's finiteness off their result (every entry of A reaches it), instead
    # of a pass over A before the arithmetic: the error must still name A.
    s = IGOCMA()
    # a zero draw in column 1 (0 * Inf is NaN) does not hide the bad entry
    st, lam, Z, X = first_batch(s, n, 0, zero_column=1)
    factor = np.array(st.factor)
    factor[n - 1, 1] = bad
    with pytest.raises(ValueError, match=r"^A contains NaN or Inf"):
        _core.sample_full(st.mean, st.sigma, factor, Z)
    args = (st.mean, st.sigma, factor, st.p_sigma, st.p_c_z, Z, X, ellipsoid(X), 0)
    for out in (None, np.empty((n, n))):
        with pytest.raises(ValueError, match=r"^A contains NaN or Inf"):
            _core.igo_cma_update(*args, _compiled(n, lam, True), out)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_xnes_names_a_non_finite_factor_and_refuses_a_bad_buffer(bad):
    s = XNES()
    st, lam, Z, X = first_batch(s, N, 0)
    p = _xnes_compiled(N, lam, "nes", None, None, None)
    args = (st.mean, st.sigma, st.factor, st.p_sigma, Z, X, ellipsoid(X), p)
    factor = np.array(st.factor)
    with pytest.raises(ValueError, match="factor_out must not share memory"):
        _core.xnes_update(*args[:2], factor, *args[3:], factor)
    out = np.full((N, N), np.nan)
    assert _core.xnes_update(*args, out)[2] is out
    np.testing.assert_array_equal(out, _core.xnes_update(*args)[2])
    factor[N - 1, 1] = bad
    for buffer in (None, np.empty((N, N))):
        with pytest.raises(ValueError, match=r"^A contains NaN or Inf"):
            _core.xnes_update(*args[:2], factor, *args[3:], buffer)


def test_pool_hands_out_only_unreferenced_buffers():
    pool = _common.BufferPool(capacity=2)
    assert pool.take((4, 4)) is None  # below min_size: the kernel allocates
    shape = (200, 200)
    first = pool.take(shape)
    first_id = id(first)
    second = pool.take(shape)  # `first` is still referenced here
    assert second is not first
    del first
    again = pool.take(shape)
    assert id(again) == first_id and again.flags.writeable
    view = again[:3]  # a view refers to its base
    del again
    third = pool.take(shape)
    assert id(third) != first_id and not np.shares_memory(view, third)
    assert len(pool._arrays) == 2  # the oldest entry left the pool; the view keeps it alive


@pytest.mark.parametrize("n", [3, N])  # the n <= K Cholesky branch and the GEMM branch
def test_buffer_and_own_result_agree_bit_for_bit(n):
    s = IGOCMA()
    st, lam, Z, X = first_batch(s, n, 1)
    args = (st.mean, st.sigma, st.factor, st.p_sigma, st.p_c_z, Z, X, ellipsoid(X), 0)
    out = np.full((n, n), np.nan)
    got = _core.igo_cma_update(*args, _compiled(n, lam, True), out)
    want = _core.igo_cma_update(*args, _compiled(n, lam, True))
    assert got[2] is out
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)
