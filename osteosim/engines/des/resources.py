"""Resources whose capacity follows a weekly roster, shared by our patients and background demand.

A roster gives the number of parallel servers on each weekday (day 0 of a run is a Monday).
When the roster lowers capacity, users already served finish (no pre-emption) but nobody new
starts until in-use drops below capacity; when it rises, waiting requests start at once. Service
is first come, first served. An unconstrained resource (trial cohorts) grants every request at once.

Background demand (other patients who use the same servers: Poisson arrivals, exponential
holding times) is most of a service's work but decides nothing for our patients except through
the queue. So it is not SimPy work: each resource simulates its own background in a plain loop,
and only up to the moment one of our patients touches it (a request or a release), or up to the
next moment a waiting patient of ours could start (one SimPy wake-up then, not one per use).
What our patients see is the same FIFO queue as if every use were a SimPy process (DESIGN §5).
"""
from __future__ import annotations

import math
from collections import deque
from heapq import heappop, heappush
from typing import Iterator

import numba as nb
import numpy as np
import simpy

from osteosim.config.schema import ResourceConfig
from osteosim.engines.des.log import BACKGROUND_PATIENT, EventLog, ResourceLog
from osteosim.model import rng
from osteosim.model.codes import EVENT, RESOURCES, STAGE

INF = math.inf


def weekday(day: float) -> int:
    return int(math.floor(day)) % 7


class Background:
    """Other patients' arrivals at one resource: keyed draws in blocks, as far as `until`."""

    def __init__(self, spec: ResourceConfig, stream: int, seed: int, until: float):
        rate = spec.background_per_week / 7.0
        self.on = rate > 0.0 and bool(np.isfinite(1.0 / rate))
        self.gap_mean = 1.0 / rate if self.on else INF
        self.hold_mean = float(spec.background_service_days)
        self.stream, self.seed, self.until = stream, seed, until
        self.k = 0
        self.block: list = []
        self.next_day, self.next_hold = INF, 0.0
        self.last = 0.0
        if self.on:
            self.pop()

    def pop(self) -> None:
        """Move on to the next arrival (its day and holding time), or to none after `until`."""
        if not self.block:
            gaps, holds = background_draws(self.seed, self.stream, self.k, BACKGROUND_BLOCK, self.gap_mean,
                                           self.hold_mean)
            self.k += BACKGROUND_BLOCK
            self.block = list(zip(gaps.tolist(), holds.tolist()))
            self.block.reverse()
        gap, hold = self.block.pop()
        day = self.last + gap
        if day > self.until:
            self.next_day, self.block = INF, []
            return
        self.last = self.next_day = day
        self.next_hold = hold


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


class _Served:
    """A request a server took at once (it has, in SimPy's words, triggered)."""
    triggered = True


SERVED = _Served()


class RosteredResource:
    """FIFO servers with a weekly roster. Our patients queue as SimPy events; background demand is
    simulated by the resource itself (`advance`), lazily, in the same queue."""

    def __init__(self, env: simpy.Environment, name: str, roster: list[int] | None, log: ResourceLog,
                 background: Background | None = None, events: EventLog | None = None):
        self.env = env
        self.name = name
        self.code = RESOURCES.index(name) if name in RESOURCES else 0   # in events.parquet (0: not a pathway resource)
        self.roster = None if roster is None else [float(c) for c in roster]
        self.log = log
        self.capacity = INF if roster is None else self.roster[weekday(env.now)]
        self.in_use = 0
        self.queue: deque = deque()      # waiting: a background use's holding time (float) or our request
        self.ours_waiting = 0
        self.ends: list[float] = []      # heap: when background uses in service end
        self.day = env.now               # background is simulated up to here
        self.background = background if background is not None and background.on else None
        self.events = events if events is not None and events.enabled else None   # background rows, if logged
        self.roster_day = self._next_roster_change(self.day)
        self.wake_day = INF              # the SimPy wake-up already scheduled for a waiting patient of ours
        self.record()

    def record(self) -> None:
        self.log.add(self.name, self.day, self.in_use, self.capacity, len(self.queue))

    def _next_roster_change(self, day: float) -> float:
        """The next midnight at which the roster changes capacity (not every midnight)."""
        if self.roster is None or len(set(self.roster)) == 1:
            return INF
        today = math.floor(day)
        capacity = self.roster[today % 7]
        return float(today + next(d for d in range(1, 8) if self.roster[(today + d) % 7] != capacity))

    # --- what our patients do -------------------------------------------------------------------
    def request(self) -> simpy.Event | _Served:
        """Join the queue now: SERVED when a server starts at once (nothing to wait for, so no SimPy event),
        else an event that fires when a server starts serving this patient."""
        self.advance(self.env.now)
        if not self.queue and self.in_use < self.capacity:
            self.in_use += 1
            self.record()
            return SERVED
        request = self.env.event()
        self.queue.append(request)
        self.ours_waiting += 1
        self._wake_for_waiting()
        self.record()
        return request

    def release(self, request: simpy.Event, logged: bool = True) -> None:
        """Free the server `request` held, or leave the queue if it never started."""
        self.advance(self.env.now)
        if request.triggered:
            self.in_use -= 1
            self._serve()
        else:
            self.queue.remove(request)
            self.ours_waiting -= 1
        if logged:
            self.record()
        if self.ours_waiting:
            self._wake_for_waiting()

    # --- the resource's own time ----------------------------------------------------------------
    def advance(self, until: float) -> None:
        """Run background demand and roster changes up to and including `until`, in time order."""
        ends, background = self.ends, self.background
        while True:
            end = ends[0] if ends else INF
            arrival = background.next_day if background is not None else INF
            roster = self.roster_day
            day = min(end, arrival, roster)
            if day > until:
                self.day = max(self.day, until)
                return
            self.day = day
            if end == day:
                heappop(ends)
                self.in_use -= 1
                if self.events is not None:
                    self.events.add(BACKGROUND_PATIENT, day, EVENT.end, STAGE.background, self.code)
                self._serve()
            elif roster == day:
                self.capacity = self.roster[weekday(day)]
                self.roster_day = self._next_roster_change(day)
                self._serve()
            else:
                hold = background.next_hold
                background.pop()
                if self.events is not None:
                    self.events.add(BACKGROUND_PATIENT, day, EVENT.request, STAGE.background, self.code)
                self.queue.append(hold)
                self._serve()
            self.record()

    def _serve(self) -> None:
        """Start the waiting uses, in order, while servers are free."""
        queue = self.queue
        while queue and self.in_use < self.capacity:
            waiting = queue.popleft()
            self.in_use += 1
            if waiting.__class__ is float:
                heappush(self.ends, self.day + waiting)
                if self.events is not None:
                    self.events.add(BACKGROUND_PATIENT, self.day, EVENT.start, STAGE.background, self.code)
            else:
                self.ours_waiting -= 1
                waiting.succeed()

    def _wake_for_waiting(self) -> None:
        """While a patient of ours waits, SimPy must wake at the next moment a server could free up."""
        day = min(self.ends[0] if self.ends else INF, self.roster_day)
        if day < self.wake_day and day < INF:
            self.wake_day = day
            self.env.timeout(day - self.env.now).callbacks.append(self._wake)

    def _wake(self, _event) -> None:
        if self.env.now >= self.wake_day:
            self.wake_day = INF
        self.advance(self.env.now)
        if self.ours_waiting:
            self._wake_for_waiting()


def acquire(env: simpy.Environment, resource: RosteredResource, *, patient: int, stage: int,
            events: EventLog) -> Iterator[simpy.Event]:
    """Queue for one server of `resource` and log the request and the start; the request is the value."""
    events.add(patient, env.now, EVENT.request, stage, resource.code)
    request = resource.request()
    if request is not SERVED:
        try:
            yield request
        except simpy.Interrupt:
            abandon(resource, request)
            raise
    events.add(patient, env.now, EVENT.start, stage, resource.code)
    return request


def release(env: simpy.Environment, resource: RosteredResource, request, *, patient: int, stage: int,
            events: EventLog) -> None:
    """Free the server and log the end of the use."""
    resource.release(request)
    events.add(patient, env.now, EVENT.end, stage, resource.code)


def abandon(resource: RosteredResource, request) -> None:
    """The patient died queueing or being served: leave the queue or free the server, logging nothing."""
    resource.release(request, logged=False)


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
