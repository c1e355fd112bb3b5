"""The pathway's keyed decisions, as Numba functions both engines call.

Each answers one clinical question for one patient (is this course delayed, what did staging
see, can the metastases be resected, ...), from the packed protocol (`osteosim.model.protocol`) and
keyed draws. The compiled pathway (`model.pathway`) calls them, whichever engine drives it, so both
engines make the same decisions for the same key.
"""
from __future__ import annotations

import numba as nb
import numpy as np

from osteosim.model import rng
from osteosim.model import disease as k
from osteosim.model.codes import MET


@nb.njit(cache=True)
def pathology_days(seed, pid, T):
    return rng.lognormal(seed, pid, rng.PURPOSE.service_time, 0, T.path_median, T.path_sigma)


@nb.njit(cache=True)
def staging(seed, pid, true_met, true_nodules, T):
    """(staged pattern, nodules seen on CT, bilateral): CT sees each nodule, PET bone disease, or not.

    Each nodule lies in either lung with even chances (ASSUMPTION: seeding does not favour a
    side), so bilateral disease is what more nodules look like: laterality carries prognosis
    through the burden it goes with (and through the second thoracotomy, `metastases_resectable`).
    """
    seen = left = right = 0
    for i in range(true_nodules):
        if rng.uniform(seed, pid, rng.PURPOSE.staging_lung, i) < T.ct_sens:
            seen += 1
            if rng.uniform(seed, pid, rng.PURPOSE.nodule_side, i) < 0.5:
                left += 1
            else:
                right += 1
    bone_seen = (true_met == MET.extrapulmonary or true_met == MET.multisystem) and \
        rng.uniform(seed, pid, rng.PURPOSE.staging_bone, 0) < T.pet_sens
    bilateral = left > 0 and right > 0
    if seen > 0 and bone_seen:
        staged = MET.multisystem
    elif seen > 0:
        staged = MET.lung
    elif bone_seen:
        staged = MET.extrapulmonary
    else:
        staged = MET.none
    return staged, seen, bilateral


@nb.njit(cache=True)
def apply_staging(state, day, true_met, staged, seen, T, params):
    """Overt metastases that staging found are overt (each lesion seen adds one lesion's burden);
    lesions staging missed stay occult, below detection."""
    state = k.advance(state, day, params)
    if true_met != MET.none and staged != MET.none:
        lesions = seen + (1 if staged == MET.extrapulmonary or staged == MET.multisystem else 0)
        return k.with_overt(state, T.overt_dx + np.log10(max(1, lesions)))
    if true_met != MET.none:
        return k.fold_invisible_overt(k.with_overt(state, params.detect - T.missed_below), day, params)
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
    if staged == MET.lung:
        return k.absorb_visible_occult(state, params.detect - T.missed_below), False, np.inf
    return state, True, since


@nb.njit(cache=True)
def course_plan(seed, pid, index, stay, is_mtx, T):
    """(toxicity delay in days, dose intensity, length of stay) of chemotherapy course `index`."""
    delay = T.tox_days if rng.bernoulli(seed, pid, rng.PURPOSE.toxicity_delay, index, T.tox_p) else 0.0
    intensity = T.reduced if rng.bernoulli(seed, pid, rng.PURPOSE.dose_reduction, index, T.dose_p) else 1.0
    if is_mtx and rng.bernoulli(seed, pid, rng.PURPOSE.mtx_clearance, index, T.mtx_p):
        stay = stay + T.mtx_extra
    return delay, intensity, stay


@nb.njit(cache=True)
def dies_of_course(seed, pid, index, T):
    """Death from first-line chemotherapy course `index`."""
    return rng.bernoulli(seed, pid, rng.PURPOSE.treatment_death, index, T.trm)


@nb.njit(cache=True)
def dies_of_second_line_course(seed, pid, course, T):
    """Death during second-line course `course` (a purpose of its own: no first-line course shares its draw)."""
    return rng.bernoulli(seed, pid, rng.PURPOSE.second_line_death, course, T.trm)


@nb.njit(cache=True)
def dies_of_operation(seed, pid, operation, T):
    return rng.bernoulli(seed, pid, rng.PURPOSE.operation_death, operation, T.periop)


@nb.njit(cache=True)
def primary_resectable(seed, pid, axial, T):
    return (not axial) or rng.bernoulli(seed, pid, rng.PURPOSE.resectable, 0, T.axial_resectable)


@nb.njit(cache=True)
def amputation(seed, pid, T):
    return not rng.bernoulli(seed, pid, rng.PURPOSE.surgery_type, 0, T.limb_salvage)


@nb.njit(cache=True)
def metastases_resectable(seed, pid, staged, nodules, bilateral, T):
    """Complete surgical remission of the metastases still visible: every lung nodule must come out
    (each with the per-nodule chance; both lungs need two thoracotomies), with bone disease by pattern."""
    if staged == MET.lung:
        p = T.csr_lung ** nodules * (T.csr_bilateral if bilateral else 1.0)
    else:
        p = T.csr_extra if staged == MET.extrapulmonary else T.csr_multi
    return rng.bernoulli(seed, pid, rng.PURPOSE.resectable, 1, p)


@nb.njit(cache=True)
def radiotherapy_controls(seed, pid, params):
    return rng.bernoulli(seed, pid, rng.PURPOSE.rt_control, 0, params.rt_control)


@nb.njit(cache=True)
def relapse_site(seed, pid, relapse, cdf):
    """Where relapse number `relapse` (0: the first) shows."""
    return rng.categorical(seed, pid, rng.PURPOSE.relapse_site, relapse, cdf)


@nb.njit(cache=True)
def second_remission(seed, pid, relapse, site, staged, log10_past_detection, T, cr2_by_site):
    """A surgical remission of relapse number `relapse` (0: the first, CR2), by relapse site, less
    likely for patients metastatic at diagnosis and (a scenario assumption, factor 1 by default)
    for relapses that grew further past CT's threshold before they were found. Later relapses
    follow the same rule (ASSUMPTION: no evidence on third remissions)."""
    p = cr2_by_site[site] * (T.cr2_factor if staged != MET.none else 1.0)
    p *= T.cr2_burden_factor ** log10_past_detection
    return rng.bernoulli(seed, pid, rng.PURPOSE.cr2, relapse, p)


@nb.njit(cache=True)
def complete_response(seed, pid, relapse, params):
    """The arm's relapse therapy clears disease surgery could not (its named response; 0 by default)."""
    return rng.bernoulli(seed, pid, rng.PURPOSE.complete_response, relapse, params.complete_response)


@nb.njit(cache=True)
def another_line(seed, pid, line, params):
    """After progression on line `line`, another line of treatment, or palliative care alone."""
    return rng.bernoulli(seed, pid, rng.PURPOSE.further_line, line, params.further_line)


@nb.njit(cache=True)
def followup_imaging_sees_from(crossing, state, T):
    """The first day chest imaging at a follow-up visit finds the relapse: once it has grown past
    what the arm's modality sees (CT: the detection threshold; X-ray: T_SURVEILLANCE_BLIND log10 more)."""
    return crossing + T.surveillance_blind / state.growth


@nb.njit(cache=True)
def good_response(state, seed, pid, params):
    """Histologic response at surgery (< 10% viable tumour)."""
    return k.good_histologic_response(state, rng.normal(seed, pid, rng.PURPOSE.response_noise, 0), params)
