"""Analyses of the result tables shared by the summary and the dashboard (never simulator internals)."""
from __future__ import annotations

import numpy as np
import pandas as pd

RUN_KEYS = ["replication", "arm"]
QUEUE_KEYS = ["replication", "arm", "patient_id", "resource"]


def wait_times(events: pd.DataFrame) -> pd.DataFrame:
    """Pair each patient's resource request with the next start, so waits come from the log.

    The n-th request of a (replication, arm, patient, resource) pairs with its
    n-th start. Background demand (patient_id < 0) is left out. Returns columns
    arm, stage, resource, wait (days), ordered by request day.
    """
    if events.empty:
        return pd.DataFrame(columns=["arm", "stage", "resource", "wait"])
    queued = events[
        (events["patient_id"] >= 0)
        & events["event"].isin(["request", "start"])
        & events["resource"].notna()
    ].sort_values("day", kind="stable")
    queued = queued.assign(
        nth=queued.groupby(QUEUE_KEYS + ["event"], observed=True, sort=False).cumcount()
    )
    requests = queued[queued["event"] == "request"]
    starts = queued[queued["event"] == "start"][QUEUE_KEYS + ["nth", "day"]]
    pairs = requests.merge(starts, on=QUEUE_KEYS + ["nth"], suffixes=("", "_start"))
    return pairs.assign(wait=pairs["day_start"] - pairs["day"])[["arm", "stage", "resource", "wait"]]


def utilisation(resources: pd.DataFrame) -> pd.DataFrame:
    """Time-weighted use per (arm, resource): the integrals behind a fair utilisation figure.

    Each row is a change point holding until the next row of the same
    (replication, arm, resource); the last one holds until the run's last
    recorded change point. Returns arm, resource, mean_in_use, mean_capacity
    and utilisation_pct (NaN where capacity is ever infinite).
    """
    timed = with_durations(resources)
    timed = timed.assign(
        busy=timed["in_use"] * timed["duration"],
        offered=timed["capacity"] * timed["duration"],
    )
    totals = timed.groupby(["arm", "resource"], observed=True, sort=False)[
        ["busy", "offered", "duration"]
    ].sum()
    totals = totals[totals["duration"] > 0]
    finite = np.isfinite(totals["offered"])
    return pd.DataFrame(
        {
            "mean_in_use": totals["busy"] / totals["duration"],
            "mean_capacity": totals["offered"] / totals["duration"],
            "utilisation_pct": (100 * totals["busy"] / totals["offered"]).where(finite),
        }
    ).reset_index()


def with_durations(resources: pd.DataFrame) -> pd.DataFrame:
    """Attach how long each change point's state holds, so averages are time-weighted."""
    keys = RUN_KEYS + ["resource"]
    ordered = resources.sort_values(keys + ["day"], kind="stable")
    run_end = ordered.groupby(RUN_KEYS, observed=True)["day"].transform("max")
    next_day = ordered.groupby(keys, observed=True)["day"].shift(-1)
    return ordered.assign(duration=next_day.fillna(run_end) - ordered["day"])
