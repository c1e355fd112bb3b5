"""Structure inside metastatic and relapsed disease (DESIGN §3, issue 11), on fixed seeds.

The gradients must come from the mechanism (burden from what staging sees, what surgery removes,
chemoresistant clonogens), in the published direction: more lung nodules, bilateral disease, no
complete surgical remission and spread beyond the lung each lower 5-year EFS. Each comparison
must clear 3 standard errors of the difference of two Kaplan-Meier estimates (Greenwood), so a
gradient that is only noise fails. Their sizes against the published series are in
experiments/validate/results/validation.md; Kager's two relative hazards are calibration targets
(tests/test_calibration.py).
"""
from __future__ import annotations

import numpy as np
import pytest
from lifelines import KaplanMeierFitter

from osteosim import simulate
from osteosim.analysis.survival import DAYS_PER_YEAR, kaplan_meier
from osteosim.config import compose

QUIET = ["output.progress=false", "output.events=false", "output.dashboard=false", "engine=cohort"]


def efs5(group):
    """(5-year EFS, its Greenwood standard error), by lifelines on the patients' own times."""
    kmf = KaplanMeierFitter().fit(group.efs_days.to_numpy(float) / DAYS_PER_YEAR, group.efs_event.to_numpy(bool))
    at = kmf.survival_function_at_times(5.0).iloc[0]
    table = kmf.event_table
    table = table[table.index <= 5.0]
    d, n = table["observed"].to_numpy(float), table["at_risk"].to_numpy(float)
    ok = n > d
    return float(at), float(at * np.sqrt(np.sum(d[ok] / (n[ok] * (n[ok] - d[ok])))))


def assert_better(better, worse, what):
    (a, sa), (b, sb) = efs5(better), efs5(worse)
    assert a - b > 3 * np.hypot(sa, sb), f"{what}: 5-y EFS {a:.3f} vs {b:.3f} (SE {sa:.3f}, {sb:.3f})"


@pytest.fixture(scope="module")
def metastatic():
    """The issue's cohort: everyone metastatic, seed 202, 40,000 patients."""
    p = simulate(compose(["cohort=trial", "cohort.metastatic_fraction=1", "cohort.n_patients=40000", "seed=202",
                          *QUIET]), summary=False).patients
    return p[p.met_status.astype(str) != "none"]


def test_more_lung_nodules_lower_efs_among_patients_who_had_a_metastasectomy(metastatic):
    lung = metastatic[(metastatic.met_status.astype(str) == "lung") & metastatic.metastasectomy_day.notna()]
    assert_better(lung[lung.n_lung_nodules <= 3], lung[lung.n_lung_nodules > 3], "1-3 vs > 3 nodules")
    assert_better(lung[lung.n_lung_nodules < 8], lung[lung.n_lung_nodules >= 8], "< 8 vs >= 8 nodules")


def test_bilateral_lung_disease_does_worse_than_unilateral(metastatic):
    lung = metastatic[(metastatic.met_status.astype(str) == "lung") & metastatic.metastasectomy_day.notna()]
    assert_better(lung[~lung.bilateral], lung[lung.bilateral], "unilateral vs bilateral")


def test_without_complete_surgical_remission_almost_nobody_is_cured(metastatic):
    """NCI PDQ: without complete resection of the lung nodules cure is essentially nil (elsewhere
    radiotherapy may still control an unresectable primary or bone metastasis)."""
    assert_better(metastatic[metastatic.csr], metastatic[~metastatic.csr], "CSR vs no CSR")
    lung = metastatic[metastatic.met_status.astype(str) == "lung"]
    nodules_left = lung[~lung.csr & lung.surgery_day.notna() & lung.metastasectomy_day.isna()]
    assert len(nodules_left) > 500
    rate, _ = efs5(nodules_left)
    assert rate < 0.03, rate


def test_spread_beyond_the_lungs_does_worse(metastatic):
    pattern = metastatic.met_status.astype(str)
    assert_better(metastatic[pattern == "lung"], metastatic[pattern == "extrapulmonary"], "lung vs bone")
    assert_better(metastatic[pattern == "extrapulmonary"], metastatic[pattern == "multisystem"], "bone vs multisystem")


@pytest.fixture(scope="module")
def relapses():
    """First relapses after a first complete remission, EURAMOS-like population, 12 years of follow-up."""
    p = simulate(compose(["cohort=trial", "cohort.metastatic_fraction=0.17", "cohort.n_patients=40000",
                          "cohort.followup_years=12", "seed=11", *QUIET]), summary=False).patients
    return p[p.relapse_day.notna() & p.csr & (p.relapse_site.astype(str) != "progression")]


def test_without_a_second_remission_under_3_percent_live_five_years_after_relapse(relapses):
    """Kempf-Bielack 2005: 0% (the acceptance: under 3%), on thousands of relapses."""
    no_cr2 = relapses[relapses.cr2 == False]  # noqa: E712
    assert len(no_cr2) > 1000
    after = (no_cr2.followup_end_day - no_cr2.relapse_day).to_numpy()
    assert kaplan_meier(after, no_cr2.os_event.to_numpy(bool)).at(5.0) < 0.03


def test_with_a_second_remission_some_are_cured_and_the_rest_relapse_again(relapses):
    cr2 = relapses[relapses.cr2 == True]  # noqa: E712
    again = cr2.progression_after_relapse_day.notna()
    assert 0.2 < again.mean() < 0.95
    assert (cr2.relapses[again] >= 2).all()


def test_early_relapses_kill_sooner_than_late_ones(relapses):
    """Durnali 2016, Spraker-Perlman 2019: it emerges from growth (a fast tumour relapses early and kills early)."""
    no_cr2 = relapses[(relapses.cr2 == False) & relapses.os_event]  # noqa: E712
    after = (no_cr2.death_day - no_cr2.relapse_day).to_numpy()
    early = ((no_cr2.relapse_day - no_cr2.diagnosis_day) < DAYS_PER_YEAR).to_numpy()
    assert np.median(after[early]) < np.median(after[~early])


RELAPSE_EFFECTS = {"relapse_pfs_hr": 0.5, "relapse_complete_response": 0.3, "post_relapse_mortality_hr": 0.7}
RELAPSE_ARMS = ["regorafenib", "cabozantinib", "checkpoint_inhibitor", "her2_cart"]
OUTCOMES = ["efs_days", "efs_event", "os_days", "os_event", "death_cause", "progression_after_relapse_day",
            "palliative_day", "relapses", "cr2"]


def relapsed_trial(arm, *overrides):
    return simulate(compose(["cohort=relapsed", "cohort.n_patients=600", "seed=5", f"arm={arm}",
                             "output.progress=false", "output.dashboard=false", "output.events=true", *overrides]))


@pytest.fixture(scope="module")
def baseline_relapsed():
    return relapsed_trial("baseline")


@pytest.mark.parametrize("arm", RELAPSE_ARMS)
@pytest.mark.parametrize("effect", sorted(RELAPSE_EFFECTS))
def test_every_relapse_arm_acts_on_outcomes_through_each_named_effect(baseline_relapsed, arm, effect):
    results = relapsed_trial(arm, f"arm.{effect}={RELAPSE_EFFECTS[effect]}")
    base, other = baseline_relapsed.patients[OUTCOMES].astype(str), results.patients[OUTCOMES].astype(str)
    assert not base.equals(other), (arm, effect)


@pytest.mark.parametrize("arm", [a for a in RELAPSE_ARMS if a != "regorafenib"])
def test_a_relapse_arm_without_effect_changes_resource_use_only(baseline_relapsed, arm):
    results = relapsed_trial(arm)
    assert baseline_relapsed.patients[OUTCOMES].astype(str).equals(results.patients[OUTCOMES].astype(str))
    assert (results.events.stage == "arm").sum() > 0 and (baseline_relapsed.events.stage == "arm").sum() == 0


def test_regorafenib_delays_progression_but_not_death(baseline_relapsed):
    """SARC024: PFS gain, no OS effect modelled (crossover): progression later, deaths on the same days."""
    rego = relapsed_trial("regorafenib").patients
    base = baseline_relapsed.patients
    progressed = base.progression_after_relapse_day.notna() & rego.progression_after_relapse_day.notna()
    assert (rego.progression_after_relapse_day[progressed] >= base.progression_after_relapse_day[progressed]).all()
    assert (rego.progression_after_relapse_day[progressed] > base.progression_after_relapse_day[progressed]).any()
    np.testing.assert_array_equal(rego.death_day.to_numpy(), base.death_day.to_numpy())
