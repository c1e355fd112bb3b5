"""What the pathway found out about each patient: one record per patient, one field per column.

The compiled pathway writes a structured row per patient (named fields, see `PATIENT_DTYPE`): each row
starts as `start_row` writes it and is recorded by `record_row` into the columns `PatientRecord` keeps,
from which the patients table is built. The cohort engine does both inside its kernel, a patient at a time;
the des engine through `new_rows` and `PatientRecord.of_rows`.
"""
from __future__ import annotations

import numba as nb
import numpy as np
from numba import literal_unroll

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
    more in page faults than the fields' values). The cohort engine starts each row itself as it reaches the
    patient (engines.cohort.run_patients), with the same `start_row`."""
    n = len(cohort)
    rows = np.empty(n, dtype=PATIENT_DTYPE) if out is None else out[:n]
    _start_rows(rows, START, starting_columns(cohort))
    return rows.view(np.recarray)   # rows[i].field also in plain Python (benchmarks run the model interpreted)


def _start() -> np.ndarray:
    """The row of a patient before anything is known of them: unknown days and findings NaN, nothing found."""
    row = np.zeros(1, dtype=PATIENT_DTYPE)
    for name in DAY_COLUMNS + EXPOSURE_DAYS + ("good_response", "cr2"):
        row[name] = np.nan
    row["relapse_site"] = -1.0
    row["relapse_seen"] = row["lethal_day"] = row["disease_detect_day"] = np.inf
    row["disease_overt"] = row["disease_resistant"] = -np.inf
    return row


START = _start()


def starting_columns(cohort) -> tuple:
    """What `start_row` writes of each patient (model.population's sample), in the types it takes."""
    as_int = lambda values: np.asarray(values, dtype=np.int64)      # noqa: E731
    as_float = lambda values: np.asarray(values, dtype=np.float64)  # noqa: E731
    return (cohort.first_id + np.arange(len(cohort), dtype=np.int64), as_float(cohort.arrival_day),
            as_float(cohort.age_years), as_int(cohort.axial), as_int(cohort.true_met), as_int(cohort.true_nodules),
            as_float(cohort.micro_log10), as_float(cohort.growth), as_float(cohort.sensitivity))


@nb.njit(cache=True, inline="always")
def start_row(rows, i, start, own):
    """Row i before anything happened to the patient: the START row, then who they are and their disease at
    referral (own: starting_columns)."""
    rows[i] = start[0]
    pid, arrival, age, axial, true_met, true_nodules, micro, growth, sensitivity = own
    row = rows[i]
    row.pid, row.arrival, row.age, row.axial = pid[i], arrival[i], age[i], axial[i]
    row.true_met, row.true_nodules = true_met[i], true_nodules[i]
    row.disease_micro, row.disease_day = micro[i], arrival[i]
    row.disease_growth, row.disease_sensitivity = growth[i], sensitivity[i]


@nb.njit(cache=True, parallel=True, nogil=True)
def _start_rows(rows, start, own):
    """Every row started, each written whole and once: setting one field over the whole array at a time
    passed over every 544-byte row once a field (0.4 microseconds a patient of a run's main thread)."""
    for i in nb.prange(rows.shape[0]):
        start_row(rows, i, start, own)


RECORDED_FIELDS = tuple(name for name, _ in OUTPUT_FIELDS) + EXPOSURE_DAYS   # what PatientRecord keeps


@nb.njit(cache=True)   # not inlined: its unrolled loop inside a prange body made the prange run serially
def record_row(rows, i, recorded):
    """Row i's RECORDED_FIELDS into column i of `recorded` (fields x patients; integer fields as floats, exact)."""
    j = 0
    for name in literal_unroll(RECORDED_FIELDS):     # (numba.literal_unroll: the attribute form fails to type)
        recorded[j, i] = rows[i][name]
        j += 1


@nb.njit(cache=True, parallel=True, nogil=True)
def _record_rows(rows):
    """Every row recorded, each read once (copying field by field read every row once a field)."""
    recorded = np.empty((len(RECORDED_FIELDS), rows.shape[0]))
    for i in nb.prange(rows.shape[0]):
        record_row(rows, i, recorded)
    return recorded


class PatientRecord:
    """Milestone days, findings and outcomes as columns (index = patient id within the chunk)."""

    DAY_COLUMNS = DAY_COLUMNS
    DOSE_COLUMNS = DOSE_COLUMNS
    LATE_EFFECT_COLUMNS = LATE_EFFECT_COLUMNS

    def __init__(self, recorded: np.ndarray):
        """recorded: RECORDED_FIELDS x patients, as `record_row` writes them."""
        index = {name: j for j, name in enumerate(RECORDED_FIELDS)}
        column = lambda name: recorded[index[name]]    # noqa: E731
        n = recorded.shape[1]
        for name in DAY_COLUMNS:
            setattr(self, name, column(name))
        self.met_status = column("met_status").astype(np.int8)
        self.n_lung_nodules = column("n_lung_nodules").astype(np.int32)
        self.bilateral = column("bilateral").astype(bool)
        self.death_cause = column("death_cause").astype(np.int8)
        self.good_response = column("good_response")
        self.csr = column("csr") == 1.0
        self.relapse_site = column("relapse_site").astype(np.int8)
        self.cr2 = column("cr2")
        self.relapses = column("relapses").astype(np.int32)
        self.family_tier = column("family_tier").astype(np.int8)
        self.second_malignancy_day = np.full(n, np.nan)   # set after the pathway (model.disease)
        for name in DOSE_COLUMNS + EXPOSURE_DAYS:
            setattr(self, name, column(name))
        for name in LATE_EFFECT_COLUMNS:      # set after the pathway (model.late_effects)
            setattr(self, name, np.full(n, np.nan))
        self.place_of_death = np.zeros(n, dtype=np.int8)   # set after the pathway (model.supportive)

    @classmethod
    def of_rows(cls, rows: np.ndarray) -> "PatientRecord":
        """The record of pathway rows (the des engine's; the cohort engine records each row as it finishes)."""
        return cls(_record_rows(np.asarray(rows)))
