"""Cumulative chemotherapy doses, added to a patient's row the moment a course is given.

The pathway (`model.pathway`) calls these at the step where a course starts (the bed was granted),
so a course cut short by death or the horizon before it started adds nothing, and a dose-reduced
course adds its reduced share (`row.course_intensity`). Doses per full course come from
`treatment.course_doses` (packed per course into the protocol record); the days kept here are
when each late effect's exposure began or ended (`model.late_effects`).
"""
from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True)
def give_course(row, P, neoadjuvant, c):
    """First-line course c of the block (neoadjuvant or adjuvant) starts today (row.clock)."""
    f = row.course_intensity
    if neoadjuvant:
        dox, cis, mtx, ifo = P.neo_doxorubicin[c], P.neo_cisplatin[c], P.neo_methotrexate[c], P.neo_ifosfamide[c]
    else:
        dox, cis, mtx, ifo = P.adj_doxorubicin[c], P.adj_cisplatin[c], P.adj_methotrexate[c], P.adj_ifosfamide[c]
    if dox > 0.0 and np.isnan(row.doxorubicin_first_day):
        row.doxorubicin_first_day = row.clock
    if cis > 0.0:
        row.cisplatin_last_day = row.clock
    if ifo > 0.0:
        row.ifosfamide_last_day = row.clock
    row.doxorubicin_mg_m2 += f * dox
    row.cisplatin_mg_m2 += f * cis
    row.methotrexate_g_m2 += f * mtx
    row.ifosfamide_g_m2 += f * ifo


@nb.njit(cache=True)
def give_second_line(row, P):
    """A second-line ifosfamide/etoposide course starts today (full dose: no reduction is modelled there)."""
    if P.ie_ifosfamide > 0.0:
        row.ifosfamide_last_day = row.clock
        row.ifosfamide_g_m2 += P.ie_ifosfamide
