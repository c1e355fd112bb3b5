"""The populations each published figure was measured on, as osteosim overrides (reachable from
the command line, e.g. `osteosim cohort=trial cohort.n_patients=40000 cohort.metastatic_fraction=0.17`).
"""
from __future__ import annotations

# EURAMOS-1: all registered, localized + metastatic. ASSUMPTION to verify: ~17% metastatic at
# registration (issue 4; the PoR subgroup had 13%, parameters.md §1). Long follow-up so that the
# relapse series (COSS_REL_*) built from the same population sees late relapses too.
EURAMOS = ["cohort=trial", "cohort.metastatic_fraction=0.17", "cohort.followup_years=12"]
# COSS primary metastatic (Kager 2003): everyone metastatic at presentation; estimates use the
# patients staging finds metastatic, as the series did.
COSS_METASTATIC = ["cohort=trial", "cohort.metastatic_fraction=1", "cohort.followup_years=6"]
# Surgery-alone natural history of localized disease (NCI PDQ).
NATURAL_HISTORY = ["cohort=trial", "cohort.metastatic_fraction=0", "arm=surgery_alone", "cohort.followup_years=3"]
# INT-0133: non-metastatic, MAP +/- mifamurtide.
INT0133 = ["cohort=trial", "cohort.metastatic_fraction=0", "cohort.followup_years=6"]
# Phase II trials in relapsed disease (Lagmay 2016; SARC024, Davis 2019): patients enrolled at a
# recurrence with measurable disease (cohort=relapsed), both arms on the same patients.
RELAPSED = ["cohort=relapsed"]

QUIET = ["output.progress=false", "output.events=false", "output.dashboard=false", "engine=cohort"]


def overrides(population: list[str], n: int, seed: int, extra: list[str] = ()) -> list[str]:
    return [*population, f"cohort.n_patients={n}", f"seed={seed}", *QUIET, *extra]
