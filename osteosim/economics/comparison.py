"""Arms against the reference, over replications: mean costs, life years and QALYs with 95% CIs;
paired (common random numbers) incremental costs and QALYs, the ICER and the net monetary benefit at
each threshold (summary.json "economics").

The per-patient table is added up per replication x arm as it is written (`EconomicTotals`), so
the summary needs no second read. Intervals are the project's: a t-interval over replications for
each arm, a paired-t interval for each difference (osteosim.analysis.replications). The ICER is the
ratio of the mean differences; its uncertainty is carried by the net monetary benefit, whose
difference has an interval (a ratio's interval is ill-behaved when the QALY difference is near 0).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from osteosim.analysis import counting
from osteosim.analysis.replications import kpi_intervals, paired_differences
from osteosim.config.schema import EconomicsConfig

MEASURES = ("cost", "cost_disc", "life_years", "life_years_disc", "qalys", "qalys_disc")


class EconomicTotals:
    """Sums of each measure and patient counts per replication x arm, added chunk by chunk."""

    def __init__(self):
        self.parts: list[pd.DataFrame] = []

    def add(self, frame: pd.DataFrame) -> None:
        """A chunk's sums per replication x arm: what `frame[MEASURES].groupby([replication, arm as text]).sum()`
        gives, bit for bit (groups sorted by replication then arm, each sum Kahan-compensated in row order,
        `counting.kahan_group_sums`), in one compiled pass: the group-by made a string of every patient's arm
        (0.2 microseconds a patient, a third of pricing's own time)."""
        if frame is None or frame.empty:
            return
        replications, replication = np.unique(frame["replication"].to_numpy(), return_inverse=True)
        arms, arm = _arm_codes(frame["arm"])
        groups, label = np.unique(replication * len(arms) + arm, return_inverse=True)
        totals = np.zeros((len(groups), len(MEASURES)))
        counting.kahan_group_sums(label, frame[list(MEASURES)].to_numpy(dtype=np.float64), totals,
                                  np.zeros_like(totals))
        index = pd.MultiIndex.from_arrays([replications[groups // len(arms)], arms[groups % len(arms)]])
        sums = pd.DataFrame(totals, index=index, columns=list(MEASURES))
        sums["patients"] = np.bincount(label, minlength=len(groups)).astype(np.int64)
        self.parts.append(sums)

    def sums(self) -> pd.DataFrame:
        """replication, arm, patients and the summed measures."""
        if not self.parts:
            return pd.DataFrame(columns=["replication", "arm", "patients", *MEASURES])
        total = pd.concat(self.parts).groupby(level=[0, 1]).sum()
        total.index.names = ["replication", "arm"]
        return total.reset_index()


def _arm_codes(arm: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The arms as text, sorted, and each row's position among them: a categorical's categories are made text
    once, not a string per patient (a missing arm is "nan", as `astype(str)` makes it)."""
    if isinstance(arm.dtype, pd.CategoricalDtype):
        names = np.append(np.asarray(arm.cat.categories.astype(str), dtype=object), "nan")
        codes = arm.cat.codes.to_numpy().astype(np.int64)
        codes[codes < 0] = len(names) - 1
    else:
        names, codes = np.unique(arm.astype(str).to_numpy(dtype=object), return_inverse=True)
    arms, position = np.unique(names, return_inverse=True)     # distinct text, sorted
    return arms.astype(object), position[codes]


def per_replication(sums: pd.DataFrame, thresholds) -> pd.DataFrame:
    """Mean per patient of every measure, and the discounted net monetary benefit at each threshold,
    for every replication x arm (the KPI table's long format)."""
    means = sums.copy()
    for m in MEASURES:
        means[m] = sums[m] / sums["patients"]
    for wtp in thresholds:
        means[nmb_name(wtp)] = wtp * means["qalys_disc"] - means["cost_disc"]
    values = [c for c in means.columns if c not in ("replication", "arm", "patients")]
    return means.melt(id_vars=["replication", "arm"], value_vars=values, var_name="kpi", value_name="value")


def nmb_name(threshold: float) -> str:
    return f"nmb_disc@{threshold:g}"


def icer(d_cost: float, d_qalys: float) -> tuple[float | None, str]:
    """The incremental cost-effectiveness ratio and what it means (dominance has no ratio)."""
    if d_qalys >= 0 and d_cost <= 0 and (d_qalys > 0 or d_cost < 0):
        return None, "dominant (no more costly, at least as effective)"
    if d_qalys <= 0 and d_cost >= 0:
        return None, "dominated (no more effective, at least as costly)"
    ratio = d_cost / d_qalys
    return round(float(ratio), 2), ("cost per QALY gained" if d_qalys > 0 else "cost saved per QALY lost")


def summarise(sums: pd.DataFrame, e: EconomicsConfig, reference: str | None) -> dict:
    """summary.json's "economics": settings, each arm's means (95% CI), and each arm against the reference."""
    long = per_replication(sums, e.thresholds)
    out = {"settings": settings(e), "patients": int(sums["patients"].sum()) if len(sums) else 0,
           "by_arm": kpi_intervals(long), "incremental": []}
    arms = list(dict.fromkeys(sums["arm"].astype(str)))
    if reference is None or len(arms) < 2:
        return out
    differences = paired_differences(long, reference)
    for arm in [a for a in arms if a != reference]:
        rows = {r["kpi"]: r for r in differences if r["arm"] == arm}
        d_cost, d_qalys = rows["cost_disc"]["difference"], rows["qalys_disc"]["difference"]
        ratio, meaning = icer(d_cost, d_qalys)
        out["incremental"].append({
            "arm": arm, "reference": reference, "replications": rows["cost_disc"]["replications"],
            "cost_disc": _interval(rows["cost_disc"]), "qalys_disc": _interval(rows["qalys_disc"]),
            "life_years_disc": _interval(rows["life_years_disc"]),
            "cost": _interval(rows["cost"]), "qalys": _interval(rows["qalys"]),
            "icer": ratio, "icer_meaning": meaning,
            "icer_undiscounted": icer(rows["cost"]["difference"], rows["qalys"]["difference"])[0],
            "nmb_disc": {f"{wtp:g}": _interval(rows[nmb_name(wtp)]) for wtp in e.thresholds}})
    return out


def _interval(row: dict) -> dict:
    return {"difference": row["difference"], "ci_low": row["ci_low"], "ci_high": row["ci_high"]}


def settings(e: EconomicsConfig) -> dict:
    """What a reader needs to interpret the figures (CHEERS 2022 items 8-10, 15)."""
    return {"name": e.name, "perspective": e.perspective, "currency": e.currency, "price_year": e.price_year,
            "discount_costs": e.discount_costs, "discount_effects": e.discount_effects,
            "horizon_years": e.horizon_years, "thresholds": list(e.thresholds),
            "carer_qalys": bool(e.carer.enabled), "discounting": "continuous time from each patient's diagnosis"}


def lines(economics: dict) -> list[str]:
    """The incremental results for the terminal."""
    rows = economics.get("incremental", [])
    if not rows:
        return []
    currency = economics["settings"]["currency"]
    out = [f"cost-effectiveness against {rows[0]['reference']} ({economics['settings']['name']}: costs "
           f"{100 * economics['settings']['discount_costs']:g}%, effects {100 * economics['settings']['discount_effects']:g}%, "
           f"{currency}; paired over {rows[0]['replications']} replications):"]
    for r in rows:
        ratio = f"ICER {r['icer']:,.0f} {currency}/QALY" if r["icer"] is not None else r["icer_meaning"]
        out.append(f"  {r['arm']}: {r['cost_disc']['difference']:+,.0f} {currency}, "
                   f"{r['qalys_disc']['difference']:+.3f} QALYs, {ratio}")
    return out

