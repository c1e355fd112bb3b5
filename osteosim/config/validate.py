"""Range and consistency checks on a composed configuration, before anything runs.

Types and key names are already enforced by the schema when Hydra composes; here every
numeric field is checked against the range declared next to it in :mod:`.schema`, and a few
cross-field rules are checked. The first problem found is raised as a :class:`ConfigError`
whose message names the key, the value and what is allowed.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any

from osteosim.config import schema


class ConfigError(ValueError):
    """A configuration value that osteosim cannot run with."""


def _fmt(x: float) -> str:
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return "inf" if x == math.inf else "-inf" if x == -math.inf else repr(x)


def range_text(rng: tuple) -> str:
    """A declared (lo, hi, open_lo) range as written in messages: [0, 1] or (0, 365]."""
    lo, hi, open_lo = rng
    return f"{'(' if open_lo else '['}{_fmt(lo)}, {_fmt(hi)}]"


def _check_number(key: str, value: Any, rng: tuple) -> None:
    lo, hi, open_lo = rng
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{key}={value!r} is not a number in {range_text(rng)}")
    if math.isnan(value):
        raise ConfigError(f"{key}=nan is not a number in {range_text(rng)}")
    below = value <= lo if open_lo else value < lo
    if below or value > hi:
        raise ConfigError(f"{key}={_fmt(value)} is outside {range_text(rng)}")


def _check_field(key: str, value: Any, meta: Any) -> None:
    if "choices" in meta and value not in meta["choices"]:
        raise ConfigError(f"{key}={value!r} is not one of {', '.join(meta['choices'])}")
    if "length" in meta and meta["length"] is not None and len(value) != meta["length"]:
        raise ConfigError(f"{key}={list(value)} must list {meta['length']} values (one per weekday, Mon..Sun)")
    if "range" not in meta:
        return
    if isinstance(value, dict):
        for k, v in value.items():
            _check_number(f"{key}.{k}", v, meta["range"])
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_number(f"{key}[{i}]", v, meta["range"])
    else:
        _check_number(key, value, meta["range"])


def check_ranges(node: Any, prefix: str = "") -> None:
    """Walk a schema dataclass instance and check every declared range and choice."""
    names = [f.name for f in dataclasses.fields(node)]
    stray = sorted(set(vars(node)) - set(names))
    if stray:  # a key added with '+' survives composition as an attribute the schema does not know
        value = vars(node)[stray[0]]
        raise ConfigError(f"{prefix}{stray[0]}={value} is not a key of {prefix.rstrip('.') or 'the configuration'} "
                          f"(valid keys: {', '.join(names)})")
    for f in dataclasses.fields(node):
        key = f"{prefix}{f.name}"
        value = getattr(node, f.name)
        if dataclasses.is_dataclass(value):
            check_ranges(value, key + ".")
        elif isinstance(value, list) and value and dataclasses.is_dataclass(value[0]):
            for i, item in enumerate(value):
                check_ranges(item, f"{key}[{i}].")
        elif isinstance(value, dict) and value and dataclasses.is_dataclass(next(iter(value.values()))):
            for name, item in value.items():
                check_ranges(item, f"{key}.{name}.")
        else:
            _check_field(key, value, f.metadata)


def _check_distribution(key: str, probs: dict[str, float]) -> None:
    if not probs:
        raise ConfigError(f"{key} is empty; it must list categories with probabilities summing to 1")
    total = sum(probs.values())
    if abs(total - 1.0) > 1e-6:
        shown = ", ".join(f"{k}: {_fmt(v)}" for k, v in probs.items())
        raise ConfigError(f"{key}={{{shown}}} sums to {total:.6g}; the probabilities must sum to 1")


def _check_keys(key: str, mapping: dict, required: set[str]) -> None:
    missing = sorted(required - set(mapping))
    if missing:
        raise ConfigError(f"{key} is missing {', '.join(missing)} (needs {', '.join(sorted(required))})")


def check_consistency(cfg: schema.Config) -> None:
    """Rules that involve more than one field."""
    c, d, t = cfg.cohort, cfg.disease, cfg.treatment
    if c.mode == "trial" and c.n_patients < 1:
        hi = range_text((1, schema.CohortConfig.__dataclass_fields__["n_patients"].metadata["range"][1], False))
        raise ConfigError(f"cohort.n_patients={c.n_patients} is outside {hi} (a trial needs patients)")
    if c.age_min >= c.age_max:
        raise ConfigError(f"cohort.age_min={_fmt(c.age_min)} must be below cohort.age_max={_fmt(c.age_max)}")
    if c.lung_only_share_of_metastatic + c.multisystem_share_of_metastatic > 1.0:
        raise ConfigError("cohort.lung_only_share_of_metastatic + cohort.multisystem_share_of_metastatic "
                          f"= {c.lung_only_share_of_metastatic + c.multisystem_share_of_metastatic:.6g} is outside [0, 1]")
    _check_distribution("cohort.site_probabilities", c.site_probabilities)
    unknown_axial = sorted(set(c.axial_sites) - set(c.site_probabilities))
    if unknown_axial:
        raise ConfigError(f"cohort.axial_sites={unknown_axial} are not sites of cohort.site_probabilities "
                          f"({', '.join(c.site_probabilities)})")
    _check_distribution("disease.relapse_site_probabilities", d.relapse_site_probabilities)
    if set(d.relapse_site_probabilities) != {"lung", "local", "multiple", "bone"}:
        raise ConfigError(f"disease.relapse_site_probabilities has sites {', '.join(d.relapse_site_probabilities)}; "
                          "it must list exactly lung, local, multiple, bone")
    _check_keys("disease.csr_probability", d.csr_probability, {"lung", "extrapulmonary", "multisystem"})
    _check_keys("disease.cr2_probability", d.cr2_probability, set(d.relapse_site_probabilities) | {"progression"})
    if d.symptom_log10 < d.detect_log10:
        raise ConfigError(f"disease.symptom_log10={_fmt(d.symptom_log10)} must be at least "
                          f"disease.detect_log10={_fmt(d.detect_log10)} (symptoms come after imaging can see disease)")
    if d.lethal_log10 <= d.symptom_log10:
        raise ConfigError(f"disease.lethal_log10={_fmt(d.lethal_log10)} must be above "
                          f"disease.symptom_log10={_fmt(d.symptom_log10)} (disease causes symptoms before it kills)")
    drugs = {course.drug for course in t.neoadjuvant + t.adjuvant} | {"IE"}
    _check_keys("treatment.course_kill_weight", t.course_kill_weight, drugs)
    _check_keys("treatment.length_of_stay_days", t.length_of_stay_days, drugs)
    for key in ("doxorubicin_mg_m2", "cisplatin_mg_m2", "methotrexate_g_m2", "ifosfamide_g_m2"):
        _check_keys(f"treatment.course_doses.{key}", getattr(t.course_doses, key), drugs)
    check_late_effects(cfg.late_effects)
    check_supportive(cfg.supportive)
    check_arm_rosters(cfg.arm)
    check_economics(cfg)
    weeks = [course.week for course in t.neoadjuvant]
    if weeks and max(weeks) >= t.surgery_week:
        raise ConfigError(f"treatment.surgery_week={t.surgery_week} must come after the last neoadjuvant week ({max(weeks)})")
    if not t.followup_schedule:
        raise ConfigError("treatment.followup_schedule is empty; list at least one {until_year, interval_days} band")
    for key, entries, most in (("treatment.neoadjuvant", t.neoadjuvant, schema.MAX_COURSES),
                               ("treatment.adjuvant", t.adjuvant, schema.MAX_COURSES),
                               ("treatment.followup_schedule", t.followup_schedule, schema.MAX_BANDS)):
        if len(entries) > most:
            raise ConfigError(f"{key} has {len(entries)} entries; at most {most}")
    if cfg.engine == "cohort" and not c.unconstrained_capacity:
        raise ConfigError("engine=cohort needs unconstrained capacity (cohort=trial, or "
                          "cohort.unconstrained_capacity=true); use engine=des or engine=auto")
    check_run_size(cfg)
    if not c.unconstrained_capacity:
        for name in schema.RESOURCE_NAMES:
            res = getattr(cfg.resources, name)
            if sum(res.roster) == 0:
                raise ConfigError(f"resources.{name}.roster={list(res.roster)} has no capacity on any day "
                                  "(a constrained resource needs at least one server on some weekday)")


def check_supportive(s: schema.SupportiveConfig) -> None:
    """Every policy has its referral chance; places of death are exactly home, hospice, hospital, summing to 1."""
    p = s.palliative
    _check_exact_keys("supportive.palliative.referral_probability", p.referral_probability, "policies",
                      schema.PALLIATIVE_POLICIES)
    _check_exact_keys("supportive.palliative.place_of_death", p.place_of_death, "places", schema.PLACES)
    _check_distribution("supportive.palliative.place_of_death", p.place_of_death)
    _check_exact_keys("supportive.family_tiers", s.family_tiers, "tiers", schema.TIERS)
    _check_distribution("supportive.family_tiers", s.family_tiers)


def _check_exact_keys(key: str, mapping: dict, noun: str, allowed: tuple[str, ...]) -> None:
    """A mapping that must name exactly these keys (none missing, none extra)."""
    if set(mapping) != set(allowed):
        raise ConfigError(f"{key} has {noun} {', '.join(mapping) or 'none'}; it must list exactly {', '.join(allowed)}")


def check_arm_rosters(arm: schema.ArmConfig) -> None:
    """An arm's rosters name resources and give 7 server counts each, in range."""
    for name, roster in arm.rosters.items():
        key = f"arm.rosters.{name}"
        if name not in schema.RESOURCE_NAMES:
            raise ConfigError(f"{key} is not a resource (resources: {', '.join(schema.RESOURCE_NAMES)})")
        _check_field(key, list(roster), schema.ResourceConfig.__dataclass_fields__["roster"].metadata)


def check_late_effects(e: schema.LateEffectsConfig) -> None:
    """The dose-response and the prosthesis-survival curve must be ones the model can draw from."""
    if e.hearing_loss_reference_mg_m2 <= e.hearing_loss_threshold_mg_m2:
        raise ConfigError(f"late_effects.hearing_loss_reference_mg_m2={_fmt(e.hearing_loss_reference_mg_m2)} must be "
                          f"above late_effects.hearing_loss_threshold_mg_m2={_fmt(e.hearing_loss_threshold_mg_m2)}")
    shape = prosthesis_weibull(e)[0]
    if not 0.2 <= shape <= 10.0:
        raise ConfigError(f"late_effects.prosthesis_failure={_fmt(e.prosthesis_failure)} by "
                          f"late_effects.prosthesis_failure_years={_fmt(e.prosthesis_failure_years)} and "
                          f"late_effects.prosthesis_median_years={_fmt(e.prosthesis_median_years)} give a Weibull "
                          f"shape of {shape:.3g}, outside [0.2, 10] (failure below 50% needs a median beyond its years)")


def prosthesis_weibull(e: schema.LateEffectsConfig) -> tuple[float, float]:
    """(shape, scale in years) of the Weibull through both published points of implant survival;
    a shape of nan when they cannot lie on one (e.g. failure below 50% with the median before its years)."""
    hazard_at = -math.log1p(-e.prosthesis_failure) if e.prosthesis_failure > 0 else 0.0
    ratio = e.prosthesis_median_years / e.prosthesis_failure_years
    if hazard_at <= 0.0 or ratio == 1.0:
        return math.nan, math.nan
    shape = math.log(math.log(2.0) / hazard_at) / math.log(ratio)
    if not shape > 0.0:
        return math.nan, math.nan
    return shape, e.prosthesis_median_years / math.log(2.0) ** (1.0 / shape)


MAX_YEARS = 200.0                 # accrual plus follow-up of a service (a trial cohort's size bounds it)
MAX_PATIENTS = {"cohort": 1e9, "des": 1e7}   # patients simulated in one run (all replications and arms)
MAX_BACKGROUND_USES = 2e7         # other patients' resource uses simulated by the des engine
WEEKS_PER_YEAR = 365.25 / 7


def _accrual_years(c: schema.CohortConfig) -> tuple[float, str]:
    """How long referrals or enrolment last, and the keys that say so."""
    if c.mode == "trial":
        return c.n_patients / c.accrual_per_year, "cohort.n_patients / cohort.accrual_per_year"
    return c.accrual_years, "cohort.accrual_years"


def _expected_patients(c: schema.CohortConfig) -> float:
    if c.mode == "trial":
        return float(c.n_patients)
    return c.incidence_per_million_per_year * c.catchment_population_millions * c.accrual_years


def check_run_size(cfg: schema.Config) -> None:
    """Values each inside its range can still combine into a run with no patient, a warm-up longer than the
    run, or one that would not end this week: refuse those, naming the keys."""
    c = cfg.cohort
    accrual, accrual_keys = _accrual_years(c)
    years = accrual + c.followup_years
    if c.mode != "trial" and years > MAX_YEARS:   # a trial's enrolment time follows from its size: not capped
        raise ConfigError(f"{accrual_keys} ({accrual:.6g} years) + cohort.followup_years={_fmt(c.followup_years)} "
                          f"= {years:.6g} years is outside [0, {_fmt(MAX_YEARS)}]")
    if c.warmup_years > 0 and c.warmup_years >= years:
        raise ConfigError(f"cohort.warmup_years={_fmt(c.warmup_years)} must be below the length of the run "
                          f"({accrual_keys} + cohort.followup_years = {years:.6g} years): nothing after it would "
                          "be counted")
    expected = _expected_patients(c)
    if expected < 1:
        raise ConfigError(f"cohort.incidence_per_million_per_year={_fmt(c.incidence_per_million_per_year)} x "
                          f"cohort.catchment_population_millions={_fmt(c.catchment_population_millions)} x "
                          f"cohort.accrual_years={_fmt(c.accrual_years)} expects {expected:.3g} referrals; "
                          "a run needs at least 1")
    engine = cfg.engine if cfg.engine != "auto" else ("cohort" if c.unconstrained_capacity else "des")
    runs = cfg.replications * max(len(cfg.arms), 1)
    if expected * runs > MAX_PATIENTS[engine]:
        raise ConfigError(f"this run would simulate about {expected * runs:.3g} patients (cohort x replications="
                          f"{cfg.replications} x {max(len(cfg.arms), 1)} arm(s)); at most {MAX_PATIENTS[engine]:.0e} "
                          f"with engine {engine}")
    if engine == "des" and not c.unconstrained_capacity:
        per_week = sum(getattr(cfg.resources, name).background_per_week for name in schema.RESOURCE_NAMES)
        uses = per_week * WEEKS_PER_YEAR * years * runs
        if uses > MAX_BACKGROUND_USES:
            raise ConfigError(f"resources.*.background_per_week (total {per_week:.6g} a week) over {years:.6g} "
                              f"years x {runs} run(s) is about {uses:.3g} simulated uses; at most "
                              f"{MAX_BACKGROUND_USES:.0e}")


# ---------------------------------------------------------------- economics
REQUIRED_COSTS = ("diagnosis_workup", "chemo_delivery", "chemo_bed_day", "surgery_limb_salvage", "surgery_amputation", "metastasectomy", "relapse_surgery",
                  "radiotherapy_fraction", "followup_clinic", "ct_chest", "chest_xray", "palliative_care_year",
                  "heart_failure_onset", "heart_failure_year", "hearing_loss_onset", "hearing_loss_year",
                  "kidney_damage_year", "prosthesis_revision")
DISTRIBUTION_PARAMS = {"fixed": (), "beta": ("alpha", "beta"), "gamma": ("shape", "scale"),
                       "lognormal": ("mu", "sigma"), "normal": ("mean", "sd")}
POSITIVE_PARAMS = {"alpha", "beta", "shape", "scale"}
MAX_SHARES = 64   # shares of one Dirichlet (the PSA keys each parameter's draws in blocks of this many)
SPREAD_PARAMS = {"sigma", "sd"}


def _check_cost_key(key: str, name: str, costs: dict) -> None:
    if name not in costs:
        raise ConfigError(f"{key}={name!r} is not one of economics.costs ({', '.join(costs)})")


def check_economics(cfg: schema.Config) -> None:
    """Every amount in the run's currency, every priced thing present, shares summing to 1, and PSA
    distributions that name a real parameter and can be sampled."""
    from osteosim.model.codes import VISIT_RESOURCES

    e = cfg.economics
    for name, cost in e.costs.items():
        if cost.currency != e.currency:
            raise ConfigError(f"economics.costs.{name}.currency={cost.currency} is not economics.currency={e.currency} "
                              "(one currency per analysis)")
        if not cost.source.strip():
            raise ConfigError(f"economics.costs.{name}.source is empty; cite health_economics.md § or say ASSUMPTION")
    missing = [name for name in REQUIRED_COSTS if name not in e.costs]
    if missing:
        raise ConfigError(f"economics.costs is missing {', '.join(missing)} (needs {', '.join(REQUIRED_COSTS)})")
    drugs = {course.drug for course in cfg.treatment.neoadjuvant + cfg.treatment.adjuvant} | {"IE"}
    _check_keys("economics.chemotherapy_drugs", e.chemotherapy_drugs, drugs)
    for drug, name in e.chemotherapy_drugs.items():
        _check_cost_key(f"economics.chemotherapy_drugs.{drug}", name, e.costs)
    _check_keys("economics.visit_delivery", e.visit_delivery, set(VISIT_RESOURCES))
    for resource, name in e.visit_delivery.items():
        _check_cost_key(f"economics.visit_delivery.{resource}", name, e.costs)
    for arm, drug in e.arm_drugs.items():
        _check_cost_key(f"economics.arm_drugs.{arm}.cost", drug.cost, e.costs)
    _check_distribution("economics.end_of_life.place_of_death", e.end_of_life.place_of_death)
    if set(e.end_of_life.cost_by_place) != set(e.end_of_life.place_of_death):
        raise ConfigError(f"economics.end_of_life.cost_by_place has places {', '.join(e.end_of_life.cost_by_place)}; "
                          f"it must price exactly {', '.join(e.end_of_life.place_of_death)}")
    for place, name in e.end_of_life.cost_by_place.items():
        _check_cost_key(f"economics.end_of_life.cost_by_place.{place}", name, e.costs)
    u = e.utilities
    if u.survivor - u.on_treatment_decrement < -1.0:
        raise ConfigError(f"economics.utilities.survivor={_fmt(u.survivor)} - on_treatment_decrement="
                          f"{_fmt(u.on_treatment_decrement)} is below -1")
    seen = set()
    for i, item in enumerate(e.psa):
        if item.key in seen:
            raise ConfigError(f"economics.psa[{i}].key={item.key} is given a distribution twice")
        seen.add(item.key)
        check_uncertain(cfg, f"economics.psa[{i}]", item)


def psa_target(cfg: schema.Config, key: str) -> Any:
    """The current value at a PSA key (a dotted config key, or arms.<arm>.<field> of an arm's file);
    ConfigError if there is none."""
    parts = key.split(".")
    if parts[0] == "arms":
        if len(parts) != 3 or parts[2] not in schema.ArmConfig.__dataclass_fields__:
            raise ConfigError(f"{key}: an arm's parameter is arms.<arm>.<field>, field one of "
                              f"{', '.join(schema.ArmConfig.__dataclass_fields__)}")
        from osteosim.config import arm_config

        return getattr(arm_config(parts[1]), parts[2])
    node: Any = cfg
    for depth, part in enumerate(parts):
        if dataclasses.is_dataclass(node) and part in node.__dataclass_fields__:
            node = getattr(node, part)
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            where = ".".join(parts[:depth]) or "the configuration"
            raise ConfigError(f"{key} is not a key of the configuration (no {part!r} in {where})")
    return node


def check_uncertain(cfg: schema.Config, where: str, item: schema.Uncertain) -> None:
    """A PSA distribution: its target exists and has the right kind, and its parameters make a distribution."""
    target = psa_target(cfg, item.key)
    if item.dist == "dirichlet":
        if not isinstance(target, dict) or not target:
            raise ConfigError(f"{where}.dist=dirichlet needs shares (a dict) at {item.key}")
        if set(item.params) != set(target):
            raise ConfigError(f"{where}.params has {', '.join(item.params) or 'nothing'}; a Dirichlet over "
                              f"{item.key} needs one alpha for each of {', '.join(target)}")
        if len(target) > MAX_SHARES:
            raise ConfigError(f"{where}: a Dirichlet over {len(target)} shares; at most {MAX_SHARES}")
        bad = [k for k, v in item.params.items() if not v > 0]
        if bad:
            raise ConfigError(f"{where}.params.{bad[0]}={_fmt(item.params[bad[0]])} is outside (0, 1e9]")
        return
    if isinstance(target, bool) or not isinstance(target, (int, float)):
        raise ConfigError(f"{where}.key={item.key} is not a number (dist={item.dist} samples one number)")
    needed = DISTRIBUTION_PARAMS[item.dist]
    if set(item.params) != set(needed):
        raise ConfigError(f"{where}.params has {', '.join(item.params) or 'nothing'}; dist={item.dist} needs "
                          f"{', '.join(needed) or 'none'}")
    for name, value in item.params.items():
        if name in POSITIVE_PARAMS and not value > 0:
            raise ConfigError(f"{where}.params.{name}={_fmt(value)} is outside (0, 1e9]")
        if name in SPREAD_PARAMS and value < 0:
            raise ConfigError(f"{where}.params.{name}={_fmt(value)} is outside [0, 1e9]")
