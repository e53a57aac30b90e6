"""Hypothesis profile of the property tests: deterministic (derandomize: the same examples on every run
and every machine, so a failure reproduces), a modest example budget so the folder runs in seconds, no
per-example deadline (CI machines differ in speed), no example database written into the tree.

`HYPOTHESIS_PROFILE=sbe-properties-long` runs many more examples (still derandomized) for a deeper search.
"""
import os

from hypothesis import HealthCheck, settings

_COMMON = dict(derandomize=True, deadline=None, database=None, print_blob=False,
               suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("sbe-properties", max_examples=150, **_COMMON)
settings.register_profile("sbe-properties-long", max_examples=3000, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "sbe-properties"))
