"""The stages of care, one short SimPy generator each, in the words of the protocol.

Numbers come from the packed protocol (`osteosim.model.protocol`); decisions from
`pathway.decisions` and biology from `disease.kernels`, both keyed by (seed, patient,
purpose, index) and shared with the cohort engine. The disease is asked only at stage
boundaries with the realised timing, so time spent waiting lets it grow.
"""
from __future__ import annotations

import numpy as np
import simpy

from osteosim.model import disease as k
from osteosim.model import decisions as dec
from osteosim.engines.des.resources import use
from osteosim.model.protocol import (PROGRESSION, SITE_CODES, T_ADJUVANT, T_BIOPSY, T_DX_TO_CHEMO, T_IE_STAY, T_IMAGING,
                               T_MET_SESSION, T_NEOADJUVANT, T_RELAPSE_SURGERY, T_RT_DAYS, T_SECOND_LINE_INTERVAL,
                               T_SECOND_LINE_N, T_SURG_SESSION, T_SURG_TO_ADJ, T_SURG_TO_MET, T_SURGERY_WEEK, T_CLINIC)

NEOADJUVANT, ADJUVANT = "neoadjuvant", "adjuvant"
LUNG_SITES = (SITE_CODES.index("lung"), SITE_CODES.index("multiple"))


class TreatmentDeath(Exception):
    """The patient died of treatment; the pathway stops here."""


def patient_life(run, pid: int):
    """Referral to the end of follow-up; deaths from other causes or the disease interrupt it."""
    env = run.env
    yield env.timeout(run.cohort.arrival_day[pid] - env.now)
    run.events.add(pid, env.now, "referral", "diagnosis")
    try:
        yield from diagnosis(run, pid)
        run.watch_death(pid, env.now + k.other_cause_death_days(run.cohort.age_years[pid], run.seed, pid, run.params),
                        "other")
        progressed = yield from first_line(run, pid)
        if not progressed:
            yield from survivorship(run, pid)
        if run.rec.relapse_site[pid] >= 0:
            yield from relapse_care(run, pid)
    except TreatmentDeath:
        run.record_death(pid, env.now, "treatment")
    except simpy.Interrupt:
        pass  # death already recorded by the watcher that interrupted


# ------------------------------------------------------------------ diagnosis
def diagnosis(run, pid: int):
    """Staging imaging, biopsy, pathology; CT and PET may miss small metastases."""
    T = run.T
    yield from use(run.env, run.resources["imaging"], T[T_IMAGING], patient=pid, stage="diagnosis", events=run.events)
    yield from use(run.env, run.resources["biopsy"], T[T_BIOPSY], patient=pid, stage="diagnosis", events=run.events)
    yield from use(run.env, run.resources["pathology"], dec.pathology_days(run.seed, pid, T), patient=pid,
                   stage="diagnosis", events=run.events)
    co, rec = run.cohort, run.rec
    staged, seen, bilateral = dec.staging(run.seed, pid, co.true_met[pid], co.true_nodules[pid], T)
    rec.met_status[pid], rec.n_lung_nodules[pid], rec.bilateral[pid] = staged, seen, bilateral
    run.states[pid] = dec.apply_staging(run.states[pid], run.env.now, co.true_met[pid], staged, T, run.params)
    rec.diagnosis_day[pid] = run.env.now
    run.events.add(pid, run.env.now, "diagnosis", "diagnosis", detail=run.met_name(pid))


# ------------------------------------------------------------------ first-line treatment
def first_line(run, pid: int):
    """Neoadjuvant MAP, local control, adjuvant MAP, radiotherapy; returns True on progression."""
    T, p = run.T, run.protocol
    start = run.env.now + T[T_DX_TO_CHEMO]
    surgery_planned = start
    if T[T_NEOADJUVANT]:
        shift = yield from chemotherapy(run, pid, p.neo_week, p.neo_weight, p.neo_stay, p.neo_mtx, start,
                                        NEOADJUVANT, index0=0)
        surgery_planned = start + 7.0 * (T[T_SURGERY_WEEK] - p.neo_week[0]) + shift
    yield run.env.timeout(max(0.0, surgery_planned - run.env.now))
    if restaging_shows_progression(run, pid, "surgery"):
        return True
    needs_rt = yield from local_control(run, pid)
    adjuvant_anchor = run.env.now + T[T_SURG_TO_ADJ]
    start_arm_visits(run, pid, "adjuvant", adjuvant_anchor)
    if T[T_ADJUVANT]:
        yield from chemotherapy(run, pid, p.adj_week, p.adj_weight, p.adj_stay, p.adj_mtx, adjuvant_anchor,
                                ADJUVANT, index0=len(p.neo_week))
    if needs_rt:
        yield from radiotherapy(run, pid)
    run.rec.end_of_treatment_day[pid] = run.env.now
    run.events.add(pid, run.env.now, "end_of_treatment", "adjuvant")
    run.states[pid], run.relapse_detect_day[pid] = k.end_of_treatment_outcome(run.states[pid], run.env.now, run.seed,
                                                                              pid, run.params)
    if run.relapse_detect_day[pid] <= run.env.now:
        declare_relapse(run, pid, PROGRESSION, "adjuvant")
        return True
    start_arm_visits(run, pid, "maintenance", run.env.now)
    return False


def chemotherapy(run, pid: int, weeks, weights, stays, mtx, anchor: float, stage: str, index0: int):
    """Give the courses week by week; bed waits and toxicity push the rest of the block back.

    Returns the delay of the last course against its protocol day.
    """
    rec, shift = run.rec, 0.0
    first_day = rec.chemo_start_day if stage == NEOADJUVANT else rec.adjuvant_start_day
    for i in range(len(weeks)):
        index = index0 + i
        protocol_day = anchor + 7.0 * (weeks[i] - weeks[0])
        yield run.env.timeout(max(0.0, protocol_day + shift - run.env.now))
        delay, intensity, stay = dec.course_plan(run.seed, pid, index, stays[i], mtx[i], run.T)
        if delay > 0.0:
            run.events.add(pid, run.env.now, "toxicity_delay", stage)
            yield run.env.timeout(delay)

        def give(day, weight=weights[i], intensity=intensity, first=(i == 0)):
            if first:
                first_day[pid] = day
            run.states[pid] = k.chemotherapy_course(run.states[pid], day, weight, intensity, stage == NEOADJUVANT,
                                                    run.params)

        yield from use(run.env, run.resources["chemo_bed"], stay, patient=pid, stage=stage, events=run.events,
                       on_start=give)
        shift = run.env.now - stay - protocol_day
        if dec.dies_of_course(run.seed, pid, index, run.T):
            raise TreatmentDeath
    return shift


def restaging_shows_progression(run, pid: int, stage: str) -> bool:
    """Imaging before surgery (decisions.restage): new disease may be progression."""
    run.states[pid], progressed, visible_since = dec.restage(run.states[pid], run.env.now, run.rec.met_status[pid],
                                                             run.T, run.params)
    if progressed:
        run.relapse_detect_day[pid] = visible_since
        declare_relapse(run, pid, PROGRESSION, stage)
        return True
    return False


def local_control(run, pid: int):
    """Resect the primary and the metastases still visible; returns whether radiotherapy is needed."""
    rec, T = run.rec, run.T
    needs_rt = False
    resectable = dec.primary_resectable(run.seed, pid, run.cohort.axial[pid], T)
    if resectable:
        def operate(day):
            rec.surgery_day[pid] = day
        yield from use(run.env, run.resources["theatre_ortho"], T[T_SURG_SESSION], patient=pid, stage="surgery",
                       events=run.events, on_start=operate)
        amputated = dec.amputation(run.seed, pid, T)
        run.events.add(pid, run.env.now, "resection", "surgery", detail="amputation" if amputated else "limb_salvage")
        if dec.dies_of_operation(run.seed, pid, 0, T):
            raise TreatmentDeath
        if T[T_NEOADJUVANT]:
            good = dec.good_response(run.states[pid], run.seed, pid, run.params)
            rec.good_response[pid] = float(good)
            run.events.add(pid, run.env.now, "histologic_response", "surgery", detail="good" if good else "poor")
    else:
        needs_rt = True
    metastases_cleared = True
    if rec.met_status[pid] != dec.NONE:
        metastases_cleared, rt_for_mets = yield from metastasectomy(run, pid)
        needs_rt = needs_rt or rt_for_mets
    rec.csr[pid] = resectable and metastases_cleared
    return needs_rt


def metastasectomy(run, pid: int):
    """Resect metastases still visible after chemotherapy; returns (cleared, radiotherapy needed)."""
    rec, T = run.rec, run.T
    run.states[pid], visible = k.overt_disease_visible(run.states[pid], run.env.now, run.params)
    if not visible:
        run.states[pid] = k.fold_invisible_overt(run.states[pid], run.env.now, run.params)
        run.events.add(pid, run.env.now, "metastases_not_visible", "metastasectomy")
        return True, False
    staged = rec.met_status[pid]
    if not dec.metastases_resectable(run.seed, pid, staged, T):
        run.events.add(pid, run.env.now, "metastases_unresectable", "metastasectomy", detail=run.met_name(pid))
        return False, staged in (dec.EXTRAPULMONARY, dec.MULTISYSTEM)
    yield run.env.timeout(T[T_SURG_TO_MET])
    theatre = "theatre_ortho" if staged == dec.EXTRAPULMONARY else "theatre_thoracic"

    def operate(day):
        rec.metastasectomy_day[pid] = day
        run.states[pid] = k.clear_overt(run.states[pid], day, run.params)

    yield from use(run.env, run.resources[theatre], T[T_MET_SESSION], patient=pid, stage="metastasectomy",
                   events=run.events, on_start=operate)
    if dec.dies_of_operation(run.seed, pid, 1, T):
        raise TreatmentDeath
    return True, False


def radiotherapy(run, pid: int):
    """A fractionated course for sites surgery could not clear; it controls them or not."""
    def begin(day):
        run.rec.rt_start_day[pid] = day

    yield from use(run.env, run.resources["radiotherapy"], run.T[T_RT_DAYS], patient=pid, stage="radiotherapy",
                   events=run.events, on_start=begin)
    if dec.radiotherapy_controls(run.seed, pid, run.params):
        run.states[pid] = k.clear_overt(run.states[pid], run.env.now, run.params)
        run.events.add(pid, run.env.now, "local_control", "radiotherapy")


# ------------------------------------------------------------------ after first-line treatment
def survivorship(run, pid: int):
    """Clinic visits with chest imaging on the schedule; relapse is found at a visit or by symptoms."""
    env, p = run.env, run.protocol
    detect = run.relapse_detect_day[pid]
    symptoms = k.symptom_day(detect, run.states[pid], run.params) if detect < np.inf else np.inf
    imaging_sees = dec.followup_imaging_sees_from(detect, run.states[pid], run.T)
    for visit in dec.followup_visit_days(run.rec.end_of_treatment_day[pid], p.followup_until_years,
                                         p.followup_interval_days):
        if min(visit, symptoms) >= run.horizon:
            return
        if symptoms <= visit:
            yield env.timeout(max(0.0, symptoms - env.now))
            run.events.add(pid, env.now, "symptoms", "followup")
            declare_relapse(run, pid, dec.relapse_site(run.seed, pid, p.relapse_site_cdf), "followup")
            return
        yield env.timeout(max(0.0, visit - env.now))
        found = []
        yield from use(env, run.resources["followup_clinic"], run.T[T_CLINIC], patient=pid, stage="followup",
                       events=run.events, on_start=lambda day: found.append(day >= imaging_sees))
        if found[0]:
            declare_relapse(run, pid, dec.relapse_site(run.seed, pid, p.relapse_site_cdf), "followup")
            return


def declare_relapse(run, pid: int, site: int, stage: str) -> None:
    run.rec.relapse_day[pid] = run.env.now
    run.rec.relapse_site[pid] = site
    run.events.add(pid, run.env.now, "progression" if site == PROGRESSION else "relapse", stage,
                   detail=SITE_CODES[site])
    start_arm_visits(run, pid, "relapse", run.env.now)


# ------------------------------------------------------------------ what an arm adds
def start_arm_visits(run, pid: int, phase: str, start: float) -> None:
    """The arm's appointments of this phase (infusions, admissions) run beside the pathway."""
    for spec in run.cfg.arm.visits:
        if spec.phase == phase and not (spec.poor_responders_only and run.rec.good_response[pid] != 0.0):
            run.start(pid, arm_visit_series(run, pid, spec, start))


def arm_visit_series(run, pid: int, spec, start: float):
    """`count` visits every `interval_days` from `start + start_after_days`, each holding `resource`."""
    env = run.env
    try:
        for k in range(spec.count):
            day = start + spec.start_after_days + k * spec.interval_days
            if day >= run.horizon:
                return
            yield env.timeout(max(0.0, day - env.now))
            yield from use(env, run.resources[spec.resource], spec.days, patient=pid, stage="arm", events=run.events)
    except simpy.Interrupt:
        return  # the patient died


def relapse_care(run, pid: int):
    """Second-line surgery when a second remission is possible, second-line chemotherapy; then the disease decides."""
    rec, env, T = run.rec, run.env, run.T
    site, crossing, state = rec.relapse_site[pid], run.relapse_detect_day[pid], run.states[pid]
    grown = k.log10_past_detection(env.now, crossing, state, run.params)
    cr2 = dec.second_remission(run.seed, pid, site, rec.met_status[pid], grown, T, run.protocol.cr2_by_site)
    rec.cr2[pid] = float(cr2)
    clock = k.post_relapse_clock_start(env.now, crossing, state, run.params)
    since_diagnosis = clock - rec.diagnosis_day[pid]   # not the day found: imaging must not change prognosis
    run.watch_death(pid, clock + k.post_relapse_survival_days(cr2, since_diagnosis, run.seed, pid, run.params),
                    "osteosarcoma")
    if cr2:
        yield env.timeout(T[T_RELAPSE_SURGERY])
        theatre = "theatre_thoracic" if site in LUNG_SITES else "theatre_ortho"
        yield from use(env, run.resources[theatre], T[T_MET_SESSION], patient=pid, stage="relapse", events=run.events)
        run.events.add(pid, env.now, "second_remission", "relapse", detail=SITE_CODES[site])
    for course in range(int(T[T_SECOND_LINE_N])):
        if course:
            yield env.timeout(T[T_SECOND_LINE_INTERVAL])
        yield from use(env, run.resources["chemo_bed"], T[T_IE_STAY], patient=pid, stage="relapse", events=run.events)
        if dec.dies_of_course(run.seed, pid, dec.SECOND_LINE_COURSE_BASE + course, T):
            raise TreatmentDeath
