"""The dashboard's patient aggregates: the competing-risk estimate and additivity over batches."""
from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import osteosim
from osteosim.analysis import aggregates
from conftest import small_trial


@pytest.fixture(scope="module")
def patients():
    return osteosim.simulate(small_trial(300, "cohort.metastatic_fraction=0.3")).patients


def test_aalen_johansen_matches_a_hand_computed_example():
    # 4 patients: relapse at 1, censored at 2, death at 3, relapse at 4 (every count doubled: same estimate)
    rows = pd.DataFrame({"years": [1.0, 2.0, 3.0, 4.0], "outcome": ["relapse", "", "death", "relapse"],
                         "count": [2, 2, 2, 2]})
    cif = aggregates.aalen_johansen(rows).set_index(["outcome", "years"])["incidence"]
    # t=1: 4 at risk, 1/4 relapse; S=3/4.  t=3: 2 at risk, S(3-)=3/4, death 3/4*1/2 = 3/8; S=3/8.
    # t=4: 1 at risk, relapse += 3/8 -> 5/8.  The incidences sum to 1 - S(4) = 1.
    assert cif[("relapse", 1.0)] == pytest.approx(0.25)
    assert cif[("relapse", 3.0)] == pytest.approx(0.25)
    assert cif[("death", 3.0)] == pytest.approx(3 / 8)
    assert cif[("relapse", 4.0)] == pytest.approx(5 / 8)
    assert cif[("death", 4.0)] + cif[("relapse", 4.0)] == pytest.approx(1.0)


def test_aalen_johansen_and_its_interval_match_lifelines_on_individual_data():
    """Counts of one per patient must give lifelines' estimate and delta-method log(-log) interval."""
    import numpy as np
    from lifelines import AalenJohansenFitter

    generator = np.random.default_rng(3)
    times, censor = generator.exponential(5, 400), generator.exponential(8, 400)
    cause = np.where(times <= censor, generator.integers(1, 3, 400), 0)
    years = np.minimum(times, censor)
    fit = AalenJohansenFitter(calculate_variance=True).fit(years, cause, event_of_interest=1)
    rows = pd.DataFrame({"years": years, "outcome": np.select([cause == 1, cause == 2], ["relapse", "death"], ""),
                         "count": 1})
    ours = aggregates.aalen_johansen(rows)
    ours = ours[ours.outcome == "relapse"].set_index("years")
    bounds = fit.confidence_interval_.loc[ours.index]
    assert np.allclose(ours.incidence, fit.cumulative_density_.iloc[:, 0].loc[ours.index], atol=1e-12)
    estimable = bounds.notna().all(axis=1)
    assert estimable.sum() > 300
    assert np.allclose(ours.ci_low[estimable], bounds.min(axis=1)[estimable], atol=1e-12)
    assert np.allclose(ours.ci_high[estimable], bounds.max(axis=1)[estimable], atol=1e-12)


def test_aggregates_are_additive_over_batches(patients):
    whole = aggregates.batch(patients)
    cut = len(patients) // 3
    merged = aggregates.merge([aggregates.batch(patients.iloc[:cut]), aggregates.batch(patients.iloc[cut:])])
    for name, keys in aggregates.KEYS.items():
        expected = whole[name].groupby(keys, sort=True)["count"].sum().reset_index()
        pd.testing.assert_frame_equal(merged[name], expected, check_dtype=False)
        assert merged[name]["count"].sum() > 0


def test_flow_conserves_patients(patients):
    links = aggregates.flow(patients)
    assert links.loc[links["source"] == "Referred", "count"].sum() == len(patients)
    ends = links[links["target"].str.startswith(("Died", "Alive"))]["count"].sum()
    assert ends == len(patients)  # every patient ends dead of a cause or alive


@settings(max_examples=50, deadline=None)
@given(data=st.data(), n=st.integers(1, 300), dense=st.booleans())
def test_counts_and_sums_on_integer_codes_are_pandas_group_bys(data, n, dense):
    """counting.count and counting.sums (bincount into dense bins, or sort and count when the bins would be too
    many) give what a pandas group-by gives: the same groups in the keys' order, the same counts and sums."""
    import numpy as np
    from unittest.mock import patch

    from osteosim.analysis import counting

    draw = lambda values: np.array(data.draw(st.lists(st.sampled_from(values), min_size=n, max_size=n)))  # noqa: E731
    frame = pd.DataFrame({"arm": pd.Categorical(draw(["b", "a", "c"]), categories=["b", "a", "c"]),
                          "week": draw([3, 4, 7, 9]), "flag": draw([False, True]),
                          "days": draw([0.0, 1.5, 2.25]), "k": draw([0, 1, 2])})
    keep = draw([False, True, True])
    keys = {"arm": counting.categories(frame["arm"]), "week": counting.integers(frame["week"].to_numpy()),
            "flag": counting.flag(frame["flag"].to_numpy())}
    with patch.object(counting, "DENSE_LIMIT", counting.DENSE_LIMIT if dense else 0):
        counted = counting.count(keys, keep)
        summed = counting.sums(keys, {"days": frame["days"].to_numpy(), "k": frame["k"].to_numpy()})
    plain = frame.assign(arm=frame["arm"].astype(str))
    expected = plain[keep].groupby(["arm", "week", "flag"]).size().rename("count").reset_index()
    order = lambda t: t.sort_values(["arm", "week", "flag"], ignore_index=True)  # noqa: E731 (count: codes' order)
    pd.testing.assert_frame_equal(order(counted.astype({"arm": str})), order(expected), check_dtype=False)
    totals = plain.groupby(["arm", "week", "flag"]).agg(patients=("k", "size"), days=("days", "sum"), k=("k", "sum"))
    pd.testing.assert_frame_equal(summed.astype({"arm": str}), totals.reset_index(), check_dtype=False)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.sampled_from(["start", "end", "", "nan", "supportive"])), min_size=1,
                max_size=30), st.lists(st.sampled_from(["start", "", "nan", "x"]), max_size=3), st.booleans())
def test_is_in_is_the_text_comparison_it_replaced(values, wanted, categorical):
    """counting.is_in against `column.astype(str).isin(wanted)`, the comparison it replaced, on categorical and
    plain text columns with missing values (text "nan" for a plain column's None, "" for a categorical's)."""
    import numpy as np

    from osteosim.analysis import counting

    column = pd.Series(values, dtype="category" if categorical else object)
    expected = column.astype(str).isin(wanted).to_numpy()
    if categorical:       # a categorical's missing value counts as "" (counting.categories), not "nan"
        expected = np.where(column.isna(), "" in wanted, expected)
    assert np.array_equal(counting.is_in(column, wanted), expected)
