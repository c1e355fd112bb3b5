"""What the pathway found out about each patient: one record per patient, one field per column.

The compiled pathway writes a structured row per patient (named fields, see `PATIENT_DTYPE`);
`PatientRecord` turns the rows into the columns the patients table is built from.
"""
from __future__ import annotations

import numba as nb
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
    more in page faults than the fields' values).

    Each row is written whole, once, in compiled code: the template row, then the patient's own fields.
    Setting field after field over the whole array in NumPy passed over all of it once a field (a row is
    544 bytes), which cost the run's main thread 0.4 microseconds a patient."""
    n = len(cohort)
    rows = np.empty(n, dtype=PATIENT_DTYPE) if out is None else out[:n]
    own = {"pid": cohort.first_id + np.arange(n), "arrival": cohort.arrival_day, "age": cohort.age_years,
           "axial": cohort.axial, "true_met": cohort.true_met, "true_nodules": cohort.true_nodules,
           "disease_micro": cohort.micro_log10, "disease_day": cohort.arrival_day,
           "disease_growth": cohort.growth, "disease_sensitivity": cohort.sensitivity}
    values = np.empty((len(own), n), dtype=np.uint64)
    for j, (name, column) in enumerate(own.items()):
        values[j] = np.asarray(column, dtype=PATIENT_DTYPE.fields[name][0]).view(np.uint64)
    _fill_rows(_words(rows), _TEMPLATE, _field_indices(own), values)
    return rows.view(np.recarray)   # rows[i].field also in plain Python (benchmarks run the model interpreted)


def _template() -> np.ndarray:
    """A row before its patient is known, as 8-byte words: unknown days and findings NaN, nothing found yet."""
    row = np.zeros(1, dtype=PATIENT_DTYPE)
    for name in DAY_COLUMNS + EXPOSURE_DAYS + ("good_response", "cr2"):
        row[name] = np.nan
    row["relapse_site"] = -1.0
    row["relapse_seen"] = row["lethal_day"] = row["disease_detect_day"] = np.inf
    row["disease_overt"] = row["disease_resistant"] = -np.inf
    return _words(row)[0].copy()


def _words(rows: np.ndarray) -> np.ndarray:
    """rows as a (patients x fields) array of 8-byte words: every field of PATIENT_DTYPE is 8 bytes."""
    return np.asarray(rows).view(np.uint64).reshape(rows.shape[0], len(PATIENT_DTYPE.names))


def _field_indices(names) -> np.ndarray:
    return np.array([PATIENT_DTYPE.names.index(name) for name in names], dtype=np.int64)


@nb.njit(cache=True, parallel=True, nogil=True)
def _fill_rows(words, template, fields, values):
    """Row i = the template, then values[j, i] in field fields[j]."""
    for i in nb.prange(words.shape[0]):
        words[i, :] = template
        for j in range(fields.shape[0]):
            words[i, fields[j]] = values[j, i]


@nb.njit(cache=True, parallel=True, nogil=True)
def _gather_fields(words, fields):
    """The fields fields[j] of every row, field by field (j x patients): each row read once."""
    out = np.empty((fields.shape[0], words.shape[0]), dtype=np.uint64)
    for i in nb.prange(words.shape[0]):
        for j in range(fields.shape[0]):
            out[j, i] = words[i, fields[j]]
    return out


assert all(PATIENT_DTYPE.fields[name][0].itemsize == 8 for name in PATIENT_DTYPE.names)
_TEMPLATE = _template()


RECORDED_FIELDS = tuple(name for name, _ in OUTPUT_FIELDS) + EXPOSURE_DAYS   # what PatientRecord keeps


def _columns(rows: np.ndarray):
    """name -> that field of every row, as a column of its own type. The rows are read once, in compiled code:
    copying field by field (rows[name].copy()) passed over every 544-byte row once a field."""
    gathered = _gather_fields(_words(rows), _field_indices(RECORDED_FIELDS))
    index = {name: j for j, name in enumerate(RECORDED_FIELDS)}
    return lambda name: gathered[index[name]].view(PATIENT_DTYPE.fields[name][0])


class PatientRecord:
    """Milestone days, findings and outcomes as columns (index = patient id within the chunk)."""

    DAY_COLUMNS = DAY_COLUMNS
    DOSE_COLUMNS = DOSE_COLUMNS
    LATE_EFFECT_COLUMNS = LATE_EFFECT_COLUMNS

    def __init__(self, rows: np.ndarray):
        column = _columns(rows)
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
        self.second_malignancy_day = np.full(rows.shape[0], np.nan)   # set after the pathway (model.disease)
        for name in DOSE_COLUMNS + EXPOSURE_DAYS:
            setattr(self, name, column(name))
        for name in LATE_EFFECT_COLUMNS:      # set after the pathway (model.late_effects)
            setattr(self, name, np.full(rows.shape[0], np.nan))
        self.place_of_death = np.zeros(rows.shape[0], dtype=np.int8)   # set after the pathway (model.supportive)
