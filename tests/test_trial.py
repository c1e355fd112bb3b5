"""Simulated randomised trials (osteosim.analysis.trials, experiments/trial_power): a valid test under the
null, power that grows with size, one arm per patient, and a script that fails cleanly."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from osteosim.analysis.trials import TrialDesign, allocate, log_rank_p_value, power_at, schoenfeld_power

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "experiments" / "trial_power" / "trial_power.py"
LOCALIZED = ["cohort.metastatic_fraction=0"]


def test_the_log_rank_test_keeps_its_size_when_the_arm_does_nothing():
    """checkpoint_inhibitor has no effect by default: rejections happen at the rate alpha."""
    trials = 300
    row, _ = power_at(200, TrialDesign("baseline", "checkpoint_inhibitor", trials=trials, seed=1), LOCALIZED)
    se = np.sqrt(0.05 * 0.95 / trials)
    assert abs(row["power"] - 0.05) < 3 * se, row


def test_power_grows_with_the_number_of_patients():
    design = TrialDesign("baseline", "mifamurtide", trials=100, seed=2)
    small, _ = power_at(200, design, LOCALIZED)
    large, _ = power_at(1600, design, LOCALIZED)
    se = np.sqrt(small["power"] * (1 - small["power"]) / 100 + large["power"] * (1 - large["power"]) / 100)
    assert large["power"] - small["power"] > 3 * se, (small, large)
    assert large["hazard_ratio_median"] < 1.0


def test_each_patient_is_allocated_once_about_half_to_each_arm():
    from osteosim import simulate
    from osteosim.config import compose

    config = compose(["cohort=trial", "cohort.n_patients=4000", "arms=[baseline,mifamurtide]", "output.progress=false"])
    patients = simulate(config, summary=False).patients
    design = TrialDesign("baseline", "mifamurtide")
    trial = allocate(patients, design, 123)
    assert len(trial) == patients.patient_id.nunique()
    assert abs(trial.treated.mean() - 0.5) < 3 * np.sqrt(0.25 / len(trial))
    assert trial.equals(allocate(patients, design, 123))          # keyed: the same seed, the same trial
    assert not trial.treated.equals(allocate(patients, design, 124).treated)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.booleans(), st.booleans()), min_size=2, max_size=80))
def test_the_log_rank_p_value_is_lifelines(rows):
    """scipy's log-rank (used for speed) against lifelines', on tied and untied times, any censoring."""
    from lifelines.statistics import logrank_test

    years = np.array([r[0] / 4 for r in rows], dtype=float)
    event, treated = np.array([r[1] for r in rows]), np.array([r[2] for r in rows])
    assume(treated.any() and not treated.all())
    reference = logrank_test(years[treated], years[~treated], event[treated], event[~treated]).p_value
    assert log_rank_p_value(years, event, treated.astype(int)) == pytest.approx(reference, rel=1e-9, abs=1e-12)


def test_schoenfeld_power_is_alpha_over_two_per_side_at_no_effect_and_grows_with_events():
    assert schoenfeld_power(100, 1.0, 0.05) == pytest.approx(0.025)
    assert schoenfeld_power(400, 0.7, 0.05) > schoenfeld_power(100, 0.7, 0.05) > 0.025


def test_the_script_writes_its_results(tmp_path):
    done = subprocess.run([sys.executable, str(SCRIPT), "--arm", "mifamurtide", "--sizes", "100,200", "--trials", "5",
                           "--out", str(tmp_path / "out"), *LOCALIZED], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["power.csv", "power.html", "power.md", "trials.csv"]
    assert "| 200 |" in done.stdout


def test_a_relapsed_disease_trial_of_regorafenib_has_power_and_a_null_arm_keeps_its_size():
    """A phase II design in cohort=relapsed, PFS at 4 months (Fisher): regorafenib (SARC024's effect) is
    detected far more often than an arm without effect, whose rejection rate stays near alpha (binomial,
    4 standard errors over 100 trials)."""
    rego = TrialDesign("baseline", "regorafenib", "PFS", 0.05, 100, 3, "relapsed", 4.0 / 12.0)
    null = TrialDesign("baseline", "cabozantinib", "PFS", 0.05, 100, 3, "relapsed", 4.0 / 12.0)
    power, _ = power_at(80, rego, [])
    size, _ = power_at(80, null, [])
    assert size["power"] <= 0.05 + 4 * (0.05 * 0.95 / 100) ** 0.5
    assert power["power"] > size["power"] + 4 * (0.25 / 100) ** 0.5
    assert power["hazard_ratio_median"] < 0.7


def test_the_script_runs_a_relapsed_disease_trial(tmp_path):
    done = subprocess.run([sys.executable, str(SCRIPT), "--arm", "regorafenib", "--population", "relapsed",
                           "--endpoint", "PFS", "--landmark-months", "4", "--sizes", "40,80", "--trials", "5",
                           "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "cohort=relapsed" in done.stdout and "event-free at 4 months" in done.stdout


@pytest.mark.parametrize("arguments, message", [
    (["--arm", "regorafenib", "--endpoint", "PFS"], "--endpoint=PFS needs --population relapsed"),
    (["--arm", "regorafenib", "--landmark-months", "-1"], "--landmark-months=-1.0 is outside"),
    (["--arm", "nonexistent"], "--arm=nonexistent is not one of"),
    (["--arm", "mifamurtide", "cohort.metastatic_fraction=2"], "cohort.metastatic_fraction=2 is outside [0, 1]"),
    (["--arm", "mifamurtide", "--sizes", "400,200"], "--sizes must be increasing"),
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, arguments, message):
    done = subprocess.run([sys.executable, str(SCRIPT), *arguments, "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert not (tmp_path / "out").exists()
