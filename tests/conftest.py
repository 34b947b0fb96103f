import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# Hypothesis profiles. "ci" is derandomised (a failure reproduces on every run and machine) and
# bounded; "dev" keeps Hypothesis' random exploration for local runs. CI selects "ci" through
# NATGRAD_HYPOTHESIS_PROFILE=ci (.ci/run) or the conventional CI variable.
settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=60,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile(
    os.environ.get("NATGRAD_HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
)


@pytest.fixture
def rng():
    return np.random.default_rng(20261121)
