"""Analyses of the result tables shared by the summary and the dashboard (never simulator internals)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from osteosim.model.population import DAYS_PER_YEAR

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


def uses_per_year(events: pd.DataFrame) -> pd.DataFrame:
    """Our patients' uses of each resource per year (background demand left out), for every
    replication x arm: the throughput planners count (e.g. follow-up chest scans, theatre lists).

    The year count is the span of our patients' events in the (already warm-up-trimmed) event log of
    that replication, so it is the same whether background demand is logged or not
    (output.background_events).
    """
    columns = [*RUN_KEYS, "resource", "uses_per_year"]
    if events.empty:
        return pd.DataFrame(columns=columns)
    ours = events[events["patient_id"] >= 0]
    span_years = ours.groupby(RUN_KEYS, observed=True)["day"].agg(lambda d: (d.max() - d.min()) / DAYS_PER_YEAR)
    starts = ours[(ours["event"] == "start") & ours["resource"].notna()]
    counts = starts.groupby([*RUN_KEYS, "resource"], observed=True).size().rename("uses").reset_index()
    counts = counts.join(span_years.rename("years"), on=RUN_KEYS)
    counts = counts[counts["years"] > 0]
    return counts.assign(uses_per_year=counts["uses"] / counts["years"])[columns]


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
    """Attach how long each change point's state holds, so averages are time-weighted: rows ordered by
    (replication, arm, resource, day), each holding until the next change of its resource, the last one
    until the run's last change point. Sorted on integer codes (np.lexsort, stable), as pandas'
    sort_values orders categoricals, but without factorising millions of rows. A table that already has
    its durations is returned as it is (a run times its resource log once; see results.run_folder)."""
    from osteosim.analysis import counting

    if "duration" in resources.columns or resources.empty:
        return resources

    replication = resources["replication"].to_numpy()
    arm = counting.categories(resources["arm"]).codes
    resource = counting.categories(resources["resource"]).codes
    day = resources["day"].to_numpy(dtype=np.float64)
    order = np.lexsort((day, resource, arm, replication))
    replication, arm, resource, day = replication[order], arm[order], resource[order], day[order]
    same_run = (replication[1:] == replication[:-1]) & (arm[1:] == arm[:-1])
    same_resource = same_run & (resource[1:] == resource[:-1])
    run_id = np.concatenate([[0], np.cumsum(~same_run)]) if len(day) else np.zeros(0, dtype=np.int64)
    run_end = np.full(int(run_id[-1]) + 1 if len(day) else 0, -np.inf)
    np.maximum.at(run_end, run_id, day)
    following = np.append(np.where(same_resource, day[1:], np.nan), np.nan) if len(day) else day
    ends = np.where(np.isnan(following), run_end[run_id], following)
    return resources.iloc[order].assign(duration=ends - day)


def weekly_use(resources: pd.DataFrame) -> pd.DataFrame:
    """Unit-days in use, offered and queued per (arm, resource, week), averaged over replications.

    Exact, not binned by change point: between change points each level is constant, so its
    running integral is piecewise linear and its value at every week boundary is an interpolation.
    In-use days of the chemotherapy beds are bed-days. Offered days are NaN when capacity is infinite.
    """
    rows = []
    for (replication, arm, resource), run in with_durations(resources).groupby(
            RUN_KEYS + ["resource"], observed=True, sort=False):
        times = np.append(run["day"].to_numpy(), run["day"].iloc[-1] + run["duration"].iloc[-1])
        bounds = np.arange(np.floor(times[0] / 7) * 7, times[-1] + 7, 7)
        per_week = {}
        for column, name in [("in_use", "in_use_days"), ("capacity", "offered_days"), ("queue_length", "queued_days")]:
            level = run[column].to_numpy(dtype=np.float64)
            running = np.append(0.0, np.cumsum(level * run["duration"].to_numpy()))
            per_week[name] = np.diff(np.interp(bounds, times, running)) if np.isfinite(level).all() \
                else np.full(len(bounds) - 1, np.nan)
        rows.append(pd.DataFrame({"replication": replication, "arm": arm, "resource": resource,
                                  "week_start_day": bounds[:-1], **per_week}))
    if not rows:
        return pd.DataFrame(columns=["arm", "resource", "week_start_day", "in_use_days", "offered_days", "queued_days"])
    table = pd.concat(rows, ignore_index=True).astype({"arm": str, "resource": str})
    return table.groupby(["arm", "resource", "week_start_day"], sort=True)[
        ["in_use_days", "offered_days", "queued_days"]].mean().reset_index()
