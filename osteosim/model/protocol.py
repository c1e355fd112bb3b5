"""The treatment protocol and pathway probabilities packed as arrays, for both engines.

The SimPy stages and the all-Numba cohort engine read the same packed numbers, so a
configuration means the same thing to both. Indices of the scalar vector are the `T_*`
constants; courses are parallel arrays (week, kill weight, length of stay, is-methotrexate).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from osteosim.config.schema import Config

RELAPSE_SITE_NAMES = ("lung", "local", "multiple", "bone")
PROGRESSION = len(RELAPSE_SITE_NAMES)          # relapse-site code of progression on first-line therapy
SITE_CODES = RELAPSE_SITE_NAMES + ("progression",)

(T_DX_TO_CHEMO, T_IMAGING, T_BIOPSY, T_PATH_MEDIAN, T_PATH_SIGMA, T_SURGERY_WEEK, T_TOX_P, T_TOX_DAYS,
 T_DOSE_P, T_REDUCED, T_MTX_P, T_MTX_EXTRA, T_SURG_TO_ADJ, T_SURG_TO_MET, T_SURG_SESSION, T_MET_SESSION,
 T_LIMB_SALVAGE, T_RT_DAYS, T_CLINIC, T_RELAPSE_SURGERY, T_SECOND_LINE_N, T_SECOND_LINE_INTERVAL, T_IE_STAY,
 T_TRM, T_PERIOP, T_CSR_LUNG, T_CSR_EXTRA, T_CSR_MULTI, T_AXIAL_RESECTABLE, T_CT_SENS, T_PET_SENS,
 T_BILATERAL, T_OVERT_DX, T_CR2_FACTOR, T_NEOADJUVANT, T_ADJUVANT, T_MISSED_BELOW, T_SURVEILLANCE_BLIND,
 T_CR2_BURDEN_FACTOR, N_T) = range(40)


# columns of Protocol.visits; phase and resource are indices into schema.VISIT_PHASES / VISIT_RESOURCES
V_PHASE, V_COUNT, V_INTERVAL, V_START_AFTER, V_RESOURCE, V_DAYS, V_POOR_ONLY, N_V = range(8)


def pack_visits(arm) -> np.ndarray:
    from osteosim.config.schema import VISIT_PHASES, VISIT_RESOURCES

    rows = [(VISIT_PHASES.index(v.phase), v.count, v.interval_days, v.start_after_days,
             VISIT_RESOURCES.index(v.resource), v.days, float(v.poor_responders_only)) for v in arm.visits]
    return np.array(rows, dtype=np.float64).reshape(len(rows), N_V)


class Protocol(NamedTuple):
    scalars: np.ndarray          # float64[N_T]
    neo_week: np.ndarray         # float64 week numbers of the neoadjuvant courses
    neo_weight: np.ndarray       # share of a MAP cycle's kill
    neo_stay: np.ndarray         # length of stay, days
    neo_mtx: np.ndarray          # bool: high-dose methotrexate (delayed clearance possible)
    adj_week: np.ndarray
    adj_weight: np.ndarray
    adj_stay: np.ndarray
    adj_mtx: np.ndarray
    followup_until_years: np.ndarray
    followup_interval_days: np.ndarray
    relapse_site_cdf: np.ndarray  # cumulative, in RELAPSE_SITE_NAMES order
    cr2_by_site: np.ndarray       # in SITE_CODES order
    visits: np.ndarray            # (n, 7) the arm's visits: VISIT_* columns


def _courses(courses, t):
    return (np.array([c.week for c in courses], dtype=np.float64),
            np.array([t.course_kill_weight[c.drug] for c in courses], dtype=np.float64),
            np.array([t.length_of_stay_days[c.drug] for c in courses], dtype=np.float64),
            np.array([c.drug == "M" for c in courses], dtype=np.bool_))


def pack(cfg: Config) -> Protocol:
    t, d, arm = cfg.treatment, cfg.disease, cfg.arm
    s = np.zeros(N_T)
    s[T_DX_TO_CHEMO] = t.diagnosis_to_chemo_days
    s[T_IMAGING] = t.imaging_days
    s[T_BIOPSY] = t.biopsy_days
    s[T_PATH_MEDIAN] = t.pathology_days_median
    s[T_PATH_SIGMA] = t.pathology_days_sigma
    s[T_SURGERY_WEEK] = t.surgery_week
    s[T_TOX_P] = t.toxicity_delay
    s[T_TOX_DAYS] = t.toxicity_delay_days
    s[T_DOSE_P] = t.dose_reduction
    s[T_REDUCED] = t.reduced_dose_intensity
    s[T_MTX_P] = t.mtx_delayed_clearance
    s[T_MTX_EXTRA] = t.mtx_delayed_clearance_extra_days
    s[T_SURG_TO_ADJ] = t.surgery_to_adjuvant_days
    s[T_SURG_TO_MET] = t.surgery_to_metastasectomy_days
    s[T_SURG_SESSION] = t.surgery_session_days
    s[T_MET_SESSION] = t.metastasectomy_session_days
    s[T_LIMB_SALVAGE] = t.limb_salvage
    s[T_RT_DAYS] = 7.0 * t.rt_fractions / t.rt_fractions_per_week
    s[T_CLINIC] = t.clinic_visit_days
    s[T_RELAPSE_SURGERY] = t.relapse_surgery_days
    s[T_SECOND_LINE_N] = t.second_line_courses
    s[T_SECOND_LINE_INTERVAL] = t.second_line_interval_days
    s[T_IE_STAY] = t.length_of_stay_days["IE"]
    s[T_TRM] = d.treatment_death_per_course
    s[T_PERIOP] = d.perioperative_death
    s[T_CSR_LUNG] = d.csr_probability["lung"]
    s[T_CSR_EXTRA] = d.csr_probability["extrapulmonary"]
    s[T_CSR_MULTI] = d.csr_probability["multisystem"]
    s[T_AXIAL_RESECTABLE] = d.axial_primary_resectable
    s[T_CT_SENS] = d.ct_nodule_sensitivity
    s[T_PET_SENS] = d.pet_bone_sensitivity
    s[T_BILATERAL] = cfg.cohort.bilateral_fraction
    s[T_OVERT_DX] = d.overt_log10_at_diagnosis
    s[T_MISSED_BELOW] = d.missed_lesion_log10_below_detection
    s[T_CR2_FACTOR] = d.cr2_factor_metastatic_at_diagnosis
    s[T_CR2_BURDEN_FACTOR] = d.cr2_factor_per_log10_past_detection
    # log10 a relapse grows past what CT sees before the arm's follow-up imaging sees it
    s[T_SURVEILLANCE_BLIND] = d.xray_detect_log10_above_ct if arm.surveillance_imaging == "xray" else 0.0
    s[T_NEOADJUVANT] = float(arm.neoadjuvant_chemotherapy)
    s[T_ADJUVANT] = float(arm.adjuvant_chemotherapy)
    cdf = np.cumsum([d.relapse_site_probabilities[name] for name in RELAPSE_SITE_NAMES])
    cdf[-1] = 1.0
    return Protocol(s, *_courses(t.neoadjuvant, t), *_courses(t.adjuvant, t),
                    np.array([b.until_year for b in t.followup_schedule], dtype=np.float64),
                    np.array([b.interval_days for b in t.followup_schedule], dtype=np.float64),
                    cdf, np.array([d.cr2_probability[name] for name in SITE_CODES], dtype=np.float64),
                    pack_visits(arm))
