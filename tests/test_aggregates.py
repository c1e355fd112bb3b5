"""The dashboard's patient aggregates: the competing-risk estimate and additivity over batches."""
from __future__ import annotations

import pandas as pd
import pytest

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
