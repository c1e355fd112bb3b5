"""The design's central claim: waiting lets disease grow, so longer waits worsen outcomes.

The same 4,000 trial patients (same seed: common random numbers, every keyed draw the same) are
simulated with the protocol's waits and with one wait four weeks longer: diagnosis to the first
chemotherapy (7 -> 35 days) or surgery to adjuvant chemotherapy (16 -> 44 days). Every patient is
followed for more than 5 years after diagnosis, so 5-year EFS is the share without an EFS event by
then (no censoring, checked), and the per-patient difference d_i = event_i(longer) - event_i(protocol)
gives the paired standard error sd(d) / sqrt(n). The claim tested: 5-year EFS falls by more than
3 paired standard errors (one-sided, about 0.1% if waits did nothing), and relapses and deaths
within 5 years do not decrease in number. Seed and sizes were fixed before the first run.
"""
from __future__ import annotations

import numpy as np
import pytest

from osteosim import simulate
from osteosim.config import compose

YEARS = 5.0
DAYS = YEARS * 365.25
K_SE = 3.0
COHORT = ["cohort=trial", "cohort.n_patients=4000", "cohort.followup_years=6", "seed=3", "engine=cohort",
          "output.progress=false"]


def outcomes(*overrides: str):
    p = simulate(compose([*COHORT, *overrides]), summary=False).patients.sort_values("patient_id")
    since_diagnosis = {name: p[f"{name}_day"] - p.diagnosis_day for name in ("relapse", "death")}
    # every patient is followed past 5 years unless an EFS event came first: crude proportions are KM
    assert (p.efs_event | (p.efs_days >= DAYS)).all()
    return {"patient_id": p.patient_id.to_numpy(),
            "efs_event": (p.efs_event & (p.efs_days <= DAYS)).to_numpy(),
            "relapse": (since_diagnosis["relapse"] <= DAYS).to_numpy(),
            "death": (since_diagnosis["death"] <= DAYS).to_numpy()}


@pytest.fixture(scope="module")
def protocol_waits():
    return outcomes()


@pytest.mark.parametrize("wait, protocol_days", [("treatment.diagnosis_to_chemo_days", 7),
                                                 ("treatment.surgery_to_adjuvant_days", 16)])
def test_four_more_weeks_of_waiting_lower_five_year_efs(wait, protocol_days, protocol_waits, default_config):
    section, field = wait.split(".")
    assert getattr(getattr(default_config, section), field) == protocol_days   # the protocol's wait
    longer = outcomes(f"{wait}={protocol_days + 28}")
    np.testing.assert_array_equal(longer["patient_id"], protocol_waits["patient_id"])   # the same patients
    d = longer["efs_event"].astype(float) - protocol_waits["efs_event"].astype(float)
    n = d.size
    se = d.std(ddof=1) / np.sqrt(n)
    drop = d.mean()          # 5-year EFS (protocol) - 5-year EFS (longer wait)
    print(f"{wait} +28 d: 5-y EFS {1 - protocol_waits['efs_event'].mean():.4f} -> {1 - longer['efs_event'].mean():.4f}, "
          f"drop {drop:.4f} (paired SE {se:.4f}); patients worse {int((d > 0).sum())}, better {int((d < 0).sum())}")
    assert se > 0 and drop > K_SE * se, (drop, se)
    for outcome in ("relapse", "death"):
        assert longer[outcome].sum() >= protocol_waits[outcome].sum(), outcome
