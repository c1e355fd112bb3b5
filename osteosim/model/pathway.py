"""The care pathway, written once, as compiled stages both engines drive step by step.

`next_step(seed, horizon, P, params, row)` moves one patient to their next step and says what
the outside world must do (a `Step`): let time pass, grant a resource, log an event, schedule a
death, start an arm's appointments. The engines differ only in how they answer:

- `engines.des` (SimPy) queues each hold on a rostered resource and sets `row.clock` to the day
  service started; deaths interrupt the patient;
- `engines.cohort` (all-Numba) grants every hold at once and stops at the first step on or
  after the patient's death or the horizon.

Every clinical decision, timing rule and disease question is asked here, so the engines
cannot drift apart. The pathway is a sequence of stages (`STAGES`); each stage is a small
function whose steps are numbered by `row.pc` (the patient's place within the stage), and
the patient's row (`model.record.PATIENT_DTYPE`) is its working memory. A stage returns the
`done` step when it is over; `next_step` then moves to the following stage. Adding a stage is
a name in `PATHWAY`, one function and its line in `next_step`; adding an appointment phase is a
`visits` step.
(Written as generators the same stages read shorter, but LLVM took minutes to compile them.)
"""
from __future__ import annotations

import numba as nb
import numpy as np

from osteosim.model import decisions as dec
from osteosim.model import disease as k
from osteosim.model import doses
from osteosim.model import late_effects as late
from osteosim.model import supportive as sup
from osteosim.model.codes import (DAYS_PER_YEAR, DEATH, DETAIL, DETAIL_OF_MET, DETAIL_OF_SITE, EVENT,
                                  LUNG_RELAPSE_SITES, MET, PHASE, RESOURCE, SITE, STAGE, coded)

STEPS = ("wait", "hold", "release", "log", "dies", "treatment_death", "visits", "end", "done")
STEP = coded("Step", STEPS)
"""A step is a tuple (kind, days, resource, stage, event, detail), every field an int except `days`;
what each kind asks of its driver:

wait (days)                       let `days` pass
hold (resource, stage)            queue for one server of `resource`; row.clock := the day service starts
release (days, resource, stage)   keep it `days` from the start of service, then free it
log (event, stage, detail)        an events.parquet row, today
dies (days=day, detail=cause)     the patient dies on that day unless dead before
treatment_death                   the patient dies of treatment today; the pathway is over
visits (days=anchor, detail=phase)  the arm's appointments of that phase run from the anchor day
end                               the pathway is over (the patient lives on until a death or the horizon)
done                              (between stages only) the stage is over
"""
PATHWAY = ("diagnosis", "neoadjuvant", "local_control", "adjuvant", "end_of_treatment", "survivorship",
           "relapse_care", "over")
AT = coded("PathwayStage", PATHWAY)
FINISHED = 99     # a stage's pc once it has nothing more to do (it returns `done`)


@nb.njit(cache=True)
def _step(kind, days=0.0, resource=0, stage=0, event=0, detail=0):
    return (kind, days, resource, stage, event, detail)


@nb.njit(cache=True)
def _then(row, pc, step):
    """Go on at `pc` next time and return `step` now."""
    row.pc = pc
    return step


@nb.njit(cache=True, inline="always")
def next_step(seed, horizon, P, params, row, quiet=0, until=np.inf):
    """The patient's next step (see `STEPS`); the driver answers it and asks again until `end`.

    P is the protocol record (`model.protocol.protocol_record`), params the `DiseaseParams`,
    row the patient's row (`model.record.PATIENT_DTYPE`).

    A driver that answers some steps trivially can let them be taken here, without a round trip
    (the cohort engine does, see `engines.cohort`): `quiet` is a bit mask of step kinds
    (1 << STEP.kind) to take here. A quiet hold is granted at once (row.clock stays); a quiet
    wait or release lets its days pass (row.clock += days) if that ends before `until`, else it
    is returned; a quiet log or visits step is dropped. The SimPy driver takes none (quiet=0).
    """
    while True:
        at = row.stage
        if at == AT.diagnosis:
            step = diagnosis(seed, P, params, row)
        elif at == AT.neoadjuvant or at == AT.adjuvant:
            step = chemotherapy(seed, at == AT.neoadjuvant, P, params, row)
        elif at == AT.local_control:
            step = local_control(seed, P, params, row)
        elif at == AT.end_of_treatment:
            step = end_of_treatment(seed, P, params, row)
        elif at == AT.survivorship:
            step = survivorship(seed, horizon, P, params, row)
        elif at == AT.relapse_care:
            step = relapse_care(seed, P, params, row)
        else:
            return _step(STEP.end)
        if step[0] == STEP.treatment_death:
            row.stage = AT.over
        kind = step[0]
        if kind != STEP.done:
            if not (quiet >> kind) & 1:
                return step
            if kind == STEP.wait or kind == STEP.release:
                clock = row.clock + step[1]
                if clock >= until:
                    return step
                row.clock = clock
            continue
        row.stage = _following(at, row, P)
        row.pc = 0


@nb.njit(cache=True)
def _following(at, row, P):
    """The stage after `at`: relapse care as soon as a relapse or progression is found (at once for
    patients who enter at a recurrence)."""
    relapsed = not np.isnan(row.relapse_day) or (at == AT.diagnosis and P.entry_relapse != 0.0)
    if at == AT.relapse_care or (at == AT.survivorship and not relapsed):
        return AT.over
    if relapsed:
        return AT.relapse_care
    return at + 1


# ---------------------------------------------------------------- the stages
@nb.njit(cache=True)
def diagnosis(seed, P, params, row):
    """Referral, staging imaging, biopsy, pathology; CT and PET may miss small metastases."""
    pc, pid = row.pc, row.pid
    if pc == 0:
        return _then(row, 1, _step(STEP.wait, row.arrival - row.clock))
    if pc == 1:
        if P.entry_relapse != 0.0:      # enrolled at a recurrence: straight to relapse care
            row.diagnosis_day = row.clock
            return _then(row, 5, _step(STEP.log, stage=STAGE.diagnosis, event=EVENT.referral))
        return _then(row, 2, _step(STEP.log, stage=STAGE.diagnosis, event=EVENT.referral))
    if pc == 2:      # the diagnostic services in turn: item 0 imaging, 1 biopsy, 2 pathology
        return _then(row, 3, _step(STEP.hold, resource=RESOURCE.imaging + row.nth, stage=STAGE.diagnosis))
    if pc == 3:
        hold = P.imaging if row.nth == 0 else P.biopsy if row.nth == 1 else dec.pathology_days(seed, pid, P)
        row.nth += 1
        return _then(row, 2 if row.nth < 3 else 4,
                     _step(STEP.release, hold, RESOURCE.imaging + row.nth - 1, STAGE.diagnosis))
    if pc == 4:
        staged, seen, bilateral = dec.staging(seed, pid, row.true_met, row.true_nodules, P)
        row.met_status, row.n_lung_nodules, row.bilateral = staged, seen, 1 if bilateral else 0
        state = dec.apply_staging(disease_of(row), row.clock, row.true_met, staged, seen, P, params)
        keep_disease(row, k.seed_resistance(state, seed, pid, params))
        row.diagnosis_day = row.clock
        return _then(row, 5, _step(STEP.log, stage=STAGE.diagnosis, event=EVENT.diagnosis,
                                   detail=DETAIL_OF_MET[staged]))
    if pc == 5:
        row.family_tier = sup.family_tier(seed, pid, P)
        return _then(row, 6, _step(STEP.dies, row.clock + k.other_cause_death_days(row.age, seed, pid, params),
                                   detail=DEATH.other))
    if pc == 6:      # the family's psychosocial assessment and its tier's sessions (supportive care)
        return _then(row, 7, _step(STEP.visits, row.clock, detail=PHASE.assessment))
    return _step(STEP.done)


@nb.njit(cache=True, inline="always")   # the hottest stages: inlined into next_step (measured)
def chemotherapy(seed, neoadjuvant, P, params, row):
    """One block of MAP courses, course by course (row.nth); bed waits and toxicity push the rest of
    the block back, and the block's delay is kept (the neoadjuvant block's pushes surgery back)."""
    while True:
        pc, pid, c = row.pc, row.pid, row.nth
        stage = STAGE.neoadjuvant if neoadjuvant else STAGE.adjuvant
        first_course = 0 if neoadjuvant else P.n_neo        # keyed-draw index of the block's first course
        if pc == 0:
            row.block_shift = 0.0
            if (P.neoadjuvant if neoadjuvant else P.adjuvant) == 0.0:
                return _step(STEP.done)
            row.anchor = row.diagnosis_day + P.dx_to_chemo if neoadjuvant else row.clock + P.surg_to_adj
            row.nth = c = 0
            pc = 1
        if pc == 1:
            if c == (P.n_neo if neoadjuvant else P.n_adj):
                return _then(row, 7, _step(STEP.done))
            week0 = P.neo_week[0] if neoadjuvant else P.adj_week[0]
            row.protocol_day = row.anchor + 7.0 * ((P.neo_week[c] if neoadjuvant else P.adj_week[c]) - week0)
            return _then(row, 2, _step(STEP.wait, max(0.0, row.protocol_day + row.block_shift - row.clock)))
        if pc == 2:
            stay = P.neo_stay[c] if neoadjuvant else P.adj_stay[c]
            mtx = (P.neo_mtx[c] if neoadjuvant else P.adj_mtx[c]) != 0.0
            row.course_delay, row.course_intensity, row.course_stay = dec.course_plan(seed, pid, first_course + c, stay,
                                                                                      mtx, P)
            if row.course_delay > 0.0:
                return _then(row, 3, _step(STEP.log, stage=stage, event=EVENT.toxicity_delay))
            pc = 4
        if pc == 3:
            return _then(row, 4, _step(STEP.wait, row.course_delay))
        if pc == 4:
            return _then(row, 5, _step(STEP.hold, resource=RESOURCE.chemo_bed, stage=stage))
        if pc == 5:
            if c == 0:
                if neoadjuvant:
                    row.chemo_start_day = row.clock
                else:
                    row.adjuvant_start_day = row.clock
            weight = P.neo_weight[c] if neoadjuvant else P.adj_weight[c]
            keep_disease(row, k.chemotherapy_course(disease_of(row), row.clock, weight, row.course_intensity,
                                                    neoadjuvant, params))
            doses.give_course(row, P, neoadjuvant, c)
            return _then(row, 8, _step(STEP.visits, row.clock, detail=PHASE.admission))   # psychosocial contacts
        if pc == 8:
            return _then(row, 6, _step(STEP.release, row.course_stay, RESOURCE.chemo_bed, stage))
        if pc == 6:
            row.block_shift = row.clock - row.course_stay - row.protocol_day
            if dec.dies_of_course(seed, pid, first_course + c, P):
                return _step(STEP.treatment_death)
            row.nth = c + 1
            row.pc = 1
            continue      # the next course or visit
        return _step(STEP.done)


@nb.njit(cache=True)
def local_control(seed, P, params, row):
    """Restaging, then resection of the primary and of the metastases still visible (CSR or not).

    Surgery is planned for the protocol's week, pushed back by the neoadjuvant block's delay;
    new disease on the restaging scans may be progression (`decisions.restage`).
    """
    pc, pid = row.pc, row.pid
    if pc == 0:
        planned = row.diagnosis_day + P.dx_to_chemo
        if P.neoadjuvant != 0.0:
            planned = planned + 7.0 * (P.surgery_week - P.neo_week[0]) + row.block_shift
        return _then(row, 1, _step(STEP.wait, max(0.0, planned - row.clock)))
    if pc == 1:
        state, progressed, row.relapse_seen = dec.restage(disease_of(row), row.clock, row.met_status, P, params)
        keep_disease(row, state)
        if progressed:
            return _then(row, FINISHED, relapse_found(row, SITE.progression, STAGE.surgery))
        row.resected = dec.primary_resectable(seed, pid, row.axial != 0, P)
        if not row.resected:
            row.needs_rt = 1
            pc = 6
        else:
            return _then(row, 2, _step(STEP.hold, resource=RESOURCE.theatre_ortho, stage=STAGE.surgery))
    if pc == 2:
        row.surgery_day = row.clock
        return _then(row, 3, _step(STEP.release, P.surg_session, RESOURCE.theatre_ortho, STAGE.surgery))
    if pc == 3:
        amputated = dec.amputation(seed, pid, P)
        detail = DETAIL.amputation if amputated else DETAIL.limb_salvage
        if not amputated and P.revision_surgery != 0.0:
            return _then(row, 5, _step(STEP.log, stage=STAGE.surgery, event=EVENT.resection, detail=detail))
        return _then(row, 4, _step(STEP.log, stage=STAGE.surgery, event=EVENT.resection, detail=detail))
    if pc == 5:      # revision surgery when the endoprosthesis fails (the late effect's own draw)
        failure = late.prosthesis_failure_day(seed, pid, row.surgery_day, P.pf_shape, P.pf_scale_days)
        return _then(row, 4, _step(STEP.visits, failure, detail=PHASE.revision))
    if pc == 4:
        if dec.dies_of_operation(seed, pid, 0, P):
            return _step(STEP.treatment_death)
        if P.neoadjuvant != 0.0:
            good = dec.good_response(disease_of(row), seed, pid, params)
            row.good_response = 1.0 if good else 0.0
            return _then(row, 6, _step(STEP.log, stage=STAGE.surgery, event=EVENT.histologic_response,
                                       detail=DETAIL.good if good else DETAIL.poor))
        pc = 6
    if pc == 6:      # the metastases still visible after chemotherapy
        row.cleared = 1
        staged = row.met_status
        if staged != MET.none:
            state, visible = k.overt_disease_visible(disease_of(row), row.clock, params)
            keep_disease(row, state)
            if not visible:
                keep_disease(row, k.fold_invisible_overt(state, row.clock, params))
                return _then(row, 10, _step(STEP.log, stage=STAGE.metastasectomy, event=EVENT.metastases_not_visible))
            if not dec.metastases_resectable(seed, pid, staged, row.n_lung_nodules, row.bilateral != 0, P):
                row.cleared = 0
                if staged == MET.extrapulmonary:   # bone lesions can be irradiated; lung nodules left behind cannot
                    row.needs_rt = 1
                return _then(row, 10, _step(STEP.log, stage=STAGE.metastasectomy, event=EVENT.metastases_unresectable,
                                            detail=DETAIL_OF_MET[staged]))
            row.theatre = RESOURCE.theatre_ortho if staged == MET.extrapulmonary else RESOURCE.theatre_thoracic
            return _then(row, 7, _step(STEP.wait, P.surg_to_met))
        pc = 10
    if pc == 7:
        return _then(row, 8, _step(STEP.hold, resource=row.theatre, stage=STAGE.metastasectomy))
    if pc == 8:
        row.metastasectomy_day = row.clock
        keep_disease(row, k.clear_overt(disease_of(row), row.clock, params))
        return _then(row, 9, _step(STEP.release, P.met_session, row.theatre, STAGE.metastasectomy))
    if pc == 9:
        if dec.dies_of_operation(seed, pid, 1, P):
            return _step(STEP.treatment_death)
        pc = 10
    if pc == 10:
        row.csr = 1.0 if (row.resected and row.cleared) else 0.0
        return _then(row, FINISHED, _step(STEP.visits, row.clock + P.surg_to_adj, detail=PHASE.adjuvant))
    return _step(STEP.done)


@nb.njit(cache=True)
def end_of_treatment(seed, P, params, row):
    """Radiotherapy for sites surgery could not clear, then the end of first-line treatment: residual
    disease is progression; otherwise cure, or a relapse that regrows later."""
    pc, pid = row.pc, row.pid
    if pc == 0:
        if row.needs_rt:
            return _then(row, 1, _step(STEP.hold, resource=RESOURCE.radiotherapy, stage=STAGE.radiotherapy))
        pc = 3
    if pc == 1:
        row.rt_start_day = row.clock
        return _then(row, 2, _step(STEP.release, P.rt_days, RESOURCE.radiotherapy, STAGE.radiotherapy))
    if pc == 2:
        if dec.radiotherapy_controls(seed, pid, params):
            keep_disease(row, k.clear_overt(disease_of(row), row.clock, params))
            return _then(row, 3, _step(STEP.log, stage=STAGE.radiotherapy, event=EVENT.local_control))
        pc = 3
    if pc == 3:
        row.end_of_treatment_day = row.clock
        return _then(row, 4, _step(STEP.log, stage=STAGE.adjuvant, event=EVENT.end_of_treatment))
    if pc == 4:
        state, row.relapse_seen = k.end_of_treatment_outcome(disease_of(row), row.clock, seed, pid, params)
        keep_disease(row, state)
        if row.relapse_seen <= row.clock:
            return _then(row, FINISHED, relapse_found(row, SITE.progression, STAGE.adjuvant))
        return _then(row, 5, _step(STEP.visits, row.clock, detail=PHASE.maintenance))
    if pc == 5:      # the survivorship clinic's screening and surveillance (supportive care)
        return _then(row, FINISHED, _step(STEP.visits, row.clock, detail=PHASE.survivorship))
    return _step(STEP.done)


@nb.njit(cache=True, inline="always")   # the hottest stages: inlined into next_step (measured)
def survivorship(seed, horizon, P, params, row):
    """Clinic visits with chest imaging on the schedule (each band's interval until its end year); a relapse is
    found at a visit once the arm's imaging sees it, or earlier by symptoms."""
    while True:
        pc, pid = row.pc, row.pid
        if pc == 0:
            state, seen = disease_of(row), row.relapse_seen
            row.symptoms = k.symptom_day(seen, state, params) if seen < np.inf else np.inf
            row.imaging_sees = dec.followup_imaging_sees_from(seen, state, P)
            row.visit = row.end_of_treatment_day
            row.band = 0
            pc = 1
        if pc == 1:      # the next planned visit, band by band
            while row.band < P.n_bands:
                interval = P.followup_interval_days[row.band]
                if row.visit + interval <= row.end_of_treatment_day + P.followup_until_years[row.band] * DAYS_PER_YEAR \
                        + 1e-9:
                    break
                row.band += 1
            if row.band == P.n_bands:
                return _then(row, FINISHED, _step(STEP.done))
            row.visit += P.followup_interval_days[row.band]
            if min(row.visit, row.symptoms) >= horizon:
                return _then(row, FINISHED, _step(STEP.done))
            if row.symptoms <= row.visit:
                return _then(row, 2, _step(STEP.wait, max(0.0, row.symptoms - row.clock)))
            return _then(row, 4, _step(STEP.wait, max(0.0, row.visit - row.clock)))
        if pc == 2:
            return _then(row, 3, _step(STEP.log, stage=STAGE.followup, event=EVENT.symptoms))
        if pc == 3:
            return _then(row, FINISHED, relapse_found(row, dec.relapse_site(seed, pid, 0, P.relapse_site_cdf), STAGE.followup))
        if pc == 4:
            return _then(row, 5, _step(STEP.hold, resource=RESOURCE.followup_clinic, stage=STAGE.followup))
        if pc == 5:
            row.found = row.clock >= row.imaging_sees
            return _then(row, 6, _step(STEP.release, P.clinic, RESOURCE.followup_clinic, STAGE.followup))
        if pc == 6:
            if row.found:
                return _then(row, FINISHED, relapse_found(row, dec.relapse_site(seed, pid, 0, P.relapse_site_cdf),
                                                          STAGE.followup))
            row.pc = 1
            continue      # the next course or visit
        return _step(STEP.done)


@nb.njit(cache=True)
def relapse_care(seed, P, params, row):
    """The course after a relapse, a first-line progression or entry at a recurrence (row.relapses counts them).

    Where the disease can be removed (a surgical remission, or a complete response to the arm's
    relapse therapy; row.in_remission) second-line courses follow (after the first relapse only),
    and the surviving occult clonogens decide between cure and the next relapse, which comes round
    this stage again. Where it cannot, lines of treatment run until progression (the first line
    is the arm's), then palliative care, and the patient dies when the disease reaches the lethal
    burden.
    """
    while True:
        pc, pid = row.pc, row.pid
        if pc == 0:
            if row.relapses == 0:
                return _then(row, 19, _step(STEP.visits, row.clock, detail=PHASE.relapse))
            pc = 1
        if pc == 19:     # psychosocial support at the first relapse
            return _then(row, 1, _step(STEP.visits, row.clock, detail=PHASE.relapse_support))
        if pc == 1:      # a relapse found today: can it be removed?
            nth = row.relapses
            row.relapses = nth + 1
            row.nth = 0
            state = k.advance(disease_of(row), row.clock, params)
            entered = P.entry_relapse != 0.0 and nth == 0
            if entered:      # measurable disease, as phase II trials enrol it (ASSUMPTION: at the symptom burden)
                state = k.with_overt(state, params.symptom)
                removed = False
            else:
                grown = k.log10_past_detection(row.clock, row.relapse_seen, state, params)
                removed = dec.second_remission(seed, pid, nth, int(row.relapse_site), row.met_status, grown, P,
                                               P.cr2_by_site)
            responded = not removed and dec.complete_response(seed, pid, nth, params)
            if nth == 0:
                row.cr2 = 1.0 if (removed or responded) else 0.0
            keep_disease(row, state)
            row.in_remission = 1 if (removed or responded) else 0
            if removed:
                site = int(row.relapse_site)
                row.theatre = RESOURCE.theatre_thoracic if site in LUNG_RELAPSE_SITES else RESOURCE.theatre_ortho
                return _then(row, 2, _step(STEP.wait, P.relapse_surgery))
            if responded:
                keep_disease(row, k.remission(state, row.clock, params))
                return _then(row, 5, _step(STEP.log, stage=STAGE.relapse, event=EVENT.second_remission,
                                           detail=DETAIL.none))
            row.line += 1
            row.progress_day = row.clock + k.progression_days(row.line, params.relapse_pfs_hr, seed, pid, params)
            row.lethal_day = k.lethal_day(state, params)
            return _then(row, 14, _step(STEP.dies, row.lethal_day, detail=DEATH.osteosarcoma))
        if pc == 2:
            return _then(row, 3, _step(STEP.hold, resource=row.theatre, stage=STAGE.relapse))
        if pc == 3:
            keep_disease(row, k.remission(disease_of(row), row.clock, params))
            return _then(row, 4, _step(STEP.release, P.met_session, row.theatre, STAGE.relapse))
        if pc == 4:
            return _then(row, 5, _step(STEP.log, stage=STAGE.relapse, event=EVENT.second_remission,
                                       detail=DETAIL_OF_SITE[int(row.relapse_site)]))
        if pc == 5:      # second-line courses (course row.nth), at the first relapse only; without remission,
            # only until progression (ASSUMPTION: later relapses get other drugs, whose kill is not credited)
            if row.nth >= int(P.second_line_n) or row.relapses > 1 or (
                    row.in_remission == 0 and row.clock + (P.second_line_interval if row.nth else 0.0) >= row.progress_day):
                pc = 9 if row.in_remission else 11
            elif row.nth:
                return _then(row, 6, _step(STEP.wait, P.second_line_interval))
            else:
                pc = 6
        if pc == 6:
            return _then(row, 7, _step(STEP.hold, resource=RESOURCE.chemo_bed, stage=STAGE.relapse))
        if pc == 7:
            doses.give_second_line(row, P)
            keep_disease(row, k.chemotherapy_course(disease_of(row), row.clock, P.ie_weight, 1.0, False, params))
            return _then(row, 20, _step(STEP.visits, row.clock, detail=PHASE.admission))   # psychosocial contacts
        if pc == 20:
            return _then(row, 8, _step(STEP.release, P.ie_stay, RESOURCE.chemo_bed, STAGE.relapse))
        if pc == 8:
            if dec.dies_of_second_line_course(seed, pid, row.ie_courses, P):
                return _step(STEP.treatment_death)
            row.ie_courses += 1
            row.nth += 1
            row.pc = 5
            continue
        if pc == 9:      # the remission's treatment is over: cured, or the next relapse regrows
            state, row.relapse_seen = k.after_remission(disease_of(row), row.clock, row.relapses - 1, seed, pid, params)
            keep_disease(row, state)
            if row.relapse_seen == np.inf:
                return _then(row, FINISHED, _step(STEP.done))
            return _then(row, 10, _step(STEP.wait, max(0.0, row.relapse_seen - row.clock)))
        if pc == 10:     # found when it reaches what imaging sees (ASSUMPTION: close imaging after a relapse)
            site = dec.relapse_site(seed, pid, row.relapses, P.relapse_site_cdf)
            row.relapse_site = site
            if np.isnan(row.progression_after_relapse_day):
                row.progression_after_relapse_day = row.clock
            return _then(row, 1, _step(STEP.log, stage=STAGE.relapse, event=EVENT.relapse, detail=DETAIL_OF_SITE[site]))
        if pc == 11:     # a line of treatment until it progresses
            return _then(row, 12, _step(STEP.wait, max(0.0, row.progress_day - row.clock)))
        if pc == 12:
            if np.isnan(row.progression_after_relapse_day):
                row.progression_after_relapse_day = row.clock
            return _then(row, 13, _step(STEP.log, stage=STAGE.relapse, event=EVENT.progression,
                                        detail=DETAIL.progression))
        if pc == 13:
            if dec.another_line(seed, pid, row.line, params):
                row.line += 1
                row.progress_day = row.clock + k.progression_days(row.line, 1.0, seed, pid, params)
                row.pc = 11
                continue
            row.palliative_day = row.clock
            return _then(row, 17, _step(STEP.log, stage=STAGE.relapse, event=EVENT.palliative))
        if pc == 14:     # cure is no longer possible: the early policy refers now (supportive care, no time passes)
            if P.palliative_early != 0.0 and sup.referred(seed, pid, P):
                return _then(row, 15, palliative_referral(row))
            pc = 16
        if pc == 15:
            return _then(row, 16, _step(STEP.visits, row.clock, detail=PHASE.palliative))
        if pc == 16:     # an admission for the last days of life, planned now; then the treatment goes on
            treatment = 11 if (P.entry_relapse != 0.0 and row.relapses == 1) else 5
            if sup.admitted_at_end(seed, pid, not np.isnan(row.palliative_referral_day), P):
                return _then(row, treatment, _step(STEP.visits, max(row.clock, row.lethal_day - P.eol_admission_days),
                                                   detail=PHASE.end_of_life))
            row.pc = treatment
            continue
        if pc == 17:     # the last line has stopped: the late policy refers now
            if P.palliative_early == 0.0 and np.isnan(row.palliative_referral_day) and sup.referred(seed, pid, P):
                return _then(row, 18, palliative_referral(row))
            return _then(row, FINISHED, _step(STEP.done))
        if pc == 18:
            return _then(row, FINISHED, _step(STEP.visits, row.clock, detail=PHASE.palliative))
        return _step(STEP.done)


# ---------------------------------------------------------------- the row as working memory
@nb.njit(cache=True)
def relapse_found(row, site, stage):
    """Record a relapse (or progression) found today; returns the step that logs it."""
    row.relapse_day = row.clock
    row.relapse_site = site
    event = EVENT.progression if site == SITE.progression else EVENT.relapse
    return _step(STEP.log, stage=stage, event=event, detail=DETAIL_OF_SITE[site])


@nb.njit(cache=True)
def palliative_referral(row):
    """Record a referral to specialist palliative care today; returns the step that logs it."""
    row.palliative_referral_day = row.clock
    return _step(STEP.log, stage=STAGE.relapse, event=EVENT.palliative_referral)


@nb.njit(cache=True)
def disease_of(row):
    """The patient's disease as the kernels take it."""
    return k.DiseaseState(row.disease_micro, row.disease_overt, row.disease_day, row.disease_growth,
                          row.disease_sensitivity, row.disease_primary_kill, row.disease_detect_day,
                          row.disease_resistant)


@nb.njit(cache=True)
def keep_disease(row, s):
    """Keep the kernels' new disease state in the patient's row, for the next step."""
    row.disease_micro, row.disease_overt, row.disease_day = s.micro, s.overt, s.day
    row.disease_growth, row.disease_sensitivity = s.growth, s.sensitivity
    row.disease_primary_kill, row.disease_detect_day = s.primary_kill, s.detect_day
    row.disease_resistant = s.resistant
