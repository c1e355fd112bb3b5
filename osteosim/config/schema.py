"""The typed schema of an osteosim configuration.

Hydra composes YAML from ``conf/`` on top of these dataclasses (registered in Hydra's
ConfigStore as ``osteosim_schema``), so a misspelt key or a value of the wrong type fails
at composition. Ranges are declared next to each field (``metadata["range"]``) and checked
by :mod:`osteosim.config.validate` before anything is simulated. Defaults here are only
structural; every clinical number and its source lives in ``conf/``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from omegaconf import MISSING

from osteosim.model.codes import VISIT_PHASES, VISIT_RESOURCES

INF = float("inf")


def bounded(default: Any = MISSING, lo: float = -INF, hi: float = INF, *, open_lo: bool = False) -> Any:
    """A numeric field with its allowed closed range [lo, hi] (or (lo, hi] if open_lo)."""
    return field(default=default, metadata={"range": (lo, hi, open_lo)})


def probability(default: Any = MISSING) -> Any:
    return bounded(default, 0.0, 1.0)


def positive(default: Any = MISSING) -> Any:
    return bounded(default, 0.0, INF, open_lo=True)


def non_negative(default: Any = MISSING) -> Any:
    return bounded(default, 0.0, INF)


def listed(factory=list, **range_kwargs) -> Any:
    """A list field whose every element must fall in the given range."""
    lo, hi = range_kwargs.get("lo", -INF), range_kwargs.get("hi", INF)
    return field(default_factory=factory, metadata={"range": (lo, hi, range_kwargs.get("open_lo", False)),
                                                    "length": range_kwargs.get("length")})


def choice(default: Any, *allowed: str) -> Any:
    return field(default=default, metadata={"choices": allowed})


# ---------------------------------------------------------------- cohort
@dataclass
class CohortConfig:
    mode: str = choice("service", "service", "trial")
    unconstrained_capacity: bool = False
    accrual_years: float = positive()
    followup_years: float = non_negative()
    warmup_years: float = non_negative(0.0)
    catchment_population_millions: float = positive()
    incidence_per_million_per_year: float = positive()
    n_patients: int = bounded(0, 0)
    accrual_per_year: float = positive()
    metastatic_fraction: float = probability()
    lung_only_share_of_metastatic: float = probability()
    multisystem_share_of_metastatic: float = probability()
    age_mean: float = bounded(MISSING, 0.0, 100.0)
    age_sd: float = positive()
    age_min: float = bounded(MISSING, 0.0, 100.0)
    age_max: float = bounded(MISSING, 0.0, 100.0)
    male_fraction: float = probability()
    site_probabilities: dict[str, float] = field(default_factory=dict, metadata={"range": (0.0, 1.0, False)})
    axial_sites: list[str] = field(default_factory=list)
    lung_nodules_mean: float = bounded(MISSING, 1.0)
    bilateral_fraction: float = probability()


# ---------------------------------------------------------------- disease
@dataclass
class DiseaseConfig:
    micro_log10_mean_localized: float = bounded(MISSING, -10.0, 15.0)
    micro_log10_mean_metastatic: float = bounded(MISSING, -10.0, 15.0)
    micro_log10_sd: float = positive()
    doubling_days_median: float = positive()
    doubling_days_sigma: float = non_negative()
    chemosensitivity_median: float = positive()
    chemosensitivity_sigma: float = non_negative()
    micro_kill_multiplier: float = positive()
    overt_kill_multiplier: float = non_negative()
    response_noise_sd: float = non_negative()
    good_response_log10_kill: float = positive()
    detect_log10: float = bounded(MISSING, 0.0, 13.0)
    symptom_log10: float = bounded(MISSING, 0.0, 13.0)
    overt_log10_at_diagnosis: float = bounded(MISSING, 0.0, 13.0)
    missed_lesion_log10_below_detection: float = non_negative()
    xray_detect_log10_above_ct: float = non_negative()
    progression_log10_margin: float = positive()
    ct_nodule_sensitivity: float = probability()
    pet_bone_sensitivity: float = probability()
    csr_probability: dict[str, float] = field(default_factory=dict, metadata={"range": (0.0, 1.0, False)})
    axial_primary_resectable: float = probability()
    rt_local_control: float = probability()
    relapse_site_probabilities: dict[str, float] = field(default_factory=dict, metadata={"range": (0.0, 1.0, False)})
    cr2_probability: dict[str, float] = field(default_factory=dict, metadata={"range": (0.0, 1.0, False)})
    cr2_factor_metastatic_at_diagnosis: float = probability()
    cr2_factor_per_log10_past_detection: float = probability()
    cr2_cure_fraction: float = probability()
    cr2_median_survival_days: float = positive()
    no_cr2_median_survival_days: float = positive()
    no_cr2_median_pfs_days: float = positive()
    post_relapse_weibull_shape: float = bounded(MISSING, 0.2, 5.0)
    late_relapse_years: float = non_negative()
    late_relapse_mortality_hr: float = positive()
    second_malignancy_per_year: float = probability()
    treatment_death_per_course: float = probability()
    perioperative_death: float = probability()
    other_death_gompertz_log_a: float = bounded(MISSING, -30.0, 0.0)
    other_death_gompertz_b: float = bounded(MISSING, 0.0, 1.0)


# ---------------------------------------------------------------- treatment
@dataclass
class CourseConfig:
    """One chemotherapy admission of the protocol."""
    week: int = bounded(MISSING, 1, 200)
    drug: str = choice(MISSING, "AP", "A", "M", "IE")


@dataclass
class FollowupBand:
    until_year: float = positive()
    interval_days: float = positive()


@dataclass
class TreatmentConfig:
    neoadjuvant: list[CourseConfig] = field(default_factory=list)
    surgery_week: int = bounded(MISSING, 1, 200)
    adjuvant: list[CourseConfig] = field(default_factory=list)
    course_kill_weight: dict[str, float] = field(default_factory=dict, metadata={"range": (0.0, 10.0, False)})
    length_of_stay_days: dict[str, float] = field(default_factory=dict, metadata={"range": (0.0, 60.0, True)})
    mtx_delayed_clearance: float = probability()
    mtx_delayed_clearance_extra_days: float = non_negative()
    toxicity_delay: float = probability()
    toxicity_delay_days: float = non_negative()
    dose_reduction: float = probability()
    reduced_dose_intensity: float = bounded(MISSING, 0.0, 1.0, open_lo=True)
    surgery_to_adjuvant_days: float = non_negative()
    surgery_to_metastasectomy_days: float = non_negative()
    limb_salvage: float = probability()
    surgery_session_days: float = positive()
    metastasectomy_session_days: float = positive()
    rt_fractions: int = bounded(MISSING, 1, 60)
    rt_fractions_per_week: int = bounded(MISSING, 1, 7)
    imaging_days: float = positive()
    biopsy_days: float = positive()
    pathology_days_median: float = positive()
    pathology_days_sigma: float = non_negative()
    diagnosis_to_chemo_days: float = non_negative()
    followup_schedule: list[FollowupBand] = field(default_factory=list)
    clinic_visit_days: float = positive()
    relapse_surgery_days: float = non_negative()
    second_line_courses: int = bounded(MISSING, 0, 20)
    second_line_interval_days: float = positive()


# ---------------------------------------------------------------- resources
@dataclass
class ResourceConfig:
    """A planner-facing resource: capacity by weekday (Mon..Sun) and other users' demand."""
    roster: list[int] = listed(lo=0, length=7)
    background_per_week: float = non_negative(0.0)
    background_service_days: float = positive(1.0)
    description: str = ""


@dataclass
class ResourcesConfig:
    imaging: ResourceConfig = field(default_factory=ResourceConfig)
    biopsy: ResourceConfig = field(default_factory=ResourceConfig)
    pathology: ResourceConfig = field(default_factory=ResourceConfig)
    chemo_bed: ResourceConfig = field(default_factory=ResourceConfig)
    theatre_ortho: ResourceConfig = field(default_factory=ResourceConfig)
    theatre_thoracic: ResourceConfig = field(default_factory=ResourceConfig)
    radiotherapy: ResourceConfig = field(default_factory=ResourceConfig)
    followup_clinic: ResourceConfig = field(default_factory=ResourceConfig)
    day_case: ResourceConfig = field(default_factory=ResourceConfig)


# ---------------------------------------------------------------- arm and scenario
SURVEILLANCE_IMAGING = ("ct", "xray")   # chest imaging at follow-up visits


@dataclass
class ArmVisits:
    """Appointments an arm adds (infusions, admissions): from when, how many, how often, where, how long.

    Phases start at the planned start of adjuvant therapy, at the end of first-line treatment
    (maintenance, only without progression) or at a relapse; visits stop at death.
    """
    phase: str = choice(MISSING, *VISIT_PHASES)
    count: int = bounded(MISSING, 1, 1000)
    interval_days: float = positive()
    start_after_days: float = non_negative(1.0)
    resource: str = choice(MISSING, *VISIT_RESOURCES)
    days: float = positive()
    poor_responders_only: bool = False


@dataclass
class ArmConfig:
    """A treatment strategy: named modifiers on the baseline pathway and biology."""
    name: str = MISSING
    description: str = ""
    source: str = ""
    neoadjuvant_chemotherapy: bool = True
    adjuvant_chemotherapy: bool = True
    micro_kill_multiplier: float = positive(1.0)
    immunotherapy_log10_kill: float = non_negative(0.0)
    post_relapse_mortality_hr: float = positive(1.0)
    relapse_pfs_hr: float = positive(1.0)
    surveillance_imaging: str = choice("ct", *SURVEILLANCE_IMAGING)
    visits: list[ArmVisits] = field(default_factory=list)


@dataclass
class ScenarioConfig:
    name: str = "default"
    question: str = ""


@dataclass
class OutputConfig:
    events: Optional[bool] = None     # None: written by the des engine, not by the cohort engine
    resources: bool = True            # the cohort engine has no resources, hence no table
    chunk_patients: int = bounded(250_000, 1_000, 100_000_000)
    dashboard: bool = True
    progress: bool = True


@dataclass
class Config:
    seed: int = bounded(0, 0, 2**62)
    replications: int = bounded(1, 1, 100_000)
    workers: int = bounded(1, 1, 256)
    arms: list[str] = field(default_factory=list)   # several arms in one experiment; empty: `arm` alone
    paired: bool = True                              # common random numbers across arms
    engine: str = choice("auto", "auto", "des", "cohort")
    cohort: CohortConfig = field(default_factory=CohortConfig)
    disease: DiseaseConfig = field(default_factory=DiseaseConfig)
    treatment: TreatmentConfig = field(default_factory=TreatmentConfig)
    resources: ResourcesConfig = field(default_factory=ResourcesConfig)
    arm: ArmConfig = field(default_factory=ArmConfig)
    scenario: ScenarioConfig = field(default_factory=ScenarioConfig)
    output: OutputConfig = field(default_factory=OutputConfig)


RESOURCE_NAMES = tuple(ResourcesConfig.__dataclass_fields__)


def register() -> None:
    """Register the schema with Hydra so that conf/config.yaml can build on it."""
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name="osteosim_schema", node=Config)
