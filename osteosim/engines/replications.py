"""Choosing an engine and running replications as a stream of table chunks.

`des` (SimPy) gives one chunk per replication, with events and resource changes; `cohort`
(all-Numba) gives chunks of `output.chunk_patients` patients, so any cohort size runs in
bounded memory, and has no resource table (capacity is unconstrained).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Callable, Iterator

import numpy as np
import pandas as pd

from osteosim.model import population as cohort_mod
from osteosim.model import rng
from osteosim.config import Config
from osteosim.model.parameters import disease_vector
from osteosim.model.protocol import pack
from osteosim.model.record import PATIENT_DTYPE
from osteosim.results.tables import patients_frame

Progress = Callable[[float], None]


@dataclass
class Chunk:
    patients: pd.DataFrame
    events: pd.DataFrame | None
    resources: pd.DataFrame | None


def engine_for(config: Config) -> str:
    """`auto` means the cohort engine whenever no resource can make anybody wait."""
    if config.engine != "auto":
        return config.engine
    return "cohort" if config.cohort.unconstrained_capacity else "des"


def writes_events(config: Config) -> bool:
    events = config.output.events
    return engine_for(config) == "des" if events is None else bool(events)


def writes_resources(config: Config) -> bool:
    return engine_for(config) == "des" and config.output.resources


def work_total(config: Config) -> tuple[float, str]:
    """Size of the whole run in progress-bar units: simulated days (des) or patients (cohort)."""
    seed = int(rng.replication_seed(config.seed, 0))
    arrivals = cohort_mod.arrival_days(config.cohort, seed)
    runs = config.replications * max(len(config.arms), 1)
    if engine_for(config) == "des":
        return cohort_mod.horizon_day(config.cohort, arrivals) * runs, "sim-day"
    return float(arrivals.shape[0] * runs), "patient"


def arm_variants(config: Config) -> list[Config]:
    """One configuration per arm of the experiment, the reference arm first (`arms=[...]`, else `arm`)."""
    if not config.arms:
        return [config]
    from osteosim.config import arm_config

    return [replace(config, arm=arm_config(name)) for name in config.arms]


def reference_arm(config: Config) -> str:
    return config.arms[0] if config.arms else config.arm.name


def replication_stream(config: Config, replication: int, arm_index: int) -> int:
    """The seed of one replication of one arm: the same for every arm when paired (common random numbers)."""
    if config.paired:
        return int(rng.replication_seed(config.seed, replication))
    return int(rng.replication_seed(config.seed, replication + UNPAIRED_ARM_OFFSET * (arm_index + 1)))


UNPAIRED_ARM_OFFSET = 1 << 32   # independent streams per arm when paired=false (for comparison only)


def chunks(config: Config, progress: Progress | None = None) -> Iterator[Chunk]:
    """Every replication of every arm, as chunks of the result tables, in replication then arm order."""
    processes = replication_processes(config)
    if processes > 1:
        yield from _parallel_replications(config, processes, progress)
        return
    variants = arm_variants(config)     # composed once per run, not per replication (~17 ms an arm)
    for replication in range(config.replications):
        yield from _replication(config, replication, progress, variants)


def arm_chunks(variant: Config, replication: int, seed: int) -> Iterator[Chunk]:
    """One replication of one arm (`variant.arm`, as given: not reloaded from its file) on stream `seed`;
    for experiments that set an arm's parameters themselves (osteosim.economics.psa)."""
    run = _des_replication if engine_for(variant) == "des" else _cohort_replication
    yield from run(variant, replication, None, seed)


def _replication(config: Config, replication: int, progress: Progress | None = None,
                 variants: list[Config] | None = None) -> Iterator[Chunk]:
    for arm_index, variant in enumerate(variants if variants is not None else arm_variants(config)):
        run = _des_replication if engine_for(variant) == "des" else _cohort_replication
        yield from run(variant, replication, progress, replication_stream(config, replication, arm_index))


def replication_processes(config: Config) -> int:
    """How many processes run the replications: `workers`, or with workers=0 (auto) one per core this process may
    use, at most one per replication, when the des engine runs them (SimPy runs on one core) and the workers can
    be forked (Numba's threads not started here, as in a fresh `osteosim` run); else one. A spawned worker imports
    the stack anew (about a second), which a few replications do not repay; the cohort engine's kernel already
    runs on every core."""
    if config.workers:
        return min(config.workers, config.replications)
    if engine_for(config) != "des" or not _can_fork():
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(config.replications, cores))


def _can_fork() -> bool:
    """Can worker processes be forked here: the platform forks (not Windows), and Numba's threads have not started
    (a parallel kernel starts them; their OpenMP pool does not survive a fork)."""
    import multiprocessing

    import numba

    if "fork" not in multiprocessing.get_all_start_methods():
        return False
    try:
        numba.threading_layer()      # raises until a parallel kernel has started Numba's threads
    except ValueError:
        return True
    return False


def _single_threaded_numba() -> None:
    """Worker processes share the cores: one Numba thread each (parallel workers must not oversubscribe the cores)."""
    import numba

    numba.set_num_threads(1)


def _replication_tables(config: Config, replication: int) -> list[Chunk]:
    return list(_replication(config, replication))


def _parallel_replications(config: Config, processes: int, progress: Progress | None) -> Iterator[Chunk]:
    """Replications in a pool of `processes` processes; keyed draws make the split irrelevant. The workers are
    forked (they start at once, with what this process has imported and loaded) where they can be (`_can_fork`),
    else spawned. At most AHEAD replications a process are asked for ahead of the one being taken: finished
    tables wait here until they are taken, and workers on many cores would otherwise finish a long run's
    replications faster than one process writes them."""
    import multiprocessing
    from collections import deque
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    per_replication = work_total(config)[0] / config.replications   # all arms of one replication
    context = multiprocessing.get_context("fork" if _can_fork() else "spawn")
    with ProcessPoolExecutor(processes, mp_context=context, initializer=_single_threaded_numba) as pool:
        asked = deque(pool.submit(_replication_tables, config, r)
                      for r in range(min(config.replications, AHEAD * processes)))
        following = len(asked)
        while asked:
            try:
                done = asked.popleft().result()
            except BrokenProcessPool as error:
                raise WorkerLost(f"a process running replications ended abruptly ({processes} were running: killed, or "
                                 "out of memory?); nothing was written. workers=1 runs them in this process") from error
            if following < config.replications:
                asked.append(pool.submit(_replication_tables, config, following))
                following += 1
            yield from done
            if progress is not None:
                progress(per_replication)


AHEAD = 2   # replications a worker process is asked for ahead of the one being taken


class WorkerLost(RuntimeError):
    """A worker process running replications died (the operating system killed it): the run cannot be complete."""


def add_second_malignancies(rec, cohort, seed: int, params) -> None:
    """After the pathway (they change nothing in it): second cancers, which end event-free survival."""
    from osteosim.model.disease import second_malignancy_days

    rec.second_malignancy_day = second_malignancy_days(rec.end_of_treatment_day, rec.death_day, cohort.horizon_day,
                                                       cohort.first_id, seed, params)


def add_late_effects(rec, cohort, seed: int, config: Config) -> None:
    """After the pathway (they change nothing in it): late effects from the cumulative doses (model.late_effects)."""
    from osteosim.model.late_effects import late_effect_days, pack as pack_late_effects

    (rec.heart_failure_day, rec.hearing_loss_day, rec.kidney_damage_day,
     rec.prosthesis_failure_day) = late_effect_days(
        rec.doxorubicin_mg_m2, rec.doxorubicin_first_day, rec.cisplatin_mg_m2, rec.cisplatin_last_day,
        rec.ifosfamide_g_m2, rec.ifosfamide_last_day, rec.surgery_day, cohort.age_years, rec.death_day,
        cohort.horizon_day, cohort.first_id, seed, pack_late_effects(config))


def add_places_of_death(rec, cohort, seed: int, config: Config) -> None:
    """After the pathway (it changes nothing in it): where each death from the disease happened (model.supportive)."""
    from osteosim.model.supportive import pack_places, places_of_death

    rec.place_of_death = places_of_death(rec.death_cause, rec.death_day, rec.palliative_referral_day,
                                         cohort.first_id, seed, pack_places(config))


def _des_replication(config: Config, replication: int, progress: Progress | None, seed: int) -> Iterator[Chunk]:
    from osteosim.engines.des.run import Run

    cohort = cohort_mod.sample(config.cohort, config.disease, seed)
    run = Run(config, cohort, seed, events=writes_events(config), resources=writes_resources(config),
              background_events=config.output.background_events)
    run.simulate(progress)
    rec = run.record()
    add_second_malignancies(rec, cohort, seed, run.params)
    add_late_effects(rec, cohort, seed, config)
    add_places_of_death(rec, cohort, seed, config)
    arm = config.arm.name
    chunk = Chunk(patients_frame(cohort, rec, replication, arm),
                  run.events_frame(replication, arm) if writes_events(config) else None,
                  run.resource_log.frame(replication, arm) if writes_resources(config) else None)
    run.close()
    yield chunk


def _cohort_replication(config: Config, replication: int, progress: Progress | None, seed: int) -> Iterator[Chunk]:
    from osteosim.engines.cohort import simulate_cohort

    arrivals = cohort_mod.arrival_days(config.cohort, seed)
    horizon = cohort_mod.horizon_day(config.cohort, arrivals)
    protocol, params = pack(config), disease_vector(config.disease, config.arm)
    step = config.output.chunk_patients
    if writes_events(config):
        from osteosim.engines.cohort import EVENTS_CHUNK
        step = min(step, EVENTS_CHUNK)
    rows = np.empty(min(step, arrivals.shape[0]), dtype=PATIENT_DTYPE)   # every chunk's working memory
    for lo in range(0, max(arrivals.shape[0], 1), step):
        hi = min(lo + step, arrivals.shape[0])
        cohort = cohort_mod.sample_chunk(config.cohort, config.disease, seed, arrivals, horizon, lo, hi)
        rec, events = simulate_cohort(cohort, protocol, params, seed, writes_events(config), rows)
        add_second_malignancies(rec, cohort, seed, params)
        add_late_effects(rec, cohort, seed, config)
        add_places_of_death(rec, cohort, seed, config)
        yield Chunk(patients_frame(cohort, rec, replication, config.arm.name),
                    events.frame(replication, config.arm.name) if events is not None else None, None)
        if progress is not None:
            progress(float(hi - lo))


def concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Stack chunks, keeping categorical columns categorical (categories are unified)."""
    if len(frames) == 1:
        return frames[0]
    out = pd.concat(frames, ignore_index=True)
    for col in frames[0].columns:
        if isinstance(frames[0][col].dtype, pd.CategoricalDtype) and not isinstance(out[col].dtype, pd.CategoricalDtype):
            out[col] = out[col].astype("category")
    return out
