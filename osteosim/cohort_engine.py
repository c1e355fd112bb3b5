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

from osteosim.disease import kernels as k
from osteosim.pathway import decisions as dec
from osteosim.pathway.record import OSTEOSARCOMA, OTHER, TREATMENT, PatientRecord
from osteosim.protocol import (PROGRESSION, T_ADJUVANT, T_BIOPSY, T_CLINIC, T_DX_TO_CHEMO, T_IE_STAY, T_IMAGING,
                               T_MET_SESSION, T_NEOADJUVANT, T_RELAPSE_SURGERY, T_RT_DAYS, T_SECOND_LINE_INTERVAL,
                               T_SECOND_LINE_N, T_SURG_SESSION, T_SURG_TO_ADJ, T_SURG_TO_MET, T_SURGERY_WEEK,
                               Protocol)

# columns of the `days` output, in PatientRecord.DAY_COLUMNS order
(DIAGNOSIS, CHEMO_START, SURGERY, METASTASECTOMY, ADJUVANT_START, RT_START, END_OF_TREATMENT, RELAPSE,
 DEATH) = range(9)
assert PatientRecord.DAY_COLUMNS[DEATH] == "death_day" and PatientRecord.DAY_COLUMNS[RELAPSE] == "relapse_day"

OK, STOPPED, DIED = 0, 1, 2   # a step went through / the patient died or the run ended / died of treatment


@nb.njit(cache=True)
def _chemotherapy(pid, seed, t, limit, anchor, weeks, weights, stays, mtx, neoadjuvant, index0, first_col,
                  state, T, params, days):
    """The courses of one block; returns (status, day, delay of the last course)."""
    shift = 0.0
    for i in range(weeks.shape[0]):
        protocol_day = anchor + 7.0 * (weeks[i] - weeks[0])
        t = t + max(0.0, protocol_day + shift - t)
        if t >= limit:
            return STOPPED, t, shift
        delay, intensity, stay = dec.course_plan(seed, pid, index0 + i, stays[i], mtx[i], T)
        if delay > 0.0:
            t = t + delay
            if t >= limit:
                return STOPPED, t, shift
        if i == 0:
            days[first_col] = t
        k.chemotherapy_course(state, t, weights[i], intensity, neoadjuvant, params)
        t = t + stay
        if t >= limit:
            return STOPPED, t, shift
        shift = t - stay - protocol_day
        if dec.dies_of_course(seed, pid, index0 + i, T):
            return DIED, t, shift
    return OK, t, shift


@nb.njit(cache=True)
def _first_line(pid, seed, t, limit, axial, staged, state, T, p_neo_week, p_neo_weight, p_neo_stay, p_neo_mtx,
                p_adj_week, p_adj_weight, p_adj_stay, p_adj_mtx, params, days, flags):
    """Neoadjuvant MAP, local control, adjuvant MAP, radiotherapy; returns (status, day, detect day).

    flags: [good_response (nan/0/1), csr (0/1), relapse site code (-1 none)].
    """
    start = t + T[T_DX_TO_CHEMO]
    surgery_planned = start
    if T[T_NEOADJUVANT] != 0.0:
        status, t, shift = _chemotherapy(pid, seed, t, limit, start, p_neo_week, p_neo_weight, p_neo_stay,
                                         p_neo_mtx, True, 0, CHEMO_START, state, T, params, days)
        if status != OK:
            return status, t, np.inf
        surgery_planned = start + 7.0 * (T[T_SURGERY_WEEK] - p_neo_week[0]) + shift
    t = t + max(0.0, surgery_planned - t)
    if t >= limit:
        return STOPPED, t, np.inf
    k.advance(state, t, params)
    if state[k.DETECT_DAY] <= t:  # restaging before surgery shows progression
        days[RELAPSE] = t
        flags[2] = PROGRESSION
        return OK, t, state[k.DETECT_DAY]
    # local control
    needs_rt = False
    resectable = dec.primary_resectable(seed, pid, axial, T)
    if resectable:
        days[SURGERY] = t
        t = t + T[T_SURG_SESSION]
        if t >= limit:
            return STOPPED, t, np.inf
        if dec.dies_of_operation(seed, pid, 0, T):
            return DIED, t, np.inf
        if T[T_NEOADJUVANT] != 0.0:
            flags[0] = 1.0 if dec.good_response(state, seed, pid, params) else 0.0
    else:
        needs_rt = True
    cleared = True
    if staged != dec.NONE:
        if not k.overt_disease_visible(state, t, params):
            k.fold_invisible_overt(state, t, params)
        elif not dec.metastases_resectable(seed, pid, staged, T):
            cleared = False
            needs_rt = needs_rt or staged == dec.EXTRAPULMONARY or staged == dec.MULTISYSTEM
        else:
            t = t + T[T_SURG_TO_MET]
            if t >= limit:
                return STOPPED, t, np.inf
            days[METASTASECTOMY] = t
            k.clear_overt(state, t, params)
            t = t + T[T_MET_SESSION]
            if t >= limit:
                return STOPPED, t, np.inf
            if dec.dies_of_operation(seed, pid, 1, T):
                return DIED, t, np.inf
    flags[1] = 1.0 if (resectable and cleared) else 0.0
    if T[T_ADJUVANT] != 0.0:
        status, t, shift = _chemotherapy(pid, seed, t, limit, t + T[T_SURG_TO_ADJ], p_adj_week, p_adj_weight,
                                         p_adj_stay, p_adj_mtx, False, p_neo_week.shape[0], ADJUVANT_START,
                                         state, T, params, days)
        if status != OK:
            return status, t, np.inf
    if needs_rt:
        days[RT_START] = t
        t = t + T[T_RT_DAYS]
        if t >= limit:
            return STOPPED, t, np.inf
        if dec.radiotherapy_controls(seed, pid, params):
            k.clear_overt(state, t, params)
    days[END_OF_TREATMENT] = t
    detect = k.end_of_treatment_outcome(state, t, seed, pid, params)
    if detect <= t:
        days[RELAPSE] = t
        flags[2] = PROGRESSION
    return OK, t, detect


@nb.njit(cache=True)
def _survivorship(pid, seed, t, limit, horizon, detect, state, followup_until, followup_interval, site_cdf, T,
                  params, days, flags):
    """Visits on schedule; relapse found at a visit or by symptoms. Returns (status, day)."""
    symptoms = k.symptom_day(detect, state, params) if detect < np.inf else np.inf
    visits = dec.followup_visit_days(days[END_OF_TREATMENT], followup_until, followup_interval)
    for v in range(visits.shape[0]):
        visit = visits[v]
        if min(visit, symptoms) >= horizon:
            return OK, t
        if symptoms <= visit:
            t = t + max(0.0, symptoms - t)
            if t >= limit:
                return STOPPED, t
            days[RELAPSE] = t
            flags[2] = dec.relapse_site(seed, pid, site_cdf)
            return OK, t
        t = t + max(0.0, visit - t)
        if t >= limit:
            return STOPPED, t
        found = t >= detect
        t = t + T[T_CLINIC]
        if t >= limit:
            return STOPPED, t
        if found:
            days[RELAPSE] = t
            flags[2] = dec.relapse_site(seed, pid, site_cdf)
            return OK, t
    return OK, t


@nb.njit(cache=True)
def _relapse_care(pid, seed, t, limit, cr2, T):
    """Second-line surgery and chemotherapy; returns (status, day)."""
    if cr2:
        t = t + T[T_RELAPSE_SURGERY]
        if t >= limit:
            return STOPPED, t
        t = t + T[T_MET_SESSION]
        if t >= limit:
            return STOPPED, t
    for course in range(int(T[T_SECOND_LINE_N])):
        if course:
            t = t + T[T_SECOND_LINE_INTERVAL]
            if t >= limit:
                return STOPPED, t
        t = t + T[T_IE_STAY]
        if t >= limit:
            return STOPPED, t
        if dec.dies_of_course(seed, pid, dec.SECOND_LINE_COURSE_BASE + course, T):
            return DIED, t
    return OK, t


@nb.njit(cache=True)
def _life(pid, seed, arrival, age, axial, true_met, true_nodules, state, horizon, T, p_neo_week, p_neo_weight,
          p_neo_stay, p_neo_mtx, p_adj_week, p_adj_weight, p_adj_stay, p_adj_mtx, followup_until,
          followup_interval, site_cdf, cr2_by_site, params, days, ints, flags):
    """One patient from referral to the horizon. ints: [met_status, n_lung_nodules, bilateral, death cause]."""
    t = arrival
    if t >= horizon:
        return
    t = t + T[T_IMAGING]
    t = t + T[T_BIOPSY]
    t = t + dec.pathology_days(seed, pid, T)
    if t >= horizon:
        return
    staged, seen, bilateral = dec.staging(seed, pid, true_met, true_nodules, T)
    ints[0], ints[1], ints[2] = staged, seen, 1 if bilateral else 0
    dec.apply_staging(state, t, true_met, staged, T, params)
    days[DIAGNOSIS] = t
    other_death = t + k.other_cause_death_days(age, seed, pid, params)
    if other_death > horizon:
        other_death = np.inf
    disease_death = np.inf
    limit = min(other_death, horizon)
    status, t, detect = _first_line(pid, seed, t, limit, axial, staged, state, T, p_neo_week, p_neo_weight,
                                    p_neo_stay, p_neo_mtx, p_adj_week, p_adj_weight, p_adj_stay, p_adj_mtx,
                                    params, days, flags)
    if status == OK and flags[2] < 0:
        status, t = _survivorship(pid, seed, t, limit, horizon, detect, state, followup_until, followup_interval,
                                  site_cdf, T, params, days, flags)
    if status == OK and flags[2] >= 0:
        site = int(flags[2])
        cr2 = dec.second_remission(seed, pid, site, staged, T, cr2_by_site)
        flags[3] = 1.0 if cr2 else 0.0
        disease_death = t + k.post_relapse_survival_days(cr2, seed, pid, params)
        if disease_death > horizon:
            disease_death = np.inf
        limit = min(limit, disease_death)
        status, t = _relapse_care(pid, seed, t, limit, cr2, T)
    if status == DIED:
        days[DEATH] = t
        ints[3] = TREATMENT
    elif min(other_death, disease_death) < horizon:
        days[DEATH] = min(other_death, disease_death)
        ints[3] = OTHER if other_death <= disease_death else OSTEOSARCOMA


@nb.njit(cache=True, parallel=True)
def run_patients(seed, first_id, arrival, age, axial, true_met, true_nodules, micro, growth, sensitivity, horizon,
                 T, p_neo_week, p_neo_weight, p_neo_stay, p_neo_mtx, p_adj_week, p_adj_weight, p_adj_stay,
                 p_adj_mtx, followup_until, followup_interval, site_cdf, cr2_by_site, params):
    """Every patient of a chunk (ids first_id..first_id+n-1); returns the record arrays."""
    n = arrival.shape[0]
    days = np.full((n, 9), np.nan)
    ints = np.zeros((n, 4), dtype=np.int32)
    flags = np.empty((n, 4))
    for i in nb.prange(n):
        flags[i, 0] = np.nan
        flags[i, 1] = 0.0
        flags[i, 2] = -1.0
        flags[i, 3] = np.nan
        state = k.initial_state(arrival[i], micro[i], -np.inf, growth[i], sensitivity[i])
        _life(first_id + i, seed, arrival[i], age[i], axial[i], true_met[i], true_nodules[i], state, horizon, T,
              p_neo_week, p_neo_weight, p_neo_stay, p_neo_mtx, p_adj_week, p_adj_weight, p_adj_stay, p_adj_mtx,
              followup_until, followup_interval, site_cdf, cr2_by_site, params, days[i], ints[i], flags[i])
    return days, ints, flags


def simulate_cohort(cohort, protocol: Protocol, params: np.ndarray, seed: int, first_id: int = 0) -> PatientRecord:
    """Run a (chunk of a) cohort and return what the pathway would have recorded."""
    p = protocol
    days, ints, flags = run_patients(
        seed, first_id, cohort.arrival_day, cohort.age_years, cohort.axial, cohort.true_met.astype(np.int64),
        cohort.true_nodules.astype(np.int64), cohort.micro_log10, cohort.growth, cohort.sensitivity,
        cohort.horizon_day, p.scalars, p.neo_week, p.neo_weight, p.neo_stay, p.neo_mtx, p.adj_week, p.adj_weight,
        p.adj_stay, p.adj_mtx, p.followup_until_years, p.followup_interval_days, p.relapse_site_cdf,
        p.cr2_by_site, params)
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
    return rec
