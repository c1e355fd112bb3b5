"""What the pathway found out about each patient: one record per patient, one field per column.

The compiled pathway writes a structured row per patient (named fields, see `PATIENT_DTYPE`);
`PatientRecord` turns the rows into the columns the patients table is built from.
"""
from __future__ import annotations

import numpy as np

from osteosim.model.disease import DiseaseState

DOSE_COLUMNS = ("doxorubicin_mg_m2", "cisplatin_mg_m2", "methotrexate_g_m2", "ifosfamide_g_m2")
LATE_EFFECT_COLUMNS = ("heart_failure_day", "hearing_loss_day", "kidney_damage_day", "prosthesis_failure_day")
DAY_COLUMNS = ("diagnosis_day", "chemo_start_day", "surgery_day", "metastasectomy_day", "adjuvant_start_day",
               "rt_start_day", "end_of_treatment_day", "relapse_day", "progression_after_relapse_day", "palliative_day",
               "death_day", "palliative_referral_day")
OUTPUT_FIELDS = (
    [(name, np.float64) for name in DAY_COLUMNS]
    + [("met_status", np.int64),       # staged pattern (codes.MET_PATTERNS)
       ("n_lung_nodules", np.int64),   # nodules seen on staging CT
       ("bilateral", np.int64),
       ("death_cause", np.int64),      # code in codes.DEATH_CAUSES (0: alive)
       ("good_response", np.float64),  # 1/0, NaN when not assessed
       ("csr", np.float64),            # 1: complete surgical remission
       ("relapse_site", np.float64),   # code in codes.SITES, -1 = none
       ("cr2", np.float64),            # 1/0, NaN without relapse
       ("relapses", np.int64),         # relapses (and first-line progressions) found, the first included
       ("family_tier", np.int64)]      # the family's psychosocial tier (codes.FAMILY_TIERS; 0: not assessed)
    + [(name, np.float64) for name in DOSE_COLUMNS])   # cumulative doses of the courses given (model.doses)
EXPOSURE_DAYS = ("doxorubicin_first_day", "cisplatin_last_day", "ifosfamide_last_day")   # NaN: never given
PATIENT_FIELDS = [("pid", np.int64), ("arrival", np.float64), ("age", np.float64), ("axial", np.int64),
                  ("true_met", np.int64), ("true_nodules", np.int64)]     # who the patient is (model.population)
WORKING_FIELDS = (                    # the pathway's place and working memory between its steps
    [("clock", np.float64),           # the day the driver has reached (set by the driver before each step)
     ("stage", np.int64), ("pc", np.int64), ("nth", np.int64)]          # where in the pathway (model.pathway)
    + [(f"disease_{field}", np.float64) for field in DiseaseState._fields]
    + [("relapse_seen", np.float64),  # the day a relapse or progression became visible (inf: none)
       ("needs_rt", np.int64), ("resected", np.int64), ("cleared", np.int64), ("found", np.int64),
       ("theatre", np.int64), ("anchor", np.float64), ("block_shift", np.float64), ("protocol_day", np.float64),
       ("course_delay", np.float64), ("course_intensity", np.float64), ("course_stay", np.float64),
       ("visit", np.float64), ("band", np.int64), ("symptoms", np.float64), ("imaging_sees", np.float64),
       ("in_remission", np.int64),     # 1: the current relapse was removed (surgery or the arm's response)
       ("line", np.int64),             # the line of treatment of disease that could not be removed (model.pathway)
       ("progress_day", np.float64),   # ... and the day it progresses
       ("ie_courses", np.int64),       # second-line courses given so far (keys their treatment deaths)
       ("lethal_day", np.float64)]     # the day disease nobody can remove will kill (inf: not set)
    + [(name, np.float64) for name in EXPOSURE_DAYS])      # when the late effects' exposures began or ended
PATIENT_DTYPE = np.dtype(OUTPUT_FIELDS + PATIENT_FIELDS + WORKING_FIELDS)


def new_rows(cohort, out: np.ndarray | None = None) -> np.ndarray:
    """The rows of a cohort's patients before anything happened to them (disease at referral); written into
    the first rows of `out` if given (a chunked run reuses one buffer: a fresh 130 MiB of rows a chunk cost
    more in page faults than the fields' values)."""
    if out is None:
        rows = np.zeros(len(cohort), dtype=PATIENT_DTYPE)
    else:
        rows = out[:len(cohort)]
        rows.view(np.uint8)[:] = 0
    for name in DAY_COLUMNS + EXPOSURE_DAYS + ("good_response", "cr2"):
        rows[name] = np.nan
    rows["relapse_site"] = -1.0
    rows["relapse_seen"] = np.inf
    rows["lethal_day"] = np.inf
    rows["pid"] = cohort.first_id + np.arange(len(cohort))
    rows["arrival"], rows["age"], rows["axial"] = cohort.arrival_day, cohort.age_years, cohort.axial
    rows["true_met"], rows["true_nodules"] = cohort.true_met, cohort.true_nodules
    rows["disease_micro"], rows["disease_overt"], rows["disease_day"] = cohort.micro_log10, -np.inf, cohort.arrival_day
    rows["disease_growth"], rows["disease_sensitivity"] = cohort.growth, cohort.sensitivity
    rows["disease_primary_kill"], rows["disease_detect_day"], rows["disease_resistant"] = 0.0, np.inf, -np.inf
    return rows.view(np.recarray)   # rows[i].field also in plain Python (benchmarks run the model interpreted)


class PatientRecord:
    """Milestone days, findings and outcomes as columns (index = patient id within the chunk)."""

    DAY_COLUMNS = DAY_COLUMNS
    DOSE_COLUMNS = DOSE_COLUMNS
    LATE_EFFECT_COLUMNS = LATE_EFFECT_COLUMNS

    def __init__(self, rows: np.ndarray):
        for name in DAY_COLUMNS:
            setattr(self, name, rows[name].copy())
        self.met_status = rows["met_status"].astype(np.int8)
        self.n_lung_nodules = rows["n_lung_nodules"].astype(np.int32)
        self.bilateral = rows["bilateral"].astype(bool)
        self.death_cause = rows["death_cause"].astype(np.int8)
        self.good_response = rows["good_response"].copy()
        self.csr = rows["csr"] == 1.0
        self.relapse_site = rows["relapse_site"].astype(np.int8)
        self.cr2 = rows["cr2"].copy()
        self.relapses = rows["relapses"].astype(np.int32)
        self.family_tier = rows["family_tier"].astype(np.int8)
        self.second_malignancy_day = np.full(rows.shape[0], np.nan)   # set after the pathway (model.disease)
        for name in DOSE_COLUMNS + EXPOSURE_DAYS:
            setattr(self, name, rows[name].copy())
        for name in LATE_EFFECT_COLUMNS:      # set after the pathway (model.late_effects)
            setattr(self, name, np.full(rows.shape[0], np.nan))
        self.place_of_death = np.zeros(rows.shape[0], dtype=np.int8)   # set after the pathway (model.supportive)
