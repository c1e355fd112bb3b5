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
