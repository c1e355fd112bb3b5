"""Resources whose capacity follows a weekly roster, with background demand from other patients.

A roster gives the number of parallel servers on each weekday (day 0 of a run is a Monday).
When the roster lowers capacity, users already served finish (no pre-emption) but nobody new
starts until in-use drops below capacity; when it rises, waiting requests start at once.
An unconstrained resource (trial cohorts) grants every request immediately.
"""
from __future__ import annotations

import math
from typing import Iterator

import numba as nb
import numpy as np
import simpy

from osteosim.model import rng
from osteosim.config.schema import ResourceConfig
from osteosim.engines.des.log import BACKGROUND_PATIENT, EventLog, ResourceLog
from osteosim.model.codes import EVENT, RESOURCES, STAGE


def weekday(day: float) -> int:
    return int(math.floor(day)) % 7


class RosteredResource(simpy.Resource):
    """A FIFO SimPy resource with a capacity that changes at midnight by weekday."""

    def __init__(self, env: simpy.Environment, name: str, roster: list[int] | None, log: ResourceLog):
        super().__init__(env, capacity=1)
        self.name = name
        self.code = RESOURCES.index(name) if name in RESOURCES else 0   # in events.parquet (0: not a pathway resource)
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


def acquire(env: simpy.Environment, resource: RosteredResource, *, patient: int, stage: int,
            events: EventLog) -> Iterator[simpy.Event]:
    """Queue for one server of `resource` and log the request and the start; the request is the value."""
    request = resource.request()
    events.add(patient, env.now, EVENT.request, stage, resource.code)
    resource.record()
    try:
        yield request
    except simpy.Interrupt:
        abandon(resource, request)
        raise
    events.add(patient, env.now, EVENT.start, stage, resource.code)
    resource.record()
    return request


def release(env: simpy.Environment, resource: RosteredResource, request, *, patient: int, stage: int,
            events: EventLog) -> None:
    """Free the server and log the end of the use."""
    resource.release(request)
    events.add(patient, env.now, EVENT.end, stage, resource.code)
    resource.record()


def abandon(resource: RosteredResource, request) -> None:
    """The patient died queueing or being served: leave the queue or free the server, logging nothing."""
    request.cancel()
    resource.release(request)


def use(env: simpy.Environment, resource: RosteredResource, days: float, *, patient: int, stage: int,
        events: EventLog) -> Iterator[simpy.Event]:
    """Queue for one server of `resource`, hold it for `days`, release it; log each step."""
    request = yield from acquire(env, resource, patient=patient, stage=stage, events=events)
    try:
        yield env.timeout(days)
    except simpy.Interrupt:
        abandon(resource, request)
        raise
    release(env, resource, request, patient=patient, stage=stage, events=events)


def background_demand(env: simpy.Environment, resource: RosteredResource, cfg: ResourceConfig, stream: int,
                      seed: int, events: EventLog, until: float) -> Iterator[simpy.Event]:
    """Other patients who use the same resource: Poisson arrivals, exponential holding times (M/M)."""
    rate = cfg.background_per_week / 7.0
    if not rate > 0.0 or not np.isfinite(1.0 / rate):
        return
    k = 0
    while True:      # the keyed draws of BACKGROUND_BLOCK arrivals at a time: one compiled call, not two per arrival
        gaps, holds = background_draws(seed, stream, k, BACKGROUND_BLOCK, 1.0 / rate,
                                       float(cfg.background_service_days))
        for gap, hold in zip(gaps.tolist(), holds.tolist()):
            if env.now + gap > until:
                return
            yield env.timeout(gap)
            serve_background(env, resource, hold, events)
        k += BACKGROUND_BLOCK


BACKGROUND_BLOCK = 512


@nb.njit(cache=True)
def background_draws(seed, stream, first, n, gap_mean, hold_mean):
    """Gaps and holding times of background arrivals first .. first+n-1: keyed draws 2k and 2k+1, as
    drawn one by one (so the same numbers however many are drawn at a time)."""
    gaps, holds = np.empty(n), np.empty(n)
    for j in range(n):
        k = first + j
        gaps[j] = rng.exponential(seed, stream, rng.PURPOSE.background, 2 * k, gap_mean)
        holds[j] = rng.exponential(seed, stream, rng.PURPOSE.background, 2 * k + 1, hold_mean)
    return gaps, holds


def serve_background(env: simpy.Environment, resource: RosteredResource, days: float, events: EventLog) -> None:
    """One other patient's use, as `use` does it, driven by event callbacks instead of a process of
    its own: background demand is most of a service's SimPy work, and a process per visit costs
    an extra event and a generator per use."""
    request = resource.request()
    logged = events.enabled      # background rows are in events.parquet only when output.background_events
    if logged:
        events.add(BACKGROUND_PATIENT, env.now, EVENT.request, STAGE.background, resource.code)
    resource.record()

    def finish(_event) -> None:
        resource.release(request)
        if logged:
            events.add(BACKGROUND_PATIENT, env.now, EVENT.end, STAGE.background, resource.code)
        resource.record()

    def start(_event) -> None:
        if logged:
            events.add(BACKGROUND_PATIENT, env.now, EVENT.start, STAGE.background, resource.code)
        resource.record()
        env.timeout(days).callbacks.append(finish)

    request.callbacks.append(start)
