"""The one appointment scheduler: when an arm's visits of any phase fall, and who gets them.

An arm adds series of visits (`conf/arm/*.yaml`, `visits:`) that start at a phase's anchor day
(after surgery, at the end of treatment, at relapse), and so does supportive care
(`conf/supportive/`: psychosocial contacts, palliative care, survivorship surveillance); both
engines ask these functions, so a new phase is a new name in `codes.VISIT_PHASES` and a `visits`
step in `model.pathway`, nothing more (bereavement alone starts at a death, which the engines see).
"""
from __future__ import annotations

import numba as nb

from osteosim.model.protocol import VISIT


@nb.njit(cache=True)
def visit_applies(visits, v, phase, good_response, tier, doxorubicin, cisplatin):
    """Does row v of the visits run in this phase for this patient? Poor-responder-only series skip good
    responders and patients whose response was not assessed; a supportive series for one family tier
    skips the others; one for an exposure (echocardiography after doxorubicin, audiology after cisplatin)
    skips patients never given the drug."""
    if visits[v, VISIT.phase] != phase or (visits[v, VISIT.poor_only] != 0.0 and good_response != 0.0):
        return False
    if visits[v, VISIT.tier] != 0.0 and visits[v, VISIT.tier] != tier:
        return False
    exposure = visits[v, VISIT.exposure]
    return not ((exposure == 1.0 and doxorubicin <= 0.0) or (exposure == 2.0 and cisplatin <= 0.0))


@nb.njit(cache=True)
def visit_day(visits, v, anchor, i):
    """The day of the i-th visit of row v when its phase started on `anchor`."""
    return anchor + visits[v, VISIT.start_after] + i * visits[v, VISIT.interval]
