"""Packing the configured biology and the arm's modifiers into the kernels' parameter vector."""
from __future__ import annotations

import numpy as np

from osteosim.model.population import DAYS_PER_YEAR
from osteosim.config.schema import ArmConfig, DiseaseConfig
from osteosim.model import disease as k
def disease_vector(d: DiseaseConfig, arm: ArmConfig) -> np.ndarray:
    """The float64 vector the kernels read (indices `kernels.P_*`)."""
    p = np.empty(k.N_PARAMS)
    p[k.P_MICRO_MULT] = d.micro_kill_multiplier
    p[k.P_OVERT_MULT] = d.overt_kill_multiplier
    p[k.P_DETECT] = d.detect_log10
    p[k.P_SYMPTOM] = d.symptom_log10
    p[k.P_PROGRESSION] = d.progression_log10_margin
    p[k.P_GOOD_RESPONSE] = d.good_response_log10_kill
    p[k.P_RESPONSE_NOISE] = d.response_noise_sd
    p[k.P_RT_CONTROL] = d.rt_local_control
    p[k.P_CR2_CURE] = d.cr2_cure_fraction
    p[k.P_CR2_MEDIAN] = d.cr2_median_survival_days
    p[k.P_NO_CR2_MEDIAN] = d.no_cr2_median_survival_days
    p[k.P_RELAPSE_HR] = arm.post_relapse_mortality_hr
    p[k.P_ARM_KILL] = arm.micro_kill_multiplier
    p[k.P_GOMPERTZ_LOG_A] = d.other_death_gompertz_log_a
    p[k.P_GOMPERTZ_B] = d.other_death_gompertz_b
    p[k.P_IMMUNO_KILL] = arm.immunotherapy_log10_kill
    p[k.P_NO_CR2_PFS] = d.no_cr2_median_pfs_days
    p[k.P_RELAPSE_PFS_HR] = arm.relapse_pfs_hr
    p[k.P_RELAPSE_SHAPE] = d.post_relapse_weibull_shape
    p[k.P_LATE_RELAPSE_DAYS] = DAYS_PER_YEAR * d.late_relapse_years
    p[k.P_LATE_RELAPSE_HR] = d.late_relapse_mortality_hr
    p[k.P_SECOND_MALIGNANCY] = d.second_malignancy_per_year
    return p
