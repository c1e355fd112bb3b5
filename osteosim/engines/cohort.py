"""The all-Numba cohort engine: the pathway with unconstrained capacity, a whole cohort per call (DESIGN §4).

It drives `model.pathway.patient_pathway` inside a compiled loop: every hold is granted at
once, and a patient's steps stop at the first one that would happen on or after their death
or the horizon, as SimPy's death watchers interrupt a process. So for the same seed this
engine and `des` (with unconstrained capacity) give the same tables, patient by patient.
Patients are independent and every draw is keyed, so `prange` over patients gives the same
answer on any number of threads.
"""
from __future__ import annotations

import numba as nb
import numpy as np

from osteosim.model.appointments import visit_applies, visit_day
from osteosim.model.codes import DEATH, DETAIL_OF_DEATH, EVENT, PHASE, RESOURCE_OF_VISIT, STAGE, STAGE_OF_PHASE, pack_event
from osteosim.model.disease import DiseaseParams
from osteosim.model.parameters import params_record
from osteosim.model.pathway import STEP, next_step
from osteosim.model.protocol import VISIT, Protocol, protocol_record
from osteosim.model.record import (PATIENT_DTYPE, RECORDED_FIELDS, START, PatientRecord, record_row, start_row,
                                    starting_columns)

MAX_EVENTS = 256              # per patient and pathway, plus 3 per arm or supportive visit; a run that needs more runs again
EVENTS_CHUNK = 20_000         # patients per call when the event log is asked for (bounds its buffer)
# Without an event log this engine's answer to a hold (granted at once), a wait or a release (the
# days pass, unless that reaches the patient's death or the horizon), a log or the start of arm
# visits (only logged) is trivial: the pathway takes those steps without returning here
# (model.pathway.next_step's quiet steps), and this loop sees the deaths, the end and the step that
# would pass the limit.
QUIET_WITHOUT_EVENTS = ((1 << STEP.hold) | (1 << STEP.log) | (1 << STEP.visits) | (1 << STEP.wait)
                        | (1 << STEP.release))


@nb.njit(cache=True, inline="always")
def _log(ev, day, event, stage, resource=0, detail=0):
    """Append an event to the patient's buffer (ev = (on, days, codes, count)); callers test ev[0] first."""
    _, days, codes, count = ev
    n = count[0]
    if n < days.shape[0]:
        days[n] = day
        codes[n] = pack_event(event, stage, resource, detail)
    count[0] = n + 1


@nb.njit(cache=True)
def _life(seed, horizon, P, visits, params, row, ev):
    """Drive one patient's pathway to the end of care, their death or the horizon (row.clock: today)."""
    limit = horizon
    death_day = np.inf
    died_of_treatment = False
    started = np.empty((16, 2))      # (phase, anchor) of each visits step, in order (a phase may recur)
    n_started = 0
    quiet = 0 if ev[0] else QUIET_WITHOUT_EVENTS
    t = row.clock
    while True:
        kind, x, resource, stage, event, detail = next_step(seed, horizon, P, params, row, quiet, limit)
        t = row.clock
        if kind == STEP.wait or kind == STEP.release:
            t = t + x
            if t >= limit:
                break
            row.clock = t
            if kind == STEP.release and ev[0]:
                _log(ev, t, EVENT.end, stage, resource)
        elif kind == STEP.hold:
            if ev[0]:
                _log(ev, t, EVENT.request, stage, resource)
                _log(ev, t, EVENT.start, stage, resource)
        elif kind == STEP.log:
            if ev[0]:
                _log(ev, t, event, stage, 0, detail)
        elif kind == STEP.dies:
            if x <= horizon and x < death_day:
                death_day = x
                row.death_cause = detail
                limit = min(limit, x)
        elif kind == STEP.treatment_death:
            died_of_treatment = True
            break
        elif kind == STEP.visits:
            started = _started_phase(started, n_started, detail, x)
            n_started += 1
        else:
            break
    if died_of_treatment:
        row.death_day = t
        row.death_cause = DEATH.treatment
    elif death_day < horizon:
        row.death_day = death_day
    else:
        row.death_cause = DEATH.alive
    if ev[0]:
        if row.death_cause != DEATH.alive:
            _log(ev, row.death_day, EVENT.death, STAGE.death, 0, DETAIL_OF_DEATH[row.death_cause])
        if visits.shape[0] > 0:
            if row.death_cause != DEATH.alive:     # the family's bereavement support starts at the death
                started = _started_phase(started, n_started, PHASE.bereavement, row.death_day)
                n_started += 1
            _log_visits(visits, started[:n_started], row, horizon, ev)
            _sort_events(ev)


@nb.njit(cache=True)
def _started_phase(started, n, phase, anchor):
    """Row n of `started` set to (phase, anchor), the array doubled first when full; returns the array."""
    if n == started.shape[0]:
        grown = np.empty((2 * n, 2))
        grown[:n] = started
        started = grown
    started[n, 0], started[n, 1] = phase, anchor
    return started


@nb.njit(cache=True)
def _log_visits(visits, started, row, horizon, ev):
    """The arm's appointments and supportive care's visits (they change no outcome, only resource use), as
    the des engine's visit processes log them: each visit that starts before the patient's death or the horizon."""
    alive_until = horizon if np.isnan(row.death_day) else min(row.death_day, horizon)
    for s in range(started.shape[0]):
        phase, anchor = int(started[s, 0]), started[s, 1]
        end = horizon if phase == PHASE.bereavement else alive_until    # bereavement runs after the death
        for v in range(visits.shape[0]):
            if visit_applies(visits, v, phase, row.good_response, row.family_tier, row.doxorubicin_mg_m2,
                             row.cisplatin_mg_m2):
                _log_series(visits, v, anchor, STAGE_OF_PHASE[phase], end, ev)


@nb.njit(cache=True)
def _log_series(visits, v, anchor, stage, end, ev):
    """Row v's visits from `anchor`: each that starts before `end`, and its end if it comes before `end`."""
    resource = RESOURCE_OF_VISIT[int(visits[v, VISIT.resource])]
    for i in range(int(visits[v, VISIT.count])):
        day = visit_day(visits, v, anchor, i)
        if day >= end:
            break
        _log(ev, day, EVENT.request, stage, resource)
        _log(ev, day, EVENT.start, stage, resource)
        if day + visits[v, VISIT.days] >= end:
            break
        _log(ev, day + visits[v, VISIT.days], EVENT.end, stage, resource)


@nb.njit(cache=True)
def _sort_events(ev):
    """Stable insertion sort of one patient's buffer by day, as the des engine logs processes side by side."""
    _, days, codes, count = ev
    n = min(count[0], days.shape[0])
    for i in range(1, n):
        d, c = days[i], codes[i]
        j = i - 1
        while j >= 0 and days[j] > d:
            days[j + 1] = days[j]
            codes[j + 1] = codes[j]
            j -= 1
        days[j + 1] = d
        codes[j + 1] = c


@nb.njit(cache=True, parallel=True, nogil=True)
def run_patients(seed, horizon, P, visits, params, rows, start, own, max_events):
    """Every patient of a chunk: starts their row (model.record.start_row, with `start` and `own`), drives their
    pathway and records the row (model.record.record_row) while it is still in the core's cache: three passes
    over the chunk's rows (130 MiB for 250,000 patients) became one. Returns the recorded columns and the
    event buffers.

    The protocol and the disease parameters come as 1-element record arrays: records reach
    compiled code as pointers, so the per-step calls of the pathway copy nothing.
    """
    n = rows.shape[0]
    recorded = np.empty((len(RECORDED_FIELDS), n))
    ev_day = np.empty((n, max_events))
    ev_code = np.empty((n, max_events), dtype=np.int32)
    ev_count = np.zeros((n, 1), dtype=np.int64)
    # without events, one empty buffer for all: a view of the buffers per patient cost atomic reference counts
    quiet = (False, np.empty(0), np.empty(0, dtype=np.int32), np.zeros(1, dtype=np.int64))
    for i in nb.prange(n):
        start_row(rows, i, start, own)
        _life(seed, horizon, P[0], visits, params[0], rows[i],
              quiet if max_events == 0 else (True, ev_day[i], ev_code[i], ev_count[i]))
        record_row(rows, i, recorded)
    return recorded, ev_day, ev_code, ev_count[:, 0]


def simulate_cohort(cohort, protocol: Protocol, params: DiseaseParams, seed: int, with_events: bool = False,
                    rows: np.ndarray | None = None):
    """Run a (chunk of a) cohort; returns what the pathway recorded and, if asked, its event log. `rows`, a
    PATIENT_DTYPE buffer of at least the chunk's length, is the pathway's working memory if given.

    The event log is returned as (patient ids, days, codes) in patient order, each patient's
    events in time order; `engines.des.log.coded_events_frame` turns it into events.parquet rows.
    """
    max_events = MAX_EVENTS + 3 * int(protocol.visits[:, VISIT.count].sum())
    rows = (np.empty(len(cohort), dtype=PATIENT_DTYPE) if rows is None else rows[:len(cohort)]).view(np.recarray)
    own = starting_columns(cohort)
    while True:
        recorded, ev_day, ev_code, ev_count = run_patients(seed, cohort.horizon_day, protocol_record(protocol),
                                                           protocol.visits, params_record(params), rows, START, own,
                                                           max_events if with_events else 0)
        if not with_events or ev_count.max(initial=0) <= max_events:
            break
        max_events = int(ev_count.max())   # a long course after relapses: the same draws again, a larger buffer
    rec = PatientRecord(recorded)
    if not with_events:
        return rec, None
    keep = np.arange(max_events)[None, :] < ev_count[:, None]
    patient = np.broadcast_to(np.arange(cohort.first_id, cohort.first_id + len(cohort))[:, None], keep.shape)
    return rec, EventBuffer(patient[keep], ev_day[keep], ev_code[keep])


class EventBuffer:
    """The cohort engine's event log of one chunk, before it becomes a DataFrame."""

    def __init__(self, patient: np.ndarray, day: np.ndarray, code: np.ndarray):
        self.patient, self.day, self.code = patient, day, code

    def frame(self, replication: int, arm: str):
        from osteosim.engines.des.log import coded_events_frame

        return coded_events_frame(self.patient, self.day, self.code, replication, arm)
