"""Cumulative doses and late effects (issue 12, first part): doses from the courses given, and late
effects drawn after the pathway at the configured dose-response, never before their exposure
and never after death or the end of follow-up.

Statistical tolerances (each test can fail; seeds fixed):
- heart failure: constant hazard per patient (it depends only on the patient's dose), so with
  censoring by death and end of follow-up the number of events is Poisson with mean
  E = sum_i hazard_i x time at risk_i; |O - E| <= 4 sqrt(E) in all and in each dose group.
  Beside it, the Kaplan-Meier cumulative incidence at the configured year among full-dose
  patients, against 1 - exp(-h T) = the configured incidence, within its 99.9% Greenwood band;
- hearing loss and kidney damage: sums of independent Bernoulli draws with the configured chances
  p_i; |O - sum p_i| <= 4 sqrt(sum p_i (1 - p_i)) (binomial SE);
- endoprosthesis failure: Kaplan-Meier from surgery among limb-salvage patients (from the events
  table's resection detail), the configured failure by its year inside the 99.9% Greenwood band.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lifelines import KaplanMeierFitter

from osteosim import simulate
from osteosim.config import compose, group_options
from osteosim.model.late_effects import hearing_loss_chance, kidney_damage_chance, pack
from osteosim.model.record import LATE_EFFECT_COLUMNS

N = 20_000
DAYS_PER_YEAR = 365.25
Z = 4.0


def _trial(*overrides: str):
    config = compose(["cohort=trial", f"cohort.n_patients={N}", "cohort.followup_years=14", "seed=12",
                      "output.progress=false", "output.events=true", *overrides])
    return config, simulate(config, summary=False)


def _greenwood_band(durations_years, observed, at_years):
    kmf = KaplanMeierFitter(alpha=0.001).fit(durations_years, observed)
    band = kmf.confidence_interval_survival_function_
    low, high = band[band.index <= at_years].iloc[-1]
    return kmf.survival_function_at_times(at_years).iloc[0], low, high


def test_doses_add_up_from_the_courses_given():
    config, r = _trial()
    p = r.patients
    treated = p[p.end_of_treatment_day.notna() & p.relapse_day.isna() & p.chemo_start_day.notna()]
    # full MAP (parameters.md §3a): doxorubicin 450, cisplatin 480 mg/m2, MTX 144 g/m2; dose-reduced
    # courses give 75% of theirs, so doses are full minus a multiple of a quarter course
    for column, full, course in (("doxorubicin_mg_m2", 450.0, 75.0), ("cisplatin_mg_m2", 480.0, 120.0),
                                 ("methotrexate_g_m2", 144.0, 12.0)):
        values = treated[column].to_numpy()
        assert values.max() == full and values.min() >= 0.75 * full
        reductions = (full - values) / (0.25 * course)
        np.testing.assert_allclose(reductions, np.round(reductions), atol=1e-9)
        # about dose_reduction x courses of the full dose are reductions (6%): mean within 4 binomial SEs
        n_courses = full / course
        share = config.treatment.dose_reduction
        mean = (full - values.mean()) / (0.25 * full)
        se = math.sqrt(share * (1 - share) / (len(values) * n_courses))
        assert abs(mean - share) <= Z * se, (column, mean, share, se)
    assert (treated.ifosfamide_g_m2 == 0).all()
    relapsed = p[p.relapse_day.notna()]
    assert (relapsed.ifosfamide_g_m2 <= 9.0 * config.treatment.second_line_courses).all()
    assert (relapsed.ifosfamide_g_m2 > 0).mean() > 0.5
    untreated = simulate(compose(["cohort=trial", "cohort.n_patients=300", "arm=surgery_alone",
                                  "output.progress=false"]), summary=False).patients
    assert (untreated[["doxorubicin_mg_m2", "cisplatin_mg_m2", "methotrexate_g_m2"]].to_numpy() == 0).all()
    assert untreated.heart_failure_day.isna().all() and untreated.hearing_loss_day.isna().all()


def test_heart_failure_follows_the_configured_dose_response():
    config, r = _trial()
    p = r.patients
    L = pack(config)
    exposed = p[p.doxorubicin_mg_m2 > 0]
    start = exposed.chemo_start_day          # the first course (AP) gives the first doxorubicin
    end = exposed.heart_failure_day.fillna(exposed.followup_end_day)
    years = (end - start) / DAYS_PER_YEAR
    rate = L.hf_rate_ref * np.exp(L.hf_log_hr_per_mg * (exposed.doxorubicin_mg_m2 - L.hf_ref_dose))
    events = exposed.heart_failure_day.notna()
    full = exposed.doxorubicin_mg_m2 >= L.hf_ref_dose
    for group in (np.ones(len(exposed), dtype=bool), full.to_numpy(), ~full.to_numpy()):
        expected = float((rate * years)[group].sum())
        observed = int(events[group].sum())
        assert abs(observed - expected) <= Z * math.sqrt(expected), (observed, expected)
    # the dose gradient: fewer events per person-year after dose reductions
    assert (events[~full].sum() / years[~full].sum()) < (events[full].sum() / years[full].sum())
    # cumulative incidence at the configured year at the reference dose (Kaplan-Meier, death censors)
    T = config.late_effects.heart_failure_years
    km, low, high = _greenwood_band(years[full], events[full], T)
    free = 1.0 - config.late_effects.heart_failure_incidence
    assert low <= free <= high, (low, free, high)


def test_hearing_loss_and_kidney_damage_follow_their_chances():
    config, r = _trial()
    p = r.patients
    L = pack(config)
    for column, exposed, chance in (
            ("hearing_loss_day", p[p.cisplatin_mg_m2 > 0],
             lambda q: np.array([hearing_loss_chance(d, a, L) for d, a in zip(q.cisplatin_mg_m2, q.age_years)])),
            ("kidney_damage_day", p[p.ifosfamide_g_m2 > 0],
             lambda q: np.array([kidney_damage_chance(d, L) for d in q.ifosfamide_g_m2]))):
        chances = chance(exposed)
        observed = int(exposed[column].notna().sum())
        expected, se = chances.sum(), math.sqrt((chances * (1 - chances)).sum())
        assert abs(observed - expected) <= Z * se, (column, observed, expected, se)
    # the young are at higher risk (risk ratio 1.5) at the same dose
    full = p[p.cisplatin_mg_m2 == 480.0]
    young = full.age_years < config.late_effects.hearing_loss_young_years
    assert full.hearing_loss_day[young].notna().mean() > full.hearing_loss_day[~young].notna().mean()


def test_endoprosthesis_failure_at_ten_years():
    config, r = _trial()
    p, ev = r.patients, r.events
    salvage = ev[(ev.event.astype(str) == "resection") & (ev.detail.astype(str) == "limb_salvage")].patient_id
    limb = p[p.patient_id.isin(salvage)]
    assert (p[~p.patient_id.isin(salvage)].prosthesis_failure_day.isna()).all()
    end = limb.prosthesis_failure_day.fillna(limb.followup_end_day)
    years = (end - limb.surgery_day) / DAYS_PER_YEAR
    e = config.late_effects
    km, low, high = _greenwood_band(years, limb.prosthesis_failure_day.notna(), e.prosthesis_failure_years)
    assert low <= 1.0 - e.prosthesis_failure <= high, (low, 1.0 - e.prosthesis_failure, high)
    km, low, high = _greenwood_band(years, limb.prosthesis_failure_day.notna(), e.prosthesis_median_years)
    assert low <= 0.5 <= high, (low, high)


# ------------------------------------------------------------------ never before exposure, never after death
def check_late_effects(p: pd.DataFrame) -> None:
    """Doses and late effects against the pathway's own days (every run, any configuration)."""
    doses = p[["doxorubicin_mg_m2", "cisplatin_mg_m2", "methotrexate_g_m2", "ifosfamide_g_m2"]]
    assert (doses.to_numpy() >= 0).all()
    first_line = p[["chemo_start_day", "adjuvant_start_day"]].min(axis=1)
    any_chemo = p[["chemo_start_day", "adjuvant_start_day", "relapse_day"]].min(axis=1)
    assert (doses[first_line.isna()][["doxorubicin_mg_m2", "cisplatin_mg_m2", "methotrexate_g_m2"]]
            .to_numpy() == 0).all()
    assert (p.ifosfamide_g_m2[any_chemo.isna()] == 0).all()
    for column, exposed, exposure_start in (
            ("heart_failure_day", p.doxorubicin_mg_m2 > 0, first_line),
            ("hearing_loss_day", p.cisplatin_mg_m2 > 0, first_line),
            ("kidney_damage_day", p.ifosfamide_g_m2 > 0, any_chemo),
            ("prosthesis_failure_day", p.surgery_day.notna(), p.surgery_day)):
        has = p[column].notna()
        assert exposed[has].all(), column
        assert (p[column][has] >= exposure_start[has]).all(), column
        assert (p[column][has] < p.followup_end_day[has]).all(), column        # followed, alive
        dead = has & p.death_day.notna()
        assert (p[column][dead] < p.death_day[dead]).all(), column
    assert (p.prosthesis_failure_day.dropna() > p.surgery_day[p.prosthesis_failure_day.notna()]).all()


@st.composite
def late_configs(draw):
    """Small trial cohorts with random late-effect parameters, course doses and arms."""
    e = dict(heart_failure_incidence=draw(st.floats(0, 0.99)), heart_failure_years=draw(st.floats(0.1, 40)),
             heart_failure_hr_per_10_mg_m2=draw(st.floats(0.5, 3)), hearing_loss_severe=draw(st.floats(0, 1)),
             hearing_loss_threshold_mg_m2=draw(st.floats(0, 400)), hearing_loss_young_risk_ratio=draw(st.floats(0.1, 5)),
             kidney_damage=draw(st.floats(0, 1)), kidney_reference_g_m2=draw(st.floats(1, 100)),
             prosthesis_failure=draw(st.floats(0.1, 0.45)), prosthesis_failure_years=draw(st.floats(1, 10)))
    shape = draw(st.floats(1, 5))      # a Weibull the validation accepts (median <= 66 y): the median from the shape
    hazard = -math.log1p(-e["prosthesis_failure"])
    e["prosthesis_median_years"] = e["prosthesis_failure_years"] * math.exp(math.log(math.log(2) / hazard) / shape)
    return ["cohort=trial", f"cohort.n_patients={draw(st.integers(1, 60))}", f"seed={draw(st.integers(0, 10**6))}",
            f"cohort.followup_years={draw(st.floats(0, 30))}", f"arm={draw(st.sampled_from(group_options('arm')))}",
            f"cohort.metastatic_fraction={draw(st.floats(0, 1))}",
            f"treatment.course_doses.ifosfamide_g_m2.IE={draw(st.floats(0, 20))}",
            f"treatment.course_doses.doxorubicin_mg_m2.A={draw(st.floats(0, 100))}",
            "output.progress=false", *(f"late_effects.{k}={v!r}" for k, v in e.items())]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(late_configs())
def test_no_late_effect_before_its_exposure_or_after_death(overrides):
    p = simulate(compose(overrides), summary=False).patients
    check_late_effects(p)


def test_late_effects_change_nothing_in_the_pathway():
    """Other late-effect parameters: every other column the same, patient by patient."""
    base = ["cohort=trial", "cohort.n_patients=2000", "seed=3", "output.progress=false"]
    a = simulate(compose(base), summary=False).patients
    b = simulate(compose([*base, "late_effects.heart_failure_incidence=0.5", "late_effects.kidney_damage=1",
                          "late_effects.hearing_loss_severe=0.9", "late_effects.prosthesis_failure=0.1"]),
                 summary=False).patients
    others = [c for c in a.columns if c not in LATE_EFFECT_COLUMNS]
    pd.testing.assert_frame_equal(a[others], b[others])
    assert not a.heart_failure_day.equals(b.heart_failure_day)
