"""The servers of one rostered resource as compiled code: a FIFO queue, a weekly roster, the
resource's own background demand and our patients' series of visits, advanced in time without SimPy
(DESIGN §5).

`engines.des.resources.RosteredResource` holds the state below and calls `advance` when one of our
patients touches the resource (or could start waiting on it). Everything here works on plain
arrays so that Numba compiles it:

- `st`, the scalars (indices `S.*`);
- `ends`, a binary heap of the days background uses in service end;
- `queue`, a ring buffer of waiting uses: a background use's holding time (>= 0), one of our pathway's
  requests as -(token + 1), or a visit of series j as -(VISIT_BASE + j);
- `log`, rows (day, in use, capacity, queue length) of every change, and `bg`, rows (day, event
  code) of background demand's requests, starts and ends when they are logged;
- `started`, the tokens of our requests a server took during the call (Python fires their events);
- `series`, our patients' series of visits on this resource (columns `V.*`: an arm's appointments,
  supportive care's contacts), with `arriving` and `serving`, binary heaps of the series due to ask
  for their next visit (or, taken from the queue, to start holding) and of those in service, by due
  day, then in SimPy's order (`_sooner`); and `vlog`, rows (day, patient, event code, stage, series
  number) of their requests, starts and ends.

A series of visits changes no outcome, only the queue, so it is not a SimPy process either: its
visits arrive, queue, hold and leave here, as the process that each series used to be did. At a
death Python calls `cancel`: the patient's waiting or held visit is abandoned, nothing more comes.

A call returns DONE when the resource has reached `until`, or FULL when a buffer must grow first
(Python grows it and calls again: nothing is lost).
"""
from __future__ import annotations

from collections import namedtuple

import numba as nb
import numpy as np

from osteosim.model import rng
from osteosim.model.appointments import visit_day
from osteosim.model.codes import EVENT
from osteosim.model.protocol import VISIT

S = namedtuple("Slots", ("day", "in_use", "capacity", "roster_day", "arrival_day", "arrival_hold", "arrival_k",
                         "last_arrival", "n_ends", "q_head", "q_len", "ours_waiting", "n_log", "n_bg", "n_started",
                         "logging", "bg_logging", "horizon", "n_series", "n_arriving", "visit_arrival", "n_serving",
                         "visit_end", "n_vlog", "visit_logging", "turns"))(*range(26))
N_SLOTS = len(S)
DONE, FULL = 0, 1
REQUEST, START, END = EVENT.request, EVENT.start, EVENT.end

# the columns of `series`: whose, which row of the protocol's visits from which anchor, the next visit's index,
# the stage it is logged at, whether it runs after the patient's death (bereavement), its state, when its
# state next changes, its number in the run (the event log's order within a day), its row's hold and count,
# and when and in which turn that next change was scheduled (see `_sooner`)
V = namedtuple("SeriesColumns", ("pid", "row", "anchor", "i", "stage", "after_death", "state", "due", "number",
                                 "hold", "count", "since", "turn"))(*range(13))
N_SERIES_COLUMNS = len(V)
N_VISIT_ROW = 5   # a `vlog` row: day, patient, event code, stage, series number (`_log_visit`)
ARRIVING, QUEUED, RESUMING, SERVING, ENDED = 0.0, 1.0, 2.0, 3.0, 4.0
VISIT_BASE = 2.0 ** 40     # a visit of series j waits in the queue as -(VISIT_BASE + j); our tokens stay far below


@nb.njit(cache=True)
def next_roster_change(roster, day):
    """The next midnight at which the roster changes capacity (inf for a constant roster)."""
    today = np.floor(day)
    capacity = roster[int(today) % 7]
    for d in range(1, 8):
        if roster[int(today + d) % 7] != capacity:
            return today + d
    return np.inf


@nb.njit(cache=True)
def draw_arrival(st, seed, stream, gap_mean, hold_mean, until):
    """Move on to background demand's next arrival (keyed draws 2k and 2k+1), or to none after `until`."""
    k = int(st[S.arrival_k])
    gap = rng.exponential(seed, stream, rng.PURPOSE.background, 2 * k, gap_mean)
    hold = rng.exponential(seed, stream, rng.PURPOSE.background, 2 * k + 1, hold_mean)
    st[S.arrival_k] = k + 1
    day = st[S.last_arrival] + gap
    if day > until:
        st[S.arrival_day] = np.inf
        return
    st[S.last_arrival] = day
    st[S.arrival_day] = day
    st[S.arrival_hold] = hold


@nb.njit(cache=True)
def _heap_push(ends, n, value):
    i = n
    ends[i] = value
    while i > 0:
        parent = (i - 1) // 2
        if ends[parent] <= ends[i]:
            break
        ends[parent], ends[i] = ends[i], ends[parent]
        i = parent


@nb.njit(cache=True)
def _heap_pop(ends, n):
    """Remove the smallest of ends[:n] (n >= 1)."""
    last = n - 1
    ends[0] = ends[last]
    i = 0
    while True:
        left, right, smallest = 2 * i + 1, 2 * i + 2, i
        if left < last and ends[left] < ends[smallest]:
            smallest = left
        if right < last and ends[right] < ends[smallest]:
            smallest = right
        if smallest == i:
            break
        ends[smallest], ends[i] = ends[i], ends[smallest]
        i = smallest


@nb.njit(cache=True)
def _sooner(series, a, b):
    """Is series a due before series b? By day, then as SimPy orders timeouts due at the same instant: the one
    scheduled first (by day, then in turn), so visits due together queue in the order SimPy processes served."""
    if series[a, V.due] != series[b, V.due]:
        return series[a, V.due] < series[b, V.due]
    if series[a, V.since] != series[b, V.since]:
        return series[a, V.since] < series[b, V.since]
    return series[a, V.turn] < series[b, V.turn]


@nb.njit(cache=True)
def _series_push(st, heap, slot, series, j, due, since):
    """Series j joins `heap` (its count in st[slot], its first due day in st[slot + 1]), due at `due`, scheduled
    at `since`."""
    series[j, V.due] = due
    series[j, V.since] = since
    series[j, V.turn] = st[S.turns]
    st[S.turns] += 1
    n = int(st[slot])
    st[slot] = n + 1
    i = n
    heap[i] = j
    while i > 0:
        parent = (i - 1) // 2
        if not _sooner(series, heap[i], heap[parent]):
            break
        heap[parent], heap[i] = heap[i], heap[parent]
        i = parent
    st[slot + 1] = series[heap[0], V.due]


@nb.njit(cache=True)
def _series_pop(st, heap, slot, series):
    """Remove the first series of `heap` (see _series_push; it holds one at least)."""
    last = int(st[slot]) - 1
    st[slot] = last
    heap[0] = heap[last]
    i = 0
    while True:
        left, right, first = 2 * i + 1, 2 * i + 2, i
        if left < last and _sooner(series, heap[left], heap[first]):
            first = left
        if right < last and _sooner(series, heap[right], heap[first]):
            first = right
        if first == i:
            break
        heap[first], heap[i] = heap[i], heap[first]
        i = first
    st[slot + 1] = series[heap[0], V.due] if last > 0 else np.inf


@nb.njit(cache=True)
def record(st, log):
    """One row of the resource log: the state after a change (the caller made room)."""
    if st[S.logging] == 0.0:
        return
    n = int(st[S.n_log])
    log[n, 0] = st[S.day]
    log[n, 1] = st[S.in_use]
    log[n, 2] = st[S.capacity]
    log[n, 3] = st[S.q_len]
    st[S.n_log] = n + 1


@nb.njit(cache=True)
def _log_background(st, bg, event):
    if st[S.bg_logging] == 0.0:
        return
    n = int(st[S.n_bg])
    bg[n, 0] = st[S.day]
    bg[n, 1] = event
    st[S.n_bg] = n + 1


@nb.njit(cache=True)
def _log_visit(st, vlog, series, j, event):
    if st[S.visit_logging] == 0.0:
        return
    n = int(st[S.n_vlog])
    vlog[n, 0] = st[S.day]
    vlog[n, 1] = series[j, V.pid]
    vlog[n, 2] = event
    vlog[n, 3] = series[j, V.stage]
    vlog[n, 4] = series[j, V.number]
    st[S.n_vlog] = n + 1


@nb.njit(cache=True)
def _dead_by(series, j, death_due, day):
    """A patient's visit due on or after their death is not held (bereavement's come after it)."""
    return series[j, V.after_death] == 0.0 and death_due[int(series[j, V.pid])] <= day


@nb.njit(cache=True)
def _visit_starts(st, series, serving, vlog, death_due, j):
    """A server takes series j's visit now; it ends after its hold, unless that is at or after the horizon
    (the run ends first: the server stays held). Taken at the instant of the patient's death (a server that the
    death of another freed), it is abandoned at once, and taken at the horizon (the resource log runs to it) the
    run is over: neither has a start in the event log, as the SimPy process never got to log one."""
    series[j, V.state] = SERVING
    if st[S.day] < st[S.horizon] and not _dead_by(series, j, death_due, st[S.day]):
        _log_visit(st, vlog, series, j, START)
    end = st[S.day] + series[j, V.hold]
    if end < st[S.horizon]:
        _series_push(st, serving, S.n_serving, series, j, end, st[S.day])


@nb.njit(cache=True)
def _arrive_at(st, series, arriving, visits, j, i, now):
    """Series j's i-th visit, asked for as soon as it is due and the last one has ended (`now`); the series
    ends instead after its last visit or at the horizon."""
    row = int(series[j, V.row])
    if i >= series[j, V.count]:
        series[j, V.state] = ENDED
        return
    day = visit_day(visits, row, series[j, V.anchor], i)
    if day >= st[S.horizon]:
        series[j, V.state] = ENDED
        return
    series[j, V.i] = i
    series[j, V.state] = ARRIVING
    _series_push(st, arriving, S.n_arriving, series, j, now + max(0.0, day - now), now)   # as a SimPy timeout falls


@nb.njit(cache=True)
def add_series(st, series, arriving, visits, j, pid, row, anchor, stage, after_death, number, now):
    """Series j: row `row` of the protocol's visits for patient `pid`, from `anchor`, started `now`."""
    series[j, V.pid] = pid
    series[j, V.row] = row
    series[j, V.anchor] = anchor
    series[j, V.stage] = stage
    series[j, V.after_death] = after_death
    series[j, V.number] = number
    series[j, V.hold] = visits[row, VISIT.days]
    series[j, V.count] = visits[row, VISIT.count]
    st[S.n_series] = j + 1
    _arrive_at(st, series, arriving, visits, j, 0, now)


@nb.njit(cache=True)
def _visit_arrives(st, queue, series, arriving, serving, vlog, death_due):
    """The first arriving series asks for its visit: a free server takes it at once, or it joins the back of the
    queue; unless the patient is dead by now (the series ends: returns False, nothing changed)."""
    j = arriving[0]
    _series_pop(st, arriving, S.n_arriving, series)
    if _dead_by(series, j, death_due, st[S.day]):
        series[j, V.state] = ENDED
        return False
    _log_visit(st, vlog, series, j, REQUEST)
    if st[S.q_len] == 0 and st[S.in_use] < st[S.capacity]:
        st[S.in_use] += 1
        _visit_starts(st, series, serving, vlog, death_due, j)
    else:
        series[j, V.state] = QUEUED
        enqueue(st, queue, -(VISIT_BASE + j))
    return True


@nb.njit(cache=True)
def _visit_resumes(st, series, arriving, serving, vlog, death_due):
    """A visit a server took from the queue starts its hold. As a SimPy process it was woken by an event scheduled
    when the server took it, so at that instant it started holding after everything already due then (other
    visits' ends and arrivals): its end is scheduled now, and ties at that end keep SimPy's order."""
    j = arriving[0]
    _series_pop(st, arriving, S.n_arriving, series)
    _visit_starts(st, series, serving, vlog, death_due, j)


@nb.njit(cache=True)
def _visit_ends(st, series, serving, vlog, death_due):
    """The first serving series' visit ends: the server is free. Returns the series, which then waits for its next
    visit (the caller schedules it after serving the queue: a SimPy process released its server before it
    scheduled its next timeout), or -1: a visit that ends on the day the patient dies is abandoned (no end in
    the event log), as the death interrupts it."""
    j = serving[0]
    _series_pop(st, serving, S.n_serving, series)
    st[S.in_use] -= 1
    if _dead_by(series, j, death_due, st[S.day]):
        series[j, V.state] = ENDED
        return -1
    _log_visit(st, vlog, series, j, END)
    return j


@nb.njit(cache=True, inline="always")
def serve(st, ends, queue, bg, started, series, arriving, serving, vlog, death_due):
    """Start the waiting uses, in order, while servers are free."""
    size = queue.shape[0]
    while st[S.q_len] > 0 and st[S.in_use] < st[S.capacity]:
        head = int(st[S.q_head])
        waiting = queue[head]
        st[S.q_head] = (head + 1) % size
        st[S.q_len] -= 1
        st[S.in_use] += 1
        if waiting >= 0.0:
            n = int(st[S.n_ends])
            _heap_push(ends, n, st[S.day] + waiting)
            st[S.n_ends] = n + 1
            _log_background(st, bg, START)
        elif waiting > -VISIT_BASE:
            n = int(st[S.n_started])
            started[n] = -waiting - 1.0
            st[S.n_started] = n + 1
            st[S.ours_waiting] -= 1
        else:
            j = int(-waiting - VISIT_BASE)    # a visit that waited: its process would resume after what is
            series[j, V.state] = RESUMING        # already due now (_visit_resumes)
            _series_push(st, arriving, S.n_arriving, series, j, st[S.day], st[S.day])


@nb.njit(cache=True)
def enqueue(st, queue, waiting):
    """A use joins the back of the queue: a background use's holding time, one of ours as -(token + 1), a
    visit as -(VISIT_BASE + series) (the caller made room)."""
    queue[(int(st[S.q_head]) + int(st[S.q_len])) % queue.shape[0]] = waiting
    st[S.q_len] += 1


@nb.njit(cache=True)
def leave_queue(st, queue, waiting):
    """The use `waiting` (its queue code) leaves the queue; the others keep their order."""
    head, size = int(st[S.q_head]), queue.shape[0]
    kept = 0
    for k in range(int(st[S.q_len])):
        code = queue[(head + k) % size]
        if code != waiting:
            queue[(head + kept) % size] = code
            kept += 1
    st[S.q_len] = kept


@nb.njit(cache=True)
def cancel(st, ends, queue, bg, started, series, arriving, serving, vlog, death_due, js):
    """The patient of series `js` died now: a visit of theirs waiting leaves the queue, one being held frees its
    server (the event log has no end for it), none comes again. Returns whether the queue or servers changed."""
    changed = False
    for j in js:
        state = series[j, V.state]
        if series[j, V.after_death] != 0.0 or state == ENDED:
            continue
        if state == QUEUED:
            leave_queue(st, queue, -(VISIT_BASE + j))
        elif state == SERVING or state == RESUMING:
            st[S.in_use] -= 1
        changed = changed or state != ARRIVING
        series[j, V.state] = ENDED     # a place it keeps in a heap is dropped when it reaches the top
    serve(st, ends, queue, bg, started, series, arriving, serving, vlog, death_due)
    return changed


@nb.njit(cache=True, inline="always")
def room(st, log, bg, queue, vlog):
    """Whether one more step fits: a log row, a queue place and, for background demand and visits when they
    are logged, the rows of a request, an end and a start of everything waiting."""
    return (st[S.n_log] + 1 <= log.shape[0] and st[S.q_len] + 1 <= queue.shape[0]
            and (st[S.bg_logging] == 0.0 or st[S.n_bg] + st[S.q_len] + 3 <= bg.shape[0])
            and (st[S.visit_logging] == 0.0 or st[S.n_vlog] + st[S.q_len] + 3 <= vlog.shape[0]))


@nb.njit(cache=True)
def advance(st, ends, queue, roster, log, bg, started, series, arriving, serving, vlog, visits, death_due, until,
            seed, stream, gap_mean, hold_mean, horizon):
    """Run background demand, visits and roster changes up to and including `until`, in time order. At the same
    instant, as the SimPy engine ordered them when each visit was a process: background ends, the roster and
    background arrivals (a process's request caught the resource up first), then visits' ends and arrivals
    in the order their timeouts were scheduled (`_sooner`)."""
    while True:
        end = ends[0] if st[S.n_ends] > 0 else np.inf
        visit_end, visit_arrival = st[S.visit_end], st[S.visit_arrival]
        arrival = st[S.arrival_day]
        roster_day = st[S.roster_day]
        day = min(end, roster_day, arrival, visit_end, visit_arrival)
        if day > until:
            st[S.day] = max(st[S.day], until)
            return DONE
        if not room(st, log, bg, queue, vlog):
            return FULL
        st[S.day] = day
        if end == day:
            n = int(st[S.n_ends])
            _heap_pop(ends, n)
            st[S.n_ends] = n - 1
            st[S.in_use] -= 1
            _log_background(st, bg, END)
        elif roster_day == day:
            st[S.capacity] = roster[int(np.floor(day)) % 7]
            st[S.roster_day] = next_roster_change(roster, day)
        elif arrival == day:
            hold = st[S.arrival_hold]
            draw_arrival(st, seed, stream, gap_mean, hold_mean, horizon)
            _log_background(st, bg, REQUEST)
            enqueue(st, queue, hold)
        elif visit_end == day and (visit_arrival != day or _sooner(series, serving[0], arriving[0])):
            if series[serving[0], V.state] != SERVING:    # cancelled at a death: dropped when it comes first
                _series_pop(st, serving, S.n_serving, series)
                continue
            ended = _visit_ends(st, series, serving, vlog, death_due)
            serve(st, ends, queue, bg, started, series, arriving, serving, vlog, death_due)
            if ended >= 0:
                _arrive_at(st, series, arriving, visits, ended, int(series[ended, V.i]) + 1, st[S.day])
            record(st, log)
            continue
        elif series[arriving[0], V.state] == RESUMING:      # the queue and servers do not change: no row
            _visit_resumes(st, series, arriving, serving, vlog, death_due)
            continue
        elif series[arriving[0], V.state] != ARRIVING:
            _series_pop(st, arriving, S.n_arriving, series)
            continue
        elif not _visit_arrives(st, queue, series, arriving, serving, vlog, death_due):
            continue
        serve(st, ends, queue, bg, started, series, arriving, serving, vlog, death_due)
        record(st, log)
