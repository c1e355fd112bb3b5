"""Aggregated Kaplan–Meier (counts with weights) equals lifelines on the raw patients."""
import warnings
from unittest.mock import patch

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from lifelines import KaplanMeierFitter

from osteosim.analysis import survival
from osteosim.analysis.summary import survival_table
from osteosim.analysis.survival import kaplan_meier_counts, merge_counts, survival_counts


def raw_patients(n: int, seed: int) -> pd.DataFrame:
    generator = np.random.default_rng(seed)   # test data only; the package draws from osteosim.model.rng
    os_days = generator.exponential(3000, n)
    efs_days = os_days * generator.uniform(0.3, 1.0, n)
    return pd.DataFrame({
        "replication": 0, "arm": "a", "met_status": pd.Categorical(generator.choice(["none", "lung"], n, p=[0.8, 0.2])),
        "os_days": np.minimum(os_days, 4000.0), "os_event": os_days < 4000.0,
        "efs_days": np.minimum(efs_days, 4000.0), "efs_event": efs_days < 4000.0})


def test_counts_give_the_raw_kaplan_meier_and_confidence_interval():
    p = raw_patients(5000, 1)
    rows = {(r["group"], r["endpoint"], r["years"]): r for r in survival_table(survival_counts(p))}
    for group, sub in (("all", p), ("localized", p[p.met_status == "none"]), ("metastatic", p[p.met_status != "none"])):
        for endpoint in ("OS", "EFS"):
            days, event = sub[f"{endpoint.lower()}_days"], sub[f"{endpoint.lower()}_event"]
            kmf = KaplanMeierFitter().fit(days / 365.25, event)
            ci = kmf.confidence_interval_survival_function_
            # rounding times to 0.1 day can move only events within 0.05 day of the time point,
            # each worth at most one patient's step (1 / number at risk)
            tolerance = 2.0 / len(sub)
            for years in (1, 3, 5):
                row = rows[(group, endpoint, years)]
                assert abs(row["estimate"] - kmf.survival_function_at_times(years).iloc[0]) < tolerance
                assert abs(row["ci_low"] - ci[ci.index <= years].iloc[-1, 0]) < tolerance
                assert row["n"] == len(sub)


def test_counts_are_additive_over_batches():
    p = raw_patients(3000, 2)
    whole = survival_counts(p)
    batched = merge_counts([survival_counts(p.iloc[:1000]), survival_counts(p.iloc[1000:])])
    assert survival_table(whole) == survival_table(batched)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), n=st.integers(1, 120), horizon=st.sampled_from([4.0, 5.0, 8.0, 15.0]))
def test_a_curve_fitted_to_its_last_reported_year_gives_the_whole_fits_estimates(data, n, horizon):
    """survival_at censors every time after the last reported year into one row: the estimates, intervals and
    follow-up it reports must be those of the whole curve's fit, to the last digit (not rounded)."""
    ticks = data.draw(st.lists(st.integers(0, int(horizon * 10)), min_size=n, max_size=n))
    rows = pd.DataFrame({"years": np.array(ticks) / 10.0, "event": data.draw(st.lists(st.booleans(), min_size=n, max_size=n)),
                         "count": data.draw(st.lists(st.integers(1, 50), min_size=n, max_size=n))})
    rows = rows.groupby(["years", "event"], sort=True)["count"].sum().reset_index()
    whole = kaplan_meier_counts(rows)
    with patch.object(survival, "rounded_or_none", lambda x: x):
        assert survival.survival_at(rows) == survival.km_at(whole)
    cut = kaplan_meier_counts(survival.censored_after(rows, 5.0))
    assert cut.years[-1] == whole.years[-1]
    for years in survival.SURVIVAL_YEARS:      # what km_at reads, unrounded
        if whole.years[-1] >= years:
            i, j = cut.row(years), whole.row(years)
            assert (cut.estimate[i], cut.ci_low[i], cut.ci_high[i]) == (whole.estimate[j], whole.ci_low[j],
                                                                        whole.ci_high[j])


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 60), st.booleans(), st.integers(1, 40)), min_size=1, max_size=60))
def test_the_kaplan_meier_fit_is_lifelines_to_the_last_digit(rows):
    """Counted rows, in any order and with repeats (an event at time 0 included), give lifelines' weighted
    fit: the same timeline, numbers at risk, estimates, interval bounds and median, as floats, not roughly."""
    frame = pd.DataFrame({"years": [r[0] / 8 for r in rows], "event": [r[1] for r in rows],
                          "count": [r[2] for r in rows]})
    ours = kaplan_meier_counts(frame)
    theirs = KaplanMeierFitter(alpha=0.05).fit(frame["years"], frame["event"], weights=frame["count"])
    ci = theirs.confidence_interval_survival_function_
    assert np.array_equal(ours.years, theirs.timeline)
    assert np.array_equal(ours.at_risk, theirs.event_table["at_risk"].to_numpy())
    assert np.array_equal(ours.estimate, theirs.survival_function_.iloc[:, 0].to_numpy())
    assert np.array_equal(ours.ci_low, ci.iloc[:, 0].to_numpy()) and np.array_equal(ours.ci_high, ci.iloc[:, 1].to_numpy())
    assert ours.median() == theirs.median_survival_time_
    for years in (0.0, 0.3, 1.0, 3.0, 5.0, 7.5, 100.0):
        assert ours.at(years) == theirs.survival_function_at_times(years).iloc[0]


def test_the_interval_uses_lifelines_normal_quantile():
    from scipy.stats import norm

    assert survival.Z_95 == norm.ppf(0.975)


def test_summary_estimates_are_the_same_from_one_pass_and_per_curve_selection():
    """survival.estimates takes every curve's rows from one group-by; here each curve is picked on its own."""
    p = pd.concat([raw_patients(2000, 3), raw_patients(1500, 4).assign(arm="b", replication=1)], ignore_index=True)
    counts = survival_counts(p)
    table = survival.estimates(counts)
    assert len(table) == 2 * 3 * 2
    for (arm, group, endpoint), (n, at) in table.items():
        rows = _one_curve(counts, arm, group, endpoint)
        assert n == int(rows["count"].sum()) and at == survival.km_at(kaplan_meier_counts(rows))


def _one_curve(counts: pd.DataFrame, arm: str, group: str, endpoint: str) -> pd.DataFrame:
    """The (years, event, count) rows of one curve, filtered out of the count table on their own."""
    rows = counts[(counts["arm"] == arm) & (counts["endpoint"] == endpoint)]
    if group != "all":
        rows = rows[rows["metastatic"] == (group == "metastatic")]
    return rows.groupby(["years", "event"], sort=True)["count"].sum().reset_index()


def efron_score(beta: float, years, event, treated) -> float:
    """The Efron partial-likelihood score of one covariate, from its textbook form: patient by patient over each
    event time's risk set and tied events (independent of the group counts the package works with)."""
    weight = np.exp(beta * treated)
    score = 0.0
    for time in np.unique(years[event]):
        risk, tied = years >= time, (years == time) & event
        d = int(tied.sum())
        score += treated[tied].sum()
        for l in range(d):
            share = l / d
            score -= ((treated * weight)[risk].sum() - share * (treated * weight)[tied].sum()) / \
                (weight[risk].sum() - share * weight[tied].sum())
    return score


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 30), st.booleans(), st.booleans()), min_size=4, max_size=120),
       st.sampled_from([1, 7, 1000]))
def test_the_two_group_cox_fit_is_the_maximum_and_lifelines_efron_fit(rows, scale):
    """Tied and untied times (scale 1000 makes most distinct), any censoring: the estimate is where Efron's score
    is zero, and the hazard ratio and interval are lifelines' run to a tight precision, to 1e-6 (lifelines' own
    stopping leaves 2e-8 at that precision; at its default, 3e-4 on four patients: HR 1.731492 against the
    maximum's sqrt(3), which this fit gives)."""
    from hypothesis import assume
    from lifelines import CoxPHFitter

    generator = np.random.default_rng(len(rows))     # spreads the times apart when scale is large
    years = np.array([r[0] for r in rows], dtype=float) + generator.uniform(0, 1, len(rows)) * (scale == 1000)
    years /= scale
    event, treated = np.array([r[1] for r in rows]), np.array([r[2] for r in rows])
    assume((event & treated).any() and (event & ~treated).any())
    frame = pd.DataFrame({"t": years, "e": event.astype(int), "treated": treated.astype(int)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = CoxPHFitter().fit(frame, "t", "e", fit_options={"precision": 1e-14, "r_precision": 1e-14,
                                                                "max_steps": 500})
    beta, (low, high) = fit.params_["treated"], fit.confidence_intervals_.loc["treated"].to_numpy()
    assume(abs(beta) < 20 and high - low < 40)     # a maximum (no group's events all before the other's risk)
    ours = survival.two_group_cox(years, event, treated)
    assert ours is not None
    assert abs(efron_score(np.log(ours[0]), years, event, treated.astype(float))) < 1e-9 * event.sum()
    np.testing.assert_allclose(ours, np.exp([beta, low, high]), rtol=1e-6)


def test_a_hazard_ratio_of_square_root_three():
    """Four patients where the maximum is known in closed form: 1 = r/(3 + r) + r/(1 + r), r = sqrt(3)."""
    years, event = np.array([1.0, 1.0, 2.0, 2.0]), np.array([False, True, False, True])
    hazard_ratio, low, high = survival.two_group_cox(years, event, np.array([False, False, False, True]))
    assert abs(hazard_ratio - np.sqrt(3)) < 1e-12 and low < hazard_ratio < high


def test_without_events_in_a_group_the_hazard_ratio_is_lifelines():
    years, event = np.arange(1.0, 9.0), np.array([1, 0, 1, 1, 0, 0, 0, 0], dtype=bool)
    treated = np.array([0, 0, 0, 0, 1, 1, 1, 1], dtype=bool)        # no treated patient has the event
    assert survival.two_group_cox(years, event, treated) is None
    expected = survival.cox_hazard_ratios(years, event, {"treated": treated})["treated"]
    assert np.array_equal(survival.cox_hazard_ratio(years, event, treated), expected, equal_nan=True)
