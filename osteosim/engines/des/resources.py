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
Our patients' series of visits (an arm's appointments, supportive care's contacts) are served the same
way: they too decide nothing but the queue (`add_series`, `cancel` at a death).
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
from osteosim.engines.des.servers import N_SERIES_COLUMNS, N_VISIT_ROW, S
from osteosim.model.codes import EVENT, RESOURCES, STAGE
from osteosim.model.protocol import VISIT

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
                 background: Background | None = None, events: EventLog | None = None,
                 visits: np.ndarray | None = None, death_due: np.ndarray | None = None, horizon: float = INF,
                 log_visits: bool = False):
        """`visits` (the protocol's rows) and `death_due` (each patient's earliest death so far, shared with the
        run) serve series of visits (`add_series`); their rows are kept if `log_visits`."""
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
        st[S.horizon] = horizon
        st[S.visit_arrival] = st[S.visit_end] = INF
        st[S.visit_logging] = float(log_visits)
        self.visits = np.zeros((0, len(VISIT))) if visits is None else visits
        self.death_due = np.zeros(0) if death_due is None else death_due
        if background is not None:
            servers.draw_arrival(st, *self.draws)
        self.ends = np.empty(max(int(np.max(self.roster)) if roster is not None else 1, 1))
        self.queue, self.started = np.empty(64), np.empty(64)
        self.rows, self.bg = np.empty((4096, 4)), np.empty((256, 2))
        self.log_parts: list[np.ndarray] = []
        self.series = np.empty((64, N_SERIES_COLUMNS))
        self.arriving, self.serving = np.empty(64, dtype=np.int64), np.empty(64, dtype=np.int64)
        self.vlog, self.vlog_parts = np.empty((1024, N_VISIT_ROW)), []
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
        self._let_go(request)

    def _let_go(self, request) -> None:
        st = self.st
        if request.triggered:
            st[S.in_use] -= 1
            if st[S.q_len]:      # someone waits for the server this frees
                self._make_room()
                servers.serve(st, self.ends, self.queue, self.bg, self.started, self.series, self.arriving,
                              self.serving, self.vlog, self.death_due)
                self._record()
                self.advance(self.env.now)     # a visit the freed server took starts its hold (servers._visit_resumes)
            else:
                self._record()
        else:
            servers.leave_queue(st, self.queue, -(request.token + 1.0))   # our patient died waiting
            st[S.ours_waiting] -= 1
            del self.waiting[request.token]
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
        if (until < st[S.arrival_day] and until < st[S.roster_day] and until < st[S.visit_arrival]
                and until < st[S.visit_end] and (st[S.n_ends] == 0.0 or until < self.ends[0])):
            if until > st[S.day]:
                st[S.day] = until
            if self.events is not None:
                self._flush_background()
            return
        seed, stream, gap, hold, horizon = self.draws
        while servers.advance(st, self.ends, self.queue, self.roster, self.rows, self.bg, self.started, self.series,
                              self.arriving, self.serving, self.vlog, self.visits, self.death_due, until,
                              seed, stream, gap, hold, horizon) == servers.FULL:
            self._make_room()
        self._start_ours()
        if self.events is not None:
            self._flush_background()

    # --- our patients' series of visits ----------------------------------------------------------
    def add_series(self, pid: int, row: int, anchor: float, stage: int, after_death: bool, number: int) -> int:
        """Row `row` of the protocol's visits for patient `pid` from day `anchor`, started now; returns the
        series' index here (for `cancel`). `number` orders the run's series (the event log's order in a day)."""
        j = int(self.st[S.n_series])
        if j == self.series.shape[0]:
            self.series = np.concatenate([self.series, np.empty_like(self.series)])
            self.arriving = np.concatenate([self.arriving, np.empty_like(self.arriving)])
            self.serving = np.concatenate([self.serving, np.empty_like(self.serving)])
        servers.add_series(self.st, self.series, self.arriving, self.visits, j, pid, row, anchor, stage,
                           float(after_death), number, self.env.now)
        return j

    def cancel(self, series: list[int]) -> None:
        """The patient of these series died now: their visit waiting or being held is abandoned, none comes again."""
        self.advance(self.env.now)
        self._make_room()
        if servers.cancel(self.st, self.ends, self.queue, self.bg, self.started, self.series, self.arriving,
                          self.serving, self.vlog, self.death_due, np.asarray(series, dtype=np.int64)):
            self._record()
        self.advance(self.env.now)     # a visit a freed server took starts its hold (servers._visit_resumes)
        self._start_ours()
        if self.st[S.ours_waiting]:
            self._wake_for_waiting()

    def visit_rows(self) -> np.ndarray:
        """Every logged row of the visits so far: day, patient, event, stage, series number."""
        return np.concatenate([*self.vlog_parts, self.vlog[:int(self.st[S.n_vlog])]])

    def frame_rows(self) -> np.ndarray:
        """Every row of this resource's log so far: day, in use, capacity, queue length."""
        return np.concatenate([*self.log_parts, self.rows[:int(self.st[S.n_log])]])

    def forget_log(self) -> None:
        """Drop the rows logged so far (the run is over and its table built)."""
        self.log_parts, self.vlog_parts = [], []
        self.st[S.n_log] = self.st[S.n_vlog] = 0

    def _record(self) -> None:
        if self.st[S.n_log] + 1 > self.rows.shape[0]:
            self._make_room()
        servers.record(self.st, self.rows)

    def _make_room(self) -> None:
        """Empty a full log into its parts, grow the queue (with `started`), and hand logged background rows to
        the event log (growing their buffer when the queue could start more than it holds); the same for the
        visits' rows."""
        st = self.st
        if st[S.n_log] + 1 > self.rows.shape[0]:
            self.log_parts.append(self.rows[:int(st[S.n_log])].copy())
            st[S.n_log] = 0
        if st[S.q_len] + 1 > self.queue.shape[0]:
            head, size = int(st[S.q_head]), self.queue.shape[0]
            order = (head + np.arange(size)) % size
            self.queue = np.concatenate([self.queue[order], np.empty(size)])
            started = int(st[S.n_started])   # the call that ran out of queue may have started some of ours already
            self.started = np.concatenate([self.started[:started], np.empty(2 * size - started)])
            st[S.q_head] = 0
        if self.events is not None and st[S.n_bg] + st[S.q_len] + 3 > self.bg.shape[0]:
            self._flush_background()
            if st[S.q_len] + 3 > self.bg.shape[0]:
                self.bg = np.empty((2 * int(st[S.q_len] + 3), 2))
        if st[S.visit_logging] and st[S.n_vlog] + st[S.q_len] + 3 > self.vlog.shape[0]:
            self.vlog_parts.append(self.vlog[:int(st[S.n_vlog])].copy())
            st[S.n_vlog] = 0
            if st[S.q_len] + 3 > self.vlog.shape[0]:
                self.vlog = np.empty((2 * int(st[S.q_len] + 3), N_VISIT_ROW))

    def _start_ours(self) -> None:
        """Fire the events of our requests a server took (at this instant: see _wake_for_waiting)."""
        st = self.st
        for k in range(int(st[S.n_started])):
            self.waiting.pop(int(self.started[k])).succeed()
        st[S.n_started] = 0

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
        day = min(self.ends[0] if st[S.n_ends] > 0 else INF, st[S.visit_end], st[S.roster_day])
        if day < self.wake_day and day < INF:
            delay = day - self.env.now
            # the instant SimPy will wake at, which `day` itself may miss in the last bit: compared with `day`, a wake
            # that fired a hair early stayed "scheduled", and no earlier wake was ever scheduled again
            self.wake_day = self.env.now + delay
            self.env.timeout(delay).callbacks.append(self._wake)

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
