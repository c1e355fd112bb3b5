"""Packing the configured biology and the arm's modifiers into the kernels' `DiseaseParams`."""
from __future__ import annotations

import numpy as np

from osteosim.config.schema import ArmConfig, DiseaseConfig
from osteosim.model.disease import DiseaseParams


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
        resistance=d.resistance_log10_rate,
        relapse_hr=arm.post_relapse_mortality_hr,
        arm_kill=arm.micro_kill_multiplier,
        gompertz_log_a=d.other_death_gompertz_log_a,
        gompertz_b=d.other_death_gompertz_b,
        immuno_kill=arm.immunotherapy_log10_kill,
        lethal=d.lethal_log10,
        resection_kill=d.relapse_resection_log10_kill,
        pfs_median=d.relapse_pfs_median_days,
        pfs_shape=d.relapse_pfs_weibull_shape,
        further_line=d.further_line_probability,
        relapse_pfs_hr=arm.relapse_pfs_hr,
        complete_response=arm.relapse_complete_response,
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
