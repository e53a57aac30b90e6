"""Fixtures shared by the test packages.

sim      the cocotb simulators of tb.runner.SIMULATORS, one test per simulator (a test that pairs
         simulators with configurations itself parametrises `sim` directly, which takes precedence)
digits   scikit-learn's digits with the split of seed 0, loaded once per session
"""
import pytest

from tb.runner import SIMULATORS


@pytest.fixture(params=SIMULATORS)
def sim(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def digits():
    from golden.training.data import load_digits
    return load_digits(seed=0)
