"""The stages of care, one short SimPy generator each, in the words of the protocol.

Numbers come from the configuration; biology comes from the kernels (`disease.kernels`),
called only at stage boundaries with the realised timing, so time spent waiting lets the
disease grow. Every draw is keyed by (seed, patient, purpose, index).
"""
from __future__ import annotations

import numpy as np
import simpy

from osteosim import rng
from osteosim.cohort import EXTRAPULMONARY, LUNG, MULTISYSTEM, NONE
from osteosim.disease import kernels as k
from osteosim.pathway.resources import use

SECOND_LINE_COURSE_BASE = 100   # keyed-draw index of second-line courses
NEOADJUVANT, ADJUVANT = "neoadjuvant", "adjuvant"


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
        if not np.isnan(run.rec.relapse_day[pid]):
            yield from relapse_care(run, pid)
    except TreatmentDeath:
        run.record_death(pid, env.now, "treatment")
    except simpy.Interrupt:
        pass  # death already recorded by the watcher that interrupted


# ------------------------------------------------------------------ diagnosis
def diagnosis(run, pid: int):
    """Staging imaging, biopsy, pathology; CT and PET may miss small metastases."""
    t = run.cfg.treatment
    yield from use(run.env, run.resources["imaging"], t.imaging_days, patient=pid, stage="diagnosis",
                   events=run.events)
    yield from use(run.env, run.resources["biopsy"], t.biopsy_days, patient=pid, stage="diagnosis",
                   events=run.events)
    turnaround = rng.lognormal(run.seed, pid, rng.SERVICE_TIME, 0, t.pathology_days_median, t.pathology_days_sigma)
    yield from use(run.env, run.resources["pathology"], turnaround, patient=pid, stage="diagnosis",
                   events=run.events)
    stage_disease(run, pid)
    run.rec.diagnosis_day[pid] = run.env.now
    run.events.add(pid, run.env.now, "diagnosis", "diagnosis", detail=run.met_name(pid))


def stage_disease(run, pid: int) -> None:
    """What staging sees: each lung nodule on CT, bone disease on PET; missed disease stays occult."""
    d, co, rec = run.cfg.disease, run.cohort, run.rec
    true = co.true_met[pid]
    seen = sum(rng.uniform(run.seed, pid, rng.STAGING_LUNG, i) < d.ct_nodule_sensitivity
               for i in range(co.true_nodules[pid]))
    bone_seen = true in (EXTRAPULMONARY, MULTISYSTEM) and rng.uniform(run.seed, pid, rng.STAGING_BONE, 0) < d.pet_bone_sensitivity
    rec.n_lung_nodules[pid] = seen
    rec.bilateral[pid] = seen >= 2 and rng.uniform(run.seed, pid, rng.BILATERAL, 0) < run.cfg.cohort.bilateral_fraction
    if seen and bone_seen:
        rec.met_status[pid] = MULTISYSTEM
    elif seen:
        rec.met_status[pid] = LUNG
    elif bone_seen:
        rec.met_status[pid] = EXTRAPULMONARY
    else:
        rec.met_status[pid] = NONE
    state = run.states[pid]
    k.advance(state, run.env.now, run.params)
    if true != NONE and rec.met_status[pid] != NONE:
        state[k.OVERT] = d.overt_log10_at_diagnosis
    elif true != NONE:  # every lesion was missed: below imaging, one log under detection
        state[k.OVERT] = d.detect_log10 - 1.0
        k.fold_invisible_overt(state, run.env.now, run.params)


# ------------------------------------------------------------------ first-line treatment
def first_line(run, pid: int):
    """Neoadjuvant MAP, local control, adjuvant MAP, radiotherapy; returns True on progression."""
    arm, t, rec = run.cfg.arm, run.cfg.treatment, run.rec
    start = run.env.now + t.diagnosis_to_chemo_days
    surgery_planned = start
    if arm.neoadjuvant_chemotherapy:
        shift = yield from chemotherapy(run, pid, t.neoadjuvant, start, NEOADJUVANT, index0=0)
        surgery_planned = start + 7.0 * (t.surgery_week - t.neoadjuvant[0].week) + shift
    yield run.env.timeout(max(0.0, surgery_planned - run.env.now))
    if restaging_shows_progression(run, pid, "surgery"):
        return True
    needs_rt = yield from local_control(run, pid)
    if arm.adjuvant_chemotherapy:
        resume = run.env.now + t.surgery_to_adjuvant_days
        yield from chemotherapy(run, pid, t.adjuvant, resume, ADJUVANT, index0=len(t.neoadjuvant))
    if needs_rt:
        yield from radiotherapy(run, pid)
    rec.end_of_treatment_day[pid] = run.env.now
    run.events.add(pid, run.env.now, "end_of_treatment", "adjuvant")
    run.relapse_detect_day[pid] = k.end_of_treatment_outcome(run.states[pid], run.env.now, run.seed, pid, run.params)
    if run.relapse_detect_day[pid] <= run.env.now:
        declare_relapse(run, pid, "progression", "adjuvant")
        return True
    return False


def chemotherapy(run, pid: int, courses, anchor: float, stage: str, index0: int):
    """Give the courses week by week; bed waits and toxicity push the rest of the block back.

    Returns the delay of the last course against its protocol day.
    """
    t, rec = run.cfg.treatment, run.rec
    shift = 0.0
    for i, course in enumerate(courses):
        index = index0 + i
        protocol_day = anchor + 7.0 * (course.week - courses[0].week)
        yield run.env.timeout(max(0.0, protocol_day + shift - run.env.now))
        if rng.bernoulli(run.seed, pid, rng.TOXICITY_DELAY, index, t.toxicity_delay):
            run.events.add(pid, run.env.now, "toxicity_delay", stage, detail=course.drug)
            yield run.env.timeout(t.toxicity_delay_days)
        intensity = t.reduced_dose_intensity if rng.bernoulli(run.seed, pid, rng.DOSE_REDUCTION, index, t.dose_reduction) else 1.0
        stay = t.length_of_stay_days[course.drug]
        if course.drug == "M" and rng.bernoulli(run.seed, pid, rng.MTX_CLEARANCE, index, t.mtx_delayed_clearance):
            stay += t.mtx_delayed_clearance_extra_days

        def give(day, course=course, intensity=intensity, first=(i == 0)):
            if first:
                column = rec.chemo_start_day if stage == NEOADJUVANT else rec.adjuvant_start_day
                column[pid] = day
            k.chemotherapy_course(run.states[pid], day, t.course_kill_weight[course.drug], intensity,
                                  stage == NEOADJUVANT, run.params)

        yield from use(run.env, run.resources["chemo_bed"], stay, patient=pid, stage=stage, events=run.events,
                       on_start=give)
        shift = run.env.now - stay - protocol_day
        if rng.bernoulli(run.seed, pid, rng.TREATMENT_DEATH, index, run.cfg.disease.treatment_death_per_course):
            raise TreatmentDeath
    return shift


def restaging_shows_progression(run, pid: int, stage: str) -> bool:
    """Imaging before surgery: new disease that became visible during chemotherapy is progression."""
    state = run.states[pid]
    k.advance(state, run.env.now, run.params)
    if state[k.DETECT_DAY] <= run.env.now:
        run.relapse_detect_day[pid] = state[k.DETECT_DAY]
        declare_relapse(run, pid, "progression", stage)
        return True
    return False


def local_control(run, pid: int):
    """Resect the primary and the metastases still visible; returns whether radiotherapy is needed."""
    d, t, rec, state = run.cfg.disease, run.cfg.treatment, run.rec, run.states[pid]
    needs_rt = False
    primary_resectable = (not run.cohort.axial[pid]) or rng.bernoulli(run.seed, pid, rng.RESECTABLE, 0, d.axial_primary_resectable)
    if primary_resectable:
        def operate(day):
            rec.surgery_day[pid] = day
        yield from use(run.env, run.resources["theatre_ortho"], t.surgery_session_days, patient=pid, stage="surgery",
                       events=run.events, on_start=operate)
        amputation = not rng.bernoulli(run.seed, pid, rng.SURGERY_TYPE, 0, t.limb_salvage)
        run.events.add(pid, run.env.now, "resection", "surgery", detail="amputation" if amputation else "limb_salvage")
        perioperative_death(run, pid, 0)
        if run.cfg.arm.neoadjuvant_chemotherapy:
            good = k.good_histologic_response(state, rng.normal(run.seed, pid, rng.RESPONSE_NOISE, 0), run.params)
            rec.good_response[pid] = float(good)
            run.events.add(pid, run.env.now, "histologic_response", "surgery", detail="good" if good else "poor")
    else:
        needs_rt = True
    metastases_cleared = True
    if rec.met_status[pid] != NONE:
        metastases_cleared, rt_for_mets = yield from metastasectomy(run, pid)
        needs_rt = needs_rt or rt_for_mets
    rec.csr[pid] = primary_resectable and metastases_cleared
    return needs_rt


def metastasectomy(run, pid: int):
    """Resect metastases still visible after chemotherapy; returns (cleared, radiotherapy needed)."""
    d, t, rec, state = run.cfg.disease, run.cfg.treatment, run.rec, run.states[pid]
    if not k.overt_disease_visible(state, run.env.now, run.params):
        k.fold_invisible_overt(state, run.env.now, run.params)
        run.events.add(pid, run.env.now, "metastases_not_visible", "metastasectomy")
        return True, False
    status = rec.met_status[pid]
    name = run.met_name(pid)
    if not rng.bernoulli(run.seed, pid, rng.RESECTABLE, 1, d.csr_probability[name]):
        run.events.add(pid, run.env.now, "metastases_unresectable", "metastasectomy", detail=name)
        return False, status in (EXTRAPULMONARY, MULTISYSTEM)
    yield run.env.timeout(t.surgery_to_metastasectomy_days)
    theatre = "theatre_ortho" if status == EXTRAPULMONARY else "theatre_thoracic"

    def operate(day):
        rec.metastasectomy_day[pid] = day
        k.clear_overt(state, day, run.params)

    yield from use(run.env, run.resources[theatre], t.metastasectomy_session_days, patient=pid,
                   stage="metastasectomy", events=run.events, on_start=operate)
    perioperative_death(run, pid, 1)
    return True, False


def perioperative_death(run, pid: int, operation: int) -> None:
    if rng.bernoulli(run.seed, pid, rng.TREATMENT_DEATH, 50 + operation, run.cfg.disease.perioperative_death):
        raise TreatmentDeath


def radiotherapy(run, pid: int):
    """A fractionated course for sites surgery could not clear; it controls them or not."""
    t, rec, state = run.cfg.treatment, run.rec, run.states[pid]
    days = 7.0 * t.rt_fractions / t.rt_fractions_per_week

    def begin(day):
        rec.rt_start_day[pid] = day

    yield from use(run.env, run.resources["radiotherapy"], days, patient=pid, stage="radiotherapy",
                   events=run.events, on_start=begin)
    if rng.bernoulli(run.seed, pid, rng.RT_CONTROL, 0, run.cfg.disease.rt_local_control):
        k.clear_overt(state, run.env.now, run.params)
        run.events.add(pid, run.env.now, "local_control", "radiotherapy")


# ------------------------------------------------------------------ after first-line treatment
def survivorship(run, pid: int):
    """Clinic visits with chest imaging on the schedule; relapse is found at a visit or by symptoms."""
    t, env = run.cfg.treatment, run.env
    detect = run.relapse_detect_day[pid]
    symptoms = k.symptom_day(detect, run.states[pid], run.params) if detect < np.inf else np.inf
    for visit in followup_visits(run.rec.end_of_treatment_day[pid], t.followup_schedule):
        if min(visit, symptoms) >= run.horizon:
            return
        if symptoms <= visit:
            yield env.timeout(max(0.0, symptoms - env.now))
            run.events.add(pid, env.now, "symptoms", "followup")
            declare_relapse(run, pid, draw_relapse_site(run, pid), "followup")
            return
        yield env.timeout(max(0.0, visit - env.now))
        found = []
        yield from use(env, run.resources["followup_clinic"], t.clinic_visit_days, patient=pid, stage="followup",
                       events=run.events, on_start=lambda day: found.append(day >= detect))
        if found[0]:
            declare_relapse(run, pid, draw_relapse_site(run, pid), "followup")
            return


def followup_visits(start: float, schedule):
    """Planned visit days: each band's interval until its end year (counted from `start`)."""
    day, band_start = start, start
    for band in schedule:
        band_end = start + band.until_year * 365.25
        while day + band.interval_days <= band_end + 1e-9:
            day += band.interval_days
            yield day
        band_start = band_end


def draw_relapse_site(run, pid: int) -> str:
    sites = run.relapse_sites
    return sites[rng.categorical(run.seed, pid, rng.RELAPSE_SITE, 0, run.relapse_site_cdf)]


def declare_relapse(run, pid: int, site: str, stage: str) -> None:
    run.rec.relapse_day[pid] = run.env.now
    run.rec.relapse_site[pid] = site
    run.events.add(pid, run.env.now, "progression" if site == "progression" else "relapse", stage, detail=site)


def relapse_care(run, pid: int):
    """Second-line surgery when a second remission is possible, second-line chemotherapy; then the disease decides."""
    d, t, rec, env = run.cfg.disease, run.cfg.treatment, run.rec, run.env
    site = rec.relapse_site[pid]
    p_cr2 = d.cr2_probability[site] * (d.cr2_factor_metastatic_at_diagnosis if rec.met_status[pid] else 1.0)
    cr2 = bool(rng.bernoulli(run.seed, pid, rng.CR2, 0, p_cr2))
    rec.cr2[pid] = float(cr2)
    survival = k.post_relapse_survival_days(cr2, run.seed, pid, run.params)
    run.watch_death(pid, env.now + survival, "osteosarcoma")
    if cr2:
        yield env.timeout(t.relapse_surgery_days)
        theatre = "theatre_thoracic" if site in ("lung", "multiple") else "theatre_ortho"
        yield from use(env, run.resources[theatre], t.metastasectomy_session_days, patient=pid, stage="relapse",
                       events=run.events)
        run.events.add(pid, env.now, "second_remission", "relapse", detail=site)
    for course in range(t.second_line_courses):
        if course:
            yield env.timeout(t.second_line_interval_days)
        yield from use(env, run.resources["chemo_bed"], t.length_of_stay_days["IE"], patient=pid, stage="relapse",
                       events=run.events)
        if rng.bernoulli(run.seed, pid, rng.TREATMENT_DEATH, SECOND_LINE_COURSE_BASE + course, d.treatment_death_per_course):
            raise TreatmentDeath
