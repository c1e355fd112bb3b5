"""The cohort engine is the SimPy pathway without queues: same seed, same patients (DESIGN §4)."""
import os
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import stand_in_pool
from osteosim import simulate
from osteosim.config import compose, group_options

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
        elif not a.reset_index(drop=True).equals(b.reset_index(drop=True)):   # same dtype and values: equal
            assert a.astype(str).tolist() == b.astype(str).tolist(), column     # else as the labels read


N_PATIENTS = 1000


def both_engines(*overrides: str):
    """The same unconstrained trial cohort on the SimPy engine and on the all-Numba cohort engine."""
    config = compose(["cohort=trial", f"cohort.n_patients={N_PATIENTS}", "cohort.unconstrained_capacity=true",
                      "output.progress=false", "output.events=true", "engine=des", *overrides])
    # the engine is one field: composed once (what engine=cohort composes to, compared for one arm below)
    return simulate(config, summary=False), simulate(replace(config, engine="cohort"), summary=False)


def test_the_cohort_config_is_the_des_config_with_the_other_engine():
    base = ["cohort=trial", "arm=mifamurtide", "output.events=true"]
    assert replace(compose([*base, "engine=des"]), engine="cohort") == compose([*base, "engine=cohort"])


def assert_same_patients_and_events(des, cohort) -> None:
    """Patients identical; events identical patient by patient in their logged order. The arm's appointments
    and supportive care's visits included: on one day, both engines log a patient's pathway first, then their
    series of visits in the order the series started (des: as each resource serves them, engines.des.servers)."""
    assert_same_table(des.patients, cohort.patients)
    by_patient = ["replication", "patient_id"]
    assert_same_table(*(events.sort_values(by_patient, kind="stable").reset_index(drop=True)
                        for events in (des.events, cohort.events)))


# arms whose pathway is the baseline's when capacity is unconstrained: rosters only (psychology_plus,
# survivorship_clinic_plus), or only a draw after the pathway, by the same kernel for both engines
# (dexrazoxane's heart-failure hazard): comparing them again would add run time and nothing else
BASELINE_PATHWAY_ARMS = {"psychology_plus", "survivorship_clinic_plus", "dexrazoxane"}
ARMS = [arm for arm in group_options("arm") if arm not in BASELINE_PATHWAY_ARMS]
# every arm in conf/arm/ runs on both engines; the baseline also with other populations and timings
CASES = [pytest.param(arm, [f"seed={10 + i}", "cohort.metastatic_fraction=0.3"], id=arm) for i, arm in enumerate(ARMS)]
# (arm early_palliative is the early referral policy, so both policies' supportive visits are compared)
CASES += [
    pytest.param("baseline", ["seed=1", "cohort.metastatic_fraction=1"], id="baseline-all-metastatic"),
    pytest.param("baseline", ["seed=2", "cohort.metastatic_fraction=0"], id="baseline-all-localized"),
    pytest.param("baseline", ["seed=4", "cohort.followup_years=1", "replications=2"], id="baseline-short-2-replications"),
    pytest.param("xray_surveillance", ["seed=6", "disease.cr2_factor_per_log10_past_detection=0.5"],
                 id="xray_surveillance-cr2-by-burden"),
]


def first_visit_day(events: pd.DataFrame) -> pd.Series:
    """Day of each patient's first arm appointment (index: replication, patient_id)."""
    arm = events[events.stage.astype(str) == "arm"]
    return arm.groupby(["replication", "patient_id"]).day.min()


def check_visit_phase(arm_config, patients: pd.DataFrame, events: pd.DataFrame) -> None:
    """The arm's appointments happened, and only in their phase: after surgery (adjuvant), after the end
    of treatment (maintenance), after a relapse (relapse); poor responders only where so configured.
    Makes the comparison of the arm's events between engines non-vacuous."""
    phases = {v.phase for v in arm_config.visits}
    first = first_visit_day(events)
    if not phases:
        assert first.empty, f"{arm_config.name} books no visits but has arm events"
        return
    assert len(phases) == 1, f"{arm_config.name}: extend this check to arms with visits in several phases"
    assert len(first) >= 10, f"{arm_config.name}: only {len(first)} patients had an arm visit"
    visited = patients.set_index(["replication", "patient_id"]).loc[first.index]
    phase = phases.pop()
    if phase == "adjuvant":     # after local control: surgery, or the neoadjuvant chemotherapy if unresectable
        assert visited.chemo_start_day.notna().all() and (first > visited.chemo_start_day).all()
        operated = visited.surgery_day.notna()
        assert operated.any() and (first[operated] >= visited.surgery_day[operated]).all()
    else:
        anchor = {"maintenance": "end_of_treatment_day", "relapse": "relapse_day"}[phase]
        assert visited[anchor].notna().all() and (first >= visited[anchor]).all(), anchor
    if any(v.poor_responders_only for v in arm_config.visits):
        good = patients.good_response.fillna(False).astype(bool)
        assert good.any() and not visited.good_response.fillna(False).astype(bool).any(), "a good responder visited"
        assert (visited.good_response.astype("boolean") == False).any()  # noqa: E712 poor responders did


@pytest.mark.parametrize("arm, overrides", CASES)
def test_cohort_and_des_give_the_same_patients_and_events(arm, overrides):
    """Every arm (so every visit phase, and poor-responders-only visits), patients and events tables."""
    des, cohort = both_engines(f"arm={arm}", *overrides)
    assert_same_patients_and_events(des, cohort)
    # the comparison is not vacuous: relapses, deaths and the arm's own appointments in their phase
    p = des.patients
    assert p.relapse_day.notna().any() and p.death_day.notna().any()
    check_visit_phase(des.config.arm, p, des.events)


def test_every_visit_phase_and_poor_responder_rule_is_exercised_by_some_arm():
    """A new visit phase needs an arm in conf/arm/ that uses it, so the test above compares it."""
    from osteosim.config.schema import VISIT_PHASES

    visits = [v for arm in ARMS for v in compose([f"arm={arm}"]).arm.visits]
    assert {v.phase for v in visits} == set(VISIT_PHASES)
    assert any(v.poor_responders_only for v in visits)


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
    one = simulate(compose([*base, "workers=1"]), summary=False)
    two = simulate(compose([*base, "workers=2"]), summary=False)
    for name in ("patients", "events", "resources"):
        pd.testing.assert_frame_equal(getattr(one, name), getattr(two, name))


def test_auto_workers_are_a_process_per_core_for_des_replications_that_can_be_forked(monkeypatch):
    from osteosim.engines import replications

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2})
    monkeypatch.setattr(replications, "_can_fork", lambda: True)

    def processes(*overrides: str) -> int:
        return replications.replication_processes(compose(["output.progress=false", *overrides]))

    assert [processes(f"replications={n}") for n in (1, 2, 8)] == [1, 2, 3]
    assert processes("replications=8", "cohort=trial") == 1           # the cohort kernel runs on every core itself
    assert processes("replications=8", "workers=5") == 5
    assert processes("replications=2", "workers=5") == 2
    monkeypatch.setattr(replications, "_can_fork", lambda: False)   # workers would have to be spawned
    assert processes("replications=8") == 1
    assert processes("replications=8", "workers=2") == 2


def test_workers_can_be_forked_until_numbas_threads_have_started():
    """A forked child cannot use the OpenMP threads its parent started: from then on, workers are spawned."""
    code = ("import numba; from osteosim.engines.replications import _can_fork; before = _can_fork(); "
            "numba.get_num_threads(); print(before, _can_fork())")      # get_num_threads starts the threads
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["True", "False"], done.stderr


def test_replication_workers_are_asked_for_a_bounded_number_of_replications_ahead(monkeypatch):
    """Finished tables wait in the run's process until they are taken: workers on many cores must not be asked
    for a long run's every replication at once (AHEAD a worker ahead of the one being taken)."""
    from osteosim.engines import replications

    pool = stand_in_pool.installed(
        monkeypatch, lambda r: [replications.Chunk(pd.DataFrame({"replication": [r]}), None, None)])
    taken = []
    for chunk in replications._parallel_replications(compose(["replications=9", "output.progress=false"]), 2, None):
        taken.append(int(chunk.patients["replication"].iloc[0]))
        assert len(pool.asked) == min(9, len(taken) + replications.AHEAD * 2)
    assert taken == pool.asked == list(range(9))


def test_a_replication_worker_that_died_is_said_so(monkeypatch):
    from concurrent.futures.process import BrokenProcessPool

    from osteosim.engines import replications

    stand_in_pool.installed(monkeypatch, lambda r: BrokenProcessPool("terminated abruptly"))
    with pytest.raises(replications.WorkerLost, match="ended abruptly"):
        list(replications._parallel_replications(compose(["replications=2", "output.progress=false"]), 2, None))


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one core: auto runs one process")
def test_a_runs_forked_replication_workers_write_the_tables_of_one_process(tmp_path):
    """`osteosim` with workers=0 (auto) forks a worker per core for des replications (a fresh run has not started
    Numba's threads); the tables it writes are those of one process."""
    overrides = ["replications=2", "cohort.accrual_years=2", "cohort.followup_years=1", "output.progress=false"]
    done = subprocess.run([sys.executable, "-m", "osteosim", *overrides, "output.dashboard=false",
                           f"hydra.run.dir={tmp_path}"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    one = simulate(compose([*overrides, "workers=1"]), summary=False)
    for name in ("patients", "events", "resources"):
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / f"{name}.parquet"), getattr(one, name))
