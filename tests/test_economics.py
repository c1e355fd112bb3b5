"""Health economics: exact continuous-time discounting, per-patient accounting against closed forms
worked out by hand, and the run's economics table and summary."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy import integrate

from osteosim.config import arm_config, compose
from osteosim.economics import discounting, unit_costs
from osteosim.economics.accounting import _geometric, followup_offsets, patient_economics
from osteosim.model.codes import DAYS_PER_YEAR
from osteosim.results.tables import PATIENT_COLUMNS

rates = st.floats(0.0, 0.2)
times = st.floats(0.0, 80.0)


@settings(max_examples=60, deadline=None)
@given(a=times, width=st.floats(0.0, 40.0), rate=rates)
def test_a_flow_is_the_integral_of_the_discount_factor(a, width, rate):
    b = a + width
    numeric, _ = integrate.quad(lambda t: (1.0 + rate) ** -t, a, b, epsabs=1e-13, epsrel=1e-12)
    assert float(discounting.over(a, b, rate)) == pytest.approx(numeric, rel=1e-9, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(a=times, w1=st.floats(0.0, 30.0), w2=st.floats(0.0, 30.0), rate=rates)
def test_flows_add_over_adjacent_spans(a, w1, w2, rate):
    whole = discounting.over(a, a + w1 + w2, rate)
    assert float(discounting.over(a, a + w1, rate) + discounting.over(a + w1, a + w1 + w2, rate)) == \
        pytest.approx(float(whole), rel=1e-10, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(t=times, rate=rates)
def test_a_lump_is_discounted_by_one_plus_r_to_the_minus_t(t, rate):
    assert float(discounting.at(t, rate)) == pytest.approx((1.0 + rate) ** -t, rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(t0=times, step=st.floats(0.001, 2.0), count=st.integers(0, 60), rate=rates)
@example(t0=0.0, step=1.0, count=3, rate=1e-9)     # found by hypothesis: 1 - q cancelled for a tiny rate
def test_a_series_of_visits_sums_in_closed_form(t0, step, count, rate):
    explicit = sum((1.0 + rate) ** -(t0 + i * step) for i in range(count))
    assert float(_geometric(np.array([t0]), step, np.array([float(count)]), rate)[0]) == \
        pytest.approx(explicit, rel=1e-9, abs=1e-12)


def test_an_empty_span_spread_is_a_lump_at_its_start():
    assert float(discounting.mean_factor(3.0, 3.0, 0.035)) == pytest.approx(1.035 ** -3)
    assert float(discounting.over(5.0, 2.0, 0.035)) == 0.0


# ------------------------------------------------------------------ one patient, by hand
def _patient(**days) -> pd.DataFrame:
    """A one-patient table: every column NaN or empty, then the given values."""
    row = {c: np.nan for c in PATIENT_COLUMNS}
    row.update({"replication": 0, "arm": "baseline", "patient_id": 0, "death_cause": "", "good_response": np.nan,
                "cr2": np.nan, "doxorubicin_mg_m2": 0.0, "cisplatin_mg_m2": 0.0, "methotrexate_g_m2": 0.0,
                "ifosfamide_g_m2": 0.0})
    row.update(days)
    frame = pd.DataFrame([row])
    frame["good_response"] = frame["good_response"].astype("boolean")
    frame["cr2"] = frame["cr2"].astype("boolean")
    return frame


@pytest.fixture(scope="module")
def config():
    return compose(["cohort=trial", "cohort.n_patients=50"])


def _y(day: float, dx: float = 100.0) -> float:
    return (day - dx) / DAYS_PER_YEAR


def test_one_patients_qalys_and_costs_match_the_closed_forms(config):
    e = config.economics
    u, r, rc = e.utilities, e.discount_effects, e.discount_costs
    dx, eot, relapse, death = 100.0, 400.0, 1500.0, 2500.0
    frame = _patient(diagnosis_day=dx, chemo_start_day=dx, surgery_day=170.0, end_of_treatment_day=eot,
                     relapse_day=relapse, death_day=death, followup_end_day=death, death_cause="osteosarcoma",
                     heart_failure_day=2000.0)
    row = patient_economics(frame, config, {"baseline": arm_config("baseline")}).iloc[0]
    d = lambda a, b: ((1 + r) ** -a - (1 + r) ** -b) / math.log1p(r)   # noqa: E731 - the integral, by hand
    palliative = _y(death) - u.palliative_days / DAYS_PER_YEAR
    expected = ((u.survivor - u.on_treatment_decrement) * d(0, _y(eot)) + u.survivor * d(_y(eot), _y(relapse))
                + u.after_relapse * d(_y(relapse), palliative) + u.palliative * d(palliative, _y(death))
                - u.heart_failure_decrement * d(_y(2000.0), _y(death)))
    assert row.qalys_disc == pytest.approx(expected, rel=1e-10)
    assert row.life_years == pytest.approx(_y(death))
    assert row.life_years_disc == pytest.approx(d(0, _y(death)), rel=1e-10)
    surgery = unit_costs.primary_surgery(config)
    assert row.cost_disc_surgery == pytest.approx(surgery * (1 + rc) ** -_y(170.0), rel=1e-12)
    # follow-up visits from the end of treatment until the relapse (1,100 days later): every 91 days in years 1-2
    # (8 visits, to day 728), then every 182 days (910, 1,092)
    visits = [eot + k * 91.0 for k in range(1, 9)] + [eot + 728.0 + 182.0, eot + 728.0 + 364.0]
    per_visit = unit_costs.price(e, "followup_clinic") + unit_costs.price(e, "ct_chest")
    assert row.cost_disc_followup == pytest.approx(sum(per_visit * (1 + rc) ** -_y(v) for v in visits), rel=1e-10)


def test_palliative_state_and_care_start_at_the_patients_own_days_when_recorded(config):
    """With palliative_day and a palliative referral (conf/supportive) the palliative utility runs from
    palliative_day and palliative care is priced from the referral, instead of the last palliative_days."""
    e = config.economics
    u, r, rc = e.utilities, e.discount_effects, e.discount_costs
    dx, eot, relapse, alone, referral, death = 100.0, 400.0, 1500.0, 2000.0, 1800.0, 2500.0
    common = dict(diagnosis_day=dx, chemo_start_day=dx, end_of_treatment_day=eot, relapse_day=relapse,
                  death_day=death, followup_end_day=death, death_cause="osteosarcoma")
    arms = {"baseline": arm_config("baseline")}
    with_days = patient_economics(_patient(**common, palliative_day=alone, palliative_referral_day=referral),
                                  config, arms).iloc[0]
    without = patient_economics(_patient(**common), config, arms).iloc[0]
    d = lambda a, b, rate=r: ((1 + rate) ** -a - (1 + rate) ** -b) / math.log1p(rate)   # noqa: E731
    late = _y(death) - u.palliative_days / DAYS_PER_YEAR
    shift = (u.palliative - u.after_relapse) * (d(_y(alone), late))
    assert with_days.qalys_disc - without.qalys_disc == pytest.approx(shift, rel=1e-9)
    year = unit_costs.price(e, "palliative_care_year")
    extra = year * (d(_y(referral), _y(death), rc) - d(late, _y(death), rc))
    assert with_days.cost_disc_end_of_life - without.cost_disc_end_of_life == pytest.approx(extra, rel=1e-9)


def test_carer_qalys_are_losses_in_closed_form_and_off_by_default(config):
    import dataclasses

    dx, eot, relapse, death = 0.0, 300.0, 800.0, 1200.0
    frame = _patient(diagnosis_day=dx, end_of_treatment_day=eot, relapse_day=relapse, death_day=death,
                     followup_end_day=death, death_cause="osteosarcoma")
    arms = {"baseline": arm_config("baseline")}
    assert patient_economics(frame, config, arms).iloc[0].carer_qalys_disc == 0.0
    carer = dataclasses.replace(config.economics.carer, enabled=True)
    on = dataclasses.replace(config, economics=dataclasses.replace(config.economics, carer=carer))
    row, off = patient_economics(frame, on, arms).iloc[0], patient_economics(frame, config, arms).iloc[0]
    r = on.economics.discount_effects
    d = lambda a, b: ((1 + r) ** -a - (1 + r) ** -b) / math.log1p(r)   # noqa: E731
    y = lambda day: day / DAYS_PER_YEAR                                   # noqa: E731
    expected = -(carer.disutility_on_treatment * d(0, y(eot)) + carer.disutility_after_relapse * d(y(relapse), y(death))
                 + carer.bereavement_disutility * d(y(death), y(death) + carer.bereavement_years))
    assert row.carer_qalys_disc == pytest.approx(expected, rel=1e-10) and expected < 0
    assert row.qalys_disc == pytest.approx(off.qalys_disc + expected, rel=1e-12)


def test_nothing_counts_after_the_horizon_or_before_diagnosis(config):
    frame = _patient(diagnosis_day=0.0, chemo_start_day=0.0, followup_end_day=10 * DAYS_PER_YEAR,
                     surgery_day=20 * DAYS_PER_YEAR)
    row = patient_economics(frame, config, {"baseline": arm_config("baseline")}).iloc[0]
    assert row.cost_disc_surgery == 0.0 and row.life_years == pytest.approx(10.0)


def test_followup_offsets_walk_the_schedule_band_by_band(config):
    offsets = followup_offsets(config)
    assert offsets[:8].tolist() == [91.0 * k for k in range(1, 9)]     # every 3 months in years 1-2
    assert np.all(np.diff(offsets) > 0) and offsets[-1] <= 10 * DAYS_PER_YEAR


def test_course_counts_come_back_from_the_doses(config):
    frame = _patient(doxorubicin_mg_m2=450.0, cisplatin_mg_m2=480.0, methotrexate_g_m2=144.0, ifosfamide_g_m2=18.0)
    counts = unit_costs.course_counts(frame, config)
    assert {k: round(float(v[0]), 9) for k, v in counts.items()} == {"AP": 4.0, "A": 2.0, "M": 12.0, "IE": 2.0}


def test_a_table_read_as_text_prices_like_the_engines_categorical_table():
    """Pricing reads causes of death from a categorical's categories; a table whose text columns are plain
    strings (a CSV, a test's frame), or categoricals in another order, must cost the same in every column."""
    from osteosim.engines.replications import chunks

    config = compose(["cohort=trial", "cohort.n_patients=3000", "cohort.metastatic_fraction=0.5",
                      "output.progress=false"])
    patients = pd.concat([chunk.patients for chunk in chunks(config)], ignore_index=True)
    assert (patients["death_cause"] == "osteosarcoma").sum() > 100       # the cause decides end-of-life costs
    arms = {"baseline": arm_config("baseline")}
    coded = patient_economics(patients, config, arms)
    cause = patients["death_cause"].astype(str)
    for other in (cause, cause.astype(pd.CategoricalDtype(sorted(set(cause), reverse=True)))):
        priced = patient_economics(patients.assign(death_cause=other), config, arms)
        pd.testing.assert_frame_equal(coded, priced, check_exact=True)


def test_a_shorter_stay_makes_an_admission_cheaper_by_its_bed_days(config):
    ambulatory = compose(["cohort=trial", "cohort.n_patients=50", "scenario=outpatient_mtx"])
    saved = unit_costs.course_price(config, "M") - unit_costs.course_price(ambulatory, "M")
    days = config.treatment.length_of_stay_days["M"] - ambulatory.treatment.length_of_stay_days["M"]
    assert days > 0 and saved == pytest.approx(days * unit_costs.price(config.economics, "chemo_bed_day"))


def test_mifamurtide_costs_its_course_and_the_arms_share_their_patients(tmp_path):
    import osteosim

    cfg = compose(["cohort=trial", "cohort.n_patients=300", "arms=[baseline,mifamurtide]", "replications=2",
                   "cohort.metastatic_fraction=0", "output.progress=false"])
    results = osteosim.simulate(cfg)
    econ = results.economics
    assert len(econ) == len(results.patients) and list(econ["patient_id"]) == list(results.patients["patient_id"])
    per_arm = econ.groupby("arm", observed=True)["cost_disc_arm_visits"].mean()
    assert per_arm["baseline"] == 0.0
    course = unit_costs.price(cfg.economics, "mifamurtide_course")
    assert 0.5 * course < per_arm["mifamurtide"] < 1.2 * course   # most patients finish the 48 infusions
    same = ["cost_disc_diagnosis", "cost_disc_first_line", "cost_disc_surgery"]   # before the arms part ways
    a, b = (econ[econ["arm"] == arm][same].to_numpy() for arm in ("baseline", "mifamurtide"))
    assert np.array_equal(a, b)
    row = results.summary["economics"]["incremental"][0]
    assert row["arm"] == "mifamurtide" and row["cost_disc"]["difference"] > 0
    assert set(row["nmb_disc"]) == {"20000", "30000"}


awkward = st.one_of(st.floats(-1e6, 1e6), st.sampled_from([math.nan, math.inf, -math.inf, 2.0 ** 53, 0.75]))


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.sampled_from(["a", "b", "c"]),
                          st.lists(awkward, min_size=6, max_size=6)), min_size=1, max_size=40),
       st.booleans(), st.booleans())
@example([(0, "a", [2.0 ** 53, 0.75, 0.75, 1.0, 1.0, 1.0])] * 3, True, True)   # the compensation decides the sum
@example([(0, "a", [math.inf, 1.0, 1.0, 1.0, 1.0, 1.0]), (0, "a", [1.0] * 6)], False, True)
def test_economic_totals_are_the_group_by_bit_for_bit(rows, categorical, one_group):
    """EconomicTotals' sums per replication x arm, chunk by chunk, against the group-by it replaced, on chunks of
    one replication x arm (every chunk of a run) and of several (the API prices a whole table at once): pandas'
    sums exactly (groups sorted, Kahan-compensated, NaN skipped), index dtypes included."""
    from osteosim.economics.comparison import MEASURES, EconomicTotals

    if one_group:
        rows = [(rows[0][0], rows[0][1], values) for _, _, values in rows]
    frame = pd.DataFrame([[r, arm, *values] for r, arm, values in rows],
                         columns=["replication", "arm", *MEASURES]).astype({"replication": np.int32})
    if categorical:
        frame["arm"] = frame["arm"].astype(pd.CategoricalDtype(["c", "b", "a"]))
    keys = [frame["replication"].to_numpy(), frame["arm"].astype(str).to_numpy()]
    expected = frame[list(MEASURES)].groupby(keys).sum()
    expected["patients"] = frame.groupby(keys).size()
    totals = EconomicTotals()
    totals.add(frame)
    pd.testing.assert_frame_equal(totals.parts[0], expected, check_exact=True)
    assert [level.dtype for level in totals.parts[0].index.levels] == [level.dtype for level in expected.index.levels]
