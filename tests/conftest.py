"""Hypothesis profiles: "default" for the normal suite, "fuzz" for the dedicated run
(HYPOTHESIS_PROFILE=fuzz pytest tests/test_fuzz.py), which generates over 10,000 cases."""

import os

from hypothesis import HealthCheck, settings

settings.register_profile("default", deadline=None)
settings.register_profile(
    "fuzz", max_examples=2500, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
