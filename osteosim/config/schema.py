"""The typed schema of an osteosim configuration.

Hydra composes YAML from ``conf/`` on top of these dataclasses (registered in Hydra's
ConfigStore as ``osteosim_schema``), so a misspelt key or a value of the wrong type fails
at composition. Ranges are declared next to each field (``metadata["range"]``) and checked
by :mod:`osteosim.config.validate` before anything is simulated. Every range is finite: inf
and nan are never valid, and the upper bounds are generous but plausible (a value far beyond
them is a typo or a unit error, and could only give a run that never ends or silently wrong
numbers). Defaults here are only structural; every clinical number and its source lives in
``conf/``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from omegaconf import MISSING

from osteosim.model.codes import ARM_VISIT_PHASES as VISIT_PHASES   # the phases an arm's visits may start in
from osteosim.model.codes import EXPOSURES, FAMILY_TIERS, SUPPORTIVE_PHASES, VISIT_RESOURCES


def bounded(default: Any, lo: float, hi: float, *, open_lo: bool = False) -> Any:
    """A numeric field with its allowed closed range [lo, hi] (or (lo, hi] if open_lo); both ends finite."""
    return field(default=default, metadata={"range": (lo, hi, open_lo)})


def probability(default: Any = MISSING) -> Any:
    return bounded(default, 0.0, 1.0)


def positive(default: Any = MISSING, *, hi: float) -> Any:
    """A number above 0, at most `hi`."""
    return bounded(default, 0.0, hi, open_lo=True)


def non_negative(default: Any = MISSING, *, hi: float) -> Any:
    """A number from 0 to `hi`."""
    return bounded(default, 0.0, hi)


def mapping(lo: float, hi: float, *, open_lo: bool = False) -> Any:
    """A dict field (name -> number) whose every value must fall in [lo, hi] (or (lo, hi])."""
    return field(default_factory=dict, metadata={"range": (lo, hi, open_lo)})


def listed(*, lo: float, hi: float, length: int | None = None) -> Any:
    """A list field whose every element must fall in [lo, hi]."""
    return field(default_factory=list, metadata={"range": (lo, hi, False), "length": length})


# plausible outer limits shared by several fields
YEARS = 100.0          # any span of calendar time (accrual, follow-up, a survival median in days is 100 y)
DAYS = 365.0           # a single delay, stay or session
LONG_DAYS = 36_500.0   # a median survival or an interval between visits
LOG10 = 13.0           # tumour burdens and kills in log10 cells (13 is a kilogram of tumour)
SIGMA = 5.0            # spread of a lognormal on the log scale
MULTIPLIER = 100.0     # multipliers and hazard ratios


def choice(default: Any, *allowed: str) -> Any:
    return field(default=default, metadata={"choices": allowed})


# ---------------------------------------------------------------- cohort
@dataclass
class CohortConfig:
    mode: str = choice("service", "service", "trial")
    entry: str = choice("diagnosis", "diagnosis", "relapse")   # relapse: enrolled at a recurrence (cohort=relapsed)
    unconstrained_capacity: bool = False
    accrual_years: float = positive(hi=YEARS)
    followup_years: float = non_negative(hi=YEARS)
    warmup_years: float = non_negative(0.0, hi=YEARS)
    catchment_population_millions: float = positive(hi=10_000.0)      # the world is ~8,100 million
    incidence_per_million_per_year: float = positive(hi=1_000.0)      # osteosarcoma: ~4
    n_patients: int = bounded(0, 0, 100_000_000)
    accrual_per_year: float = bounded(MISSING, 0.1, 1_000_000.0)
    metastatic_fraction: float = probability()
    lung_only_share_of_metastatic: float = probability()
    multisystem_share_of_metastatic: float = probability()
    age_mean: float = bounded(MISSING, 0.0, 100.0)
    age_sd: float = positive(hi=50.0)
    age_min: float = bounded(MISSING, 0.0, 100.0)
    age_max: float = bounded(MISSING, 0.0, 100.0)
    male_fraction: float = probability()
    site_probabilities: dict[str, float] = mapping(0.0, 1.0)
    axial_sites: list[str] = field(default_factory=list)
    lung_nodules_mean: float = bounded(MISSING, 1.0, 100.0)


# ---------------------------------------------------------------- disease
@dataclass
class DiseaseConfig:
    micro_log10_mean_localized: float = bounded(MISSING, -10.0, 15.0)
    micro_log10_mean_metastatic: float = bounded(MISSING, -10.0, 15.0)
    micro_log10_sd: float = positive(hi=10.0)
    micro_log10_per_log10_nodule: float = non_negative(hi=5.0)    # occult burden rises with the lung nodules
    micro_log10_bone_extra: float = bounded(MISSING, -LOG10, LOG10)   # ... and with bone metastases
    resistance_log10_rate: float = bounded(MISSING, -20.0, 0.0)     # log10 chance a clonogen is chemoresistant
    doubling_days_median: float = positive(hi=LONG_DAYS)
    doubling_days_sigma: float = non_negative(hi=SIGMA)
    chemosensitivity_median: float = positive(hi=LOG10)
    chemosensitivity_sigma: float = non_negative(hi=SIGMA)
    micro_kill_multiplier: float = positive(hi=MULTIPLIER)
    overt_kill_multiplier: float = non_negative(hi=MULTIPLIER)
    response_noise_sd: float = non_negative(hi=10.0)
    good_response_log10_kill: float = positive(hi=LOG10)
    detect_log10: float = bounded(MISSING, 0.0, 13.0)
    symptom_log10: float = bounded(MISSING, 0.0, 13.0)
    overt_log10_at_diagnosis: float = bounded(MISSING, 0.0, 13.0)
    missed_lesion_log10_below_detection: float = non_negative(hi=LOG10)
    xray_detect_log10_above_ct: float = non_negative(hi=LOG10)
    progression_log10_margin: float = positive(hi=LOG10)
    ct_nodule_sensitivity: float = probability()
    pet_bone_sensitivity: float = probability()
    csr_probability: dict[str, float] = mapping(0.0, 1.0)
    csr_bilateral_factor: float = probability()
    axial_primary_resectable: float = probability()
    rt_local_control: float = probability()
    relapse_site_probabilities: dict[str, float] = mapping(0.0, 1.0)
    cr2_probability: dict[str, float] = mapping(0.0, 1.0)
    cr2_factor_metastatic_at_diagnosis: float = probability()
    cr2_factor_per_log10_past_detection: float = probability()
    relapse_resection_log10_kill: float = non_negative(hi=LOG10)
    lethal_log10: float = bounded(MISSING, 0.0, 15.0)
    relapse_pfs_median_days: float = positive(hi=LONG_DAYS)
    relapse_pfs_weibull_shape: float = bounded(MISSING, 0.2, 5.0)
    further_line_probability: float = probability()
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
    until_year: float = positive(hi=YEARS)
    interval_days: float = positive(hi=LONG_DAYS)


@dataclass
class CourseDoses:
    """The dose of each drug one full-dose course gives, by course type (AP, A, M, IE)."""
    doxorubicin_mg_m2: dict[str, float] = mapping(0.0, 300.0)
    cisplatin_mg_m2: dict[str, float] = mapping(0.0, 300.0)
    methotrexate_g_m2: dict[str, float] = mapping(0.0, 40.0)
    ifosfamide_g_m2: dict[str, float] = mapping(0.0, 40.0)


MAX_COURSES = 128   # courses per chemotherapy block the compiled pathway holds (model.protocol)
MAX_BANDS = 16      # follow-up schedule bands, likewise


@dataclass
class TreatmentConfig:
    neoadjuvant: list[CourseConfig] = field(default_factory=list)
    surgery_week: int = bounded(MISSING, 1, 200)
    adjuvant: list[CourseConfig] = field(default_factory=list)
    course_kill_weight: dict[str, float] = mapping(0.0, 10.0)
    length_of_stay_days: dict[str, float] = mapping(0.0, 60.0, open_lo=True)
    course_doses: CourseDoses = field(default_factory=CourseDoses)
    mtx_delayed_clearance: float = probability()
    mtx_delayed_clearance_extra_days: float = non_negative(hi=DAYS)
    toxicity_delay: float = probability()
    toxicity_delay_days: float = non_negative(hi=DAYS)
    dose_reduction: float = probability()
    reduced_dose_intensity: float = bounded(MISSING, 0.0, 1.0, open_lo=True)
    surgery_to_adjuvant_days: float = non_negative(hi=DAYS)
    surgery_to_metastasectomy_days: float = non_negative(hi=DAYS)
    limb_salvage: float = probability()
    surgery_session_days: float = positive(hi=60.0)
    metastasectomy_session_days: float = positive(hi=60.0)
    rt_fractions: int = bounded(MISSING, 1, 60)
    rt_fractions_per_week: int = bounded(MISSING, 1, 7)
    imaging_days: float = positive(hi=60.0)
    biopsy_days: float = positive(hi=60.0)
    pathology_days_median: float = positive(hi=DAYS)
    pathology_days_sigma: float = non_negative(hi=SIGMA)
    diagnosis_to_chemo_days: float = non_negative(hi=DAYS)
    followup_schedule: list[FollowupBand] = field(default_factory=list)
    clinic_visit_days: float = positive(hi=60.0)
    relapse_surgery_days: float = non_negative(hi=DAYS)
    second_line_courses: int = bounded(MISSING, 0, 20)
    second_line_interval_days: float = positive(hi=DAYS)


# ---------------------------------------------------------------- late effects
@dataclass
class LateEffectsConfig:
    """Late effects of treatment, drawn after the pathway from the cumulative doses (model.late_effects)."""
    heart_failure_incidence: float = bounded(MISSING, 0.0, 0.99)    # cumulative, at the reference dose ...
    heart_failure_years: float = positive(hi=YEARS)                  # ... this long after the first doxorubicin
    heart_failure_reference_mg_m2: float = positive(hi=2_000.0)
    heart_failure_hr_per_10_mg_m2: float = positive(hi=10.0)
    hearing_loss_severe: float = probability()                       # severe loss by the end of cisplatin, at ...
    hearing_loss_reference_mg_m2: float = positive(hi=2_000.0)       # ... this cumulative dose
    hearing_loss_threshold_mg_m2: float = non_negative(hi=2_000.0)   # none at or below this dose
    hearing_loss_young_years: float = non_negative(hi=100.0)         # younger than this at diagnosis ...
    hearing_loss_young_risk_ratio: float = positive(hi=MULTIPLIER)   # ... multiplies the chance
    kidney_damage: float = probability()                             # moderate/severe nephrotoxicity at ...
    kidney_reference_g_m2: float = positive(hi=500.0)                # ... this cumulative ifosfamide dose
    prosthesis_failure: float = bounded(MISSING, 0.0, 0.99)          # endoprosthesis failure (revision) by ...
    prosthesis_failure_years: float = positive(hi=YEARS)             # ... this long after limb-salvage surgery
    prosthesis_median_years: float = positive(hi=YEARS)              # median implant survival (Weibull with the above)


# ---------------------------------------------------------------- resources
@dataclass
class ResourceConfig:
    """A planner-facing resource: capacity by weekday (Mon..Sun) and other users' demand."""
    roster: list[int] = listed(lo=0, hi=1_000, length=7)
    background_per_week: float = non_negative(0.0, hi=2_000.0)     # other patients' uses per week
    background_service_days: float = positive(1.0, hi=DAYS)
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
    palliative_nurse: ResourceConfig = field(default_factory=ResourceConfig)
    eol_bed: ResourceConfig = field(default_factory=ResourceConfig)
    psychology: ResourceConfig = field(default_factory=ResourceConfig)
    social_work: ResourceConfig = field(default_factory=ResourceConfig)
    echo: ResourceConfig = field(default_factory=ResourceConfig)
    audiology: ResourceConfig = field(default_factory=ResourceConfig)


# ---------------------------------------------------------------- supportive care
PALLIATIVE_POLICIES = ("late", "early")   # referral at the last line's end, or as soon as cure is not possible
PLACES = ("home", "hospice", "hospital")  # where a patient dies of the disease


@dataclass
class PalliativeConfig:
    """Referral to specialist palliative care, its contacts and the end of life (model.pathway, model.supportive)."""
    policy: str = choice(MISSING, *PALLIATIVE_POLICIES)
    referral_probability: dict[str, float] = mapping(0.0, 1.0)      # policy -> chance of a referral at its trigger
    contact_interval_days: float = positive(hi=DAYS)                 # a palliative-care nurse contact this often ...
    contact_days: float = positive(hi=DAYS)                          # ... holding a nurse this long
    contacts_max: int = bounded(MISSING, 0, 1000)                    # ... at most this many (they stop at death)
    end_of_life_admission: float = probability()                     # admitted for the last days without specialist care
    end_of_life_admission_rr_specialist: float = positive(hi=MULTIPLIER)   # ... times this when referred by then
    end_of_life_admission_days: float = positive(hi=DAYS)            # the admission, until death
    place_of_death: dict[str, float] = mapping(0.0, 1.0)            # without specialist care: shares summing to 1
    hospital_death_or_specialist: float = positive(hi=MULTIPLIER)    # odds ratio of a hospital death when referred
    home_share_outside_hospital_specialist: float = probability()    # home (rest: hospice) when referred


TIERS = FAMILY_TIERS[1:]                   # psychosocial risk tiers of a family (PPPHM)


@dataclass
class ArmVisits:
    """Appointments an arm adds (infusions, admissions): from when, how many, how often, where, how long.

    Phases start at the planned start of adjuvant therapy, at the end of first-line treatment
    (maintenance, only without progression) or at a relapse; visits stop at death.
    """
    phase: str = choice(MISSING, *VISIT_PHASES)
    count: int = bounded(MISSING, 1, 1000)
    interval_days: float = positive(hi=LONG_DAYS)
    start_after_days: float = non_negative(1.0, hi=LONG_DAYS)
    resource: str = choice(MISSING, *VISIT_RESOURCES)
    days: float = positive(hi=DAYS)
    poor_responders_only: bool = False


@dataclass
class SupportiveVisits(ArmVisits):
    """A series of supportive-care visits: an arm's visit series (from a phase's anchor, how many, how
    often, where, how long) in supportive care's phases, and for whom.

    Phases: assessment (diagnosis), admission (each chemotherapy admission), relapse_support (the
    first relapse), palliative (a palliative referral), bereavement (the patient's death),
    survivorship (the end of first-line treatment), revision (an endoprosthesis failure, with
    supportive.revision_surgery). Visits stop at death, except bereavement's (at the horizon).
    """
    phase: str = choice(MISSING, *SUPPORTIVE_PHASES)
    start_after_days: float = non_negative(0.0, hi=LONG_DAYS)
    tier: str = choice("all", "all", *TIERS)               # only families of this tier
    exposure: str = choice("", *EXPOSURES)                  # only patients given this drug ("" everyone)
    description: str = ""


@dataclass
class SupportiveConfig:
    """Supportive care beside the pathway: psychosocial care, palliative care, survivorship surveillance."""
    name: str = MISSING
    family_tiers: dict[str, float] = mapping(0.0, 1.0)          # universal / targeted / clinical shares
    palliative: PalliativeConfig = field(default_factory=PalliativeConfig)
    visits: list[SupportiveVisits] = field(default_factory=list)
    revision_surgery: bool = False     # an endoprosthesis failure books revision surgery (phase revision)


# ---------------------------------------------------------------- arm and scenario
SURVEILLANCE_IMAGING = ("ct", "xray")   # chest imaging at follow-up visits


@dataclass
class ArmConfig:
    """A treatment strategy: named modifiers on the baseline pathway and biology."""
    name: str = MISSING
    description: str = ""
    source: str = ""
    neoadjuvant_chemotherapy: bool = True
    adjuvant_chemotherapy: bool = True
    micro_kill_multiplier: float = positive(1.0, hi=MULTIPLIER)
    immunotherapy_log10_kill: float = non_negative(0.0, hi=LOG10)
    post_relapse_mortality_hr: float = positive(1.0, hi=MULTIPLIER)
    relapse_pfs_hr: float = positive(1.0, hi=MULTIPLIER)
    relapse_complete_response: float = probability(0.0)
    surveillance_imaging: str = choice("ct", *SURVEILLANCE_IMAGING)
    visits: list[ArmVisits] = field(default_factory=list)
    # supportive care and service as part of a strategy, so a planner compares them paired (arms=[...])
    palliative_policy: str = choice("", "", *PALLIATIVE_POLICIES)    # "" keeps supportive.palliative.policy
    heart_failure_hr: float = positive(1.0, hi=MULTIPLIER)          # x the heart-failure hazard (e.g. dexrazoxane)
    rosters: dict[str, list[int]] = field(default_factory=dict)      # resource -> roster (Mon..Sun) under this arm


# ---------------------------------------------------------------- economics
MONEY = 1e9            # any unit cost in the run's currency (a course of CAR-T is under 1e6)
CURRENCIES = ("GBP", "USD", "EUR")
DISTRIBUTIONS = ("fixed", "beta", "gamma", "lognormal", "normal", "dirichlet")


@dataclass
class UnitCost:
    """One priced item: its amount, what one unit is, and where the figure comes from."""
    amount: float = non_negative(hi=MONEY)
    per: str = ""                                    # what one unit is (a course, a month, an event)
    currency: str = choice(MISSING, *CURRENCIES)
    price_year: int = bounded(MISSING, 1980, 2100)
    source: str = MISSING                            # health_economics.md § or ASSUMPTION


@dataclass
class ArmDrug:
    """An arm's own drug, priced through its visits: each visit costs `cost` / `visits_per_unit`."""
    cost: str = MISSING                              # a key of economics.costs (e.g. mifamurtide_course)
    visits_per_unit: float = positive(hi=10_000.0)   # visits one unit of `cost` pays for (48 infusions a course)


@dataclass
class Utilities:
    """Health-state utilities (1 = full health, 0 = dead; below 0 is worse than dead) and decrements."""
    survivor: float = bounded(MISSING, -1.0, 1.0)           # after first-line treatment, without relapse
    on_treatment_decrement: float = non_negative(hi=1.0)    # below `survivor` from diagnosis to the end of first line
    after_relapse: float = bounded(MISSING, -1.0, 1.0)      # from a relapse or progression on
    palliative: float = bounded(MISSING, -1.0, 1.0)         # the last `palliative_days` before a cancer death
    palliative_days: float = non_negative(hi=LONG_DAYS)
    heart_failure_decrement: float = non_negative(hi=1.0)   # subtracted from the onset of each late effect on
    hearing_loss_decrement: float = non_negative(hi=1.0)
    kidney_damage_decrement: float = non_negative(hi=1.0)
    prosthesis_failure_decrement: float = non_negative(hi=1.0)


@dataclass
class CarerQalys:
    """QALYs lost by a carer (NICE reference case allows them); off by default."""
    enabled: bool = False
    disutility_on_treatment: float = non_negative(0.0, hi=1.0)
    disutility_after_relapse: float = non_negative(0.0, hi=1.0)
    bereavement_disutility: float = non_negative(0.0, hi=1.0)
    bereavement_years: float = non_negative(0.0, hi=YEARS)


@dataclass
class EndOfLife:
    """Care in the last days before a cancer death: the expected cost over where patients die."""
    place_of_death: dict[str, float] = mapping(0.0, 1.0)   # shares summing to 1
    cost_by_place: dict[str, str] = field(default_factory=dict)   # place -> key of economics.costs


@dataclass
class Uncertain:
    """A parameter's PSA distribution. `key` is a dotted config key (economics.utilities.survivor,
    late_effects.kidney_damage) or arms.<arm>.<field> for one arm's own parameter."""
    key: str = MISSING
    dist: str = choice(MISSING, *DISTRIBUTIONS)
    # beta: alpha, beta; gamma: shape, scale; lognormal: mu, sigma (log scale); normal: mean, sd;
    # dirichlet: one alpha per share of the dict at `key`; fixed: none
    params: dict[str, float] = mapping(-1e9, 1e9)
    group: str = ""                                  # EVPPI parameter group (default: the key itself)
    source: str = ""


@dataclass
class EconomicsConfig:
    """Costs, utilities and conventions of a cost-utility analysis (osteosim.economics)."""
    name: str = MISSING
    perspective: str = ""
    currency: str = choice(MISSING, *CURRENCIES)
    price_year: int = bounded(MISSING, 1980, 2100)
    inflation_per_year: float = bounded(0.0, -0.5, 1.0)   # costs from other price years, compounded
    discount_costs: float = bounded(MISSING, 0.0, 1.0)
    discount_effects: float = bounded(MISSING, 0.0, 1.0)
    horizon_years: float = positive(100.0, hi=YEARS)       # from diagnosis; the run's follow-up bounds it too
    thresholds: list[float] = listed(lo=0.0, hi=MONEY)     # willingness to pay per QALY
    costs: dict[str, UnitCost] = field(default_factory=dict)
    chemotherapy_drugs: dict[str, str] = field(default_factory=dict)    # course type -> key of costs (its drugs)
    visit_delivery: dict[str, str] = field(default_factory=dict)        # visit resource -> key of costs
    arm_drugs: dict[str, ArmDrug] = field(default_factory=dict)          # arm name -> its drug
    end_of_life: EndOfLife = field(default_factory=EndOfLife)
    utilities: Utilities = field(default_factory=Utilities)
    carer: CarerQalys = field(default_factory=CarerQalys)
    psa: list[Uncertain] = field(default_factory=list)


@dataclass
class ScenarioConfig:
    name: str = "default"
    question: str = ""


@dataclass
class OutputConfig:
    events: Optional[bool] = None     # None: written by the des engine, not by the cohort engine
    background_events: bool = False   # events.parquet also logs background demand (patient_id -1)
    resources: bool = True            # the cohort engine has no resources, hence no table
    chunk_patients: int = bounded(200_000, 1_000, 100_000_000)
    dashboard: bool = True
    progress: bool = True


@dataclass
class Config:
    seed: int = bounded(0, 0, 2**62)
    replications: int = bounded(1, 1, 100_000)
    workers: int = bounded(0, 0, 256)               # 0: auto (engines.replications.replication_processes)
    arms: list[str] = field(default_factory=list)   # several arms in one experiment; empty: `arm` alone
    paired: bool = True                              # common random numbers across arms
    engine: str = choice("auto", "auto", "des", "cohort")
    cohort: CohortConfig = field(default_factory=CohortConfig)
    disease: DiseaseConfig = field(default_factory=DiseaseConfig)
    treatment: TreatmentConfig = field(default_factory=TreatmentConfig)
    late_effects: LateEffectsConfig = field(default_factory=LateEffectsConfig)
    supportive: SupportiveConfig = field(default_factory=SupportiveConfig)
    resources: ResourcesConfig = field(default_factory=ResourcesConfig)
    arm: ArmConfig = field(default_factory=ArmConfig)
    economics: EconomicsConfig = field(default_factory=EconomicsConfig)
    scenario: ScenarioConfig = field(default_factory=ScenarioConfig)
    output: OutputConfig = field(default_factory=OutputConfig)


RESOURCE_NAMES = tuple(ResourcesConfig.__dataclass_fields__)


def register() -> None:
    """Register the schema with Hydra so that conf/config.yaml can build on it (and parse each conf file once
    per process: osteosim.config.parsing). Once per process: storing converts the dataclasses again (30 ms)."""
    from hydra.core.config_store import ConfigStore

    from osteosim.config import parsing

    parsing.install()
    store = ConfigStore.instance()
    if "osteosim_schema.yaml" not in store.list("/"):
        store.store(name="osteosim_schema", node=Config)
