"""Shared test settings: Hypothesis profiles and small fixtures.

Choose a profile with the environment variable ``HYPOTHESIS_PROFILE``:

* ``dev`` (default outside CI): about 50 examples per property, 50 steps per state-machine run;
* ``ci`` (default when the environment has CI=true): about 200 examples, 200 steps
  per run (hundreds of operations per example),
  and a reproduction blob printed for every failure;
* ``debug``: few examples, verbose output, for chasing one failure.

Every profile has ``deadline=None``: the first call of a Numba kernel compiles it
(or loads it from the cache), which takes far longer than any later call.
"""

from __future__ import annotations

import contextlib
import os
import warnings

import pytest
import strategies
from hypothesis import HealthCheck, Verbosity, settings

_COMMON = {
    "deadline": None,
    # Rules that draw a batch of rows each step are honest work, not a slow generator.
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}

# When a property fails, Hypothesis's pytest plugin imports libcst to suggest an @example
# patch; libcst's import trips a DeprecationWarning in mypy_extensions, which
# ``filterwarnings = error`` turns into an INTERNALERROR that hides the real failure.
# Import it once here, quietly, so the failure report comes through.
with warnings.catch_warnings(), contextlib.suppress(ImportError):  # not installed: no patch
    warnings.simplefilter("ignore", DeprecationWarning)
    import libcst  # noqa: F401

settings.register_profile("dev", max_examples=50, stateful_step_count=50, **_COMMON)
settings.register_profile(
    "ci", max_examples=200, stateful_step_count=200, print_blob=True, **_COMMON
)
settings.register_profile(
    "debug",
    max_examples=10,
    stateful_step_count=20,
    verbosity=Verbosity.verbose,
    print_blob=True,
    **_COMMON,
)
# CI (which sets CI=true) runs the ci profile unless told otherwise.
_DEFAULT_PROFILE = "ci" if os.environ.get("CI", "").lower() in ("1", "true", "yes") else "dev"
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", _DEFAULT_PROFILE))


@pytest.fixture
def weights():
    """A small table: 3 datasets x 4 offences (see ``strategies.SMALL_POINTS``)."""
    return strategies.small_weights()
