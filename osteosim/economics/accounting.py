"""Per-patient costs, life years and QALYs, read off each patient's own timeline (DESIGN §8).

Time runs from the patient's diagnosis day, in years, to the end of their follow-up (death or the
run's horizon) or `economics.horizon_years`, whichever is first. A cost either falls on a day (an
operation, a course of radiotherapy, a visit, a death) and is discounted by (1+r)^-t, or runs as an
even flow over a span (first-line chemotherapy between its start and its end, palliative care, the
yearly care of a late effect) and is discounted by the closed-form integral. A patient's utility is
piecewise constant between the days of their timeline, so QALYs are sums of closed-form integrals
too: nothing is binned into cycles.

States, in the order a patient passes them: on first-line treatment (diagnosis to the end of
treatment, survivor utility less the on-treatment decrement); survivor; after a relapse or
progression; palliative (from `palliative_day`, when the last line stopped, or else the last
`palliative_days` before an osteosarcoma death; palliative care is priced from the referral to
specialist care when there was one, conf/supportive). Each late effect
takes its decrement off from its onset on. Carer QALYs, when enabled, are losses while the patient
is treated, after a relapse, and in bereavement after a death from the cancer or its treatment.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from osteosim.analysis import counting
from osteosim.config.schema import ArmConfig, Config
from osteosim.economics import discounting, unit_costs
from osteosim.model.codes import DAYS_PER_YEAR

COST_CATEGORIES = ("diagnosis", "first_line", "surgery", "radiotherapy", "followup", "arm_visits", "relapse",
                   "end_of_life", "late_effects")
ECONOMICS_COLUMNS = (("replication", "arm", "patient_id", "cost", "cost_disc", "life_years", "life_years_disc",
                      "qalys", "qalys_disc", "carer_qalys", "carer_qalys_disc")
                     + tuple(f"cost_disc_{c}" for c in COST_CATEGORIES))
CANCER_DEATHS = ("osteosarcoma", "treatment")


class Ledger:
    """Amounts per patient, undiscounted and discounted, by category, inside each patient's window [0, end]."""

    def __init__(self, end: np.ndarray, rate: float):
        self.end, self.rate = end, rate
        self.total = np.zeros_like(end)
        self.discounted: dict[str, np.ndarray] = {}

    def add(self, category: str, plain, present) -> None:
        """Amounts already computed: undiscounted and present value (NaN counts as nothing)."""
        self.total += _finite(plain)
        self.discounted[category] = self.discounted.get(category, 0.0) + _finite(present)

    def lump(self, category: str, amount, t) -> None:
        """`amount` on the day t years after diagnosis (nothing where t is NaN or after the window)."""
        t = np.asarray(t, dtype=float)
        inside = np.isfinite(t) & (t <= self.end)
        plain = np.where(inside, amount, 0.0)
        self.add(category, plain, np.where(inside, plain * discounting.at(np.where(inside, t, 0.0), self.rate), 0.0))

    def flow(self, category: str, per_year, a, b) -> None:
        """`per_year` a year from a to b (clipped to the window; nothing where either end is NaN)."""
        a, b = np.asarray(a, dtype=float), np.minimum(np.asarray(b, dtype=float), self.end)   # NaN stays NaN
        ok = np.isfinite(a) & np.isfinite(b) & (b > a)
        a, b = np.where(ok, a, 0.0), np.where(ok, b, 0.0)
        self.add(category, np.where(ok, per_year * (b - a), 0.0),
                  np.where(ok, per_year * discounting.over(a, b, self.rate), 0.0))

    def spread(self, category: str, amount, a, b) -> None:
        """`amount` spread evenly over [a, b] (a lump at a when the span is empty)."""
        a, b = np.asarray(a, dtype=float), np.fmin(np.asarray(b, dtype=float), self.end)
        ok = np.isfinite(a) & (a <= self.end)
        b = np.where(np.isfinite(b) & (b >= a), b, a)
        plain = np.where(ok, amount, 0.0)
        self.add(category, plain, np.where(ok, plain * discounting.mean_factor(np.where(ok, a, 0.0),
                                                                                np.where(ok, b, 0.0), self.rate), 0.0))

    def present(self) -> np.ndarray:
        return sum(self.discounted.values()) if self.discounted else np.zeros_like(self.end)


def _finite(x):
    """np.nan_to_num of x, without its four passes and copy when x is finite throughout (as amounts are)."""
    return x if np.isfinite(x).all() else np.nan_to_num(x)


def _days(patients: pd.DataFrame, column: str) -> np.ndarray:
    return patients[column].to_numpy(dtype=float)


def _flag(patients: pd.DataFrame, column: str) -> np.ndarray:
    """A nullable boolean column as 1/0/NaN."""
    return patients[column].astype("float").to_numpy(dtype=float, na_value=np.nan)


def followup_offsets(config: Config) -> np.ndarray:
    """Days after the end of treatment of every planned follow-up visit, band by band, as the
    survivorship stage walks the schedule (model.pathway.survivorship)."""
    bands = config.treatment.followup_schedule
    offsets, visit, band = [], 0.0, 0
    while True:
        while band < len(bands) and not (visit + bands[band].interval_days
                                         <= bands[band].until_year * DAYS_PER_YEAR + 1e-9):
            band += 1
        if band == len(bands):
            return np.array(offsets)
        visit += bands[band].interval_days
        offsets.append(visit)


def _geometric(t0: np.ndarray, step: float, count: np.ndarray, rate: float) -> np.ndarray:
    """Present value of 1 at t0, t0 + step, ..., count of them (closed form): (1 - q^n) / (1 - q) with
    q = exp(-delta step), through expm1 so that a tiny rate keeps its digits (1 - q cancels otherwise)."""
    x = -discounting.force(rate) * step
    if x == 0.0:
        return count * discounting.at(t0, rate)
    return discounting.at(t0, rate) * np.expm1(x * count) / np.expm1(x)


class Timeline:
    """One arm's patients' days as years from diagnosis (NaN: never)."""

    def __init__(self, patients: pd.DataFrame, horizon_years: float):
        self.dx = _days(patients, "diagnosis_day")
        end_day = np.fmin(_days(patients, "followup_end_day"), self.dx + horizon_years * DAYS_PER_YEAR)
        self.end = self.years(end_day)
        self.end_day = end_day

    def years(self, day) -> np.ndarray:
        return (np.asarray(day, dtype=float) - self.dx) / DAYS_PER_YEAR


def _costs(patients: pd.DataFrame, config: Config, arm: ArmConfig, time: Timeline) -> Ledger:
    e, t = config.economics, config.treatment
    y = lambda column: time.years(_days(patients, column))   # noqa: E731 - a column's days in years
    price = lambda name: unit_costs.price(e, name)          # noqa: E731
    book = Ledger(time.end, e.discount_costs)
    book.lump("diagnosis", price("diagnosis_workup"), np.where(np.isfinite(time.dx), 0.0, np.nan))

    counts = unit_costs.course_counts(patients, config)
    first_line = sum(counts[c] * unit_costs.course_price(config, c) for c in counts if c != "IE")
    first_line_end = np.fmin(np.fmin(y("end_of_treatment_day"), y("relapse_day")), time.end)
    book.spread("first_line", first_line, y("chemo_start_day"), first_line_end)

    book.lump("surgery", unit_costs.primary_surgery(config), y("surgery_day"))
    book.lump("surgery", price("metastasectomy"), y("metastasectomy_day"))
    book.lump("radiotherapy", t.rt_fractions * price("radiotherapy_fraction"), y("rt_start_day"))

    eot, relapse = _days(patients, "end_of_treatment_day"), _days(patients, "relapse_day")
    offsets = followup_offsets(config)
    stop = np.fmin(np.where(np.isnan(relapse), np.inf, relapse - eot), time.end_day - eot - 1e-9)
    seen = np.where(np.isfinite(eot), np.searchsorted(offsets, stop, side="right"), 0)
    factors = np.concatenate([[0.0], np.cumsum(discounting.at(offsets / DAYS_PER_YEAR, e.discount_costs))])
    imaging = "chest_xray" if arm.surveillance_imaging == "xray" else "ct_chest"
    per_visit = price("followup_clinic") + price(imaging)
    start = np.where(np.isfinite(eot), time.years(eot), 0.0)
    book.add("followup", per_visit * seen, per_visit * factors[seen] * discounting.at(start, e.discount_costs))

    _arm_visits(book, patients, config, arm, time)

    relapse_surgery = np.where(_flag(patients, "cr2") == 1.0, y("relapse_day") + t.relapse_surgery_days / DAYS_PER_YEAR,
                               np.nan)
    book.lump("relapse", price("relapse_surgery"), relapse_surgery)
    second_line = np.round(counts.get("IE", np.zeros(len(patients))))
    for k in range(int(second_line.max(initial=0))):
        day = y("relapse_day") + k * t.second_line_interval_days / DAYS_PER_YEAR
        book.lump("relapse", unit_costs.course_price(config, "IE"), np.where(k < second_line, day, np.nan))

    cancer_death = np.where(counting.is_in(patients["death_cause"], ("osteosarcoma",)), y("death_day"), np.nan)
    # palliative care from the referral to specialist care when one came before the death (conf/supportive),
    # else over the last palliative_days
    referral = y("palliative_referral_day") if "palliative_referral_day" in patients else np.full(len(patients), np.nan)
    palliative_start = np.where(referral <= cancer_death, referral,
                                np.maximum(cancer_death - e.utilities.palliative_days / DAYS_PER_YEAR, 0.0))
    book.flow("end_of_life", price("palliative_care_year"), palliative_start, cancer_death)
    book.lump("end_of_life", unit_costs.end_of_life(e), cancer_death)

    for effect in ("heart_failure", "hearing_loss"):
        book.lump("late_effects", price(f"{effect}_onset"), y(f"{effect}_day"))
        book.flow("late_effects", price(f"{effect}_year"), y(f"{effect}_day"), time.end)
    book.flow("late_effects", price("kidney_damage_year"), y("kidney_damage_day"), time.end)
    book.lump("late_effects", price("prosthesis_revision"), y("prosthesis_failure_day"))
    return book


def _arm_visits(book: Ledger, patients: pd.DataFrame, config: Config, arm: ArmConfig, time: Timeline) -> None:
    """The arm's appointments (conf/arm visits), from each phase's anchor while the patient is alive and
    followed. Anchors from the table: adjuvant, the start of adjuvant chemotherapy (else surgery plus the
    planned gap); maintenance, the end of treatment without progression; relapse, the relapse day."""
    if not arm.visits:
        return
    days = {c: _days(patients, c) for c in ("adjuvant_start_day", "surgery_day", "metastasectomy_day",
                                            "end_of_treatment_day", "relapse_day")}
    planned = np.fmax(days["surgery_day"], days["metastasectomy_day"]) + config.treatment.surgery_to_adjuvant_days
    eot, relapse = days["end_of_treatment_day"], days["relapse_day"]
    anchors = {"adjuvant": np.where(np.isfinite(days["adjuvant_start_day"]), days["adjuvant_start_day"], planned),
               "maintenance": np.where(np.isnan(relapse) | (relapse > eot), eot, np.nan),
               "relapse": relapse}
    poor = _flag(patients, "good_response") == 0.0
    for visit in arm.visits:
        first = anchors[visit.phase] + visit.start_after_days
        if visit.poor_responders_only:
            first = np.where(poor, first, np.nan)
        room = (time.end_day - first) / visit.interval_days          # visits i with first + i*interval < end
        count = np.where(np.isfinite(room) & (room > 0), np.minimum(np.ceil(room), visit.count), 0.0)
        each = unit_costs.visit_price(config.economics, arm, visit)
        t0 = np.where(count > 0, time.years(first), 0.0)
        book.add("arm_visits", each * count,
                  each * _geometric(t0, visit.interval_days / DAYS_PER_YEAR, count, config.economics.discount_costs))


def _qalys(patients: pd.DataFrame, config: Config, time: Timeline) -> tuple[Ledger, Ledger]:
    """The patient's QALYs, and their carer's QALY losses (negative; zero unless enabled)."""
    e = config.economics
    u = e.utilities
    y = lambda column: time.years(_days(patients, column))   # noqa: E731
    end = time.end
    life = Ledger(end, e.discount_effects)
    death = y("death_day")
    # the palliative state from palliative_day (the last line stopped, palliative care alone) when the
    # pathway recorded it, else over the last palliative_days before a death from the disease
    alone = y("palliative_day") if "palliative_day" in patients else np.full(len(patients), np.nan)
    start = np.where(alone <= death, alone, death - u.palliative_days / DAYS_PER_YEAR)
    died_of_it = counting.is_in(patients["death_cause"], ("osteosarcoma",))
    palliative = np.where(died_of_it & (death <= end), np.clip(start, 0.0, None), end)
    palliative = np.fmin(palliative, end)
    relapse = np.fmin(np.where(np.isnan(y("relapse_day")), end, y("relapse_day")), palliative)
    treated = np.fmin(np.where(np.isnan(y("end_of_treatment_day")), end, y("end_of_treatment_day")), relapse)
    zero = np.where(np.isfinite(time.dx), 0.0, np.nan)
    life.flow("on_treatment", u.survivor - u.on_treatment_decrement, zero, treated)
    life.flow("survivor", u.survivor, treated, relapse)
    life.flow("after_relapse", u.after_relapse, relapse, palliative)
    life.flow("palliative", u.palliative, palliative, end)
    for effect in ("heart_failure", "hearing_loss", "kidney_damage", "prosthesis_failure"):
        life.flow("late_effects", -getattr(u, f"{effect}_decrement"), y(f"{effect}_day"), end)

    carer = Ledger(zero + e.horizon_years, e.discount_effects)   # bereavement outlives the patient's follow-up
    if e.carer.enabled:
        c = e.carer
        carer.flow("on_treatment", -c.disutility_on_treatment, zero, treated)
        carer.flow("after_relapse", -c.disutility_after_relapse, relapse, end)
        bereaved = np.where(counting.is_in(patients["death_cause"], CANCER_DEATHS) & (death <= end), death, np.nan)
        carer.flow("bereavement", -c.bereavement_disutility, bereaved, bereaved + c.bereavement_years)
    return life, carer


def patient_economics(patients: pd.DataFrame, config: Config, arms: dict[str, ArmConfig]) -> pd.DataFrame:
    """economics.parquet rows for a patients table: per patient, cost, life years and QALYs, undiscounted
    and discounted, and the discounted cost by category. `arms` maps each arm name in the table to its
    configuration (its visits and surveillance imaging are priced)."""
    if patients.empty:
        return pd.DataFrame(columns=list(ECONOMICS_COLUMNS))
    names = patients["arm"].astype(str) if not isinstance(patients["arm"].dtype, pd.CategoricalDtype) \
        else patients["arm"].cat.remove_unused_categories()
    if names.nunique() == 1:     # a chunk is one arm: no split, no reindexing of millions of rows
        return _arm_economics(patients, config, arms[str(names.iloc[0])])
    parts = [_arm_economics(rows, config, arms[str(name)])
             for name, rows in patients.groupby(names, sort=False, observed=True)]
    return pd.concat(parts).reindex(patients.index)[list(ECONOMICS_COLUMNS)]


def _arm_economics(patients: pd.DataFrame, config: Config, arm: ArmConfig) -> pd.DataFrame:
    e = config.economics
    time = Timeline(patients, e.horizon_years)
    book = _costs(patients, config, arm, time)
    life, carer = _qalys(patients, config, time)
    alive_years = np.where(np.isfinite(time.end), np.maximum(time.end, 0.0), 0.0)
    columns = {
        "replication": patients["replication"].to_numpy(), "arm": patients["arm"].array,
        "patient_id": patients["patient_id"].to_numpy(),
        "cost": book.total, "cost_disc": book.present(),
        "life_years": alive_years, "life_years_disc": discounting.over(0.0, alive_years, e.discount_effects),
        "qalys": life.total + carer.total, "qalys_disc": life.present() + carer.present(),
        "carer_qalys": carer.total, "carer_qalys_disc": carer.present(),
        **{f"cost_disc_{category}": book.discounted.get(category, np.zeros(len(patients)))
           for category in COST_CATEGORIES},
    }
    # the columns as computed, in the contract's order: no copy into one block (a chunk's 20 float columns)
    return pd.DataFrame(columns, index=patients.index, copy=False)


def lifetime_note(config: Config) -> str | None:
    """A warning when the run's follow-up, not economics.horizon_years, ends the analysis early."""
    followup = config.cohort.followup_years
    if followup + 1e-9 < config.economics.horizon_years and followup < 60:
        return (f"the run follows patients for {followup:g} years after accrual, less than "
                f"economics.horizon_years={config.economics.horizon_years:g}: survivors' later life years, QALYs and "
                "costs are not counted (raise cohort.followup_years for a lifetime analysis)")
    return None

