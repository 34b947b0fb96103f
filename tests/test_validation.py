"""The shared argument checks: every message names the argument; text, complex and ragged input is
refused everywhere with a ValueError; damping has one check; AccuracyWarning is public."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import natgrad as ng
import natgrad.estimation as est
from natgrad import _validation as val

RAGGED = [[0.0, 1.0], [2.0]]


@pytest.mark.parametrize(
    ("name", "call"),
    [
        ("mean", lambda: ng.Gaussian(RAGGED, np.eye(2))),
        ("cov", lambda: ng.Gaussian([0.0, 0.0], [[1.0, 0.0], [0.0]])),
        ("probs", lambda: ng.Categorical([[0.5], [0.2, 0.3]])),
        ("fisher", lambda: ng.natural_gradient(RAGGED, [1.0, 1.0])),
        ("X", lambda: est.cov_f_stats(RAGGED, [1.0, 2.0])),
        ("theta", lambda: ng.BinaryIndependence(RAGGED)),
    ],
)
def test_ragged_input_is_a_value_error_naming_the_argument(
    name: str, call: Callable[[], Any]
) -> None:
    with pytest.raises(ValueError, match=rf"^{name} must be an array of real numbers") as info:
        call()
    assert "inhomogeneous" not in str(info.value)


@pytest.mark.parametrize(
    ("name", "call"),
    [
        ("p", lambda: ng.Bernoulli("0.3")),
        ("p", lambda: ng.Bernoulli(b"0.3")),
        ("p", lambda: ng.Bernoulli(np.str_("0.3"))),
        ("p", lambda: ng.Bernoulli(np.array("0.3"))),
        ("rate", lambda: ng.Poisson("2")),
        ("rate", lambda: ng.Exponential("1.5")),
        ("shape", lambda: ng.Gamma("2", 1.0)),
        ("trials", lambda: ng.Binomial("3", 0.5)),
        ("damping", lambda: ng.natural_gradient(np.eye(2), [1.0, 1.0], "0.1")),
        ("probs", lambda: ng.Categorical(["0.5", "0.5"])),
        ("probs", lambda: ng.Categorical(np.array(["0.5", "0.5"], dtype=object))),
        ("mean", lambda: ng.Gaussian(np.array([b"1"]), np.eye(1))),
    ],
)
def test_text_is_refused_everywhere(name: str, call: Callable[[], Any]) -> None:
    with pytest.raises(ValueError, match=rf"^{name} must"):
        call()


def test_optimizer_refuses_a_numeric_string_ftarget() -> None:
    with pytest.raises(ValueError, match=r"^ftarget must be a real number, got '1e-8'"):
        ng.Optimizer(ng.IGOCMA(), np.zeros(2), 1.0, ftarget="1e-8")  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [np.complex128(0.3), 0.3 + 0j, np.array([0.3]), None, [0.3]])
def test_as_float_refuses_complex_arrays_and_none(value: Any) -> None:
    with pytest.raises(ValueError, match=r"^p must be a real number"):
        val.as_float("p", value)


@pytest.mark.parametrize("value", [np.float32(0.25), np.array(0.25), np.int8(1), 3])
def test_as_float_accepts_real_scalars(value: Any) -> None:
    assert val.as_float("p", value) == float(value)


@pytest.mark.parametrize("value", [-1e-300, np.nan, np.inf, -np.inf, True, "0"])
@pytest.mark.parametrize(
    "call",
    [
        lambda d: ng.natural_gradient(np.eye(2), [1.0, 1.0], d),
        lambda d: ng.Gaussian([0.0], [[1.0]]).natural_gradient([1.0, 0.0], "natural", d),
        lambda d: ng.Bernoulli(0.3).natural_gradient([1.0], "natural", d),
        lambda d: est.estimate_natural_gradient(
            [[0.0], [1.0], [2.0]], [0.0, 1.0, 3.0], fisher="empirical", damping=d
        ),
        lambda d: ng.NaturalGradientDescent(
            ng.Objective(lambda p: p.expectation(), coords="natural"), 0.1, damping=d
        ),
    ],
)
def test_one_damping_check(value: Any, call: Callable[[Any], Any]) -> None:
    with pytest.raises(ValueError, match=r"^damping must be (finite|a real number|>= 0)") as info:
        call(value)
    with pytest.raises(ValueError) as direct:
        val.as_damping(value)
    assert str(info.value) == str(direct.value)


def test_woodbury_damping_must_be_positive() -> None:
    with pytest.raises(ValueError, match=r"^damping must be > 0, got 0.0"):
        ng.woodbury_solve(np.ones((3, 1)), np.ones(3), 0.0)


def test_accuracy_warning_is_public_and_a_runtime_warning() -> None:
    assert issubclass(ng.AccuracyWarning, RuntimeWarning)
    assert ng.AccuracyWarning is val.AccuracyWarning
    assert "AccuracyWarning" in ng.__all__


def test_one_symmetry_check() -> None:
    a = np.array([[1.0, 0.5], [0.5 + 1e-6, 1.0]])
    messages = []
    for name, call in (
        ("cov", lambda: ng.Gaussian([0.0, 0.0], a)),
        ("fisher", lambda: ng.natural_gradient(a, [1.0, 1.0])),
        ("cov", lambda: est.tangent_theta_to_mean_cov([0.0, 0.0], a, np.zeros(5))),
        ("Q", lambda: ng.flows.GaussianQuadraticRelaxation([0.0, 0.0], a)),
    ):
        with pytest.raises(ValueError, match=rf"^{name} must be symmetric: max\|") as info:
            call()
        messages.append(str(info.value).replace(name, "A"))
    assert len(set(messages)) == 1, messages


def test_symmetric_accepts_rounding_noise_and_symmetrises() -> None:
    a = np.array([[1.0, 0.5], [0.5 * (1 + 1e-15), 1.0]])
    before = a.copy()
    s = val.symmetric("cov", a)
    np.testing.assert_array_equal(s, s.T)
    np.testing.assert_array_equal(a, before)


def test_exponential_fisher_at_a_subnormal_rate() -> None:
    with pytest.raises(ValueError, match="not representable"):
        ng.Exponential(1e-320).fisher()
    with pytest.raises(ValueError, match="not representable"):
        ng.Exponential(1e-320).fisher("expectation")


@pytest.mark.parametrize(
    "call",
    [
        lambda c: ng.Gaussian([0.0], [[1.0]]).fisher(c),
        lambda c: ng.Bernoulli(0.3).fisher(c),
        lambda c: ng.Poisson(2.0).natural_gradient([1.0], c),
        lambda c: est.estimate_natural_gradient(
            [[0.0], [1.0], [2.0]], [0.0, 1.0, 3.0], coords=c, mean=[0.0], cov=[[1.0]]
        ),
    ],
)
def test_one_coordinate_vocabulary(call: Callable[[Any], Any]) -> None:
    with pytest.raises(
        ValueError,
        match=r"^coords must be one of 'natural', 'expectation'.*"
        r"got 'theta' \(θ is 'natural'\)",
    ):
        call("theta")
    with pytest.raises(ValueError, match=r"got 'eta' \(η is 'expectation'\)"):
        call("eta")
