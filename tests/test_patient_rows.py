"""The pathway's rows (model.record): how a patient's row starts, and what is recorded of it, field by field as
the NumPy definition says, whichever engine writes them."""
from __future__ import annotations

import numpy as np
import pytest

from osteosim.config import compose
from osteosim.engines.cohort import simulate_cohort
from osteosim.engines.replications import arm_variants
from osteosim.model import population
from osteosim.model.parameters import disease_vector
from osteosim.model.protocol import pack
from osteosim.model.record import (DAY_COLUMNS, EXPOSURE_DAYS, PATIENT_DTYPE, RECORDED_FIELDS, PatientRecord,
                                   new_rows)


@pytest.fixture(scope="module")
def chunk():
    config = arm_variants(compose(["cohort=trial", "cohort.n_patients=3000"]))[0]
    arrivals = population.arrival_days(config.cohort, 11)
    horizon = population.horizon_day(config.cohort, arrivals)
    return config, population.sample_chunk(config.cohort, config.disease, 11, arrivals, horizon, 500, 2500)


def _started_by_field(cohort) -> np.ndarray:
    """A cohort's starting rows set field by field over the whole array: what new_rows used to do."""
    rows = np.zeros(len(cohort), dtype=PATIENT_DTYPE)
    for name in DAY_COLUMNS + EXPOSURE_DAYS + ("good_response", "cr2"):
        rows[name] = np.nan
    rows["relapse_site"] = -1.0
    rows["relapse_seen"] = rows["lethal_day"] = rows["disease_detect_day"] = np.inf
    rows["pid"] = cohort.first_id + np.arange(len(cohort))
    rows["arrival"], rows["age"], rows["axial"] = cohort.arrival_day, cohort.age_years, cohort.axial
    rows["true_met"], rows["true_nodules"] = cohort.true_met, cohort.true_nodules
    rows["disease_micro"], rows["disease_overt"], rows["disease_day"] = cohort.micro_log10, -np.inf, cohort.arrival_day
    rows["disease_growth"], rows["disease_sensitivity"] = cohort.growth, cohort.sensitivity
    rows["disease_resistant"] = -np.inf
    return rows


def test_rows_start_byte_for_byte_as_set_field_by_field(chunk):
    _, cohort = chunk
    reused = np.full(len(cohort) + 7, 123, dtype=PATIENT_DTYPE)   # a chunked run's buffer, full of the last chunk
    for rows in (new_rows(cohort), new_rows(cohort, reused)):
        assert np.asarray(rows).tobytes() == _started_by_field(cohort).tobytes()


def test_the_record_is_each_recorded_field_of_the_rows_in_its_column_type(chunk):
    config, cohort = chunk
    rows = np.asarray(new_rows(cohort)).copy()
    rows["met_status"], rows["relapses"], rows["family_tier"] = 2, np.arange(len(rows)) % 5, 3
    rows["death_day"] = np.linspace(0.0, 99.0, len(rows))
    record = PatientRecord.of_rows(rows)
    assert record.met_status.dtype == np.int8 and (record.met_status == 2).all()
    assert record.relapses.dtype == np.int32 and np.array_equal(record.relapses, np.arange(len(rows)) % 5)
    kept_as_floats = [name for name in RECORDED_FIELDS if getattr(record, name).dtype == np.float64]
    assert set(DAY_COLUMNS + EXPOSURE_DAYS) <= set(kept_as_floats)
    for name in kept_as_floats:
        assert getattr(record, name).tobytes() == rows[name].tobytes(), name
    for name in ("n_lung_nodules", "death_cause", "relapse_site", "family_tier"):
        assert np.array_equal(getattr(record, name), rows[name].astype(getattr(record, name).dtype)), name


@pytest.mark.parametrize("with_events", [False, True])
def test_the_cohort_engine_records_each_row_as_it_leaves_it(chunk, with_events):
    """The cohort engine starts and records every row inside its kernel: what it recorded is the record of the
    rows it leaves behind, and those rows are the ones the des engine's way (new_rows) would have started."""
    config, cohort = chunk
    buffer = np.empty(len(cohort) + 3, dtype=PATIENT_DTYPE)
    record, _ = simulate_cohort(cohort, pack(config), disease_vector(config.disease, config.arm), 11, with_events,
                                buffer)
    after = PatientRecord.of_rows(buffer[:len(cohort)])
    for name in vars(after):
        assert getattr(record, name).tobytes() == getattr(after, name).tobytes(), name
    assert np.array_equal(buffer["pid"][:len(cohort)], cohort.first_id + np.arange(len(cohort)))
    assert np.array_equal(buffer["arrival"][:len(cohort)], cohort.arrival_day)
