"""Analyses of the result tables shared by the summary and the dashboard (never simulator internals)."""
from __future__ import annotations

import numba as nb
import numpy as np
import pandas as pd

from osteosim.analysis import counting
from osteosim.model.population import DAYS_PER_YEAR   # (importing osteosim.model sets Numba's cache folder)

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


def utilisation(resources: pd.DataFrame, by_replication: bool = False, since: float = 0.0) -> pd.DataFrame:
    """Time-weighted use per (arm, resource), or per (replication, arm, resource): the integrals behind a fair
    utilisation figure.

    Each row is a change point holding until the next row of the same
    (replication, arm, resource); the last one holds until the run's last
    recorded change point. Returns [replication,] arm, resource, mean_in_use, mean_capacity
    and utilisation_pct (NaN where capacity is ever infinite), groups in order of first appearance.
    `since` > 0 leaves out the change points before that day (the warm-up), each later one holding as long as
    it does in the whole log: what filtering the timed log would give, without copying millions of rows.
    """
    timed = with_durations(resources)
    keys = ["replication", "arm", "resource"] if by_replication else ["arm", "resource"]
    totals = _time_integrals(timed, keys, timed["day"].to_numpy() >= since if since > 0 else None)
    totals = totals[totals["duration"] > 0]
    finite = np.isfinite(totals["offered"])
    return pd.DataFrame(
        {
            "mean_in_use": totals["busy"] / totals["duration"],
            "mean_capacity": totals["offered"] / totals["duration"],
            "utilisation_pct": (100 * totals["busy"] / totals["offered"]).where(finite),
        }
    ).reset_index()


def _time_integrals(timed: pd.DataFrame, keys: list[str], kept: np.ndarray | None = None) -> pd.DataFrame:
    """busy (in_use x duration), offered (capacity x duration) and duration summed per group of `keys`, indexed
    by the keys: what `groupby(keys, observed=True, sort=False)[...].sum()` of those products gives, bit for bit
    (groups in order of first appearance, rows with a missing key left out, NaN products skipped, each sum
    Kahan-compensated in row order as pandas' group sum is), in one compiled pass over the log where the
    group-by took 0.2-0.5 s per call on millions of rows (three calls a run). Rows where `kept` is False count
    as rows with a missing key. Tested against that group-by."""
    codes, sizes = zip(*(_key_codes(timed[key]) for key in keys)) if len(timed) else ((), ())
    combined = counting.mixed_radix(list(codes), list(sizes)) if codes else np.zeros(0, dtype=np.int64)
    if codes:
        combined[np.logical_or.reduce([code < 0 for code in codes] + ([] if kept is None else [~kept]))] = -1
    first, sums = _kahan_sums_by_first_appearance(
        combined, int(np.prod(sizes, dtype=np.float64)) if sizes else 0, timed["in_use"].to_numpy(dtype=np.float64),
        timed["capacity"].to_numpy(dtype=np.float64), timed["duration"].to_numpy(dtype=np.float64))
    index = pd.MultiIndex.from_arrays([_key_values(timed[key], first) for key in keys], names=keys)
    return pd.DataFrame(sums, columns=["busy", "offered", "duration"], index=index)


def _key_codes(column: pd.Series) -> tuple[np.ndarray, int]:
    """A group key's codes (-1 where it is missing, as pandas drops those rows) and how many there can be."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.cat.codes.to_numpy().astype(np.int64), max(len(column.cat.categories), 1)
    values = column.to_numpy()
    if values.dtype.kind in "iu":
        low = values.min()
        return values.astype(np.int64) - low, int(values.max()) - int(low) + 1
    codes, uniques = pd.factorize(column, sort=False)
    return codes.astype(np.int64), max(len(uniques), 1)


def _key_values(column: pd.Series, rows: np.ndarray):
    """The key's values at `rows`, in its own dtype (a categorical keeps its categories, as a group-by's index)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return pd.Categorical.from_codes(column.cat.codes.to_numpy()[rows], dtype=column.dtype)
    return column.to_numpy()[rows]


@nb.njit(cache=True, nogil=True)
def _kahan_sums_by_first_appearance(combined, n_codes, in_use, capacity, duration):
    """The first row of each group (codes in `combined`, -1 left out) in order of first appearance, and per group
    the sums of in_use*duration, capacity*duration and duration: pandas' cython group_sum, compensation and all
    (a compensation that turns NaN on an infinite value is reset to 0, as pandas does since 2.1)."""
    label_of = np.full(n_codes, -1, dtype=np.int64)
    label = np.empty(len(combined), dtype=np.int64)
    first = np.empty(len(combined), dtype=np.int64)
    groups = 0
    for i in range(len(combined)):
        code = combined[i]
        if code < 0:
            label[i] = -1
            continue
        if label_of[code] < 0:
            label_of[code] = groups
            first[groups] = i
            groups += 1
        label[i] = label_of[code]
    sums = np.zeros((groups, 3))
    compensation = np.zeros((groups, 3))
    for i in range(len(combined)):
        g = label[i]
        if g < 0:
            continue
        for j in range(3):
            value = (in_use[i] * duration[i]) if j == 0 else (capacity[i] * duration[i]) if j == 1 else duration[i]
            if value != value:       # NaN: skipped, as a missing value
                continue
            y = value - compensation[g, j]
            t = sums[g, j] + y
            compensation[g, j] = t - sums[g, j] - y
            if compensation[g, j] != compensation[g, j]:
                compensation[g, j] = 0.0
            sums[g, j] = t
    return first[:groups], sums


def with_durations(resources: pd.DataFrame) -> pd.DataFrame:
    """Attach how long each change point's state holds, so averages are time-weighted: rows ordered by
    (replication, arm, resource, day), each holding until the next change of its resource, the last one
    until the run's last change point. Sorted on integer codes (stable, `log_order`), as pandas'
    sort_values orders categoricals, but without factorising millions of rows. A table that already has
    its durations is returned as it is (a run times its resource log once; see results.run_folder)."""
    if "duration" in resources.columns or resources.empty:
        return resources

    replication = np.asarray(resources["replication"].to_numpy(), dtype=np.int64)
    arm = np.asarray(counting.categories(resources["arm"]).codes, dtype=np.int64)
    resource = np.asarray(counting.categories(resources["resource"]).codes, dtype=np.int64)
    day = resources["day"].to_numpy(dtype=np.float64)
    order = log_order(replication, arm, resource, day)
    return taken(resources, order, duration=_durations(order, replication, arm, resource, day))


@nb.njit(cache=True, nogil=True)
def _durations(order, replication, arm, resource, day):
    """How long each row holds, in `order` (rows grouped by run and resource, days in order): until the next
    row of its resource, else until the run's last change point (NaN days propagate as np.maximum's do). One
    compiled pass where NumPy made a dozen over 5 million rows (0.9 s for 8 default replications)."""
    n = len(order)
    out = np.empty(n)
    k = 0
    while k < n:
        start, first = k, order[k]
        end = -np.inf                   # the run's last change point
        while k < n and replication[order[k]] == replication[first] and arm[order[k]] == arm[first]:
            d = day[order[k]]
            end = np.nan if (np.isnan(end) or np.isnan(d)) else max(end, d)
            k += 1
        for q in range(start, k):
            i = order[q]
            following = day[order[q + 1]] if q + 1 < k and resource[order[q + 1]] == resource[i] else np.nan
            out[q] = (end if np.isnan(following) else following) - day[i]
    return out


def log_order(replication: np.ndarray, arm: np.ndarray, resource: np.ndarray, day: np.ndarray) -> np.ndarray:
    """np.lexsort((day, resource, arm, replication)) of a resource log. A log is written in time order, so each
    resource's rows of a run are already in day order: a stable sort on (replication, arm, resource) alone
    gives the same order, and as a counting sort on their combined code (`counting.mixed_radix`'s code, made
    inside the pass) it is one compiled pass: 5.1 million rows in 0.09 s, against 0.91 s for NumPy's radix sort
    and its passes over the codes (2-core Xeon). Checked in the same pass; the full sort is taken when days are
    not in order."""
    if len(day) == 0:
        return np.zeros(0, dtype=np.int64)
    order, in_day_order = _grouped_in_order(np.asarray(replication, dtype=np.int64), np.asarray(arm, dtype=np.int64),
                                            np.asarray(resource, dtype=np.int64), np.asarray(day, dtype=np.float64))
    return order if in_day_order else np.lexsort((day, resource, arm, replication))


@nb.njit(cache=True, nogil=True)
def _grouped_in_order(replication, arm, resource, day):
    """The stable order of rows by (replication, arm, resource) (a counting sort on their combined code), and
    whether each group's days come in order (a NaN day counts as not: the full sort then decides)."""
    low = replication.min()
    arms, resources = arm.max() + 1, resource.max() + 1
    groups = (replication.max() - low + 1) * arms * resources
    group = ((replication - low) * arms + arm) * resources + resource
    start = np.zeros(groups + 1, dtype=np.int64)
    for g in group:
        start[g + 1] += 1
    for g in range(groups):
        start[g + 1] += start[g]
    order = np.empty(len(group), dtype=np.int64)
    last = np.full(groups, -np.inf)
    in_day_order = True
    for i in range(len(group)):
        g = group[i]
        order[start[g]] = i
        start[g] += 1
        if not day[i] >= last[g]:
            in_day_order = False
        last[g] = day[i]
    return order, in_day_order


def taken(frame: pd.DataFrame, order: np.ndarray, **columns: np.ndarray) -> pd.DataFrame:
    """frame.iloc[order].assign(**columns), column by column into a frame that keeps them apart: for a
    resource log of millions of rows pandas' take and assign copied the whole table twice (1.4 s for 8
    replications of the default scenario, against 0.08 s)."""
    out = {}
    for name in frame.columns:
        column = frame[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            out[name] = pd.Categorical.from_codes(column.cat.codes.to_numpy().take(order), dtype=column.dtype)
        else:
            out[name] = column.to_numpy().take(order)
    return pd.DataFrame({**out, **columns}, index=frame.index.take(order), copy=False)


def weekly_use(resources: pd.DataFrame) -> pd.DataFrame:
    """Unit-days in use, offered and queued per (arm, resource, week), averaged over replications.

    Exact, not binned by change point: between change points each level is constant, so its
    running integral is piecewise linear and its value at every week boundary is an interpolation.
    In-use days of the chemotherapy beds are bed-days. Offered days are NaN when capacity is infinite.
    """
    rows = []
    timed = with_durations(resources)
    levels = {column: timed[column].to_numpy(dtype=np.float64) for column in ("in_use", "capacity", "queue_length")}
    day, duration = timed["day"].to_numpy(), timed["duration"].to_numpy()
    for (replication, arm, resource), run in _runs(timed):
        times = np.append(day[run], day[run][-1] + duration[run][-1])
        bounds = np.arange(np.floor(times[0] / 7) * 7, times[-1] + 7, 7)
        per_week = {}
        for column, name in [("in_use", "in_use_days"), ("capacity", "offered_days"), ("queue_length", "queued_days")]:
            level = levels[column][run]
            running = np.append(0.0, np.cumsum(level * duration[run]))
            per_week[name] = np.diff(np.interp(bounds, times, running)) if np.isfinite(level).all() \
                else np.full(len(bounds) - 1, np.nan)
        rows.append(pd.DataFrame({"replication": replication, "arm": arm, "resource": resource,
                                  "week_start_day": bounds[:-1], **per_week}))
    if not rows:
        return pd.DataFrame(columns=["arm", "resource", "week_start_day", "in_use_days", "offered_days", "queued_days"])
    table = pd.concat(rows, ignore_index=True).astype({"arm": str, "resource": str})
    return table.groupby(["arm", "resource", "week_start_day"], sort=True)[
        ["in_use_days", "offered_days", "queued_days"]].mean().reset_index()


def _runs(timed: pd.DataFrame):
    """((replication, arm, resource), slice) of each resource's rows in a run, from a table in with_durations'
    order (every resource's rows together): slices of the columns, where a group-by copied the whole table."""
    replication = timed["replication"].to_numpy()
    arm, resource = counting.categories(timed["arm"]), counting.categories(timed["resource"])
    changes = np.flatnonzero((replication[1:] != replication[:-1]) | (arm.codes[1:] != arm.codes[:-1])
                             | (resource.codes[1:] != resource.codes[:-1])) + 1
    starts, ends = np.append(0, changes), np.append(changes, len(replication))
    for start, end in zip(starts, ends) if len(replication) else ():
        yield (replication[start], arm.values[arm.codes[start]], resource.values[resource.codes[start]]), \
            slice(start, end)
