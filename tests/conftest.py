"""Shared fixtures: configurations composed from conf/ exactly as the CLI does."""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(os.path.dirname(__file__), "..", ".numba_cache"))

from osteosim.config import compose  # noqa: E402


@pytest.fixture(scope="session")
def default_config():
    return compose()


def small_trial(n: int = 200, *overrides: str):
    """A small unconstrained trial cohort without the large optional tables."""
    return compose(["cohort=trial", f"cohort.n_patients={n}", "output.progress=false", *overrides])
