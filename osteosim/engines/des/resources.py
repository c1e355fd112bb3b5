"""Resources whose capacity follows a weekly roster, with background demand from other patients.

A roster gives the number of parallel servers on each weekday (day 0 of a run is a Monday).
When the roster lowers capacity, users already served finish (no pre-emption) but nobody new
starts until in-use drops below capacity; when it rises, waiting requests start at once.
An unconstrained resource (trial cohorts) grants every request immediately.
"""
from __future__ import annotations

import math
from typing import Callable, Iterator

import numpy as np
import simpy

from osteosim.model import rng
from osteosim.config.schema import ResourceConfig
from osteosim.engines.des.log import BACKGROUND_PATIENT, EventLog, ResourceLog


def weekday(day: float) -> int:
    return int(math.floor(day)) % 7


class RosteredResource(simpy.Resource):
    """A FIFO SimPy resource with a capacity that changes at midnight by weekday."""

    def __init__(self, env: simpy.Environment, name: str, roster: list[int] | None, log: ResourceLog):
        super().__init__(env, capacity=1)
        self.name = name
        self.roster = None if roster is None else [float(c) for c in roster]
        self.log = log
        self._capacity = math.inf if roster is None else self.roster[weekday(env.now)]
        self.record()
        if self.roster is not None and len(set(self.roster)) > 1:
            env.process(self._follow_roster())

    @property
    def capacity(self) -> float:  # type: ignore[override]
        return self._capacity

    def record(self) -> None:
        self.log.add(self.name, self._env.now, len(self.users), self._capacity, len(self.queue))

    def _follow_roster(self) -> Iterator[simpy.Event]:
        """Wake at the next midnight where the roster changes capacity (not every midnight)."""
        while True:
            today = math.floor(self._env.now)
            days = next(d for d in range(1, 8) if self.roster[(today + d) % 7] != self._capacity)
            yield self._env.timeout(today + days - self._env.now)
            self._capacity = self.roster[weekday(self._env.now)]
            self._trigger_put(None)
            self.record()


def use(env: simpy.Environment, resource: RosteredResource, days: float, *, patient: int, stage: str,
        events: EventLog, on_start: Callable[[float], None] | None = None) -> Iterator[simpy.Event]:
    """Queue for one server of `resource`, hold it for `days`, release it; log each step."""
    with resource.request() as req:
        events.add(patient, env.now, "request", stage, resource.name)
        resource.record()
        yield req
        events.add(patient, env.now, "start", stage, resource.name)
        resource.record()
        if on_start is not None:
            on_start(env.now)
        yield env.timeout(days)
    events.add(patient, env.now, "end", stage, resource.name)
    resource.record()


def background_demand(env: simpy.Environment, resource: RosteredResource, cfg: ResourceConfig, stream: int,
                      seed: int, events: EventLog, until: float) -> Iterator[simpy.Event]:
    """Other patients who use the same resource: Poisson arrivals, exponential holding times (M/M)."""
    rate = cfg.background_per_week / 7.0
    if not rate > 0.0 or not np.isfinite(1.0 / rate):
        return
    k = 0
    while True:
        gap = rng.exponential(seed, stream, rng.BACKGROUND, 2 * k, 1.0 / rate)
        if env.now + gap > until:
            return
        yield env.timeout(gap)
        hold = rng.exponential(seed, stream, rng.BACKGROUND, 2 * k + 1, cfg.background_service_days)
        serve_background(env, resource, hold, events)
        k += 1


def serve_background(env: simpy.Environment, resource: RosteredResource, days: float, events: EventLog) -> None:
    """One other patient's use, as `use` does it, driven by event callbacks instead of a process of
    its own: background demand is most of a service's SimPy work, and a process per visit costs
    an extra event and a generator per use."""
    request = resource.request()
    events.add(BACKGROUND_PATIENT, env.now, "request", "background", resource.name)
    resource.record()

    def finish(_event) -> None:
        resource.release(request)
        events.add(BACKGROUND_PATIENT, env.now, "end", "background", resource.name)
        resource.record()

    def start(_event) -> None:
        events.add(BACKGROUND_PATIENT, env.now, "start", "background", resource.name)
        resource.record()
        env.timeout(days).callbacks.append(finish)

    request.callbacks.append(start)
