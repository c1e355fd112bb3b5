"""Experiments with replications and arms: a 95% CI for every KPI across replications, and paired
differences against the reference arm.

With common random numbers (`paired=true`, the default) replication r of every arm sees the same
patients and the same draws, so the difference arm − reference in replication r is free of the
between-patient noise both share; its t-interval over replications is what separates a real effect
from noise (Law, Simulation Modeling and Analysis, ch. 10: paired-t confidence interval).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.special import stdtrit

from osteosim.analysis.survival import ENDPOINTS, cox_hazard_ratio, estimates


def survival_by_replication(counts: pd.DataFrame, pooled: dict | None = None) -> pd.DataFrame:
    """KM survival (%) at 1/3/5 years for every replication × arm × group × endpoint: the KPI table.
    `pooled`, the table's `survival.estimates` if already made, are one replication's when there is one."""
    rows = []
    single = pooled is not None and counts["replication"].nunique() == 1
    for replication, part in counts.groupby("replication", sort=True):
        for (arm, group, endpoint), (_, at) in (pooled if single else estimates(part)).items():
            for row in at:
                if row["estimate"] is not None:
                    rows.append({"replication": int(replication), "arm": arm,
                                 "kpi": f"{endpoint}{row['years']}y.{group}", "value": 100.0 * row["estimate"]})
    return pd.DataFrame(rows, columns=["replication", "arm", "kpi", "value"])


def proportions_by_replication(counts: list[pd.DataFrame]) -> pd.DataFrame:
    """Crude proportions (%) over the run's follow-up for every replication x arm: patients who relapsed
    or progressed, relapses put in second remission, patients with a second malignancy or heart failure;
    deaths from the disease with a palliative referral before them, and in hospital; and the mean days
    from referral to death."""
    columns = ["replication", "arm", "kpi", "value"]
    if not counts:
        return pd.DataFrame(columns=columns)
    total = pd.concat(counts, ignore_index=True).groupby(["replication", "arm"], sort=True).sum()
    rows = []
    for (replication, arm), c in total.iterrows():
        for kpi, numerator, denominator in (("relapse_or_progression_pct", c.relapses, c.patients),
                                            ("cr2_pct_of_relapses", c.cr2, c.relapses),
                                            ("second_malignancy_pct", c.second_malignancies, c.patients),
                                            ("heart_failure_pct", c.heart_failures, c.patients),
                                            ("palliative_referral_pct_of_cancer_deaths", c.referred_deaths,
                                             c.cancer_deaths),
                                            ("hospital_death_pct_of_cancer_deaths", c.hospital_deaths,
                                             c.cancer_deaths)):
            if denominator:
                rows.append({"replication": int(replication), "arm": str(arm), "kpi": kpi,
                             "value": 100.0 * numerator / denominator})
        if c.referred_deaths:
            rows.append({"replication": int(replication), "arm": str(arm), "kpi": "referral_to_death_days_mean",
                         "value": c.referral_to_death_days / c.referred_deaths})
    return pd.DataFrame(rows, columns=columns)


def service_by_replication(events: pd.DataFrame, use, since: float = 0.0) -> pd.DataFrame:
    """Median and 90th-percentile wait per stage, our patients' uses per year and utilisation per resource
    (from day `since`, gathered in `use`: analysis.resource_use.ResourceUse), for every replication × arm."""
    from osteosim.analysis.service import uses_per_year, wait_times

    rows = []
    if not events.empty:
        for replication, part in events.groupby("replication", sort=True):
            waits = wait_times(part)
            for (arm, stage), w in waits.groupby(["arm", "stage"], observed=True, sort=True):
                groups = [(str(stage), w)]
                if str(stage) == "supportive":   # supportive care's resources are separate services
                    groups += [(f"supportive.{resource}", r) for resource, r in
                               w.groupby("resource", observed=True, sort=True)]
                for name, part_w in groups:
                    rows.append({"replication": int(replication), "arm": str(arm), "kpi": f"wait_median_days.{name}",
                                 "value": float(part_w["wait"].median())})
                    rows.append({"replication": int(replication), "arm": str(arm), "kpi": f"wait_p90_days.{name}",
                                 "value": float(part_w["wait"].quantile(0.9))})
        for row in uses_per_year(events).itertuples():
            rows.append({"replication": int(row.replication), "arm": str(row.arm),
                         "kpi": f"uses_per_year.{row.resource}", "value": float(row.uses_per_year)})
    if not use.empty:
        for row in use.utilisation(by_replication=True, since=since).sort_values("replication",
                                                                               kind="stable").itertuples():
            if np.isfinite(row.utilisation_pct):
                rows.append({"replication": int(row.replication), "arm": str(row.arm),
                             "kpi": f"utilisation_pct.{row.resource}", "value": float(row.utilisation_pct)})
    return pd.DataFrame(rows, columns=["replication", "arm", "kpi", "value"])


def _t_interval(values: np.ndarray) -> tuple[float, float | None, float | None]:
    mean = float(np.mean(values))
    if len(values) < 2:
        return mean, None, None
    half = float(stdtrit(len(values) - 1, 0.975) * np.std(values, ddof=1) / math.sqrt(len(values)))
    return mean, mean - half, mean + half


def kpi_intervals(per_replication: pd.DataFrame) -> list[dict]:
    """Mean of every KPI over replications with its 95% t-interval (None with one replication)."""
    out = []
    for (arm, kpi), rows in per_replication.groupby(["arm", "kpi"], sort=True):
        mean, low, high = _t_interval(rows["value"].to_numpy())
        out.append({"arm": arm, "kpi": kpi, "mean": round(mean, 4), "ci_low": _round(low), "ci_high": _round(high),
                    "replications": int(len(rows))})
    return out


def paired_differences(per_replication: pd.DataFrame, reference: str) -> list[dict]:
    """arm − reference for every KPI, replication by replication, with the paired 95% t-interval."""
    wide = per_replication.pivot_table(index=["replication", "kpi"], columns="arm", values="value")
    out = []
    for arm in [a for a in wide.columns if a != reference]:
        diff = (wide[arm] - wide[reference]).dropna()
        for kpi, values in diff.groupby(level="kpi", sort=True):
            mean, low, high = _t_interval(values.to_numpy())
            out.append({"arm": arm, "reference": reference, "kpi": kpi, "difference": round(mean, 4),
                        "ci_low": _round(low), "ci_high": _round(high), "replications": int(len(values))})
    return out


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


MAX_COX_PATIENTS = 500_000   # above this, every k-th patient (deterministic) enters the Cox fit


def hazard_ratios(patients: pd.DataFrame, reference: str) -> list[dict]:
    """Cox hazard ratio (95% CI) of each arm against the reference, for OS and EFS, all patients pooled;
    null where not estimable (e.g. no events yet in a short run)."""
    arms = [a for a in patients["arm"].astype(str).unique() if a != reference]
    if not arms:
        return []
    step = max(1, math.ceil(len(patients) / MAX_COX_PATIENTS))
    sample = patients.iloc[::step]
    out = []
    for arm in arms:
        pair = sample[sample["arm"].astype(str).isin([reference, arm])]
        for endpoint, (days, event) in ENDPOINTS.items():
            frame = pd.DataFrame({"t": pair[days], "e": pair[event],
                                  "treated": pair["arm"].astype(str) == arm}).dropna()
            ratio = cox_hazard_ratio(frame["t"], frame["e"], frame["treated"])
            hr, low, high = (None if np.isnan(x) else round(x, 4) for x in ratio)
            out.append({"arm": arm, "reference": reference, "endpoint": endpoint, "hazard_ratio": hr,
                        "ci_low": low, "ci_high": high, "patients": int(len(frame)), "subsampled_every": step})
    return out


def difference_lines(summary: dict, years: int = 5) -> list[str]:
    """The paired 5-year OS and EFS differences, and that of second remissions, for the terminal."""
    shown = {f"OS{years}y.all": f"OS {years} y", f"EFS{years}y.all": f"EFS {years} y",
             "cr2_pct_of_relapses": "CR2 of relapses"}
    rows = [r for r in summary.get("paired_differences", []) if r["kpi"] in shown]
    if not rows:
        return []
    lines = [f"paired differences against {rows[0]['reference']} ({rows[0]['replications']} replications, "
             "common random numbers, 95% paired-t CI):"]
    width = max(len(r["arm"]) for r in rows)
    for r in rows:
        ci = "CI needs >= 2 replications" if r["ci_low"] is None else f"({r['ci_low']:+.1f} to {r['ci_high']:+.1f})"
        lines.append(f"  {r['arm']:<{width}} {shown[r['kpi']]:<15} {r['difference']:+5.1f} points {ci}")
    return lines
