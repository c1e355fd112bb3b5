"""Second primary cancers (parameters.md §7): their incidence after treatment is the configured
hazard, and they end event-free survival without touching overall survival."""
from __future__ import annotations

import math

import numpy as np
from lifelines import KaplanMeierFitter

from osteosim import simulate
from osteosim.config import compose

N = 20_000
YEARS = 10.0


def test_cumulative_incidence_at_ten_years_matches_the_hazard():
    config = compose(["cohort=trial", f"cohort.n_patients={N}", "cohort.metastatic_fraction=0",
                      "cohort.followup_years=11", "seed=5", "output.progress=false"])
    rate = config.disease.second_malignancy_per_year
    p = simulate(config, summary=False).patients
    treated = p[p.end_of_treatment_day.notna()]
    start = treated.end_of_treatment_day
    end = treated.second_malignancy_day.fillna(treated.followup_end_day)
    # Greenwood 99.9% interval of the Kaplan-Meier estimate (censored at death or end of follow-up)
    kmf = KaplanMeierFitter(alpha=0.001).fit((end - start) / 365.25, treated.second_malignancy_day.notna())
    band = kmf.confidence_interval_survival_function_
    low, high = band[band.index <= YEARS].iloc[-1]
    expected_free = math.exp(-rate * YEARS)
    assert low <= expected_free <= high, (low, expected_free, high)
    assert high - low < 0.01   # the test can fail: the interval is narrow against a 2.3% incidence


def test_a_second_malignancy_ends_efs_but_not_os():
    config = compose(["cohort=trial", "cohort.n_patients=4000", "cohort.metastatic_fraction=0",
                      "cohort.followup_years=8", "seed=6", "output.progress=false"])
    p = simulate(config, summary=False).patients
    first = p[p.second_malignancy_day.notna() & ~(p.relapse_day <= p.second_malignancy_day)]
    assert len(first) > 20
    assert first.efs_event.all()
    np.testing.assert_allclose(first.efs_days, first.second_malignancy_day - first.diagnosis_day)
    assert (first.os_days > first.efs_days).all()
