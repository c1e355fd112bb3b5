"""The patients table of DESIGN §5, built from the cohort and what the pathway recorded."""
from __future__ import annotations

import numpy as np
import pandas as pd

from osteosim.model.codes import DEATH_CAUSES, FAMILY_TIERS, MET_PATTERNS, PLACES_OF_DEATH, SITES
from osteosim.model.population import Cohort
from osteosim.engines.des.log import constant_category
from osteosim.model.record import PatientRecord

PATIENT_COLUMNS = (
    "replication", "arm", "patient_id", "arrival_day", "age_years", "sex", "primary_site", "met_status",
    "n_lung_nodules", "bilateral", "diagnosis_day", "chemo_start_day", "surgery_day", "metastasectomy_day",
    "adjuvant_start_day", "rt_start_day", "end_of_treatment_day", "good_response", "csr", "relapse_day",
    "relapse_site", "cr2", "relapses", "progression_after_relapse_day", "palliative_day", "second_malignancy_day", "death_day", "death_cause", "followup_end_day", "efs_days", "efs_event",
    "os_days", "os_event",
) + PatientRecord.DOSE_COLUMNS + PatientRecord.LATE_EFFECT_COLUMNS + (
    "palliative_referral_day", "place_of_death", "family_tier",
)
RELAPSE_SITES = ("",) + SITES


def _nullable_bool(values: np.ndarray) -> pd.arrays.BooleanArray:
    """1/0/NaN floats as a nullable boolean column (NA = not assessed)."""
    return pd.arrays.BooleanArray(values == 1.0, np.isnan(values))


def survival_columns(rec: PatientRecord, horizon: float) -> dict[str, np.ndarray]:
    """EFS and OS from diagnosis: EFS ends at the first relapse, progression, second malignancy or
    death (DESIGN §5). For patients who enter at a recurrence (cohort=relapsed) diagnosis is the
    entry and the first progression ends EFS (the phase II trials' EFS or PFS)."""
    followup_end = np.fmin(rec.death_day, horizon)
    first_event = np.fmin(np.fmin(np.fmin(rec.relapse_day, rec.progression_after_relapse_day),
                                  rec.second_malignancy_day), rec.death_day)
    return {
        "followup_end_day": followup_end,
        "efs_days": np.fmin(first_event, horizon) - rec.diagnosis_day,
        "efs_event": ~np.isnan(first_event),
        "os_days": followup_end - rec.diagnosis_day,
        "os_event": ~np.isnan(rec.death_day),
    }


def patients_frame(cohort: Cohort, rec: PatientRecord, replication: int, arm: str) -> pd.DataFrame:
    n = len(cohort)
    cols = {
        "replication": np.full(n, replication, dtype=np.int32),
        "arm": constant_category(arm, n),
        "patient_id": np.arange(cohort.first_id, cohort.first_id + n, dtype=np.int64),
        "arrival_day": cohort.arrival_day,
        "age_years": cohort.age_years,
        "sex": pd.Categorical.from_codes(cohort.male.astype(np.int8), ["female", "male"]),
        "primary_site": pd.Categorical.from_codes(cohort.site.astype(np.int8), list(cohort.sites)),
        "met_status": pd.Categorical.from_codes(rec.met_status, list(MET_PATTERNS)),
        "n_lung_nodules": rec.n_lung_nodules,
        "bilateral": rec.bilateral,
        "good_response": _nullable_bool(rec.good_response),
        "csr": rec.csr,
        "relapse_site": pd.Categorical.from_codes(rec.relapse_site.astype(np.int8) + 1, list(RELAPSE_SITES)),
        "cr2": _nullable_bool(rec.cr2),
        "relapses": rec.relapses,
        "second_malignancy_day": rec.second_malignancy_day,
        "death_cause": pd.Categorical.from_codes(rec.death_cause, list(DEATH_CAUSES)),
        "place_of_death": pd.Categorical.from_codes(rec.place_of_death, list(PLACES_OF_DEATH)),
        "family_tier": pd.Categorical.from_codes(rec.family_tier, list(FAMILY_TIERS)),
    }
    for name in PatientRecord.DAY_COLUMNS + PatientRecord.DOSE_COLUMNS + PatientRecord.LATE_EFFECT_COLUMNS:
        cols[name] = getattr(rec, name)
    cols.update(survival_columns(rec, cohort.horizon_day))
    return pd.DataFrame(cols, columns=list(PATIENT_COLUMNS), copy=False)
