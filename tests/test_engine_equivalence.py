"""The cohort engine is the SimPy pathway without queues: same seed, same patients (DESIGN §4)."""
import numpy as np
import pandas as pd
import pytest

from osteosim import simulate
from osteosim.config import compose

TIME_TOLERANCE_DAYS = 1e-6


def assert_same_table(des: pd.DataFrame, cohort: pd.DataFrame) -> None:
    """Categorical, integer and boolean columns identical; times equal within 1e-6 days."""
    assert list(des.columns) == list(cohort.columns)
    assert len(des) == len(cohort)
    for column in des.columns:
        a, b = des[column], cohort[column]
        if a.dtype.kind == "f":
            np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=0, atol=TIME_TOLERANCE_DAYS,
                                       equal_nan=True, err_msg=column)
        else:
            assert a.astype(str).tolist() == b.astype(str).tolist(), column


def both_engines(*overrides: str):
    base = ["cohort=trial", "cohort.n_patients=1500", "output.progress=false", "output.events=true", *overrides]
    return simulate(compose([*base, "engine=des"])), simulate(compose([*base, "engine=cohort"]))


@pytest.mark.parametrize("overrides", [
    ["seed=0"],
    ["seed=1", "cohort.metastatic_fraction=1"],
    ["seed=2", "cohort.metastatic_fraction=0"],
    ["seed=3", "arm=surgery_alone", "cohort.metastatic_fraction=0.5"],
    ["seed=4", "cohort.followup_years=1", "replications=2"],
    ["seed=5", "arm=mifamurtide", "cohort.metastatic_fraction=0.3"],   # arm visits beside the pathway
    ["seed=6", "arm=xray_surveillance", "disease.cr2_factor_per_log10_past_detection=0.5"],
])
def test_cohort_and_des_give_the_same_patients_and_events(overrides):
    des, cohort = both_engines(*overrides)
    assert_same_table(des.patients, cohort.patients)
    by_patient = ["replication", "patient_id"]
    assert_same_table(des.events.sort_values(by_patient, kind="stable").reset_index(drop=True),
                      cohort.events.sort_values(by_patient, kind="stable").reset_index(drop=True))
    # the comparison is not vacuous: this cohort has relapses, deaths of every cause, metastasectomies
    p = des.patients
    assert p.relapse_day.notna().any() and p.death_day.notna().any()


def test_chunked_cohort_equals_one_chunk():
    base = ["cohort=trial", "cohort.n_patients=2500", "output.progress=false", "engine=cohort"]
    whole = simulate(compose(base)).patients
    chunked = simulate(compose([*base, "output.chunk_patients=1000"])).patients
    assert_same_table(whole, chunked)


def test_auto_picks_cohort_for_unconstrained_and_des_for_a_service():
    from osteosim.engines.replications import engine_for

    assert engine_for(compose(["cohort=trial"])) == "cohort"
    assert engine_for(compose([])) == "des"
    assert engine_for(compose(["cohort.unconstrained_capacity=true"])) == "cohort"


def test_cohort_mode_writes_no_event_log_unless_asked_and_never_a_resource_table():
    base = ["cohort=trial", "cohort.n_patients=200", "output.progress=false"]
    quiet = simulate(compose(base))
    assert quiet.events.empty and quiet.resources.empty
    asked = simulate(compose([*base, "output.events=true"]))
    assert len(asked.events) > 200 and asked.resources.empty


@pytest.mark.parametrize("engine", ["des", "cohort"])
def test_results_do_not_depend_on_the_number_of_workers(engine):
    base = ["cohort=trial", "cohort.n_patients=300", "replications=3", "output.progress=false", f"engine={engine}"]
    one = simulate(compose([*base, "workers=1"])).patients
    two = simulate(compose([*base, "workers=2"])).patients
    pd.testing.assert_frame_equal(one, two)
