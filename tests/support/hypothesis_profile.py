"""One hypothesis profile for every property test: deterministic (same examples on every run, so a
CI failure reproduces locally), bounded, and without deadlines (no wall-clock assertions).

HYPOTHESIS_MAX_EXAMPLES raises the bound for a longer local run; HYPOTHESIS_EXPLORE=1 draws new
random examples each run (for hunting locally; CI stays derandomized)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

PROFILE = "dailypapers"
MAX_EXAMPLES = int(os.environ.get("HYPOTHESIS_MAX_EXAMPLES", "100"))

settings.register_profile(
    PROFILE,
    derandomize=os.environ.get("HYPOTHESIS_EXPLORE") != "1",
    database=None,
    deadline=None,
    max_examples=MAX_EXAMPLES,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(PROFILE)


def scaled(n: int) -> int:
    """`n` examples at the default bound, more when HYPOTHESIS_MAX_EXAMPLES raises it."""
    return max(1, n * MAX_EXAMPLES // 100)
