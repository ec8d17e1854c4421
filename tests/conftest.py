"""Shared test configuration: a deterministic hypothesis profile.

Property tests must give the same verdict on every run and every machine, so
the profile derandomises example generation, keeps the example count modest
(the whole suite stays fast) and disables the per-example deadline (sympy and
the first call of numpy routines have uneven start-up costs).
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile(
    "opade",
    derandomize=True,
    max_examples=60,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("opade")
