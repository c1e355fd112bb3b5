"""Invariants of every run, over random valid configurations (property-based)."""
import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from osteosim import simulate
from osteosim.config import compose, group_options
from osteosim.results.tables import PATIENT_COLUMNS
from test_engine_equivalence import assert_same_table
from test_late_effects import check_late_effects

TERMINAL_CAUSES = {"osteosarcoma", "treatment", "other"}
MILESTONES = ["arrival_day", "diagnosis_day", "chemo_start_day", "surgery_day", "adjuvant_start_day",
              "end_of_treatment_day"]

roster = st.lists(st.integers(0, 3), min_size=7, max_size=7).filter(lambda r: sum(r) > 0)


@st.composite
def configs(draw):
    """Small valid configurations: either mode, any arm, random rosters and demand."""
    mode = draw(st.sampled_from(["service", "trial", "relapsed"]))
    o = [f"seed={draw(st.integers(0, 10**6))}",
         f"arm={draw(st.sampled_from(group_options('arm')))}",
         f"disease.cr2_factor_per_log10_past_detection={draw(st.floats(0, 1))}",
         f"cohort.metastatic_fraction={draw(st.floats(0, 1))}",
         "output.progress=false", "output.dashboard=false", "output.events=true"]
    if mode in ("trial", "relapsed"):
        o += [f"cohort={mode}", f"cohort.n_patients={draw(st.integers(1, 40))}",
              f"cohort.followup_years={draw(st.floats(0, 6))}"]
    else:
        o += ["cohort.accrual_years=2", "cohort.followup_years=3",
              f"cohort.catchment_population_millions={draw(st.floats(0.5, 4))}"]
        for name in ("imaging", "chemo_bed", "theatre_ortho", "followup_clinic"):
            o.append(f"resources.{name}.roster=[{','.join(map(str, draw(roster)))}]")
            o.append(f"resources.{name}.background_per_week={draw(st.floats(0, 5))}")
    return o


def check_invariants(results) -> None:
    p, ev, res = results.patients, results.events, results.resources
    assert list(p.columns) == list(PATIENT_COLUMNS)
    # exactly one terminal state: dead of one cause (with a day) or alive at the end of follow-up
    dead = p.death_day.notna()
    assert set(p.death_cause[dead].astype(str)) <= TERMINAL_CAUSES
    assert (p.death_cause[~dead].astype(str) == "").all()
    assert (p.followup_end_day[dead] == p.death_day[dead]).all()
    assert (p.os_event == dead).all()
    # milestones in order; survival times consistent
    days = p[MILESTONES].to_numpy()
    for a, b in zip(range(days.shape[1] - 1), range(1, days.shape[1])):
        both = ~np.isnan(days[:, a]) & ~np.isnan(days[:, b])
        assert (days[both, a] <= days[both, b] + 1e-9).all(), MILESTONES[b]
    diagnosed = p.diagnosis_day.notna()
    assert (p.os_days[diagnosed] >= p.efs_days[diagnosed] - 1e-9).all()
    assert (p.efs_days[diagnosed] >= 0).all()
    relapsed = p.relapse_day.notna()
    assert (p.relapse_day[relapsed & dead] <= p.death_day[relapsed & dead]).all()
    # a second malignancy follows first-line treatment and precedes death and the end of follow-up
    second = p.second_malignancy_day.notna()
    assert (p.second_malignancy_day[second] >= p.end_of_treatment_day[second]).all()
    assert (p.second_malignancy_day[second] < p.followup_end_day[second]).all()
    # the course after a relapse runs forward: relapse, progression on treatment, palliative care, death
    course = ["relapse_day", "progression_after_relapse_day", "palliative_day", "death_day"]
    for a, b in zip(course, course[1:]):
        both = p[a].notna() & p[b].notna()
        assert (p[a][both] <= p[b][both] + 1e-9).all(), (a, b)
    assert (p.palliative_day.isna() | p.progression_after_relapse_day.notna()).all()
    assert (p.relapse_day.isna() | (p.relapses > 0)).all()
    entered = (p.relapses > 0) & p.relapse_day.isna()      # enrolled at a recurrence (cohort=relapsed)
    assert p.surgery_day[entered].isna().all() and (p.diagnosis_day[entered] == p.arrival_day[entered]).all()
    # EFS ends at the first of relapse, progression after entry, second malignancy, death (or is censored)
    first = p[["relapse_day", "progression_after_relapse_day", "second_malignancy_day", "death_day"]].min(axis=1)
    assert (p.efs_event[diagnosed] == first[diagnosed].notna()).all()
    ended = diagnosed & first.notna()
    np.testing.assert_allclose(p.efs_days[ended], (first - p.diagnosis_day)[ended], atol=1e-9)
    # cumulative doses and late effects: none before its exposure, none after death or follow-up
    check_late_effects(p)
    # days never go backwards along a patient's events
    patients_ev = ev[ev.patient_id >= 0]
    steps = patients_ev.groupby(["replication", "arm", "patient_id"], observed=True).day.diff().dropna()
    assert (steps >= 0).all()
    # no resource starts serving above its capacity
    for _, r in res.groupby(["replication", "arm", "resource"], observed=True):
        grew = r.in_use.diff().fillna(r.in_use) > 0
        assert (r.in_use[grew] <= r.capacity[grew]).all()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs())
def test_every_run_satisfies_the_invariants(overrides):
    """On the SimPy engine (every config) and the cohort engine (unconstrained ones), which must agree."""
    config = compose([*overrides, "engine=des"])
    results = simulate(config, summary=False)
    check_invariants(results)
    again = simulate(config, summary=False)
    pd.testing.assert_frame_equal(results.patients, again.patients)
    if "cohort=trial" in overrides or "cohort=relapsed" in overrides:
        cohort = simulate(compose([*overrides, "engine=cohort"]), summary=False)
        check_invariants(cohort)
        assert_same_table(results.patients, cohort.patients)


def test_default_run_satisfies_the_invariants(default_tables):
    from types import SimpleNamespace

    patients, events, resources = default_tables
    check_invariants(SimpleNamespace(patients=patients, events=events, resources=resources))
