"""The servers of one rostered resource as compiled code: a FIFO queue, a weekly roster and the
resource's own background demand, advanced in time without SimPy (DESIGN §5).

`engines.des.resources.RosteredResource` holds the state below and calls `advance` when one of our
patients touches the resource (or could start waiting on it). Everything here works on plain
arrays so that Numba compiles it:

- `st`, the scalars (indices `S.*`);
- `ends`, a binary heap of the days background uses in service end;
- `queue`, a ring buffer of waiting uses: a background use's holding time (>= 0), or one of our
  requests as -(token + 1);
- `log`, rows (day, in use, capacity, queue length) of every change, and `bg`, rows (day, event
  code) of background demand's requests, starts and ends when they are logged;
- `started`, the tokens of our requests a server took during the call (Python fires their events).

A call returns DONE when the resource has reached `until`, or FULL when a buffer must grow first
(Python grows it and calls again: nothing is lost).
"""
from __future__ import annotations

from collections import namedtuple

import numba as nb
import numpy as np

from osteosim.model import rng
from osteosim.model.codes import EVENT

S = namedtuple("Slots", ("day", "in_use", "capacity", "roster_day", "arrival_day", "arrival_hold", "arrival_k",
                         "last_arrival", "n_ends", "q_head", "q_len", "ours_waiting", "n_log", "n_bg", "n_started",
                         "logging", "bg_logging"))(*range(17))
N_SLOTS = 17
DONE, FULL = 0, 1
REQUEST, START, END = EVENT.request, EVENT.start, EVENT.end


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
def serve(st, ends, queue, bg, started):
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
        else:
            n = int(st[S.n_started])
            started[n] = -waiting - 1.0
            st[S.n_started] = n + 1
            st[S.ours_waiting] -= 1


@nb.njit(cache=True)
def enqueue(st, queue, waiting):
    """A use joins the back of the queue: a background use's holding time, or one of ours as -(token + 1)
    (the caller made room)."""
    queue[(int(st[S.q_head]) + int(st[S.q_len])) % queue.shape[0]] = waiting
    st[S.q_len] += 1


@nb.njit(cache=True)
def room(st, log, bg, queue):
    """Whether one more step fits: a log row, a queue place and, when background demand is logged, the rows
    of a request, an end and a start of everything waiting."""
    return (st[S.n_log] + 1 <= log.shape[0] and st[S.q_len] + 1 <= queue.shape[0]
            and (st[S.bg_logging] == 0.0 or st[S.n_bg] + st[S.q_len] + 3 <= bg.shape[0]))


@nb.njit(cache=True)
def advance(st, ends, queue, roster, log, bg, started, until, seed, stream, gap_mean, hold_mean, horizon):
    """Run background demand and roster changes up to and including `until`, in time order (ends first,
    then the roster, then arrivals at the same instant)."""
    while True:
        end = ends[0] if st[S.n_ends] > 0 else np.inf
        arrival = st[S.arrival_day]
        roster_day = st[S.roster_day]
        day = min(end, arrival, roster_day)
        if day > until:
            st[S.day] = max(st[S.day], until)
            return DONE
        if not room(st, log, bg, queue):
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
        else:
            hold = st[S.arrival_hold]
            draw_arrival(st, seed, stream, gap_mean, hold_mean, horizon)
            _log_background(st, bg, REQUEST)
            enqueue(st, queue, hold)
        serve(st, ends, queue, bg, started)
        record(st, log)
