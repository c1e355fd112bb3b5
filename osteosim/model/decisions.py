"""The pathway's keyed decisions, as Numba functions both engines call.

Each answers one clinical question for one patient (is this course delayed, what did staging
see, can the metastases be resected, ...), from the packed protocol (`osteosim.model.protocol`) and
keyed draws. The SimPy stages call them from Python between resource waits; the cohort engine
calls them inside its compiled loop; so both engines make the same decisions for the same key.
"""
from __future__ import annotations

import numba as nb
import numpy as np

from osteosim.model import rng
from osteosim.model import disease as k
from osteosim.model.protocol import (T_AXIAL_RESECTABLE, T_BILATERAL, T_CR2_FACTOR, T_CSR_EXTRA,
                               T_CSR_LUNG, T_CSR_MULTI, T_CT_SENS, T_DOSE_P, T_LIMB_SALVAGE, T_MISSED_BELOW, T_MTX_EXTRA,
                               T_MTX_P, T_OVERT_DX, T_PATH_MEDIAN, T_PATH_SIGMA, T_PERIOP, T_PET_SENS,
                               T_CR2_BURDEN_FACTOR, T_REDUCED, T_SURVEILLANCE_BLIND, T_TOX_DAYS, T_TOX_P, T_TRM)

NONE, LUNG, EXTRAPULMONARY, MULTISYSTEM = 0, 1, 2, 3
SECOND_LINE_COURSE_BASE = 100   # keyed-draw index of second-line courses
OPERATION_BASE = 50             # keyed-draw index of operations (perioperative death)


@nb.njit(cache=True)
def pathology_days(seed, pid, T):
    return rng.lognormal(seed, pid, rng.SERVICE_TIME, 0, T[T_PATH_MEDIAN], T[T_PATH_SIGMA])


@nb.njit(cache=True)
def staging(seed, pid, true_met, true_nodules, T):
    """(staged pattern, nodules seen on CT, bilateral): CT sees each nodule, PET bone disease, or not."""
    seen = 0
    for i in range(true_nodules):
        if rng.uniform(seed, pid, rng.STAGING_LUNG, i) < T[T_CT_SENS]:
            seen += 1
    bone_seen = (true_met == EXTRAPULMONARY or true_met == MULTISYSTEM) and \
        rng.uniform(seed, pid, rng.STAGING_BONE, 0) < T[T_PET_SENS]
    bilateral = seen >= 2 and rng.uniform(seed, pid, rng.BILATERAL, 0) < T[T_BILATERAL]
    if seen > 0 and bone_seen:
        staged = MULTISYSTEM
    elif seen > 0:
        staged = LUNG
    elif bone_seen:
        staged = EXTRAPULMONARY
    else:
        staged = NONE
    return staged, seen, bilateral


@nb.njit(cache=True)
def apply_staging(state, day, true_met, staged, T, params):
    """Overt metastases that staging found are overt; lesions staging missed stay occult, below detection."""
    state = k.advance(state, day, params)
    if true_met != NONE and staged != NONE:
        return k.with_overt(state, T[T_OVERT_DX])
    if true_met != NONE:
        return k.fold_invisible_overt(k.with_overt(state, params[k.P_DETECT] - T[T_MISSED_BELOW]), day, params)
    return state


@nb.njit(cache=True)
def restage(state, day, staged, T, params):
    """Imaging before surgery: (state, progression?, day the new disease became visible).

    New lesions in a patient staged with lung metastases are more lung nodules, taken to surgery
    with the known ones (parameters.md §3c, Bacci 2008: after neoadjuvant chemotherapy 81% of
    patients with lung metastases had them resected, 10% were unresectable); what they leave
    below imaging follows the staging rule for missed lesions. In anyone else they are progression.
    """
    state = k.advance(state, day, params)
    since = k.occult_visible_since(state, params)
    if since > day:
        return state, False, np.inf
    if staged == LUNG:
        return k.absorb_visible_occult(state, params[k.P_DETECT] - T[T_MISSED_BELOW]), False, np.inf
    return state, True, since


@nb.njit(cache=True)
def course_plan(seed, pid, index, stay, is_mtx, T):
    """(toxicity delay in days, dose intensity, length of stay) of chemotherapy course `index`."""
    delay = T[T_TOX_DAYS] if rng.bernoulli(seed, pid, rng.TOXICITY_DELAY, index, T[T_TOX_P]) else 0.0
    intensity = T[T_REDUCED] if rng.bernoulli(seed, pid, rng.DOSE_REDUCTION, index, T[T_DOSE_P]) else 1.0
    if is_mtx and rng.bernoulli(seed, pid, rng.MTX_CLEARANCE, index, T[T_MTX_P]):
        stay = stay + T[T_MTX_EXTRA]
    return delay, intensity, stay


@nb.njit(cache=True)
def dies_of_course(seed, pid, index, T):
    return rng.bernoulli(seed, pid, rng.TREATMENT_DEATH, index, T[T_TRM])


@nb.njit(cache=True)
def dies_of_operation(seed, pid, operation, T):
    return rng.bernoulli(seed, pid, rng.TREATMENT_DEATH, OPERATION_BASE + operation, T[T_PERIOP])


@nb.njit(cache=True)
def primary_resectable(seed, pid, axial, T):
    return (not axial) or rng.bernoulli(seed, pid, rng.RESECTABLE, 0, T[T_AXIAL_RESECTABLE])


@nb.njit(cache=True)
def amputation(seed, pid, T):
    return not rng.bernoulli(seed, pid, rng.SURGERY_TYPE, 0, T[T_LIMB_SALVAGE])


@nb.njit(cache=True)
def metastases_resectable(seed, pid, staged, T):
    p = T[T_CSR_LUNG] if staged == LUNG else T[T_CSR_EXTRA] if staged == EXTRAPULMONARY else T[T_CSR_MULTI]
    return rng.bernoulli(seed, pid, rng.RESECTABLE, 1, p)


@nb.njit(cache=True)
def radiotherapy_controls(seed, pid, params):
    return rng.bernoulli(seed, pid, rng.RT_CONTROL, 0, params[k.P_RT_CONTROL])


@nb.njit(cache=True)
def relapse_site(seed, pid, cdf):
    return rng.categorical(seed, pid, rng.RELAPSE_SITE, 0, cdf)


@nb.njit(cache=True)
def second_remission(seed, pid, site, staged, log10_past_detection, T, cr2_by_site):
    """CR2 by relapse site, less likely for patients metastatic at diagnosis and (a scenario
    assumption, factor 1 by default) for relapses that grew further past CT's threshold before
    they were found."""
    p = cr2_by_site[site] * (T[T_CR2_FACTOR] if staged != NONE else 1.0)
    p *= T[T_CR2_BURDEN_FACTOR] ** log10_past_detection
    return rng.bernoulli(seed, pid, rng.CR2, 0, p)


@nb.njit(cache=True)
def followup_imaging_sees_from(crossing, state, T):
    """The first day chest imaging at a follow-up visit finds the relapse: once it has grown past
    what the arm's modality sees (CT: the detection threshold; X-ray: T_SURVEILLANCE_BLIND log10 more)."""
    return crossing + T[T_SURVEILLANCE_BLIND] / state[k.GROWTH]


@nb.njit(cache=True)
def followup_visit_days(start, until_years, intervals):
    """Planned clinic days after the end of treatment: each band's interval until its end year."""
    n = 0
    day = start
    for b in range(until_years.shape[0]):
        end = start + until_years[b] * 365.25
        while day + intervals[b] <= end + 1e-9:
            day += intervals[b]
            n += 1
    out = np.empty(n)
    day = start
    i = 0
    for b in range(until_years.shape[0]):
        end = start + until_years[b] * 365.25
        while day + intervals[b] <= end + 1e-9:
            day += intervals[b]
            out[i] = day
            i += 1
    return out




@nb.njit(cache=True)
def good_response(state, seed, pid, params):
    """Histologic response at surgery (< 10% viable tumour)."""
    return k.good_histologic_response(state, rng.normal(seed, pid, rng.RESPONSE_NOISE, 0), params)
