"""The run summary (summary.json): survival with 95% CIs, waits, utilisation, counts, provenance.

Computed from the result tables only, so it can be rebuilt from a results folder.
Kaplan–Meier estimates and their confidence intervals (log(-log) Greenwood intervals, as
lifelines computes them: `analysis.survival`) pool patients over replications.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from osteosim.analysis.resource_use import ResourceUse
from osteosim.analysis.service import wait_times
from osteosim.analysis.survival import estimates, rounded_or_none, survival_counts


def survival_table(counts: pd.DataFrame, pooled: dict | None = None) -> list[dict]:
    """OS and EFS at 1/3/5 years by arm, for all patients and by metastatic status (from survival counts;
    `pooled`, their `survival.estimates`, if already made)."""
    pooled = estimates(counts) if pooled is None else pooled
    return [{"arm": arm, "group": group, "endpoint": endpoint, **row, "n": n}
            for (arm, group, endpoint), (n, at) in pooled.items() for row in at]


def waits_table(events: pd.DataFrame) -> list[dict]:
    """Median and 90th percentile of the wait for a resource, by stage (patients only)."""
    waits = wait_times(events)
    if waits.empty:
        return []
    agg = waits.groupby(["arm", "stage"], observed=True)["wait"].agg(
        median_days="median", p90_days=lambda w: w.quantile(0.9), mean_days="mean", n="size")
    return [{k: (round(float(v), 4) if isinstance(v, float) else v) for k, v in row.items()}
            for row in agg.reset_index().astype({"arm": str, "stage": str}).to_dict("records")]


def utilisation_table(use: ResourceUse, since: float = 0.0) -> list[dict]:
    if use.empty:
        return []
    table = use.utilisation(since=since).astype({"arm": str, "resource": str})
    return [{k: (rounded_or_none(float(v)) if isinstance(v, float) else v) for k, v in row.items()}
            for row in table.to_dict("records")]


def tally(patients: pd.DataFrame) -> dict:
    """Additive counts of a batch of patients (merge batches with `merge_tallies`)."""
    good = patients["good_response"].astype("float")
    return {
        "patients": int(len(patients)),
        "replications": set(int(r) for r in patients["replication"].unique()),
        "met_status": {str(k): int(v) for k, v in patients["met_status"].value_counts(sort=False).items()},
        "death_cause": {(str(k) or "alive"): int(v) for k, v in patients["death_cause"].value_counts(sort=False).items()},
        "relapse_or_progression": int(patients["relapse_day"].notna().sum()),
        "good_response": (float(good.sum()), int(good.notna().sum())),
        "csr": int(patients["csr"].sum()),
        "by_replication": pathway_counts(patients),
    }


def pathway_counts(patients: pd.DataFrame) -> pd.DataFrame:
    """Additive counts per replication x arm behind the crude-proportion KPIs (relapse, CR2, second cancer)."""
    from osteosim.analysis import counting

    n = len(patients)
    missing = np.full(n, np.nan)
    cause = counting.categories(patients["death_cause"])
    cancer_death = (cause.values == "osteosarcoma")[cause.codes]
    referral = patients["palliative_referral_day"].to_numpy() if "palliative_referral_day" in patients else missing
    death = patients["death_day"].to_numpy() if "death_day" in patients else missing
    referred = cancer_death & (referral <= death)
    if "place_of_death" in patients:
        place = counting.categories(patients["place_of_death"])
        in_hospital = (place.values == "hospital")[place.codes]
    else:
        in_hospital = np.zeros(n, dtype=bool)
    replication = patients["replication"].to_numpy()
    keys = {"replication": counting.integers(replication), "arm": counting.categories(patients["arm"])}
    return counting.sums(keys, {
        "relapses": patients["relapse_day"].notna().to_numpy(dtype=int),
        "cr2": patients["cr2"].fillna(False).to_numpy(dtype=int),
        "second_malignancies": patients["second_malignancy_day"].notna().to_numpy(dtype=int),
        # supportive care (conf/supportive): deaths from the disease, those with a palliative referral
        # before them and the days between, hospital deaths; heart failure while followed
        "cancer_deaths": cancer_death.astype(int), "referred_deaths": referred.astype(int),
        "referral_to_death_days": np.where(referred, death - referral, 0.0),
        "hospital_deaths": (cancer_death & in_hospital).astype(int),
        "heart_failures": (patients["heart_failure_day"].notna().to_numpy(dtype=int) if "heart_failure_day" in patients
                           else np.zeros(n, dtype=int))})


def merge_tallies(tallies: list[dict]) -> dict:
    """Sum batch tallies into the summary's counts."""
    total = {"patients": 0, "replications": set(), "met_status": {}, "death_cause": {}, "relapse_or_progression": 0,
             "good": 0.0, "assessed": 0, "csr": 0}
    for t in tallies:
        total["patients"] += t["patients"]
        total["replications"] |= t["replications"]
        for key in ("met_status", "death_cause"):
            for name, n in t[key].items():
                total[key][name] = total[key].get(name, 0) + n
        total["relapse_or_progression"] += t["relapse_or_progression"]
        total["good"] += t["good_response"][0]
        total["assessed"] += t["good_response"][1]
        total["csr"] += t["csr"]
    n = total["patients"]
    return {
        "patients": n,
        "replications": len(total["replications"]),
        "met_status": total["met_status"],
        "death_cause": total["death_cause"],
        "relapse_or_progression": total["relapse_or_progression"],
        "good_response_rate": rounded_or_none(total["good"] / total["assessed"]) if total["assessed"] else None,
        "csr_rate": rounded_or_none(total["csr"] / n) if n else None,
    }


def summarise(survival: pd.DataFrame, tallies: list[dict], events: pd.DataFrame,
              resources: pd.DataFrame | ResourceUse, reference: str | None = None,
              cox_patients: pd.DataFrame | None = None, warmup_day: float = 0.0) -> dict:
    """summary.json content from survival counts and patient tallies (see `summarise_patients`).

    Waits and utilisation exclude the warm-up (the service starts empty); survival uses everyone. `resources` is
    the resource log, or what a run gathered from it (`ResourceUse.from_file`, with `warmup_day` among its sinces).
    """
    from osteosim.analysis.replications import (hazard_ratios, kpi_intervals, paired_differences, proportions_by_replication,
                                     service_by_replication, survival_by_replication)

    use = resources if isinstance(resources, ResourceUse) \
        else ResourceUse.from_frame(resources, (warmup_day,), weekly=False)
    events = _after(events, warmup_day)
    by_replication = [t["by_replication"] for t in tallies]
    pooled = estimates(survival)
    tables = [t for t in (survival_by_replication(survival, pooled), proportions_by_replication(by_replication),
                          service_by_replication(events, use, since=warmup_day)) if not t.empty]
    per_replication = pd.concat(tables, ignore_index=True) if tables else survival_by_replication(survival, pooled)
    several_arms = per_replication["arm"].nunique() > 1
    return {
        "survival": survival_table(survival, pooled),
        "kpis": kpi_intervals(per_replication),
        "paired_differences": paired_differences(per_replication, reference) if several_arms else [],
        "hazard_ratios": hazard_ratios(cox_patients, reference) if several_arms and cox_patients is not None else [],
        "waits": waits_table(events),
        "utilisation": utilisation_table(use, since=warmup_day),
        "warmup_day": warmup_day,
        "counts": merge_tallies(tallies),
    }


def _after(table: pd.DataFrame, day: float) -> pd.DataFrame:
    return table if table.empty or day <= 0 else table[table["day"] >= day]


def summarise_patients(patients: pd.DataFrame, events: pd.DataFrame, resources: pd.DataFrame,
                       reference: str | None = None, warmup_day: float = 0.0) -> dict:
    """summary.json content from an in-memory patients table."""
    return summarise(survival_counts(patients), [tally(patients)], events, resources, reference, patients, warmup_day)


def survival_lines(summary: dict, entered_at_relapse: bool = False) -> list[str]:
    """Human-readable OS/EFS with 95% CIs, for the terminal: at 5 years by metastatic status, or, for
    patients who entered at a recurrence (cohort=relapsed), at 1 year from entry, all together."""
    years, groups = (1, ("all",)) if entered_at_relapse else (5, ("localized", "metastatic"))
    lines = [f"{years}-year survival (Kaplan-Meier, 95% CI)" + (" from entry at a recurrence; EFS is PFS:"
                                                                if entered_at_relapse else ":")]
    width = max([12] + [len(row["arm"]) for row in summary["survival"]])
    for row in summary["survival"]:
        if row["years"] != years or row["group"] not in groups:
            continue
        if row["estimate"] is None:
            text = "not estimable (follow-up too short)"
        else:
            text = f"{100 * row['estimate']:5.1f}%  ({100 * row['ci_low']:.1f}-{100 * row['ci_high']:.1f})"
        lines.append(f"  {row['arm']:<{width}} {row['group']:<11} {row['endpoint']:<4} {text}   n={row['n']}")
    return lines
