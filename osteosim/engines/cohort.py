"""The all-Numba cohort engine: the SimPy pathway's stages with unconstrained capacity, a whole
cohort per call (DESIGN §4).

`_life` walks one patient through the same stages, in the same order, calling the same kernels
(`disease.kernels`) and keyed decisions (`pathway.decisions`) at the same times as
`pathway.stages` does when no resource makes anybody wait; so for the same seed both engines
give the same patient table. Deaths truncate the timeline as the SimPy death watchers
interrupt a process: an action at day t happens only if t is before the patient's death and
the horizon. Patients are independent and every draw is keyed, so `prange` over patients
gives the same answer on any number of threads.
"""
from __future__ import annotations

import numba as nb
import numpy as np

from osteosim.model import disease as k
from osteosim.model import decisions as dec
from osteosim.engines.des.log import DETAILS, EVENTS, RESOURCES, STAGES, coded_events_frame
from osteosim.model.population import MET_PATTERNS
from osteosim.model.record import DEATH_CAUSES, OSTEOSARCOMA, OTHER, TREATMENT, PatientRecord
from osteosim.config.schema import VISIT_RESOURCES
from osteosim.model.protocol import (PROGRESSION, SITE_CODES, V_COUNT, V_DAYS, V_INTERVAL, V_PHASE, V_POOR_ONLY,
                               V_RESOURCE, V_START_AFTER, T_ADJUVANT, T_BIOPSY, T_CLINIC, T_DX_TO_CHEMO, T_IE_STAY, T_IMAGING,
                               T_MET_SESSION, T_NEOADJUVANT, T_RELAPSE_SURGERY, T_RT_DAYS, T_SECOND_LINE_INTERVAL,
                               T_SECOND_LINE_N, T_SURG_SESSION, T_SURG_TO_ADJ, T_SURG_TO_MET, T_SURGERY_WEEK,
                               Protocol)

# columns of the `days` output, in PatientRecord.DAY_COLUMNS order
(DIAGNOSIS, CHEMO_START, SURGERY, METASTASECTOMY, ADJUVANT_START, RT_START, END_OF_TREATMENT, RELAPSE,
 DEATH) = range(9)
assert PatientRecord.DAY_COLUMNS[DEATH] == "death_day" and PatientRecord.DAY_COLUMNS[RELAPSE] == "relapse_day"

OK, STOPPED, DIED = 0, 1, 2   # a step went through / the patient died or the run ended / died of treatment
MAX_EVENTS = 256              # per patient and pathway (it logs fewer than 200), plus 3 per arm visit
EVENTS_CHUNK = 20_000         # patients per call when the event log is asked for (bounds its buffer)

# event-log codes (osteosim.engines.des.log vocabulary), compile-time constants for Numba
E_REFERRAL, E_REQUEST, E_START, E_END, E_DIAGNOSIS, E_TOX, E_RESECTION, E_RESPONSE, E_NOT_VISIBLE, E_UNRESECTABLE, \
    E_LOCAL_CONTROL, E_EOT, E_PROGRESSION, E_RELAPSE, E_SYMPTOMS, E_CR2, E_DEATH = range(len(EVENTS))
S_DIAGNOSIS, S_NEO, S_SURGERY, S_METASTASECTOMY, S_ADJUVANT, S_RT, S_FOLLOWUP, S_RELAPSE, S_DEATH = range(9)
R_IMAGING, R_BIOPSY, R_PATHOLOGY, R_BED, R_ORTHO, R_THORACIC, R_RT, R_CLINIC, R_DAY_CASE = range(1, len(RESOURCES))
S_ARM = STAGES.index("arm")
VISIT_RESOURCE_CODE = np.array([RESOURCES.index(r) for r in VISIT_RESOURCES], dtype=np.int32)
ADJUVANT_ANCHOR, MAINTENANCE_START = 4, 5   # flags columns: when the arm's adjuvant / maintenance visits start
D_AMPUTATION, D_LIMB_SALVAGE, D_GOOD, D_POOR = (DETAILS.index(x) for x in ("amputation", "limb_salvage", "good", "poor"))
D_MET = np.array([DETAILS.index(x) for x in MET_PATTERNS], dtype=np.int32)      # detail code of a staged pattern
D_SITE = np.array([DETAILS.index(x) for x in SITE_CODES], dtype=np.int32)       # ... of a relapse site
D_CAUSE = np.array([DETAILS.index(x) for x in DEATH_CAUSES], dtype=np.int32)    # ... of a death cause


@nb.njit(cache=True, inline="always")
def _log(ev, day, event, stage, resource=0, detail=0):
    """Append an event to the patient's buffer (ev = (on, days, codes, count)).

    Callers test ev[0] first: even a call that returns at once costs Numba's reference counting
    of the arrays, about as much as the rest of a patient's pathway when events are off.
    """
    _, days, codes, count = ev
    n = count[0]
    if n < days.shape[0]:
        days[n] = day
        codes[n] = event | (stage << 8) | (resource << 16) | (detail << 24)
    count[0] = n + 1


@nb.njit(cache=True, inline="always")
def _begin(ev, day, stage, resource):
    """A resource use starts at once: capacity is unconstrained.

    Each use (begin, hold, stop at death or the horizon, end) is spelled out where it happens
    rather than wrapped in a helper: passing the event buffers to one more call costs Numba's
    reference counting on every use, measured at +12% run time for the chemotherapy courses alone.
    """
    _log(ev, day, E_REQUEST, stage, resource)
    _log(ev, day, E_START, stage, resource)


@nb.njit(cache=True)
def _chemotherapy(pid, seed, t, limit, anchor, weeks, weights, stays, mtx, neoadjuvant, index0, first_col,
                  state, T, params, days, ev):
    """The courses of one block; returns (status, day, delay of the last course, disease state)."""
    shift = 0.0
    for i in range(len(weeks)):
        protocol_day = anchor + 7.0 * (weeks[i] - weeks[0])
        t = t + max(0.0, protocol_day + shift - t)
        if t >= limit:
            return STOPPED, t, shift, state
        delay, intensity, stay = dec.course_plan(seed, pid, index0 + i, stays[i], mtx[i], T)
        stage = S_NEO if neoadjuvant else S_ADJUVANT
        if delay > 0.0:
            if ev[0]:  # events asked for
                _log(ev, t, E_TOX, stage)
            t = t + delay
            if t >= limit:
                return STOPPED, t, shift, state
        if ev[0]:  # events asked for
            _begin(ev, t, stage, R_BED)
        if i == 0:
            days[first_col] = t
        state = k.chemotherapy_course(state, t, weights[i], intensity, neoadjuvant, params)
        t = t + stay
        if t >= limit:
            return STOPPED, t, shift, state
        if ev[0]:  # events asked for
            _log(ev, t, E_END, stage, R_BED)
        shift = t - stay - protocol_day
        if dec.dies_of_course(seed, pid, index0 + i, T):
            return DIED, t, shift, state
    return OK, t, shift, state


@nb.njit(cache=True)
def _first_line(pid, seed, t, limit, axial, staged, state, T, p_neo_week, p_neo_weight, p_neo_stay, p_neo_mtx,
                p_adj_week, p_adj_weight, p_adj_stay, p_adj_mtx, params, days, flags, ev):
    """Neoadjuvant MAP, local control, adjuvant MAP, radiotherapy; returns (status, day, detect day, state).

    flags: [good_response (nan/0/1), csr (0/1), relapse site code (-1 none)].
    """
    start = t + T[T_DX_TO_CHEMO]
    surgery_planned = start
    if T[T_NEOADJUVANT] != 0.0:
        status, t, shift, state = _chemotherapy(pid, seed, t, limit, start, p_neo_week, p_neo_weight, p_neo_stay,
                                         p_neo_mtx, True, 0, CHEMO_START, state, T, params, days, ev)
        if status != OK:
            return status, t, np.inf, state
        surgery_planned = start + 7.0 * (T[T_SURGERY_WEEK] - p_neo_week[0]) + shift
    t = t + max(0.0, surgery_planned - t)
    if t >= limit:
        return STOPPED, t, np.inf, state
    state, progressed, visible_since = dec.restage(state, t, staged, T, params)
    if progressed:  # restaging before surgery shows progression
        days[RELAPSE] = t
        flags[2] = PROGRESSION
        if ev[0]:  # events asked for
            _log(ev, t, E_PROGRESSION, S_SURGERY, 0, D_SITE[PROGRESSION])
        return OK, t, visible_since, state
    # local control
    needs_rt = False
    resectable = dec.primary_resectable(seed, pid, axial, T)
    if resectable:
        if ev[0]:  # events asked for
            _begin(ev, t, S_SURGERY, R_ORTHO)
        days[SURGERY] = t
        t = t + T[T_SURG_SESSION]
        if t >= limit:
            return STOPPED, t, np.inf, state
        if ev[0]:  # events asked for
            _log(ev, t, E_END, S_SURGERY, R_ORTHO)
        if ev[0]:  # events asked for
            _log(ev, t, E_RESECTION, S_SURGERY, 0, D_AMPUTATION if dec.amputation(seed, pid, T) else D_LIMB_SALVAGE)
        if dec.dies_of_operation(seed, pid, 0, T):
            return DIED, t, np.inf, state
        if T[T_NEOADJUVANT] != 0.0:
            good = dec.good_response(state, seed, pid, params)
            flags[0] = 1.0 if good else 0.0
            if ev[0]:  # events asked for
                _log(ev, t, E_RESPONSE, S_SURGERY, 0, D_GOOD if good else D_POOR)
    else:
        needs_rt = True
    cleared = True
    if staged != dec.NONE:
        state, visible = k.overt_disease_visible(state, t, params)
        if not visible:
            state = k.fold_invisible_overt(state, t, params)
            if ev[0]:  # events asked for
                _log(ev, t, E_NOT_VISIBLE, S_METASTASECTOMY)
        elif not dec.metastases_resectable(seed, pid, staged, T):
            cleared = False
            needs_rt = needs_rt or staged == dec.EXTRAPULMONARY or staged == dec.MULTISYSTEM
            if ev[0]:  # events asked for
                _log(ev, t, E_UNRESECTABLE, S_METASTASECTOMY, 0, D_MET[staged])
        else:
            t = t + T[T_SURG_TO_MET]
            if t >= limit:
                return STOPPED, t, np.inf, state
            theatre = R_ORTHO if staged == dec.EXTRAPULMONARY else R_THORACIC
            if ev[0]:  # events asked for
                _begin(ev, t, S_METASTASECTOMY, theatre)
            days[METASTASECTOMY] = t
            state = k.clear_overt(state, t, params)
            t = t + T[T_MET_SESSION]
            if t >= limit:
                return STOPPED, t, np.inf, state
            if ev[0]:  # events asked for
                _log(ev, t, E_END, S_METASTASECTOMY, theatre)
            if dec.dies_of_operation(seed, pid, 1, T):
                return DIED, t, np.inf, state
    flags[1] = 1.0 if (resectable and cleared) else 0.0
    flags[ADJUVANT_ANCHOR] = t + T[T_SURG_TO_ADJ]
    if T[T_ADJUVANT] != 0.0:
        status, t, shift, state = _chemotherapy(pid, seed, t, limit, t + T[T_SURG_TO_ADJ], p_adj_week, p_adj_weight,
                                         p_adj_stay, p_adj_mtx, False, len(p_neo_week), ADJUVANT_START,
                                         state, T, params, days, ev)
        if status != OK:
            return status, t, np.inf, state
    if needs_rt:
        if ev[0]:  # events asked for
            _begin(ev, t, S_RT, R_RT)
        days[RT_START] = t
        t = t + T[T_RT_DAYS]
        if t >= limit:
            return STOPPED, t, np.inf, state
        if ev[0]:  # events asked for
            _log(ev, t, E_END, S_RT, R_RT)
        if dec.radiotherapy_controls(seed, pid, params):
            state = k.clear_overt(state, t, params)
            if ev[0]:  # events asked for
                _log(ev, t, E_LOCAL_CONTROL, S_RT)
    days[END_OF_TREATMENT] = t
    if ev[0]:  # events asked for
        _log(ev, t, E_EOT, S_ADJUVANT)
    state, detect = k.end_of_treatment_outcome(state, t, seed, pid, params)
    if detect <= t:
        days[RELAPSE] = t
        flags[2] = PROGRESSION
        if ev[0]:  # events asked for
            _log(ev, t, E_PROGRESSION, S_ADJUVANT, 0, D_SITE[PROGRESSION])
    else:
        flags[MAINTENANCE_START] = t
    return OK, t, detect, state


@nb.njit(cache=True)
def _relapse(t, site, days, flags, ev):
    days[RELAPSE] = t
    flags[2] = site
    if ev[0]:  # events asked for
        _log(ev, t, E_RELAPSE, S_FOLLOWUP, 0, D_SITE[site])


@nb.njit(cache=True)
def _survivorship(pid, seed, t, limit, horizon, detect, state, followup_until, followup_interval, site_cdf, T,
                  params, days, flags, ev):
    """Visits on schedule; relapse found at a visit or by symptoms. Returns (status, day)."""
    symptoms = k.symptom_day(detect, state, params) if detect < np.inf else np.inf
    imaging_sees = dec.followup_imaging_sees_from(detect, state, T)
    # the planned visits of decisions.followup_visit_days, walked without allocating an array
    start = days[END_OF_TREATMENT]
    visit = start
    for b in range(len(followup_until)):
        band_end = start + followup_until[b] * 365.25
        while visit + followup_interval[b] <= band_end + 1e-9:
            visit += followup_interval[b]
            if min(visit, symptoms) >= horizon:
                return OK, t
            if symptoms <= visit:
                t = t + max(0.0, symptoms - t)
                if t >= limit:
                    return STOPPED, t
                if ev[0]:  # events asked for
                    _log(ev, t, E_SYMPTOMS, S_FOLLOWUP)
                _relapse(t, dec.relapse_site(seed, pid, site_cdf), days, flags, ev)
                return OK, t
            t = t + max(0.0, visit - t)
            if t >= limit:
                return STOPPED, t
            if ev[0]:  # events asked for
                _begin(ev, t, S_FOLLOWUP, R_CLINIC)
            found = t >= imaging_sees
            t = t + T[T_CLINIC]
            if t >= limit:
                return STOPPED, t
            if ev[0]:  # events asked for
                _log(ev, t, E_END, S_FOLLOWUP, R_CLINIC)
            if found:
                _relapse(t, dec.relapse_site(seed, pid, site_cdf), days, flags, ev)
                return OK, t
    return OK, t


@nb.njit(cache=True)
def _relapse_care(pid, seed, t, limit, cr2, site, T, ev):
    """Second-line surgery and chemotherapy; returns (status, day)."""
    if cr2:
        t = t + T[T_RELAPSE_SURGERY]
        if t >= limit:
            return STOPPED, t
        theatre = R_THORACIC if site == 0 or site == 2 else R_ORTHO   # lung or multiple: thoracotomy
        if ev[0]:  # events asked for
            _begin(ev, t, S_RELAPSE, theatre)
        t = t + T[T_MET_SESSION]
        if t >= limit:
            return STOPPED, t
        if ev[0]:  # events asked for
            _log(ev, t, E_END, S_RELAPSE, theatre)
        if ev[0]:  # events asked for
            _log(ev, t, E_CR2, S_RELAPSE, 0, D_SITE[site])
    for course in range(int(T[T_SECOND_LINE_N])):
        if course:
            t = t + T[T_SECOND_LINE_INTERVAL]
            if t >= limit:
                return STOPPED, t
        if ev[0]:  # events asked for
            _begin(ev, t, S_RELAPSE, R_BED)
        t = t + T[T_IE_STAY]
        if t >= limit:
            return STOPPED, t
        if ev[0]:  # events asked for
            _log(ev, t, E_END, S_RELAPSE, R_BED)
        if dec.dies_of_course(seed, pid, dec.SECOND_LINE_COURSE_BASE + course, T):
            return DIED, t
    return OK, t


@nb.njit(cache=True)
def _log_arm_visits(visits, flags, days, horizon, ev):
    """The arm's appointments (they change no outcome, only resource use): logged, then the patient's
    events re-sorted by day, as the SimPy engine logs them from processes running side by side."""
    end = horizon if np.isnan(days[DEATH]) else min(days[DEATH], horizon)
    for v in range(visits.shape[0]):
        phase = int(visits[v, V_PHASE])
        start = flags[ADJUVANT_ANCHOR] if phase == 0 else flags[MAINTENANCE_START] if phase == 1 else days[RELAPSE]
        if np.isnan(start) or (visits[v, V_POOR_ONLY] != 0.0 and flags[0] != 0.0):
            continue
        resource = VISIT_RESOURCE_CODE[int(visits[v, V_RESOURCE])]
        for i in range(int(visits[v, V_COUNT])):
            day = start + visits[v, V_START_AFTER] + i * visits[v, V_INTERVAL]
            if day >= end:
                break
            _begin(ev, day, S_ARM, resource)
            if day + visits[v, V_DAYS] >= end:
                break
            _log(ev, day + visits[v, V_DAYS], E_END, S_ARM, resource)
    _sort_events(ev)


@nb.njit(cache=True)
def _sort_events(ev):
    """Stable insertion sort of one patient's buffer by day (a few hundred events at most)."""
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


@nb.njit(cache=True)
def _life(pid, seed, arrival, age, axial, true_met, true_nodules, state, horizon, T, p_neo_week, p_neo_weight,
          p_neo_stay, p_neo_mtx, p_adj_week, p_adj_weight, p_adj_stay, p_adj_mtx, followup_until,
          followup_interval, site_cdf, cr2_by_site, visits, params, days, ints, flags, ev):
    """One patient from referral to the horizon. ints: [met_status, n_lung_nodules, bilateral, death cause]."""
    t = arrival
    if t >= horizon:
        return
    if ev[0]:  # events asked for
        _log(ev, t, E_REFERRAL, S_DIAGNOSIS)
    for resource, duration in ((R_IMAGING, T[T_IMAGING]), (R_BIOPSY, T[T_BIOPSY]),
                               (R_PATHOLOGY, dec.pathology_days(seed, pid, T))):
        if ev[0]:  # events asked for
            _begin(ev, t, S_DIAGNOSIS, resource)
        t = t + duration
        if t >= horizon:
            return
        if ev[0]:  # events asked for
            _log(ev, t, E_END, S_DIAGNOSIS, resource)
    staged, seen, bilateral = dec.staging(seed, pid, true_met, true_nodules, T)
    ints[0], ints[1], ints[2] = staged, seen, 1 if bilateral else 0
    state = dec.apply_staging(state, t, true_met, staged, T, params)
    days[DIAGNOSIS] = t
    if ev[0]:  # events asked for
        _log(ev, t, E_DIAGNOSIS, S_DIAGNOSIS, 0, D_MET[staged])
    other_death = t + k.other_cause_death_days(age, seed, pid, params)
    if other_death > horizon:
        other_death = np.inf
    disease_death = np.inf
    limit = min(other_death, horizon)
    status, t, detect, state = _first_line(pid, seed, t, limit, axial, staged, state, T, p_neo_week, p_neo_weight,
                                    p_neo_stay, p_neo_mtx, p_adj_week, p_adj_weight, p_adj_stay, p_adj_mtx,
                                    params, days, flags, ev)
    if status == OK and flags[2] < 0:
        status, t = _survivorship(pid, seed, t, limit, horizon, detect, state, followup_until, followup_interval,
                                  site_cdf, T, params, days, flags, ev)
    if status == OK and flags[2] >= 0:
        site = int(flags[2])
        grown = k.log10_past_detection(t, detect, state, params)
        cr2 = dec.second_remission(seed, pid, site, staged, grown, T, cr2_by_site)
        flags[3] = 1.0 if cr2 else 0.0
        clock = k.post_relapse_clock_start(t, detect, state, params)
        disease_death = clock + k.post_relapse_survival_days(cr2, clock - days[DIAGNOSIS], seed, pid, params)
        if disease_death > horizon:
            disease_death = np.inf
        limit = min(limit, disease_death)
        status, t = _relapse_care(pid, seed, t, limit, cr2, site, T, ev)
    if status == DIED:
        days[DEATH] = t
        ints[3] = TREATMENT
    elif min(other_death, disease_death) < horizon:
        days[DEATH] = min(other_death, disease_death)
        ints[3] = OTHER if other_death <= disease_death else OSTEOSARCOMA
    if ints[3] != 0:
        if ev[0]:  # events asked for
            _log(ev, days[DEATH], E_DEATH, S_DEATH, 0, D_CAUSE[ints[3]])
    if ev[0] and visits.shape[0] > 0:
        _log_arm_visits(visits, flags, days, horizon, ev)


@nb.njit(cache=True, parallel=True)
def run_patients(seed, first_id, arrival, age, axial, true_met, true_nodules, micro, growth, sensitivity, horizon,
                 T, p_neo_week, p_neo_weight, p_neo_stay, p_neo_mtx, p_adj_week, p_adj_weight, p_adj_stay,
                 p_adj_mtx, followup_until, followup_interval, site_cdf, cr2_by_site, visits, params, max_events):
    """Every patient of a chunk (ids first_id..first_id+n-1); returns the record arrays and event buffers."""
    n = arrival.shape[0]
    days = np.full((n, 9), np.nan)
    ints = np.zeros((n, 4), dtype=np.int32)
    flags = np.empty((n, 6))
    ev_day = np.empty((n, max_events))
    ev_code = np.empty((n, max_events), dtype=np.int32)
    ev_count = np.zeros((n, 1), dtype=np.int64)
    for i in nb.prange(n):
        flags[i, 0] = np.nan
        flags[i, 1] = 0.0
        flags[i, 2] = -1.0
        flags[i, 3] = np.nan
        flags[i, ADJUVANT_ANCHOR] = np.nan
        flags[i, MAINTENANCE_START] = np.nan
        state = k.initial_state(arrival[i], micro[i], -np.inf, growth[i], sensitivity[i])
        _life(first_id + i, seed, arrival[i], age[i], axial[i], true_met[i], true_nodules[i], state, horizon, T,
              p_neo_week, p_neo_weight, p_neo_stay, p_neo_mtx, p_adj_week, p_adj_weight, p_adj_stay, p_adj_mtx,
              followup_until, followup_interval, site_cdf, cr2_by_site, visits, params, days[i], ints[i], flags[i],
              (max_events > 0, ev_day[i], ev_code[i], ev_count[i]))
    return days, ints, flags, ev_day, ev_code, ev_count[:, 0]


def simulate_cohort(cohort, protocol: Protocol, params: np.ndarray, seed: int, with_events: bool = False):
    """Run a (chunk of a) cohort; returns what the pathway recorded and, if asked, its event log.

    The event log is returned as (patient ids, days, codes) in patient order, each patient's
    events in time order; `pathway.log.coded_events_frame` turns it into events.parquet rows.
    """
    # numbers go in as tuples, not arrays: Numba reference-counts every array passed to a call
    numbers = [tuple(x.tolist()) for x in protocol[:-1]]   # all but the visits table (2-D, stays an array)
    max_events = MAX_EVENTS + 3 * int(protocol.visits[:, V_COUNT].sum())
    days, ints, flags, ev_day, ev_code, ev_count = run_patients(
        seed, cohort.first_id, cohort.arrival_day, cohort.age_years, cohort.axial, cohort.true_met.astype(np.int64),
        cohort.true_nodules.astype(np.int64), cohort.micro_log10, cohort.growth, cohort.sensitivity,
        cohort.horizon_day, *numbers, protocol.visits, tuple(params.tolist()), max_events if with_events else 0)
    rec = PatientRecord(len(cohort))
    for col, name in enumerate(PatientRecord.DAY_COLUMNS):
        setattr(rec, name, days[:, col].copy())
    rec.met_status = ints[:, 0].astype(np.int8)
    rec.n_lung_nodules = ints[:, 1].astype(np.int32)
    rec.bilateral = ints[:, 2].astype(bool)
    rec.death_cause = ints[:, 3].astype(np.int8)
    rec.good_response = flags[:, 0].copy()
    rec.csr = flags[:, 1] == 1.0
    rec.relapse_site = flags[:, 2].astype(np.int8)
    rec.cr2 = flags[:, 3].copy()
    if not with_events:
        return rec, None
    if ev_count.max(initial=0) > max_events:
        raise RuntimeError(f"a patient logged {ev_count.max()} events, more than the buffer's {max_events}")
    keep = np.arange(max_events)[None, :] < ev_count[:, None]
    patient = np.broadcast_to(np.arange(cohort.first_id, cohort.first_id + len(cohort))[:, None], keep.shape)
    return rec, EventBuffer(patient[keep], ev_day[keep], ev_code[keep])


class EventBuffer:
    """The cohort engine's event log of one chunk, before it becomes a DataFrame."""

    def __init__(self, patient: np.ndarray, day: np.ndarray, code: np.ndarray):
        self.patient, self.day, self.code = patient, day, code

    def frame(self, replication: int, arm: str):
        return coded_events_frame(self.patient, self.day, self.code, replication, arm)
