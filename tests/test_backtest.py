"""Pinned back-test (tests/backtest.py): a seeded trial run (cohort engine, 3,000 patients, with
events) and a seeded two-year service run (SimPy engine) reproduce every stored quantity exactly:
row counts, counts of events by type, sums and counts of patient columns, Kaplan-Meier OS and EFS
at 3 and 5 years, waits and utilisation, and a SHA-256 per column and per table of canonical CSV.

A failure names each quantity that moved. If the change of results is intended, regenerate the
stored values (tests/backtest_expected.json) and commit them with the change, saying why:

    .venv/bin/python tests/backtest.py --update
"""
from __future__ import annotations

import pytest

import backtest


@pytest.fixture(scope="module")
def expected():
    assert backtest.EXPECTED.exists(), f"no stored values: run {backtest.UPDATE_COMMAND}"
    return backtest.load_expected()


@pytest.mark.parametrize("run", sorted(backtest.RUNS))
def test_seeded_run_reproduces_the_stored_quantities(run, expected):
    moved = backtest.differences(expected[run], backtest.quantities(run))
    assert not moved, (f"{len(moved)} stored quantities of the {run!r} back-test moved:\n  " + "\n  ".join(moved)
                       + f"\nIf this change of results is intended, run {backtest.UPDATE_COMMAND} and commit "
                         "tests/backtest_expected.json with it.")


def test_the_stored_runs_are_not_trivial(expected):
    """The pinned runs exercise relapses, deaths, metastatic patients, queues and events (the trial
    run every cause of death)."""
    trial, service = expected["trial"], expected["service"]
    assert trial["trial.patients.rows"] == 3000 and trial["trial.events.rows"] > 30_000
    for cause in ("osteosarcoma", "treatment", "other"):
        assert trial.get(f"trial.patients.count.death_cause={cause}", 0) > 0, cause
    for run, values in (("trial", trial), ("service", service)):
        assert values[f"{run}.patients.count.efs_event"] > values[f"{run}.patients.count.os_event"] > 0
        assert values[f"{run}.patients.count.met_status=lung"] > 0
    assert service["service.patients.rows"] > 40 and service["service.resources.rows"] > 10_000
    assert service["service.wait_median_days.surgery"] > 0          # patients queued for theatre
    assert trial["trial.km.baseline.all.OS5y"] is not None and trial["trial.resources.rows"] == 0


def test_differences_name_each_moved_quantity():
    stored = {"a.rows": 3, "a.km": 0.5, "a.gone": 1}
    now = {"a.rows": 3, "a.km": 0.5000000000000001, "a.new": 2}
    assert backtest.differences(stored, now) == [
        "a.gone: stored 1, no longer produced", "a.km: stored 0.5, now 0.5000000000000001",
        "a.new: new, 2 (not stored)"]
    assert backtest.differences(stored, dict(stored)) == []
