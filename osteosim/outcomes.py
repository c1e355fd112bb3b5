"""The run summary (summary.json): survival with 95% CIs, waits, utilisation, counts, provenance.

Computed from the result tables only, so it can be rebuilt from a results folder.
Kaplan–Meier estimates and their confidence intervals come from lifelines (log(-log)
Greenwood intervals), pooling patients over replications.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from osteosim.analysis import utilisation, wait_times
from osteosim.survival import DAYS_PER_YEAR, kaplan_meier

SURVIVAL_YEARS = (1, 3, 5)
ENDPOINTS = {"OS": ("os_days", "os_event"), "EFS": ("efs_days", "efs_event")}


def metastatic_group(met_status: pd.Series) -> pd.Series:
    """Localized (no metastasis found at staging) or metastatic (any pattern)."""
    return pd.Series(np.where(met_status.astype(str) == "none", "localized", "metastatic"), index=met_status.index)


def km_at(days: pd.Series, event: pd.Series, years=SURVIVAL_YEARS) -> list[dict]:
    """Kaplan–Meier survival at the given years with its 95% confidence interval (NaN beyond follow-up)."""
    keep = days.notna()
    days, event = days[keep], event[keep]
    if days.empty:
        return [{"years": y, "estimate": None, "ci_low": None, "ci_high": None, "n": 0} for y in years]
    kmf = kaplan_meier(days, event)
    ci = kmf.confidence_interval_survival_function_
    out = []
    for y in years:
        followed = (days / DAYS_PER_YEAR).max() >= y
        est = float(kmf.survival_function_at_times(y).iloc[0]) if followed else math.nan
        row = ci[ci.index <= y].iloc[-1] if followed else None
        out.append({
            "years": y,
            "estimate": _clean(est),
            "ci_low": _clean(float(row.iloc[0])) if row is not None else None,
            "ci_high": _clean(float(row.iloc[1])) if row is not None else None,
            "n": int(days.shape[0]),
        })
    return out


def _clean(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else round(x, 6)


def survival_table(patients: pd.DataFrame) -> list[dict]:
    """OS and EFS at 1/3/5 years by arm, for all patients and by metastatic status."""
    rows = []
    groups = metastatic_group(patients["met_status"])
    for arm, by_arm in patients.groupby("arm", observed=True):
        for group in ("all", "localized", "metastatic"):
            sub = by_arm if group == "all" else by_arm[groups.loc[by_arm.index] == group]
            for endpoint, (days, event) in ENDPOINTS.items():
                for row in km_at(sub[days], sub[event]):
                    rows.append({"arm": str(arm), "group": group, "endpoint": endpoint, **row})
    return rows


def waits_table(events: pd.DataFrame) -> list[dict]:
    """Median and 90th percentile of the wait for a resource, by stage (patients only)."""
    waits = wait_times(events)
    if waits.empty:
        return []
    agg = waits.groupby(["arm", "stage"], observed=True)["wait"].agg(
        median_days="median", p90_days=lambda w: w.quantile(0.9), mean_days="mean", n="size")
    return [{k: (round(float(v), 4) if isinstance(v, float) else v) for k, v in row.items()}
            for row in agg.reset_index().astype({"arm": str, "stage": str}).to_dict("records")]


def utilisation_table(resources: pd.DataFrame) -> list[dict]:
    if resources.empty:
        return []
    table = utilisation(resources).astype({"arm": str, "resource": str})
    return [{k: (_clean(float(v)) if isinstance(v, float) else v) for k, v in row.items()}
            for row in table.to_dict("records")]


def counts(patients: pd.DataFrame) -> dict:
    return {
        "patients": int(len(patients)),
        "replications": int(patients["replication"].nunique()),
        "met_status": {str(k): int(v) for k, v in patients["met_status"].value_counts(sort=False).items()},
        "death_cause": {(str(k) or "alive"): int(v) for k, v in patients["death_cause"].value_counts(sort=False).items()},
        "relapse_or_progression": int(patients["relapse_day"].notna().sum()),
        "good_response_rate": _clean(float(patients["good_response"].astype("float").mean())),
        "csr_rate": _clean(float(patients["csr"].mean())) if len(patients) else None,
    }


def summarise(patients: pd.DataFrame, events: pd.DataFrame, resources: pd.DataFrame) -> dict:
    """summary.json content (provenance is added by the caller that knows the run folder)."""
    return {
        "survival": survival_table(patients),
        "hazard_ratios": [],  # vs the reference arm; a single-arm run has none
        "waits": waits_table(events),
        "utilisation": utilisation_table(resources),
        "counts": counts(patients),
    }


def survival_lines(summary: dict, years: int = 5) -> list[str]:
    """Human-readable 5-year OS/EFS by metastatic status with 95% CIs, for the terminal."""
    lines = [f"{years}-year survival (Kaplan-Meier, 95% CI):"]
    for row in summary["survival"]:
        if row["years"] != years or row["group"] == "all":
            continue
        if row["estimate"] is None:
            text = "not estimable (follow-up too short)"
        else:
            text = f"{100 * row['estimate']:5.1f}%  ({100 * row['ci_low']:.1f}-{100 * row['ci_high']:.1f})"
        lines.append(f"  {row['arm']:<12} {row['group']:<11} {row['endpoint']:<4} {text}   n={row['n']}")
    return lines
