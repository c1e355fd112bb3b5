"""The one appointment scheduler: when an arm's visits of any phase fall, and who gets them.

An arm adds series of visits (`conf/arm/*.yaml`, `visits:`) that start at a phase's anchor day
(after surgery, at the end of treatment, at relapse); both engines ask these functions, so a new
phase is a new name in `codes.VISIT_PHASES` and a `visits` step in `model.pathway`, nothing more.
"""
from __future__ import annotations

import numba as nb

from osteosim.model.protocol import VISIT


@nb.njit(cache=True)
def visit_applies(visits, v, phase, good_response):
    """Does row v of the arm's visits run in this phase for this patient? (poor-responder-only series
    skip good responders and patients whose response was not assessed)."""
    return visits[v, VISIT.phase] == phase and not (visits[v, VISIT.poor_only] != 0.0 and good_response != 0.0)


@nb.njit(cache=True)
def visit_day(visits, v, anchor, i):
    """The day of the i-th visit of row v when its phase started on `anchor`."""
    return anchor + visits[v, VISIT.start_after] + i * visits[v, VISIT.interval]
