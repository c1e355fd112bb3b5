"""Packing the configured biology and the arm's modifiers into the kernels' `DiseaseParams`."""
from __future__ import annotations

import numpy as np

from osteosim.config.schema import ArmConfig, DiseaseConfig
from osteosim.model.disease import DiseaseParams
from osteosim.model.population import DAYS_PER_YEAR


def disease_vector(d: DiseaseConfig, arm: ArmConfig) -> DiseaseParams:
    """The named tuple of floats every disease kernel reads."""
    named = dict(
        micro_mult=d.micro_kill_multiplier,
        overt_mult=d.overt_kill_multiplier,
        detect=d.detect_log10,
        symptom=d.symptom_log10,
        progression=d.progression_log10_margin,
        good_response=d.good_response_log10_kill,
        response_noise=d.response_noise_sd,
        rt_control=d.rt_local_control,
        cr2_cure=d.cr2_cure_fraction,
        cr2_median=d.cr2_median_survival_days,
        no_cr2_median=d.no_cr2_median_survival_days,
        relapse_hr=arm.post_relapse_mortality_hr,
        arm_kill=arm.micro_kill_multiplier,
        gompertz_log_a=d.other_death_gompertz_log_a,
        gompertz_b=d.other_death_gompertz_b,
        immuno_kill=arm.immunotherapy_log10_kill,
        no_cr2_pfs=d.no_cr2_median_pfs_days,
        relapse_pfs_hr=arm.relapse_pfs_hr,
        relapse_shape=d.post_relapse_weibull_shape,
        late_relapse_days=DAYS_PER_YEAR * d.late_relapse_years,
        late_relapse_hr=d.late_relapse_mortality_hr,
        second_malignancy=d.second_malignancy_per_year,
    )
    return DiseaseParams(**{name: float(value) for name, value in named.items()})   # one type for Numba


PARAMS_DTYPE = np.dtype([(name, np.float64) for name in DiseaseParams._fields])


def params_record(params: DiseaseParams) -> np.ndarray:
    """The parameters as one structured record (a 1-element array) for the compiled pathway: a record
    reaches compiled code as a pointer, where a named tuple of 22 floats is copied into every call."""
    out = np.zeros(1, dtype=PARAMS_DTYPE)
    for name in DiseaseParams._fields:
        out[0][name] = getattr(params, name)
    return out.view(np.recarray)
