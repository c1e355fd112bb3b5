"""One replication of one arm on the SimPy engine: build resources, start patients, run to the horizon."""
from __future__ import annotations

import numpy as np
import simpy

from osteosim.model import rng
from osteosim.model.population import MET_PATTERNS, Cohort
from osteosim.config.schema import RESOURCE_NAMES, Config
from osteosim.model import disease as k
from osteosim.model.parameters import disease_vector
from osteosim.model.protocol import pack
from osteosim.engines.des import stages
from osteosim.engines.des.log import EventLog, ResourceLog
from osteosim.model.record import DEATH_CAUSES, PatientRecord
from osteosim.engines.des.resources import RosteredResource, background_demand


class Run:
    """Everything the stages share during one replication × arm."""

    def __init__(self, cfg: Config, cohort: Cohort, seed: int, events: bool = True, resources: bool = True):
        self.cfg = cfg
        self.cohort = cohort
        self.seed = seed
        self.env = simpy.Environment()
        self.horizon = cohort.horizon_day
        self.params = disease_vector(cfg.disease, cfg.arm)
        self.states = [k.initial_state(cohort.arrival_day[i], cohort.micro_log10[i], -np.inf, cohort.growth[i],
                                       cohort.sensitivity[i]) for i in range(len(cohort))]  # disease tuples
        self.rec = PatientRecord(len(cohort))
        self.relapse_detect_day = np.full(len(cohort), np.inf)
        self.events = EventLog(events)
        self.resource_log = ResourceLog(resources)
        self.protocol = pack(cfg)
        self.T = self.protocol.scalars
        self.resources = self._build_resources()
        self._processes: dict[int, list[simpy.Process]] = {}   # a patient's pathway and arm visit series

    def _build_resources(self) -> dict[str, RosteredResource]:
        unconstrained = self.cfg.cohort.unconstrained_capacity
        built = {}
        for index, name in enumerate(RESOURCE_NAMES):
            spec = getattr(self.cfg.resources, name)
            res = RosteredResource(self.env, name, None if unconstrained else list(spec.roster), self.resource_log)
            if not unconstrained and spec.background_per_week > 0:
                self.env.process(background_demand(self.env, res, spec, rng.BACKGROUND_STREAM_BASE + index,
                                                   self.seed, self.events, self.horizon))
            built[name] = res
        return built

    def met_name(self, pid: int) -> str:
        return MET_PATTERNS[self.rec.met_status[pid]]

    def record_death(self, pid: int, day: float, cause: str) -> None:
        """Death ends everything the patient was doing (their pathway and any arm visits)."""
        if self.rec.dead(pid) or day > self.horizon:
            return
        self.rec.death_day[pid] = day
        self.rec.death_cause[pid] = DEATH_CAUSES.index(cause)
        self.events.add(pid, day, "death", "death", detail=cause)
        for process in self._processes.get(pid, []):
            if process.is_alive and process is not self.env.active_process:
                process.interrupt(cause)

    def start(self, pid: int, generator) -> None:
        self._processes.setdefault(pid, []).append(self.env.process(generator))

    def watch_death(self, pid: int, day: float, cause: str) -> None:
        """Death at `day` unless the patient is dead by then: it interrupts whatever they are doing."""
        if day > self.horizon:
            return

        def watcher():
            yield self.env.timeout(max(0.0, day - self.env.now))
            self.record_death(pid, self.env.now, cause)

        self.env.process(watcher())

    def simulate(self, progress=None) -> None:
        for pid in range(len(self.cohort)):
            self.start(pid, stages.patient_life(self, pid))
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
