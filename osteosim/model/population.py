"""The simulated population: patient attributes as a struct of NumPy arrays.

Sampled from the configured population (``cohort/``) with keyed draws, so patient ``i`` has
the same attributes whatever the arm, the engine or the number of patients after it. The
true metastatic pattern is latent; what staging finds is decided in the pathway.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from osteosim.model import rng
from osteosim.model.codes import DAYS_PER_YEAR, MET  # noqa: F401  (DAYS_PER_YEAR: also read from here)
from osteosim.config.schema import CohortConfig, DiseaseConfig

COHORT_STREAM = 1 << 41  # the stream of the referral process itself


@dataclass
class Cohort:
    """One array per attribute, index = patient id."""
    arrival_day: np.ndarray
    age_years: np.ndarray
    male: np.ndarray
    site: np.ndarray            # index into `sites`
    axial: np.ndarray
    true_met: np.ndarray        # index into MET_PATTERNS (latent; staging may miss some)
    true_nodules: np.ndarray    # lung nodules present (0 without lung disease)
    micro_log10: np.ndarray     # occult burden at referral
    growth: np.ndarray          # log10 per day
    sensitivity: np.ndarray     # log10 kill per MAP cycle on bulk tumour
    sites: tuple[str, ...]
    horizon_day: float          # end of follow-up for everyone
    first_id: int = 0           # patient id of row 0 (cohorts are simulated in chunks)

    def __len__(self) -> int:
        return self.arrival_day.shape[0]


def arrival_days(cfg: CohortConfig, seed: int) -> np.ndarray:
    """Referral days: a Poisson process over the accrual period (service), or n patients at a rate (trial)."""
    if cfg.mode == "trial":
        rate = cfg.accrual_per_year / DAYS_PER_YEAR
        return np.cumsum(-np.log(rng.stream_uniforms(seed, COHORT_STREAM, rng.PURPOSE.arrival, cfg.n_patients)) / rate)
    rate = cfg.incidence_per_million_per_year * cfg.catchment_population_millions / DAYS_PER_YEAR
    end = cfg.accrual_years * DAYS_PER_YEAR
    n = int(rate * end + 10 * np.sqrt(rate * end) + 100)
    while True:
        days = np.cumsum(-np.log(rng.stream_uniforms(seed, COHORT_STREAM, rng.PURPOSE.arrival, n)) / rate)
        if days[-1] > end:
            return days[days <= end]
        n *= 2


def horizon_day(cfg: CohortConfig, arrivals: np.ndarray) -> float:
    """Everyone is followed until follow-up_years after the end of accrual."""
    accrual_end = cfg.accrual_years * DAYS_PER_YEAR if cfg.mode == "service" else float(arrivals.max(initial=0.0))
    return accrual_end + cfg.followup_years * DAYS_PER_YEAR


def _truncated_normal(seed, ids, purpose, mean, sd, lo, hi):
    """Normal(mean, sd) truncated to [lo, hi], exactly, by the inverse CDF of one keyed uniform.

    Computed in the lower tail (mirrored when the interval lies above the mean) so that a mean
    far outside the interval keeps its precision: the occult burden of metastatic patients is
    fitted to a mean above the detection threshold it is truncated at.
    """
    from scipy.special import ndtr, ndtri

    mean = np.broadcast_to(np.asarray(mean, dtype=np.float64), ids.shape)
    u = rng.uniform_array(seed, ids, purpose, 0)
    a, b = (lo - mean) / sd, (hi - mean) / sd
    upper = a > 0.0                                   # interval above the mean: mirror it below
    a, b = np.where(upper, -b, a), np.where(upper, -a, b)
    low_p, high_p = ndtr(a), ndtr(b)
    z = ndtri(low_p + u * (high_p - low_p))
    z = np.where(high_p > low_p, z, np.clip(0.0, a, b))   # an interval too far out for doubles: its edge
    return np.clip(mean + sd * np.where(upper, -z, z), lo, hi)


def _categorical(u: np.ndarray, probs) -> np.ndarray:
    cum = np.cumsum(np.asarray(probs, dtype=np.float64))
    cum[-1] = 1.0
    return np.searchsorted(cum, u, side="right").astype(np.int8)


def _met_patterns(cfg: CohortConfig, seed: int, ids: np.ndarray) -> np.ndarray:
    metastatic = rng.uniform_array(seed, ids, rng.PURPOSE.met_true, 0) < cfg.metastatic_fraction
    lung, multi = cfg.lung_only_share_of_metastatic, cfg.multisystem_share_of_metastatic
    pattern = _categorical(rng.uniform_array(seed, ids, rng.PURPOSE.met_pattern, 0), [lung, 1.0 - lung - multi, multi]) + 1
    return np.where(metastatic, pattern, MET.none).astype(np.int8)


def _lung_nodules(cfg: CohortConfig, seed: int, ids: np.ndarray, met: np.ndarray) -> np.ndarray:
    """1 + geometric count with the configured mean, for patients with lung disease."""
    p = 1.0 / cfg.lung_nodules_mean
    u = rng.uniform_array(seed, ids, rng.PURPOSE.nodules, 0)
    extra = np.floor(np.log(u) / np.log1p(-p)) if p < 1.0 else np.zeros_like(u)
    has_lung = (met == MET.lung) | (met == MET.multisystem)
    return np.where(has_lung, 1 + extra, 0).astype(np.int32)


def occult_mean(disease: DiseaseConfig, met: np.ndarray, nodules: np.ndarray) -> np.ndarray:
    """Mean log10 occult burden by the metastatic pattern a patient truly has (DESIGN §3).

    Seeding that left more lung nodules left proportionally more occult disease (log10 burden
    rises by `micro_log10_per_log10_nodule` per log10 nodule: 1 is proportional), and bone
    metastases add `micro_log10_bone_extra`: the gradients by nodule count, laterality and site
    follow from this burden and from what surgery can remove, not from a hazard ratio per subgroup.
    """
    bone = (met == MET.extrapulmonary) | (met == MET.multisystem)
    metastatic = (disease.micro_log10_mean_metastatic
                  + disease.micro_log10_per_log10_nodule * np.log10(np.maximum(nodules, 1))
                  + np.where(bone, disease.micro_log10_bone_extra, 0.0))
    return np.where(met == MET.none, disease.micro_log10_mean_localized, metastatic)


def sample(cfg: CohortConfig, disease: DiseaseConfig, seed: int) -> Cohort:
    """Draw the whole cohort of one replication."""
    arrivals = arrival_days(cfg, seed)
    return sample_chunk(cfg, disease, seed, arrivals, horizon_day(cfg, arrivals), 0, arrivals.shape[0])


def sample_chunk(cfg: CohortConfig, disease: DiseaseConfig, seed: int, arrivals: np.ndarray, horizon: float,
                 lo: int, hi: int) -> Cohort:
    """Patients lo..hi-1 of a replication: the same values as in the whole cohort (keyed by patient id)."""
    ids = np.arange(lo, hi, dtype=np.int64)
    sites = tuple(cfg.site_probabilities)
    site = _categorical(rng.uniform_array(seed, ids, rng.PURPOSE.site, 0), list(cfg.site_probabilities.values()))
    axial_idx = [sites.index(s) for s in cfg.axial_sites]
    met = _met_patterns(cfg, seed, ids)
    nodules = _lung_nodules(cfg, seed, ids, met)
    doubling = disease.doubling_days_median * np.exp(disease.doubling_days_sigma * rng.normal_array(seed, ids, rng.PURPOSE.growth, 0))
    return Cohort(
        arrival_day=arrivals[lo:hi],
        age_years=_truncated_normal(seed, ids, rng.PURPOSE.age, cfg.age_mean, cfg.age_sd, cfg.age_min, cfg.age_max),
        male=rng.uniform_array(seed, ids, rng.PURPOSE.sex, 0) < cfg.male_fraction,
        site=site,
        axial=np.isin(site, axial_idx),
        true_met=met,
        true_nodules=nodules,
        # occult means below imaging: the burden is truncated at the detection threshold
        micro_log10=_truncated_normal(seed, ids, rng.PURPOSE.micro_burden, occult_mean(disease, met, nodules),
                                      disease.micro_log10_sd, -np.inf, disease.detect_log10),
        growth=np.log10(2.0) / doubling,
        sensitivity=disease.chemosensitivity_median
        * np.exp(disease.chemosensitivity_sigma * rng.normal_array(seed, ids, rng.PURPOSE.chemosens, 0)),
        sites=sites,
        horizon_day=horizon,
        first_id=lo,
    )
