import numpy as np
import pytest

import natgrad as ng


def test_natural_gradient_matches_numpy_solve(rng):
    a = rng.standard_normal((30, 30))
    fisher = a @ a.T + 0.1 * np.eye(30)
    grad = rng.standard_normal(30)
    expected = np.linalg.solve(fisher + 0.5 * np.eye(30), grad)
    np.testing.assert_allclose(ng.natural_gradient(fisher, grad, damping=0.5), expected, rtol=1e-10)


def test_natural_gradient_failed_cholesky_names_pivot():
    fisher = np.diag([1.0, 2.0, -1.0])
    with pytest.raises(ValueError, match=r"pivot 2.*damping"):
        ng.natural_gradient(fisher, np.ones(3))


@pytest.mark.parametrize(
    ("fisher", "grad", "damping", "match"),
    [
        (np.eye(3), np.ones(2), 0.0, "grad"),
        (np.ones((2, 3)), np.ones(2), 0.0, "fisher"),
        (np.eye(2), [np.nan, 1.0], 0.0, "grad"),
        (np.eye(2), np.ones(2), -1.0, "damping"),
    ],
)
def test_natural_gradient_bad_input(fisher, grad, damping, match):
    with pytest.raises(ValueError, match=match):
        ng.natural_gradient(fisher, grad, damping=damping)
