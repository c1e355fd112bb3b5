"""A patient on the SimPy engine: the compiled pathway (`model.pathway`) driven through queues.

This file only answers the pathway's steps: time passes as SimPy timeouts, holds queue on
rostered resources, deaths come from watcher processes that interrupt whatever the patient is
doing, and an arm's appointments run beside the pathway, served by the resources themselves.
What happens to the patient, when and why is decided in `model.pathway`, the same code the cohort
engine runs.
"""
from __future__ import annotations

import simpy

from osteosim.engines.des.resources import abandon, acquire, release
from osteosim.model.appointments import visit_applies
from osteosim.model.codes import DEATH_CAUSES, PHASE, RESOURCE_OF_VISIT, STAGE_OF_PHASE
from osteosim.model.pathway import STEP
from osteosim.model.protocol import VISIT


def patient_life(run, pid: int):
    """Referral to the end of care; a death watcher's interrupt ends it."""
    env, clock = run.env, run.clock
    resource = request = None
    try:
        while True:
            kind, days, code, stage, event, detail = run.next_step(pid)
            if kind == STEP.wait:
                yield env.timeout(days)
            elif kind == STEP.hold:
                resource = run.resources[code]
                request = yield from acquire(env, resource, patient=pid, stage=stage, events=run.events)
            elif kind == STEP.release:
                yield env.timeout(days)
                release(env, resource, request, patient=pid, stage=stage, events=run.events)
                resource = request = None
            elif kind == STEP.log:
                run.events.add(pid, env.now, event, stage, 0, detail)
            elif kind == STEP.dies:
                run.watch_death(pid, days, DEATH_CAUSES[detail])
            elif kind == STEP.treatment_death:
                run.record_death(pid, env.now, "treatment")
                return
            elif kind == STEP.visits:
                start_arm_visits(run, pid, detail, days)
            else:
                return
            clock[pid] = env.now   # the day the pathway resumes on
    except simpy.Interrupt:
        if request is not None:      # died while being served (acquire leaves a queue itself)
            abandon(resource, request)


def start_arm_visits(run, pid: int, phase: int, anchor: float) -> None:
    """The appointments of this phase (an arm's infusions and admissions, supportive care's contacts) run
    beside the pathway: each series is served by its resource itself (engines.des.resources), not by SimPy."""
    rows = run.visits_of_phase.get(phase)
    if not rows:
        return
    visits, row = run.protocol.visits, run.rows[pid]
    good, tier, doxorubicin, cisplatin = row["good_response"], row["family_tier"], row["doxorubicin_mg_m2"], \
        row["cisplatin_mg_m2"]
    stage, after_death = STAGE_OF_PHASE[phase], phase == PHASE.bereavement
    for v in rows:
        if visit_applies(visits, v, phase, good, tier, doxorubicin, cisplatin):
            resource = run.resources[RESOURCE_OF_VISIT[int(visits[v, VISIT.resource])]]
            run.add_series(pid, resource, v, anchor, stage, after_death)
