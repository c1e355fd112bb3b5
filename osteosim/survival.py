"""Kaplan–Meier fits that scale to millions of patients, and curves small enough to draw.

Patients with the same (time, event) are counted once with a weight (lifelines' `weights`,
exact for integer counts), after rounding times to `RESOLUTION_DAYS`; so ten million patients
become at most a few hundred thousand rows, and the estimates at 1, 3 and 5 years are those of
the raw data up to ties within a quarter of an hour.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter

DAYS_PER_YEAR = 365.25
RESOLUTION_DAYS = 0.01


def kaplan_meier(days, event, label: str | None = None) -> KaplanMeierFitter | None:
    """KM fit on years since diagnosis; None when no patient has a time."""
    d = np.asarray(days, dtype=np.float64)
    e = np.asarray(event, dtype=bool)
    keep = ~np.isnan(d)
    if not keep.any():
        return None
    rounded = np.round(d[keep] / RESOLUTION_DAYS) * RESOLUTION_DAYS / DAYS_PER_YEAR
    counts = pd.DataFrame({"t": rounded, "e": e[keep]}).value_counts().reset_index()
    return KaplanMeierFitter(alpha=0.05, label=label).fit(counts["t"], counts["e"], weights=counts["count"])


def curve(kmf: KaplanMeierFitter, max_points: int = 800) -> pd.DataFrame:
    """years, estimate, ci_low, ci_high, at_risk of a step curve, thinned to at most max_points steps."""
    sf = kmf.survival_function_.iloc[:, 0]
    ci = kmf.confidence_interval_survival_function_
    table = pd.DataFrame({"years": sf.index.to_numpy(), "estimate": sf.to_numpy(),
                          "ci_low": ci.iloc[:, 0].to_numpy(), "ci_high": ci.iloc[:, 1].to_numpy(),
                          "at_risk": kmf.event_table["at_risk"].reindex(sf.index).to_numpy()})
    if len(table) <= max_points:
        return table
    grid = np.linspace(table["years"].iloc[0], table["years"].iloc[-1], max_points)
    rows = np.searchsorted(table["years"].to_numpy(), grid, side="right") - 1
    return table.iloc[np.unique(rows)].reset_index(drop=True)
