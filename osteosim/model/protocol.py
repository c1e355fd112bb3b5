"""The treatment protocol and pathway probabilities, packed once for both engines.

The compiled pathway (`model.pathway`) reads the same packed numbers whichever engine drives
it, so a configuration means the same thing to both. `Scalars` names every number the pathway
and the keyed decisions use; courses are parallel arrays (week, kill weight, length of stay,
is-methotrexate, the dose of each drug it gives); an arm's appointments are rows of `visits` (columns `VISIT`).
"""
from __future__ import annotations

from collections import namedtuple
from typing import NamedTuple

import numpy as np

from osteosim.config.schema import MAX_BANDS, MAX_COURSES, Config
from osteosim.model.codes import EXPOSURES, FAMILY_TIERS, RELAPSE_SITES, SITES, VISIT_PHASES, VISIT_RESOURCES


class Scalars(NamedTuple):
    """Every single number of the protocol (days unless named otherwise), all float64 for Numba."""
    dx_to_chemo: float             # diagnosis to the first neoadjuvant course
    imaging: float                 # staging imaging
    biopsy: float
    path_median: float             # pathology turnaround: median and log-SD
    path_sigma: float
    surgery_week: float            # protocol week of surgery
    tox_p: float                   # chance a course is delayed by toxicity, and by how long
    tox_days: float
    dose_p: float                  # chance a course is dose-reduced, and its intensity then
    reduced: float
    mtx_p: float                   # chance of delayed methotrexate clearance, and the extra stay
    mtx_extra: float
    surg_to_adj: float             # surgery to adjuvant chemotherapy
    surg_to_met: float             # surgery of the primary to metastasectomy
    surg_session: float            # theatre time of the primary's resection
    met_session: float             # ... of a metastasectomy
    limb_salvage: float            # share of resections that save the limb
    rt_days: float                 # a radiotherapy course, start to end
    clinic: float                  # a follow-up visit
    relapse_surgery: float         # relapse to second-line surgery
    second_line_n: float           # second-line courses, and the days between them
    second_line_interval: float
    ie_stay: float                 # stay of an ifosfamide/etoposide course
    trm: float                     # treatment death per course
    periop: float                  # death per operation
    csr_lung: float                # chance one visible lung nodule is completely resected (all must be)
    csr_bilateral: float           # ... times this when both lungs need a thoracotomy
    csr_extra: float               # chance visible metastases are completely resected, by staged pattern
    csr_multi: float
    axial_resectable: float        # chance an axial primary is resectable
    ct_sens: float                 # CT sees each lung nodule with this chance
    pet_sens: float                # PET / bone scan sees bone metastases with this chance
    overt_dx: float                # log10 burden of metastases staging found
    cr2_factor: float              # CR2 chance factor for patients metastatic at diagnosis
    neoadjuvant: float             # 1: the arm gives neoadjuvant chemotherapy
    adjuvant: float                # 1: ... adjuvant chemotherapy
    missed_below: float            # lesions imaging missed sit this many log10 below detection
    surveillance_blind: float      # log10 a relapse grows past CT's threshold before follow-up imaging sees it
    cr2_burden_factor: float       # CR2 chance factor per log10 grown past detection before it was found
    ie_ifosfamide: float           # g/m2 of ifosfamide in one second-line IE course
    ie_weight: float               # share of a MAP cycle's kill one IE course gives
    entry_relapse: float           # 1: patients enter at a recurrence (cohort.entry=relapse)
    palliative_early: float        # 1: referral to palliative care as soon as cure is not possible; 0: at the last line's end
    referral_p: float              # chance of that referral (the policy's)
    eol_admission_p: float         # chance of an end-of-life admission without specialist palliative care ...
    eol_admission_rr: float        # ... times this when referred by the time cure is not possible
    eol_admission_days: float      # the admission, until death
    tier_universal: float          # shares of families in the universal and targeted psychosocial tiers (the rest: clinical)
    tier_targeted: float
    revision_surgery: float        # 1: an endoprosthesis failure books revision surgery (supportive.revision_surgery)
    pf_shape: float                # Weibull shape and scale (days) of endoprosthesis survival (late_effects)
    pf_scale_days: float


VISIT = namedtuple("VisitColumn", ("phase", "count", "interval", "start_after", "resource", "days",
                                   "poor_only", "tier", "exposure"))(*range(9))   # columns of Protocol.visits


class Protocol(NamedTuple):
    scalars: Scalars
    neo_week: np.ndarray         # float64 week numbers of the neoadjuvant courses
    neo_weight: np.ndarray       # share of a MAP cycle's kill
    neo_stay: np.ndarray         # length of stay, days
    neo_mtx: np.ndarray          # bool: high-dose methotrexate (delayed clearance possible)
    neo_doxorubicin: np.ndarray  # mg/m2 of doxorubicin a full-dose course gives
    neo_cisplatin: np.ndarray    # mg/m2
    neo_methotrexate: np.ndarray # g/m2
    neo_ifosfamide: np.ndarray   # g/m2
    adj_week: np.ndarray
    adj_weight: np.ndarray
    adj_stay: np.ndarray
    adj_mtx: np.ndarray
    adj_doxorubicin: np.ndarray
    adj_cisplatin: np.ndarray
    adj_methotrexate: np.ndarray
    adj_ifosfamide: np.ndarray
    followup_until_years: np.ndarray
    followup_interval_days: np.ndarray
    relapse_site_cdf: np.ndarray  # cumulative, in codes.RELAPSE_SITES order
    cr2_by_site: np.ndarray       # in codes.SITES order
    visits: np.ndarray            # (n, len(VISIT)) the arm's visits, then supportive care's; phase and resource are codes


def _visit_row(v) -> tuple:
    """One series of visits as a row of VISIT columns (an arm's have no tier or exposure: both 0, all)."""
    tier, exposure = getattr(v, "tier", "all"), getattr(v, "exposure", "")
    return (VISIT_PHASES.index(v.phase), v.count, v.interval_days, v.start_after_days,
            VISIT_RESOURCES.index(v.resource), v.days, float(v.poor_responders_only),
            float(FAMILY_TIERS.index(tier) if tier != "all" else 0), float(EXPOSURES.index(exposure)))


def _as_visits(rows: list) -> np.ndarray:
    return np.array(rows, dtype=np.float64).reshape(len(rows), len(VISIT))


def pack_visits(arm) -> np.ndarray:
    return _as_visits([_visit_row(v) for v in arm.visits])


def supportive_visits(cfg: Config) -> np.ndarray:
    """Supportive care's series of visits (conf/supportive), run by the same scheduler as an arm's:
    palliative-care nurse contacts from a referral, and the end-of-life admission."""
    pal = cfg.supportive.palliative
    rows = [(VISIT_PHASES.index("palliative"), pal.contacts_max, pal.contact_interval_days, 0.0,
             VISIT_RESOURCES.index("palliative_nurse"), pal.contact_days, 0.0, 0.0, 0.0),
            (VISIT_PHASES.index("end_of_life"), 1, 1.0, 0.0, VISIT_RESOURCES.index("eol_bed"),
             pal.end_of_life_admission_days, 0.0, 0.0, 0.0)]
    rows += [_visit_row(v) for v in cfg.supportive.visits]
    return _as_visits([r for r in rows if r[1] > 0])


DRUGS = ("doxorubicin", "cisplatin", "methotrexate", "ifosfamide")    # cumulative doses (model.doses)
DOSE_KEYS = ("doxorubicin_mg_m2", "cisplatin_mg_m2", "methotrexate_g_m2", "ifosfamide_g_m2")   # treatment.course_doses
COURSE_COLUMNS = ("week", "weight", "stay", "mtx") + DRUGS


def _courses(courses, t):
    return (np.array([c.week for c in courses], dtype=np.float64),
            np.array([t.course_kill_weight[c.drug] for c in courses], dtype=np.float64),
            np.array([t.length_of_stay_days[c.drug] for c in courses], dtype=np.float64),
            np.array([c.drug == "M" for c in courses], dtype=np.bool_),
            *(np.array([getattr(t.course_doses, key)[c.drug] for c in courses], dtype=np.float64)
              for key in DOSE_KEYS))


def pack_scalars(cfg: Config) -> Scalars:
    from osteosim.model.late_effects import pack as pack_late_effects

    t, d, arm, pal = cfg.treatment, cfg.disease, cfg.arm, cfg.supportive.palliative
    late = pack_late_effects(cfg)
    policy = arm.palliative_policy or pal.policy      # an arm may carry its own referral policy
    named = dict(
        dx_to_chemo=t.diagnosis_to_chemo_days,
        imaging=t.imaging_days,
        biopsy=t.biopsy_days,
        path_median=t.pathology_days_median,
        path_sigma=t.pathology_days_sigma,
        surgery_week=t.surgery_week,
        tox_p=t.toxicity_delay,
        tox_days=t.toxicity_delay_days,
        dose_p=t.dose_reduction,
        reduced=t.reduced_dose_intensity,
        mtx_p=t.mtx_delayed_clearance,
        mtx_extra=t.mtx_delayed_clearance_extra_days,
        surg_to_adj=t.surgery_to_adjuvant_days,
        surg_to_met=t.surgery_to_metastasectomy_days,
        surg_session=t.surgery_session_days,
        met_session=t.metastasectomy_session_days,
        limb_salvage=t.limb_salvage,
        rt_days=7.0 * t.rt_fractions / t.rt_fractions_per_week,
        clinic=t.clinic_visit_days,
        relapse_surgery=t.relapse_surgery_days,
        second_line_n=t.second_line_courses,
        second_line_interval=t.second_line_interval_days,
        ie_stay=t.length_of_stay_days["IE"],
        trm=d.treatment_death_per_course,
        periop=d.perioperative_death,
        csr_lung=d.csr_probability["lung"],
        csr_bilateral=d.csr_bilateral_factor,
        csr_extra=d.csr_probability["extrapulmonary"],
        csr_multi=d.csr_probability["multisystem"],
        axial_resectable=d.axial_primary_resectable,
        ct_sens=d.ct_nodule_sensitivity,
        pet_sens=d.pet_bone_sensitivity,
        overt_dx=d.overt_log10_at_diagnosis,
        cr2_factor=d.cr2_factor_metastatic_at_diagnosis,
        neoadjuvant=arm.neoadjuvant_chemotherapy,
        adjuvant=arm.adjuvant_chemotherapy,
        missed_below=d.missed_lesion_log10_below_detection,
        surveillance_blind=d.xray_detect_log10_above_ct if arm.surveillance_imaging == "xray" else 0.0,
        cr2_burden_factor=d.cr2_factor_per_log10_past_detection,
        ie_ifosfamide=t.course_doses.ifosfamide_g_m2["IE"],
        ie_weight=t.course_kill_weight["IE"],
        entry_relapse=cfg.cohort.entry == "relapse",
        palliative_early=policy == "early",
        referral_p=pal.referral_probability[policy],
        eol_admission_p=pal.end_of_life_admission,
        eol_admission_rr=pal.end_of_life_admission_rr_specialist,
        eol_admission_days=pal.end_of_life_admission_days,
        tier_universal=cfg.supportive.family_tiers["universal"],
        tier_targeted=cfg.supportive.family_tiers["targeted"],
        revision_surgery=cfg.supportive.revision_surgery,
        pf_shape=late.pf_shape,
        pf_scale_days=late.pf_scale_days,
    )
    return Scalars(**{name: float(value) for name, value in named.items()})


def pack(cfg: Config) -> Protocol:
    t, d = cfg.treatment, cfg.disease
    cdf = np.cumsum([d.relapse_site_probabilities[name] for name in RELAPSE_SITES])
    cdf[-1] = 1.0
    return Protocol(pack_scalars(cfg), *_courses(t.neoadjuvant, t), *_courses(t.adjuvant, t),
                    np.array([b.until_year for b in t.followup_schedule], dtype=np.float64),
                    np.array([b.interval_days for b in t.followup_schedule], dtype=np.float64),
                    cdf, np.array([d.cr2_probability[name] for name in SITES], dtype=np.float64),
                    np.concatenate([pack_visits(cfg.arm), supportive_visits(cfg)]))


PROTOCOL_DTYPE = np.dtype(
    [(name, np.float64) for name in Scalars._fields]
    + [(f"{block}_{column}", np.float64, (MAX_COURSES,)) for block in ("neo", "adj")
       for column in COURSE_COLUMNS]
    + [("n_neo", np.int64), ("n_adj", np.int64), ("n_bands", np.int64),
       ("followup_until_years", np.float64, (MAX_BANDS,)), ("followup_interval_days", np.float64, (MAX_BANDS,)),
       ("relapse_site_cdf", np.float64, (len(RELAPSE_SITES),)), ("cr2_by_site", np.float64, (len(SITES),))])


def protocol_record(protocol: Protocol) -> np.ndarray:
    """The protocol as one structured record (a 1-element array) for the compiled pathway (config
    validation keeps blocks within MAX_COURSES and the schedule within MAX_BANDS).

    A record reaches compiled code as a pointer with named fields, so the pathway's stage
    functions take it at every step without copying it (a tuple of arrays would cost reference
    counting at every call).
    """
    out = np.zeros(1, dtype=PROTOCOL_DTYPE)
    r = out[0]
    for name in Scalars._fields:
        r[name] = getattr(protocol.scalars, name)
    for block in ("neo", "adj"):
        n = len(getattr(protocol, f"{block}_week"))
        r[f"n_{block}"] = n
        for column in COURSE_COLUMNS:
            r[f"{block}_{column}"][:n] = getattr(protocol, f"{block}_{column}")
    n = len(protocol.followup_until_years)
    r["n_bands"] = n
    r["followup_until_years"][:n] = protocol.followup_until_years
    r["followup_interval_days"][:n] = protocol.followup_interval_days
    r["relapse_site_cdf"] = protocol.relapse_site_cdf
    r["cr2_by_site"] = protocol.cr2_by_site
    return out.view(np.recarray)
