"""One replication of one arm on the SimPy engine: build resources, start patients, run to the horizon."""
from __future__ import annotations

import numba as nb
import numpy as np
import pandas as pd
import simpy

from osteosim.config.schema import RESOURCE_NAMES, Config
from osteosim.engines.des.log import EventLog, ResourceLog, by_resource, events_frame
from osteosim.engines.des.patient import patient_life, start_arm_visits
from osteosim.engines.des.resources import Background, RosteredResource
from osteosim.engines.des.servers import N_VISIT_ROW
from osteosim.model import rng
from osteosim.model.codes import DEATH_CAUSES, DETAIL_OF_DEATH, EVENT, PHASE, RESOURCES, STAGE
from osteosim.model.parameters import PARAMS_DTYPE, disease_vector, params_record
from osteosim.model.pathway import next_step
from osteosim.model.population import Cohort
from osteosim.model.protocol import PROTOCOL_DTYPE, VISIT, pack, protocol_record
from osteosim.model.record import PATIENT_DTYPE, PatientRecord, new_rows


def plain(records: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """`records` as a plain ndarray whose dtype is the very object `dtype` (see `Run._plain`)."""
    return records.view(dtype, np.ndarray)


@nb.njit(cache=True)
def des_next_step(seed, horizon, P, params, rows, i):
    """`next_step` called from Python: records reach compiled code by reference only from inside it."""
    return next_step(seed, horizon, P[0], params[0], rows[i])


class Run:
    """Everything the patients' processes share during one replication × arm."""

    def __init__(self, cfg: Config, cohort: Cohort, seed: int, events: bool = True, resources: bool = True,
                 background_events: bool = False):
        self.cfg = cfg
        self.cohort = cohort
        self.seed = seed
        self.env = simpy.Environment()
        self.horizon = cohort.horizon_day
        self.params = disease_vector(cfg.disease, cfg.arm)
        self.params_record = params_record(self.params)
        self.protocol = pack(cfg)
        self.protocol_record = protocol_record(self.protocol)
        # the rows of protocol.visits of each phase: a phase's start looks at its own rows only
        self.visits_of_phase: dict[int, list[int]] = {}
        for v, phase in enumerate(self.protocol.visits[:, VISIT.phase].astype(int).tolist()):
            self.visits_of_phase.setdefault(phase, []).append(v)
        self.rows = new_rows(cohort)        # what the pathway records, one row per patient
        self.clock = self.rows["clock"]    # the day a resumed pathway reads (model.pathway)
        # the same records as plain ndarrays of the module's own dtypes, once per step of every patient:
        # Numba types a recarray argument through its slow attribute access, and an array whose dtype is
        # an equal but new object (each recarray view makes one) through a hash of its 75 fields: about
        # 6 us a call, against 0.55 us for the dtype object it has seen
        self._plain = (plain(self.protocol_record, PROTOCOL_DTYPE), plain(self.params_record, PARAMS_DTYPE),
                       plain(self.rows, PATIENT_DTYPE))
        self._death_day, self._death_cause = self._plain[2]["death_day"], self._plain[2]["death_cause"]
        self.events = EventLog(events)
        # other patients' uses, when output.background_events asks for them: each resource logs its own as it
        # catches up (engines.des.resources), so they join our patients' rows in time order at the end
        self.background_events = EventLog(background_events)
        self.resource_log = ResourceLog(resources)
        # the earliest death scheduled so far: a visit due on that day is not held (the cohort engine's rule),
        # whichever of the visit and the death watcher comes first at that instant
        self.death_due = np.full(len(cohort), np.inf)
        self.resources = self._build_resources()
        self._processes: dict[int, simpy.Process] = {}   # each patient's pathway
        self._generators: list = []          # every process's generator, death watchers' too (see close)
        self._series: dict[int, list[tuple[RosteredResource, int]]] = {}   # each patient's series of visits
        self._n_series = 0

    def _build_resources(self) -> list[RosteredResource | None]:
        """Rostered resources indexed by their code in `codes.RESOURCES` (code 0 is no resource)."""
        unconstrained = self.cfg.cohort.unconstrained_capacity
        built: list[RosteredResource | None] = [None] * len(RESOURCES)
        for index, name in enumerate(RESOURCE_NAMES):
            spec = getattr(self.cfg.resources, name)
            roster = self.cfg.arm.rosters.get(name, spec.roster)    # an arm may staff a resource its own way
            background = None if unconstrained else Background(spec, rng.BACKGROUND_STREAM_BASE + index, self.seed,
                                                               self.horizon)
            res = RosteredResource(self.env, name, None if unconstrained else list(roster), self.resource_log,
                                   background, self.background_events, self.protocol.visits, self.death_due,
                                   self.horizon, self.events.enabled)
            built[res.code] = res
        return built

    def next_step(self, pid: int) -> tuple:
        """The patient's next step (model.pathway.next_step) at the day set in their row's clock."""
        P, params, rows = self._plain
        return des_next_step(self.seed, self.horizon, P, params, rows, pid)

    def record(self) -> PatientRecord:
        return PatientRecord.of_rows(self.rows)

    def dead(self, pid: int) -> bool:
        return not np.isnan(self._death_day[pid])

    def record_death(self, pid: int, day: float, cause: str) -> None:
        """Death ends everything the patient was doing (their pathway and any arm visits)."""
        if self.dead(pid) or day > self.horizon:
            return
        code = DEATH_CAUSES.index(cause)
        self._death_day[pid] = day
        self._death_cause[pid] = code
        self.death_due[pid] = min(self.death_due[pid], day)    # a death in treatment was not scheduled
        self.events.add(pid, day, EVENT.death, STAGE.death, 0, DETAIL_OF_DEATH[code])
        process = self._processes.get(pid)
        if process is not None and process.is_alive and process is not self.env.active_process:
            process.interrupt(cause)
        by_resource: dict[RosteredResource, list[int]] = {}
        for resource, j in self._series.pop(pid, []):
            by_resource.setdefault(resource, []).append(j)
        for resource, series in by_resource.items():
            resource.cancel(series)
        start_arm_visits(self, pid, PHASE.bereavement, day)    # the family's bereavement support

    def start(self, pid: int, generator) -> None:
        self._generators.append(generator)
        self._processes[pid] = self.env.process(generator)

    def add_series(self, pid: int, resource: RosteredResource, row: int, anchor: float, stage: int,
                   after_death: bool) -> None:
        """A series of visits (row `row` of the protocol's visits) from day `anchor`, served by `resource`."""
        j = resource.add_series(pid, row, anchor, stage, after_death, self._n_series)
        self._n_series += 1
        if not after_death:
            self._series.setdefault(pid, []).append((resource, j))

    def watch_death(self, pid: int, day: float, cause: str) -> None:
        """Death at `day` unless the patient is dead by then: it interrupts whatever they are doing."""
        if day > self.horizon:
            return
        self.death_due[pid] = min(self.death_due[pid], day)

        def watcher():
            yield self.env.timeout(max(0.0, day - self.env.now))
            self.record_death(pid, self.env.now, cause)

        generator = watcher()
        self._generators.append(generator)
        self.env.process(generator)

    def events_frame(self, replication: int, arm: str) -> pd.DataFrame:
        """events.parquet rows of this run: our patients', and background demand's when it was logged. The
        visits' rows, logged by their resources as these catch up, join the pathway's in time order: on the
        same day after the pathway's, series by series in the order they started (the cohort engine's order)."""
        ours = self._ours_frame(replication, arm)
        if not self.background_events.enabled:
            return ours
        both = pd.concat([ours, self.background_events.frame(replication, arm)], ignore_index=True)
        return both.sort_values("day", kind="stable", ignore_index=True)

    def _ours_frame(self, replication: int, arm: str) -> pd.DataFrame:
        log = self.events
        rows, resource = by_resource([(r.code, r.visit_rows()) for r in self.resources if r is not None]
                                     if log.enabled else [], N_VISIT_ROW)
        if not len(rows):
            return log.frame(replication, arm)
        day = np.concatenate([np.asarray(log.day, dtype=np.float64), rows[:, 0]])
        series = np.concatenate([np.full(len(log.day), -1.0), rows[:, 4]])
        order = np.lexsort((series, day))     # stable: each part keeps its own order within a day and series

        def column(logged, visits) -> np.ndarray:
            return np.concatenate([np.asarray(logged, dtype=np.int64), np.asarray(visits, dtype=np.int64)])[order]

        return events_frame(column(log.patient, rows[:, 1]), day[order], column(log.event, rows[:, 2]),
                            column(log.stage, rows[:, 3]), column(log.resource, resource),
                            column(log.detail, np.zeros(len(rows))), replication, arm)

    def close(self) -> None:
        """The run's tables are built: let go of it. Its SimPy processes, still suspended at the horizon, held
        the run in reference cycles that only the garbage collector's full passes free, and a long run makes
        those rare: each replication's logs and records (about 37 MB of the default scenario) stayed until one
        came, so a run's memory grew with its replications. Closing the generators ends those cycles (nothing
        runs: no process catches GeneratorExit). The resources stay in a cycle of their own with the
        environment (its scheduled wake-ups call them back), so their logged rows are dropped."""
        for generator in self._generators:
            generator.close()
        self._generators, self._processes = [], {}
        self.resource_log.clear()

    def simulate(self, progress=None) -> None:
        for pid in range(len(self.cohort)):
            self.start(pid, patient_life(self, pid))
        self._run(progress)
        for resource in self.resources:     # background demand to the horizon, for the resource log
            if resource is not None:
                resource.advance(self.horizon)

    def _run(self, progress) -> None:
        if progress is None:
            self.env.run(until=self.horizon)
            return
        step = max(self.horizon / 200.0, 1.0)
        day = 0.0
        while day < self.horizon:
            nxt = min(day + step, self.horizon)
            self.env.run(until=nxt)
            progress(nxt - day)
            day = nxt
