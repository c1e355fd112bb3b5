"""Every code the model, both engines and the tables share, derived from its name in one place.

A vocabulary is a tuple of names (the categories of a Parquet column, in code order); `coded`
turns it into a named tuple of codes, so compiled code writes `EVENT.relapse` or
`STAGE.followup` and gets a compile-time constant, and a new name appended to a vocabulary
gets a new code without anybody counting. Nothing here imports pandas or the configuration.
"""
from __future__ import annotations

from collections import namedtuple

import numba as nb
import numpy as np


def coded(kind: str, names: tuple[str, ...], blank: str = "blank"):
    """A named tuple whose fields are the names (an empty name is called `blank`) and whose values are codes."""
    return namedtuple(kind, [name or blank for name in names])(*range(len(names)))


DAYS_PER_YEAR = 365.25    # the one definition of the year (simulation days are days)

# --------------------------------------------------------------- what a patient has
MET_PATTERNS = ("none", "lung", "extrapulmonary", "multisystem")          # patients.parquet met_status
MET = coded("MetPattern", MET_PATTERNS)
RELAPSE_SITES = ("lung", "local", "multiple", "bone")
SITES = RELAPSE_SITES + ("progression",)                                    # patients.parquet relapse_site
SITE = coded("Site", SITES)
LUNG_RELAPSE_SITES = (SITE.lung, SITE.multiple)                             # resected by thoracotomy
DEATH_CAUSES = ("", "osteosarcoma", "treatment", "other")                   # code 0: alive (censored)
DEATH = coded("DeathCause", DEATH_CAUSES, blank="alive")
PLACES_OF_DEATH = ("", "home", "hospice", "hospital")   # patients.parquet place_of_death (osteosarcoma deaths)
PLACE = coded("PlaceOfDeath", PLACES_OF_DEATH, blank="none")
FAMILY_TIERS = ("", "universal", "targeted", "clinical")   # patients.parquet family_tier (psychosocial risk)
TIER = coded("FamilyTier", FAMILY_TIERS, blank="none")
EXPOSURES = ("", "doxorubicin", "cisplatin")               # a supportive visit series only for the exposed

# --------------------------------------------------------------- events.parquet vocabulary
EVENTS = ("referral", "request", "start", "end", "diagnosis", "toxicity_delay", "resection", "histologic_response",
          "metastases_not_visible", "metastases_unresectable", "local_control", "end_of_treatment", "progression",
          "relapse", "symptoms", "second_remission", "death", "palliative", "palliative_referral")
EVENT = coded("Event", EVENTS)
STAGES = ("diagnosis", "neoadjuvant", "surgery", "metastasectomy", "adjuvant", "radiotherapy", "followup", "relapse",
          "death", "background", "arm", "supportive")
STAGE = coded("Stage", STAGES)
RESOURCES = ("", "imaging", "biopsy", "pathology", "chemo_bed", "theatre_ortho", "theatre_thoracic", "radiotherapy",
             "followup_clinic", "day_case", "palliative_nurse", "eol_bed", "psychology", "social_work", "echo", "audiology")
RESOURCE = coded("Resource", RESOURCES, blank="none")
DETAILS = ("", "none", "lung", "extrapulmonary", "multisystem", "amputation", "limb_salvage", "good", "poor", "local",
           "multiple", "bone", "progression", "osteosarcoma", "treatment", "other")
DETAIL = coded("Detail", DETAILS)

# the detail code that names a staged pattern, a relapse site, a cause of death
DETAIL_OF_MET = np.array([DETAILS.index(x) for x in MET_PATTERNS], dtype=np.int64)
DETAIL_OF_SITE = np.array([DETAILS.index(x) for x in SITES], dtype=np.int64)
DETAIL_OF_DEATH = np.array([DETAILS.index(x) for x in DEATH_CAUSES], dtype=np.int64)

# --------------------------------------------------------------- an arm's appointments
# when a series of visits starts: an arm's phases, then supportive care's (conf/supportive): from a
# palliative referral; the end-of-life admission before a death from the disease; the family
# assessment at diagnosis; each chemotherapy admission; the first relapse; a death (bereavement,
# started by the engines); the end of first-line treatment (survivorship); an endoprosthesis failure
ARM_VISIT_PHASES = ("adjuvant", "maintenance", "relapse")
SUPPORTIVE_PHASES = ("palliative", "end_of_life", "assessment", "admission", "relapse_support", "bereavement",
                     "survivorship", "revision")
VISIT_PHASES = ARM_VISIT_PHASES + SUPPORTIVE_PHASES
PHASE = coded("Phase", VISIT_PHASES)
VISIT_RESOURCES = ("day_case", "chemo_bed", "followup_clinic", "palliative_nurse", "eol_bed", "psychology", "social_work",
                   "echo", "audiology", "theatre_ortho")
RESOURCE_OF_VISIT = np.array([RESOURCES.index(r) for r in VISIT_RESOURCES], dtype=np.int64)
# the events.parquet stage of a phase's visits: an arm's appointments, or supportive care's
STAGE_OF_PHASE = np.array([STAGES.index("arm" if p in ARM_VISIT_PHASES else "supportive") for p in VISIT_PHASES],
                          dtype=np.int64)


@nb.njit(cache=True, inline="always")
def pack_event(event, stage, resource, detail):
    """One events.parquet row's four categories in one int32 (8 bits each), as the engines buffer them."""
    return event | (stage << 8) | (resource << 16) | (detail << 24)
