"""Shared test settings: floating-point errors are errors, and the default dtype is reset."""

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import descent

settings.register_profile(
    "descent", deadline=None, max_examples=30, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("descent")


@pytest.fixture(autouse=True)
def strict_floats():
    """Overflow, division by zero and invalid operations raise instead of warning.

    Underflow to zero (e.g. exp(-1e4)) is the correct rounded result, not an error.
    """
    with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
        yield
    descent.set_default_dtype("float32")
