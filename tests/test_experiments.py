"""Experiments over arms and replications: paired differences with CIs, common random numbers."""
import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from osteosim import simulate
from osteosim.config import ConfigError, compose

TRIAL = ["cohort=trial", "cohort.n_patients=800", "cohort.metastatic_fraction=1", "output.progress=false"]


def difference(summary: dict, kpi: str) -> dict:
    return next(r for r in summary["paired_differences"] if r["kpi"] == kpi)


def test_common_random_numbers_narrow_the_confidence_interval_of_a_difference():
    """The same 20 replications, paired (same draws in both arms) and not: the paired CI is narrower.

    Not a bare inequality: the variance of the paired differences must be significantly smaller,
    by a one-sided F-test at 1% (both t-intervals have 19 degrees of freedom, so the squared ratio
    of their widths is the ratio of the variances).
    """
    from scipy import stats

    from osteosim.analysis.replications import paired_differences, survival_by_replication
    from osteosim.analysis.survival import survival_counts

    def differences(*overrides: str) -> dict:
        """summary.json's paired_differences (as summarise computes them) without the rest of the summary."""
        patients = simulate(compose([*base, *overrides]), summary=False).patients
        return {"paired_differences": paired_differences(survival_by_replication(survival_counts(patients)),
                                                         "baseline")}

    replications = 20
    base = [*TRIAL, "arms=[baseline,mifamurtide]", f"replications={replications}"]
    paired = differences("paired=true")
    independent = differences("paired=false")
    critical = stats.f.ppf(0.01, replications - 1, replications - 1)
    for kpi in ("OS5y.all", "EFS5y.all"):
        width_paired = difference(paired, kpi)["ci_high"] - difference(paired, kpi)["ci_low"]
        width_independent = difference(independent, kpi)["ci_high"] - difference(independent, kpi)["ci_low"]
        assert (width_paired / width_independent) ** 2 < critical, (kpi, width_paired, width_independent)


def assert_t_interval(row: dict, values, what: str) -> None:
    """row is the mean of the per-replication values with the 95% t-interval mean +- t(0.975, r-1) sd/sqrt(r)
    (to the 4 decimals summary.json keeps), and the replications differ (the interval has a width)."""
    from scipy import stats

    values = np.asarray(values, dtype=float)
    half = stats.t.ppf(0.975, values.size - 1) * values.std(ddof=1) / np.sqrt(values.size)
    assert row["replications"] == values.size and half > 0, (what, values)
    assert row["mean"] == pytest.approx(values.mean(), abs=1e-4), what
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((values.mean() - half, values.mean() + half), abs=1e-4), what


def test_every_kpi_has_a_replication_interval_and_arms_share_patients():
    results = simulate(compose([*TRIAL, "arms=[baseline,mifamurtide]", "replications=3"]))
    s = results.summary
    kpis = {(r["arm"], r["kpi"]): r for r in s["kpis"]}
    assert ("mifamurtide", "OS5y.metastatic") in kpis and ("baseline", "EFS3y.all") in kpis
    assert all(r["replications"] == 3 and r["ci_low"] is not None for r in s["kpis"])
    # the interval is the t-interval over the replications' values (relapse share: from the patients table)
    for arm, part in results.patients.groupby("arm", observed=True):
        per_replication = part.groupby("replication").relapse_day.apply(lambda d: 100 * d.notna().mean())
        assert_t_interval(kpis[(arm, "relapse_or_progression_pct")], per_replication, arm)
    assert {h["endpoint"] for h in s["hazard_ratios"]} == {"OS", "EFS"}
    p = results.patients
    base, mtp = p[p.arm == "baseline"], p[p.arm == "mifamurtide"]
    assert (base.age_years.to_numpy() == mtp.age_years.to_numpy()).all()  # common random numbers: same patients


def test_a_single_arm_still_runs_alone():
    results = simulate(compose([*TRIAL, "arm=mifamurtide"]))
    assert set(results.patients.arm.astype(str)) == {"mifamurtide"}
    assert results.summary["paired_differences"] == [] and results.summary["hazard_ratios"] == []


@pytest.mark.parametrize("arms, message", [
    ("arms=[baseline,nonexistent]", "arms: nonexistent is not one of"),
    ("arms=[baseline,baseline]", "names an arm twice"),
])
def test_bad_arm_lists_are_config_errors(arms, message):
    with pytest.raises(ConfigError, match=message):
        compose([*TRIAL, arms])


def test_the_documented_command_prints_paired_differences(tmp_path):
    """The README's experiment command (smaller cohort), end to end through the CLI."""
    done = subprocess.run([sys.executable, "-m", "osteosim", *TRIAL, "arms=[baseline,mifamurtide]", "replications=5",
                           "output.dashboard=false", f"hydra.run.dir={tmp_path / 'run'}"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "paired differences against baseline" in done.stdout
    assert re.search(r"mifamurtide +OS 5 y +[+-]\d", done.stdout)
    assert re.search(r"mifamurtide +EFS 5 y +[+-]\d", done.stdout)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["provenance"]["arms"] == ["baseline", "mifamurtide"]


NO_PROVEN_EFFECT = ["mapie", "checkpoint_inhibitor", "her2_cart", "mtor_tki_maintenance", "cabozantinib"]


@pytest.mark.parametrize("arm", NO_PROVEN_EFFECT)
def test_arms_without_proven_benefit_change_resource_use_not_outcomes(arm):
    """Default effect none (parameters.md §8): with common random numbers every patient's outcome
    equals the baseline arm's, while the arm's own visits (infusions, admissions, clinics) appear."""
    base = ["cohort=trial", "cohort.n_patients=400", "cohort.metastatic_fraction=0.5", "output.progress=false",
            "output.events=true"]
    baseline = simulate(compose([*base, "arm=baseline"]))
    other = simulate(compose([*base, f"arm={arm}"]))
    outcome = ["os_days", "os_event", "efs_days", "efs_event", "death_cause", "relapse_day"]
    assert baseline.patients[outcome].astype(str).equals(other.patients[outcome].astype(str))
    assert (other.events.stage == "arm").sum() > 0 and (baseline.events.stage == "arm").sum() == 0


def test_mifamurtide_changes_outcomes_and_books_48_infusions():
    """Paired with the baseline arm (same patients, same draws): fewer patients relapse, by more than 3
    paired standard errors of the per-patient difference (one-sided); and the arm books its infusions."""
    base = ["cohort=trial", "cohort.n_patients=400", "cohort.metastatic_fraction=0", "output.progress=false",
            "output.events=true", "cohort.followup_years=3", "arms=[baseline,mifamurtide]"]
    results = simulate(compose(base), summary=False)
    p = results.patients
    relapsed = {arm: p[p.arm == arm].sort_values("patient_id").relapse_day.notna().to_numpy(dtype=float)
                for arm in ("baseline", "mifamurtide")}
    d = relapsed["mifamurtide"] - relapsed["baseline"]
    se = d.std(ddof=1) / np.sqrt(d.size)
    assert se > 0 and d.mean() < -3 * se, (d.mean(), se)
    events = results.events[results.events.arm == "mifamurtide"]
    starts = events.query("stage == 'arm' and event == 'start'")
    per_patient = starts.groupby("patient_id").size()
    assert per_patient.max() == 48        # 2 a week for 12 weeks, then weekly for 24 (NICE TA235)
    assert set(starts.resource.astype(str)) == {"day_case"}


def test_service_kpis_have_replication_intervals_after_the_warm_up():
    results = simulate(compose(["replications=2", "output.progress=false", "cohort.accrual_years=3",
                                "cohort.followup_years=2", "output.dashboard=false"]))
    from osteosim.analysis.resource_use import utilisation
    from osteosim.analysis.service import wait_times

    warmup = results.summary["warmup_day"]
    assert warmup == 365.25
    kpis = {r["kpi"]: r for r in results.summary["kpis"]}
    assert all(kpis[k]["replications"] == 2 for k in ("wait_p90_days.neoadjuvant", "OS1y.all"))
    ev, res = results.events, results.resources
    per_replication = {"wait_median_days.surgery": [], "utilisation_pct.chemo_bed": []}
    ignoring_warmup = {kpi: [] for kpi in per_replication}
    for r in (0, 1):
        for values, start in ((per_replication, warmup), (ignoring_warmup, 0.0)):
            waits = wait_times(ev[(ev.replication == r) & (ev.day >= start)])
            values["wait_median_days.surgery"].append(waits[waits.stage == "surgery"].wait.median())
            use = utilisation(res[(res.replication == r) & (res.day >= start)]).set_index("resource")
            values["utilisation_pct.chemo_bed"].append(use.loc["chemo_bed", "utilisation_pct"])
    for kpi, values in per_replication.items():
        assert_t_interval(kpis[kpi], values, kpi)   # computed after the warm-up, and the warm-up matters:
        assert not np.allclose(values, ignoring_warmup[kpi], rtol=0, atol=1e-3), kpi


def test_crude_proportion_kpis_are_those_of_the_patients_table():
    """relapse, second-remission and second-malignancy percentages, replication by replication."""
    results = simulate(compose([*TRIAL, "cohort.metastatic_fraction=0.3", "replications=3"]))
    p = results.patients
    per_replication = p.groupby("replication").apply(lambda r: pd.Series({
        "relapse_or_progression_pct": 100 * r.relapse_day.notna().mean(),
        "cr2_pct_of_relapses": 100 * r.cr2.fillna(False).sum() / r.relapse_day.notna().sum(),
        "second_malignancy_pct": 100 * r.second_malignancy_day.notna().mean()}), include_groups=False)
    kpis = {row["kpi"]: row for row in results.summary["kpis"]}
    for kpi, values in per_replication.items():
        assert kpis[kpi]["mean"] == pytest.approx(values.mean(), abs=1e-3), kpi
        assert kpis[kpi]["replications"] == 3


def test_uses_per_year_count_our_patients_starts_over_the_logged_years():
    results = simulate(compose(["cohort.accrual_years=2", "cohort.followup_years=1", "cohort.warmup_years=0",
                                "output.progress=false"]))
    ev = results.events
    years = (ev.day.max() - ev.day.min()) / 365.25
    ours = ev[(ev.patient_id >= 0) & (ev.event == "start")]
    kpis = {row["kpi"]: row["mean"] for row in results.summary["kpis"]}
    for resource in ("imaging", "chemo_bed", "followup_clinic"):
        expected = (ours.resource == resource).sum() / years
        assert kpis[f"uses_per_year.{resource}"] == pytest.approx(expected, rel=1e-3), resource
