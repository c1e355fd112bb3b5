"""Patient aggregates for the dashboard, additive over batches so any number of patients fits.

Each function turns one batch of the patients table into a small count table; `merge` sums the
tables of all batches. The dashboard draws from these tables alone, never from the patients.
Times are rounded to whole days (`RESOLUTION_DAYS`): a curve is drawn with a few hundred points,
and the tables stay at most ~5,500 times per curve however many patients there are.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from osteosim.analysis import counting
from osteosim.analysis.survival import ENDPOINTS, Z_95, years_key

RESOLUTION_DAYS = 1.0
SUBGROUP_KEYS = ["arm", "subgroup", "level", "endpoint", "years", "event"]
INCIDENCE_KEYS = ["arm", "analysis", "years", "outcome"]
FLOW_KEYS = ["arm", "source", "target"]
TIMING_KEYS = ["arm", "stage", "week"]
SUPPORTIVE_KEYS = ["arm", "measure", "value"]
KEYS = {"subgroups": SUBGROUP_KEYS, "incidence": INCIDENCE_KEYS, "flow": FLOW_KEYS, "timing": TIMING_KEYS,
        "supportive": SUPPORTIVE_KEYS}
LATE_EFFECTS = ("heart_failure", "hearing_loss", "kidney_damage", "prosthesis_failure")
COLUMNS = ["arm", "met_status", "good_response", "csr", "diagnosis_day", "chemo_start_day", "surgery_day",
           "metastasectomy_day", "rt_start_day", "adjuvant_start_day", "end_of_treatment_day", "relapse_day", "cr2",
           "second_malignancy_day", "death_cause", "efs_days", "efs_event", "os_days", "os_event",
           "death_day", "followup_end_day", "palliative_referral_day", "place_of_death",
           "heart_failure_day", "hearing_loss_day", "kidney_damage_day", "prosthesis_failure_day"]
CENSORED = ""
# Sankey stages in pathway order; a patient passes through those whose day column is set
FLOW_STAGES = [("Referred", None), ("Diagnosed", "diagnosis_day"), ("Neoadjuvant chemo", "chemo_start_day"),
               ("Surgery", "surgery_day"), ("Metastasectomy", "metastasectomy_day"), ("Radiotherapy", "rt_start_day"),
               ("Adjuvant chemo", "adjuvant_start_day"), ("End of treatment", "end_of_treatment_day"),
               ("Relapse / progression", "relapse_day")]
TIMING_STAGES = {"chemotherapy start": "chemo_start_day", "surgery": "surgery_day",
                 "adjuvant start": "adjuvant_start_day", "end of treatment": "end_of_treatment_day"}


def subgroups(patients: pd.DataFrame) -> pd.DataFrame:
    """(arm, subgroup, level, endpoint, years, event) -> count: KM data by metastatic status,
    histologic response and complete surgical remission, pooled over replications."""
    n = len(patients)
    good = patients["good_response"].astype("boolean")
    assessed = good.notna().to_numpy()
    status = counting.categories(patients["met_status"])
    levels = {
        "metastatic status": counting.labels([("localized", (status.values == "none")[status.codes])], "metastatic", n),
        "histologic response": counting.labels([("not assessed", ~assessed),
                                                ("good", good.fillna(False).to_numpy(dtype=bool))], "poor", n),
        "complete remission": counting.labels([("CSR", patients["csr"].to_numpy(dtype=bool))], "no CSR", n),
    }
    arm = counting.categories(patients["arm"])
    parts = []
    for endpoint, (days_col, event_col) in ENDPOINTS.items():
        days = patients[days_col].to_numpy(dtype=np.float64)
        keep = ~np.isnan(days)
        years, event = years_key(days, keep, RESOLUTION_DAYS), counting.flag(patients[event_col].to_numpy(dtype=bool))
        for subgroup, level in levels.items():
            parts.append(counting.count({"arm": arm, "level": level, "years": years, "event": event}, keep)
                         .assign(subgroup=subgroup, endpoint=endpoint))
    return pd.concat(parts, ignore_index=True)[[*SUBGROUP_KEYS, "count"]]


def incidence(patients: pd.DataFrame) -> pd.DataFrame:
    """(arm, analysis, years, outcome) -> count, the data of the competing-risk curves.

    'relapse': first event (efs_days) is relapse/progression, second malignancy or death without either;
    'death': death (os_days) by cause. `CENSORED` marks patients followed without the event.
    """
    n = len(patients)
    arm = counting.categories(patients["arm"])
    relapse = patients["relapse_day"].to_numpy(dtype=np.float64)
    second = patients["second_malignancy_day"].to_numpy(dtype=np.float64)
    second_first = ~np.isnan(second) & ~(relapse <= second)
    efs_event = patients["efs_event"].to_numpy(dtype=bool)
    first = counting.labels([("second malignancy", second_first),
                             ("relapse / progression", ~np.isnan(relapse) & efs_event),
                             ("death without relapse", efs_event)], CENSORED, n)
    cause = counting.categories(patients["death_cause"])
    dead = patients["os_event"].to_numpy(dtype=bool)
    death = counting.merged_labels(np.where(dead, cause.codes, len(cause.values)), np.append(cause.values, CENSORED))
    parts = []
    for analysis, days_col, outcome in [("relapse", "efs_days", first), ("death", "os_days", death)]:
        days = patients[days_col].to_numpy(dtype=np.float64)
        keep = ~np.isnan(days)
        years = years_key(days, keep, RESOLUTION_DAYS)
        parts.append(counting.count({"arm": arm, "years": years, "outcome": outcome}, keep)
                     .assign(analysis=analysis))
    diagnosis = patients["diagnosis_day"].to_numpy(dtype=np.float64) if "diagnosis_day" in patients else None
    for effect in LATE_EFFECTS:      # each late effect from diagnosis, death competing, censored at follow-up's end
        if diagnosis is None or f"{effect}_day" not in patients or "followup_end_day" not in patients:
            continue
        onset = patients[f"{effect}_day"].to_numpy(dtype=np.float64)
        end = np.where(np.isnan(onset), patients["followup_end_day"].to_numpy(dtype=np.float64), onset) - diagnosis
        outcome = counting.labels([(effect.replace("_", " "), ~np.isnan(onset)), ("death", dead)], CENSORED, n)
        keep = ~np.isnan(end)
        years = years_key(end, keep, RESOLUTION_DAYS)
        parts.append(counting.count({"arm": arm, "years": years, "outcome": outcome}, keep)
                     .assign(analysis=f"late:{effect}"))
    return pd.concat(parts, ignore_index=True)[[*INCIDENCE_KEYS, "count"]]


def supportive(patients: pd.DataFrame) -> pd.DataFrame:
    """(arm, measure, value) -> count: deaths from the disease by place and by whether a palliative referral
    came before them, and weeks from referral to death."""
    if "place_of_death" not in patients or "palliative_referral_day" not in patients:
        return pd.DataFrame(columns=[*SUPPORTIVE_KEYS, "count"])
    n = len(patients)
    arm = counting.categories(patients["arm"])
    cause = counting.categories(patients["death_cause"])
    died = (cause.values == "osteosarcoma")[cause.codes]
    death = patients["death_day"].to_numpy(dtype=np.float64)
    referral = patients["palliative_referral_day"].to_numpy(dtype=np.float64)
    referred = died & (referral <= death)
    place = counting.categories(patients["place_of_death"])
    measure = counting.labels([("place: referred", referred)], "place: not referred", n)
    weeks = np.where(referred, np.floor((death - referral) / 7), 0.0)
    parts = [counting.count({"arm": arm, "measure": measure, "value": place}, died),
             counting.count({"arm": arm, "value": counting.integers(weeks, _as_text)}, referred)
             .assign(measure="referral to death (weeks)")]
    return pd.concat(parts, ignore_index=True)[[*SUPPORTIVE_KEYS, "count"]]


def _as_text(span: np.ndarray) -> np.ndarray:
    return span.astype(np.int64).astype(str).astype(object)


def flow(patients: pd.DataFrame) -> pd.DataFrame:
    """(arm, source, target) -> count: each patient's consecutive stages, for a Sankey diagram."""
    n = len(patients)
    names = [name for name, _ in FLOW_STAGES]
    present = [np.ones(n, bool)] + [patients[col].notna().to_numpy() for _, col in FLOW_STAGES[1:]]
    cr2 = patients["cr2"].astype("boolean")
    names += ["CR2", "No CR2"]
    present += [cr2.fillna(False).to_numpy(bool), (~cr2.fillna(True)).to_numpy(bool)]
    cause = counting.categories(patients["death_cause"])
    for label in ("osteosarcoma", "treatment", "other"):
        names.append(f"Died: {label}")
        present.append((cause.values == label)[cause.codes])
    names.append("Alive at end of follow-up")
    present.append((cause.values == "")[cause.codes])
    arm = counting.categories(patients["arm"])
    k = len(names)
    counts = np.zeros((len(arm.values) * k, k), dtype=np.int64)   # (arm × k + source, target)
    origin = arm.codes * k
    source = origin.copy()                 # each patient's last stage so far, as arm × k + stage
    for j in range(1, k):
        moved = present[j]
        counts[:, j] = np.bincount(source[moved], minlength=counts.shape[0])
        source = np.where(moved, origin + j, source)
    code = np.flatnonzero(counts)          # in the order of (arm × k + source) × k + target
    counts = counts.ravel()
    names = np.asarray(names)
    return pd.DataFrame({"arm": arm.values[code // (k * k)], "source": names[code // k % k],
                         "target": names[code % k], "count": counts[code]})


def timing(patients: pd.DataFrame) -> pd.DataFrame:
    """(arm, stage, week) -> count: weeks from diagnosis to each treatment stage, binned."""
    arm = counting.categories(patients["arm"])
    diagnosis = patients["diagnosis_day"].to_numpy(dtype=np.float64)
    parts = []
    for stage, col in TIMING_STAGES.items():
        days = patients[col].to_numpy(dtype=np.float64) - diagnosis
        keep = ~np.isnan(days)
        weeks = np.where(keep, np.floor(days / 7), 0.0)
        parts.append(counting.count({"arm": arm, "week": counting.integers(weeks)}, keep).assign(stage=stage))
    return pd.concat(parts, ignore_index=True)[[*TIMING_KEYS, "count"]]


def batch(patients: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Every dashboard aggregate of one batch of patients."""
    return {"subgroups": subgroups(patients), "incidence": incidence(patients), "flow": flow(patients),
            "timing": timing(patients), "supportive": supportive(patients)}


def merge(tables: list[dict[str, pd.DataFrame]]) -> dict[str, pd.DataFrame]:
    """Sum the aggregates of several batches (the total of one table stays small)."""
    out = {}
    for name, keys in KEYS.items():
        parts = [t[name] for t in tables if name in t and not t[name].empty]
        out[name] = (pd.concat(parts, ignore_index=True).groupby(keys, sort=True)["count"].sum().reset_index()
                     if parts else pd.DataFrame(columns=[*keys, "count"]))
    return out


def aalen_johansen(rows: pd.DataFrame) -> pd.DataFrame:
    """Cumulative incidence of each outcome from (years, outcome, count) rows, competing risks, with
    its 95% confidence interval.

    The Aalen–Johansen estimator (Aalen & Johansen 1978; Kalbfleisch & Prentice 2002, §8.2):
    CIF_k(t) = Σ_{t_i ≤ t} S(t_i−) d_k(t_i) / n(t_i), with S the all-cause Kaplan–Meier, d_k the
    events of outcome k and n the number at risk at t_i. Its variance is the delta-method
    (Greenwood-type) one of SAS PROC LIFETEST and lifelines, with the interval on the log(−log)
    scale so it stays in [0, 1]. Computed here because the rows are counts: lifelines'
    AalenJohansenFitter wants one row per patient. Returns years, outcome, incidence, ci_low,
    ci_high, at_risk (one row per time and outcome).
    """
    columns = ["years", "outcome", "incidence", "ci_low", "ci_high", "at_risk"]
    table = rows.pivot_table(index="years", columns="outcome", values="count", aggfunc="sum", fill_value=0)
    total = table.sum(axis=1).to_numpy(dtype=np.float64)
    at_risk = total[::-1].cumsum()[::-1]
    events = table.drop(columns=[CENSORED], errors="ignore")
    deaths = events.sum(axis=1).to_numpy(dtype=np.float64)
    survival_before = np.concatenate([[1.0], np.cumprod(1 - deaths / at_risk)[:-1]])
    out = []
    for outcome in events.columns:
        d_k = events[outcome].to_numpy(dtype=np.float64)
        incidence = np.cumsum(survival_before * d_k / at_risk)
        low, high = _log_log_interval(incidence, _cif_variance(incidence, d_k, deaths, at_risk, survival_before))
        out.append(pd.DataFrame({"years": table.index.to_numpy(), "outcome": outcome, "incidence": incidence,
                                 "ci_low": low, "ci_high": high, "at_risk": at_risk}))
    return pd.concat(out, ignore_index=True)[columns] if out else pd.DataFrame(columns=columns)


def _cif_variance(incidence, d_k, deaths, at_risk, survival_before):
    """Var F_k(t_i) = Σ_{j≤i} (F_i − F_j)² d_j / (n_j (n_j − d_j)) + S_{j−1}² d_kj (n_j − d_kj) / n_j³
    − 2 (F_i − F_j) S_{j−1} d_kj / n_j², the sums over j taken as running totals."""
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(at_risk > deaths, deaths / (at_risk * (at_risk - deaths)), 0.0)
    c = survival_before * d_k / at_risk ** 2
    f = incidence
    first = f ** 2 * np.cumsum(a) - 2 * f * np.cumsum(a * f) + np.cumsum(a * f ** 2)
    second = np.cumsum(survival_before ** 2 * d_k * (at_risk - d_k) / at_risk ** 3)
    third = f * np.cumsum(c) - np.cumsum(c * f)
    return np.maximum(first + second - 2 * third, 0.0)


def _log_log_interval(estimate, variance, z: float = Z_95):
    """95% interval of a probability on the log(−log) scale (0 and 1 have no width)."""
    inside = (estimate > 0) & (estimate < 1)
    est = np.where(inside, estimate, 0.5)
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(variance) / (est * np.abs(np.log(est)))
    transformed = np.log(-np.log(est))
    with np.errstate(over="ignore"):   # a huge se (few at risk): exp overflows to inf, and the bound is its limit, 0
        bound_a, bound_b = np.exp(-np.exp(transformed + z * se)), np.exp(-np.exp(transformed - z * se))
    return np.where(inside, bound_a, estimate), np.where(inside, bound_b, estimate)
