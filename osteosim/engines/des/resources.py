"""Resources whose capacity follows a weekly roster, shared by our patients and background demand.

A roster gives the number of parallel servers on each weekday (day 0 of a run is a Monday).
When the roster lowers capacity, users already served finish (no pre-emption) but nobody new
starts until in-use drops below capacity; when it rises, waiting requests start at once. Service
is first come, first served. An unconstrained resource (trial cohorts) grants every request at once.

Background demand (other patients who use the same servers: Poisson arrivals, exponential
holding times) is most of a service's work but decides nothing for our patients except through
the queue. So it is not SimPy work: each resource simulates its own background in compiled code
(engines.des.servers), and only up to the moment one of our patients touches it (a request or a release), or up to the
next moment a waiting patient of ours could start (one SimPy wake-up then, not one per use).
What our patients see is the same FIFO queue as if every use were a SimPy process (DESIGN §5).
"""
from __future__ import annotations

import math
from typing import Iterator

import numpy as np
import simpy

from osteosim.config.schema import ResourceConfig
from osteosim.engines.des import servers
from osteosim.engines.des.log import BACKGROUND_PATIENT, EventLog, ResourceLog
from osteosim.engines.des.servers import S
from osteosim.model.codes import EVENT, RESOURCES, STAGE

INF = math.inf


def weekday(day: float) -> int:
    return int(math.floor(day)) % 7


class Background:
    """Other patients' arrivals at one resource (Poisson, exponential holds), as far as `until`: the
    parameters the compiled queue draws with (servers.draw_arrival: keyed draws 2k and 2k+1)."""

    def __init__(self, spec: ResourceConfig, stream: int, seed: int, until: float):
        rate = spec.background_per_week / 7.0
        self.on = rate > 0.0 and bool(np.isfinite(1.0 / rate))
        self.draws = (seed, stream, 1.0 / rate if self.on else INF, float(spec.background_service_days), until)


class _Served:
    """A request a server took at once (it has, in SimPy's words, triggered)."""
    triggered = True


SERVED = _Served()


class RosteredResource:
    """FIFO servers with a weekly roster. Our patients queue as SimPy events; background demand is
    simulated by the resource itself, compiled (`engines.des.servers`), lazily, in the same queue."""

    def __init__(self, env: simpy.Environment, name: str, roster: list[int] | None, log: ResourceLog,
                 background: Background | None = None, events: EventLog | None = None):
        self.env = env
        self.name = name
        self.code = RESOURCES.index(name) if name in RESOURCES else 0   # in events.parquet (0: not a pathway resource)
        self.roster = np.full(7, INF) if roster is None else np.array(roster, dtype=np.float64)
        background = background if background is not None and background.on else None
        self.draws = background.draws if background is not None else (0, 0, 1.0, 1.0, -INF)
        self.events = events if events is not None and events.enabled else None   # background rows, if logged
        st = self.st = np.zeros(servers.N_SLOTS)
        st[S.day] = env.now
        st[S.capacity] = self.roster[weekday(env.now)]
        st[S.roster_day] = INF if roster is None else servers.next_roster_change(self.roster, env.now)
        st[S.arrival_day] = INF
        st[S.logging] = float(log.enabled)
        st[S.bg_logging] = float(self.events is not None)
        if background is not None:
            servers.draw_arrival(st, *self.draws)
        self.ends = np.empty(max(int(np.max(self.roster)) if roster is not None else 1, 1))
        self.queue, self.started = np.empty(64), np.empty(64)
        self.rows, self.bg = np.empty((4096, 4)), np.empty((256, 2))
        self.log_parts: list[np.ndarray] = []
        self.waiting: dict[int, simpy.Event] = {}     # our queued requests by token
        self.next_token = 0
        self.wake_day = INF              # the SimPy wake-up already scheduled for a waiting patient of ours
        log.register(self)
        self._record()

    @property
    def capacity(self) -> float:
        return float(self.st[S.capacity])

    # --- what our patients do -------------------------------------------------------------------
    def request(self) -> simpy.Event | _Served:
        """Join the queue now: SERVED when a server starts at once (nothing to wait for, so no SimPy event),
        else an event that fires when a server starts serving this patient."""
        self.advance(self.env.now)
        st = self.st
        if st[S.q_len] == 0 and st[S.in_use] < st[S.capacity]:
            st[S.in_use] += 1
            self._record()
            return SERVED
        request = self.env.event()
        token = request.token = self.next_token
        self.next_token += 1
        self.waiting[token] = request
        self._make_room()
        servers.enqueue(st, self.queue, -(token + 1.0))
        st[S.ours_waiting] += 1
        self._wake_for_waiting()
        self._record()
        return request

    def release(self, request) -> None:
        """Free the server `request` held, or leave the queue if it never started (a death: see `abandon`)."""
        self.advance(self.env.now)
        st = self.st
        if request.triggered:
            st[S.in_use] -= 1
            if st[S.q_len]:      # someone waits for the server this frees
                self._make_room()
                servers.serve(st, self.ends, self.queue, self.bg, self.started)
        else:
            self._leave_queue(request.token)
        self._record()
        self._start_ours()
        if st[S.ours_waiting]:
            self._wake_for_waiting()

    # --- the resource's own time ----------------------------------------------------------------
    def advance(self, until: float) -> None:
        """Run background demand and roster changes up to and including `until`, in time order.

        When nothing falls due by then (no background arrival or end, no roster change: every call on an
        unconstrained resource, a third on the default service) only the clock moves, here: the compiled
        call would do the same (and no request of ours can have started since the last call)."""
        st = self.st
        if until < st[S.arrival_day] and until < st[S.roster_day] and (st[S.n_ends] == 0.0 or until < self.ends[0]):
            if until > st[S.day]:
                st[S.day] = until
            if self.events is not None:
                self._flush_background()
            return
        seed, stream, gap, hold, horizon = self.draws
        while servers.advance(self.st, self.ends, self.queue, self.roster, self.rows, self.bg, self.started, until,
                              seed, stream, gap, hold, horizon) == servers.FULL:
            self._make_room()
        self._start_ours()
        if self.events is not None:
            self._flush_background()

    def frame_rows(self) -> np.ndarray:
        """Every row of this resource's log so far: day, in use, capacity, queue length."""
        return np.concatenate([*self.log_parts, self.rows[:int(self.st[S.n_log])]])

    def forget_log(self) -> None:
        """Drop the rows logged so far (the run is over and its table built)."""
        self.log_parts = []
        self.st[S.n_log] = 0

    def _record(self) -> None:
        if self.st[S.n_log] + 1 > self.rows.shape[0]:
            self._make_room()
        servers.record(self.st, self.rows)

    def _make_room(self) -> None:
        """Empty a full log into its parts, grow the queue (with `started`), and hand logged background rows to
        the event log (growing their buffer when the queue could start more than it holds)."""
        st = self.st
        if st[S.n_log] + 1 > self.rows.shape[0]:
            self.log_parts.append(self.rows[:int(st[S.n_log])].copy())
            st[S.n_log] = 0
        if st[S.q_len] + 1 > self.queue.shape[0]:
            head, size = int(st[S.q_head]), self.queue.shape[0]
            order = (head + np.arange(size)) % size
            self.queue = np.concatenate([self.queue[order], np.empty(size)])
            self.started = np.empty(2 * size)
            st[S.q_head] = 0
        if self.events is not None and st[S.n_bg] + st[S.q_len] + 3 > self.bg.shape[0]:
            self._flush_background()
            if st[S.q_len] + 3 > self.bg.shape[0]:
                self.bg = np.empty((2 * int(st[S.q_len] + 3), 2))

    def _start_ours(self) -> None:
        """Fire the events of our requests a server took (at this instant: see _wake_for_waiting)."""
        st = self.st
        for k in range(int(st[S.n_started])):
            self.waiting.pop(int(self.started[k])).succeed()
        st[S.n_started] = 0

    def _leave_queue(self, token: int) -> None:
        """Our patient died waiting: their place in the queue goes, the others keep their order."""
        st, queue = self.st, self.queue
        head, length, size = int(st[S.q_head]), int(st[S.q_len]), queue.shape[0]
        order = (head + np.arange(length)) % size
        kept = queue[order][queue[order] != -(token + 1.0)]
        queue[(head + np.arange(len(kept))) % size] = kept
        st[S.q_len] = len(kept)
        st[S.ours_waiting] -= 1
        del self.waiting[token]

    def _flush_background(self) -> None:
        n = int(self.st[S.n_bg])
        if n:
            rows = self.bg[:n]
            self.events.extend(BACKGROUND_PATIENT, rows[:, 0], rows[:, 1].astype(np.int64), STAGE.background,
                               self.code)
            self.st[S.n_bg] = 0

    def _wake_for_waiting(self) -> None:
        """While a patient of ours waits, SimPy must wake at the next moment a server could free up."""
        st = self.st
        day = min(self.ends[0] if st[S.n_ends] > 0 else INF, st[S.roster_day])
        if day < self.wake_day and day < INF:
            self.wake_day = day
            self.env.timeout(day - self.env.now).callbacks.append(self._wake)

    def _wake(self, _event) -> None:
        if self.env.now >= self.wake_day:
            self.wake_day = INF
        self.advance(self.env.now)
        if self.st[S.ours_waiting]:
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
    """The patient died queueing or being served: leave the queue or free the server. The event log has no end
    for it; the resource log has the change (its utilisation counts the server free from the death on)."""
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
