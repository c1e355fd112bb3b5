"""What the summary and the dashboard take from a resource log, gathered one replication at a time.

A service scenario's resource log holds a change point for every change of any resource, most of them
background demand: about 640,000 rows a replication of the default scenario. Its analyses (time-weighted
utilisation, weekly use, the first replication's trace) only ever combine rows of one replication, or add
replications up in ascending order; so a run's log is gathered one replication at a time as it is written
(`WrittenLog`), or so read back from its file (`ResourceUse.from_file`), and never held, sorted or copied
whole: 8 default replications peaked at 1.31 GiB holding it, 0.74 GiB without. Everything here equals, bit
for bit, what the same functions gave on the whole timed table (tested against that definition): each
replication's rows sorted as `service.with_durations` sorts them, groups in order of first appearance, sums
Kahan-compensated in row order as pandas' group sums are.
"""
from __future__ import annotations

from pathlib import Path

import numba as nb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from osteosim.analysis import counting
from osteosim.analysis.service import with_durations

SUMS = ["busy", "offered", "duration"]
ARM_KEYS, REPLICATION_KEYS = ["arm", "resource"], ["replication", "arm", "resource"]
WEEKLY_COLUMNS = ["arm", "resource", "week_start_day", "in_use_days", "offered_days", "queued_days"]


class ResourceUse:
    """A resource log's utilisation (by arm or by replication, from day `since` for each of `sinces`), weekly
    use (unless `weekly` is False: the summary needs none) and first replication, from batches of whole
    replications `add`ed in ascending order."""

    def __init__(self, sinces=(0.0,), weekly: bool = True):
        self.sinces = tuple(dict.fromkeys(float(since) for since in sinces))
        self.gathers_weeks = weekly
        self._by_arm = {since: _Integrals(ARM_KEYS) for since in self.sinces}      # carried across batches
        self._by_replication: dict[float, list[pd.DataFrame]] = {since: [] for since in self.sinces}
        self._weeks: list[pd.DataFrame] = []
        self._first: pd.DataFrame | None = None
        self.empty = True

    @classmethod
    def from_frame(cls, resources: pd.DataFrame, sinces=(0.0,), weekly: bool = True) -> "ResourceUse":
        """A whole log in memory, as one batch (its rows as they are, timed or not)."""
        use = cls(sinces, weekly)
        use.add(resources)
        return use

    @classmethod
    def from_file(cls, path: Path, sinces=(0.0,), weekly: bool = True) -> "ResourceUse":
        """A run's resources.parquet, one replication at a time. The writer puts each chunk (one replication x
        arm) in row groups of its own, in replication order; each replication is read with the whole file's
        categories, so its codes, and the order they sort in, are the whole table's. A file laid out any other
        way is read whole."""
        use = cls(sinces, weekly)
        if not Path(path).exists():
            return use
        file = pq.ParquetFile(path)
        groups = _row_groups_by_replication(file)
        if groups is None:
            use.add(with_durations(pd.read_parquet(path)))
            return use
        whole = pd.read_parquet(path, columns=ARM_KEYS)     # the whole file's categories, in its order
        categories = {key: whole[key].cat.categories for key in ARM_KEYS}
        for row_groups in groups:
            use.add(with_durations(_recoded(file.read_row_groups(row_groups).to_pandas(), categories)))
        return use

    def add(self, batch: pd.DataFrame) -> None:
        """Rows of whole replications, later than any added before (the cross-replication sums go in order)."""
        if batch.empty:
            return
        timed = with_durations(batch)
        # the keys' codes and the summed columns once a batch, whatever the number of sinces
        by_arm, by_replication = _combined_codes(timed, ARM_KEYS), _combined_codes(timed, REPLICATION_KEYS)
        in_use, capacity, duration = (timed[column].to_numpy(dtype=np.float64)
                                      for column in ("in_use", "capacity", "duration"))
        with np.errstate(invalid="ignore"):    # infinite capacity held for no time: NaN, skipped as pandas skips it
            values = np.column_stack([in_use * duration, capacity * duration, duration])    # what SUMS sum
        day = timed["day"].to_numpy()
        for since in self.sinces:
            kept = day >= since if since > 0 else None
            self._by_arm[since].add(timed, *by_arm, values, kept)
            self._by_replication[since].append(
                _Integrals(REPLICATION_KEYS).add(timed, *by_replication, values, kept).totals())
        if self.gathers_weeks:
            self._weeks.extend(_week_rows(timed))
        if self.empty:   # the capacity trace's replication (the first), rows as given
            self._first = batch[batch["replication"] == batch["replication"].min()]
        self.empty = False

    def utilisation(self, by_replication: bool = False, since: float = 0.0) -> pd.DataFrame:
        """[replication,] arm, resource, mean_in_use, mean_capacity and utilisation_pct (NaN where capacity is
        ever infinite), groups in order of first appearance; `since` must be one of the sinces gathered."""
        since = float(since)
        if by_replication:
            parts = self._by_replication[since]
            totals = pd.concat(parts) if parts else _Integrals(REPLICATION_KEYS).totals()
        else:
            totals = self._by_arm[since].totals()
        totals = totals[totals["duration"] > 0]
        finite = np.isfinite(totals["offered"])
        return pd.DataFrame(
            {
                "mean_in_use": totals["busy"] / totals["duration"],
                "mean_capacity": totals["offered"] / totals["duration"],
                "utilisation_pct": (100 * totals["busy"] / totals["offered"]).where(finite),
            }
        ).reset_index()

    def weekly(self) -> pd.DataFrame:
        """Unit-days in use, offered and queued per (arm, resource, week), averaged over replications.

        Exact, not binned by change point: between change points each level is constant, so its
        running integral is piecewise linear and its value at every week boundary is an interpolation.
        In-use days of the chemotherapy beds are bed-days. Offered days are NaN when capacity is infinite.
        """
        if not self.gathers_weeks:
            raise ValueError("weekly use was not gathered (ResourceUse(weekly=False))")
        if not self._weeks:
            return pd.DataFrame(columns=WEEKLY_COLUMNS)
        table = pd.concat(self._weeks, ignore_index=True).astype({"arm": str, "resource": str})
        return table.groupby(["arm", "resource", "week_start_day"], sort=True)[
            ["in_use_days", "offered_days", "queued_days"]].mean().reset_index()

    def first_replication(self) -> pd.DataFrame:
        """The rows of the first (lowest) replication, as they were added."""
        return self._first if self._first is not None else pd.DataFrame()


def _recoded(batch: pd.DataFrame, categories: dict) -> pd.DataFrame:
    """The batch with its ARM_KEYS on the given categories (astype would not recode: unordered dtypes with the
    same categories are equal)."""
    for key in ARM_KEYS:
        batch[key] = batch[key].cat.set_categories(categories[key])
    return batch


class WrittenLog:
    """`ResourceUse.from_file` of a resources.parquet as it is written, chunk by chunk, so that nothing is read
    back: each replication's chunks (one per arm, replications in order, as the des engine gives them) are
    added together once the next replication begins, on the categories a reader of the whole file would give
    them (its dictionaries unified in order of first appearance, which the first replication fixes when every
    replication has the same arms and resources). A log that does not keep to that (a new category later, a
    chunk of several replications, replications out of order) is `usable` no more: read the file instead."""

    def __init__(self, sinces=(0.0,), weekly: bool = True):
        self.use = ResourceUse(sinces, weekly)
        self.usable = True
        self._pending: list[pd.DataFrame] = []
        self._replication = None
        self._categories: dict | None = None

    def add(self, chunk: pd.DataFrame | None) -> None:
        if not self.usable or chunk is None or chunk.empty:
            return
        replication = chunk["replication"].to_numpy()
        first, last = replication.min(), replication.max()
        if (first != last or any(not isinstance(chunk[key].dtype, pd.CategoricalDtype) for key in ARM_KEYS)
                or (self._replication is not None and first < self._replication)):
            self.usable = False
            return
        if first != self._replication:
            self._add_pending()
        self._replication = first
        self._pending.append(chunk)

    def done(self, path: Path) -> ResourceUse | None:
        """The resource use of everything added to the file at `path`, or None if the log did not keep to the
        writer's layout or the file's reader gives its keys other categories than those they were added on."""
        self._add_pending()
        if not self.usable:
            return None
        if self._categories is None:
            return self.use if not Path(path).exists() or pq.ParquetFile(path).metadata.num_rows == 0 else None
        whole = pd.read_parquet(path, columns=ARM_KEYS)
        same = all(whole[key].cat.categories.equals(self._categories[key]) for key in ARM_KEYS)
        return self.use if same else None

    def _add_pending(self) -> None:
        if not self._pending or not self.usable:
            return
        union = {key: pd.Index(pd.unique(np.concatenate([np.asarray(part[key].cat.categories, dtype=object)
                                                          for part in self._pending]))) for key in ARM_KEYS}
        if self._categories is None:
            self._categories = union
        elif any(not union[key].isin(self._categories[key]).all() for key in ARM_KEYS):
            self.usable = False            # a category the first replication did not have: the file's order differs
            return
        parts = [_recoded(part.copy(deep=False), self._categories) for part in self._pending]
        self._pending = []
        self.use.add(with_durations(pd.concat(parts, ignore_index=True) if len(parts) > 1
                                    else parts[0].reset_index(drop=True)))


def utilisation(resources: pd.DataFrame, by_replication: bool = False, since: float = 0.0) -> pd.DataFrame:
    """Time-weighted use per (arm, resource), or per (replication, arm, resource), of a whole log: the integrals
    behind a fair utilisation figure.

    Each row is a change point holding until the next row of the same
    (replication, arm, resource); the last one holds until the run's last
    recorded change point. `since` > 0 leaves out the change points before that day (the warm-up), each later
    one holding as long as it does in the whole log. See `ResourceUse.utilisation`.
    """
    return ResourceUse.from_frame(resources, (since,), weekly=False).utilisation(by_replication, since)


def weekly_use(resources: pd.DataFrame) -> pd.DataFrame:
    """`ResourceUse.weekly` of a whole log."""
    return ResourceUse.from_frame(resources).weekly()


def _row_groups_by_replication(file) -> list[list[int]] | None:
    """The row groups of each replication, replications ascending, from the row groups' statistics; None unless
    every row group holds one replication, each replication's groups come together, and the arm and resource
    columns are categorical (dictionary-encoded), as the run writes them."""
    import pyarrow as pa

    schema = file.schema_arrow
    if any(name not in schema.names or not pa.types.is_dictionary(schema.field(name).type) for name in ARM_KEYS):
        return None
    column = schema.get_field_index("replication")
    if column < 0:
        return None
    groups: list[list[int]] = []
    last = None
    for index in range(file.metadata.num_row_groups):
        stats = file.metadata.row_group(index).column(column).statistics
        if stats is None or not stats.has_min_max or stats.min != stats.max:
            return None
        if last is not None and stats.min < last:
            return None
        if stats.min != last:
            groups.append([])
        groups[-1].append(index)
        last = stats.min
    return groups


class _Integrals:
    """busy (in_use x duration), offered (capacity x duration) and duration summed per group of `keys`, over
    batches in order: what `groupby(keys, observed=True, sort=False)[...].sum()` of those products over all
    the batches' rows gives, bit for bit (groups in order of first appearance, rows with a missing key left
    out, NaN products skipped, each sum Kahan-compensated in row order as pandas' group sum is, carried from
    batch to batch), in compiled passes where the group-by took 0.2-0.5 s a call on millions of rows. Groups
    are told apart by their keys' codes: batches must share their categorical keys' categories."""

    def __init__(self, keys: list[str]):
        self.keys = keys
        self._label_of: np.ndarray | None = None       # label of each combined key code, -1 if not seen yet
        self._sums = np.zeros((0, 3))
        self._compensation = np.zeros((0, 3))
        self._first_keys: list[dict] = []              # each group's key values (its first row's)

    def add(self, timed: pd.DataFrame, combined: np.ndarray, n_codes: int, values: np.ndarray,
            kept: np.ndarray | None = None) -> "_Integrals":
        """Rows of a timed log (with_durations' order and durations), with their keys' `_combined_codes` and what
        each row adds to SUMS (rows x 3: in_use x duration, capacity x duration, duration); rows where `kept` is
        False count as rows with a missing key."""
        if timed.empty:
            return self
        if kept is not None:
            combined = np.where(kept, combined, -1)
        if self._label_of is None:
            self._label_of = np.full(n_codes, -1, dtype=np.int64)
        elif len(self._label_of) != n_codes or not all(isinstance(timed[key].dtype, pd.CategoricalDtype)
                                                        for key in self.keys):
            raise ValueError("batches after the first must share its keys' categories")
        labels, first = _labels_by_first_appearance(combined, self._label_of, len(self._sums))
        self._sums = np.concatenate([self._sums, np.zeros((len(first), 3))])
        self._compensation = np.concatenate([self._compensation, np.zeros((len(first), 3))])
        self._first_keys.append({key: _key_values(timed[key], first) for key in self.keys})
        counting.kahan_group_sums(labels, values, self._sums, self._compensation)
        return self

    def totals(self) -> pd.DataFrame:
        """The sums, indexed by the keys."""
        keys = [_concat_keys([part[key] for part in self._first_keys]) for key in self.keys] if self._first_keys \
            else [[] for _ in self.keys]
        return pd.DataFrame(self._sums.copy(), columns=SUMS, index=pd.MultiIndex.from_arrays(keys, names=self.keys))


def _concat_keys(parts: list):
    """Each batch's new groups' key values, in order (the batches' categoricals share their categories)."""
    if len(parts) == 1:
        return parts[0]
    if isinstance(parts[0], pd.Categorical):
        return pd.Categorical.from_codes(np.concatenate([p.codes for p in parts]), dtype=parts[0].dtype)
    return np.concatenate(parts)


def _combined_codes(timed: pd.DataFrame, keys: list[str]) -> tuple[np.ndarray, int]:
    """Each row's keys as one code (`counting.mixed_radix`; -1 where a key is missing) and how many codes there
    can be."""
    codes, sizes = zip(*(_key_codes(timed[key]) for key in keys))
    combined = counting.mixed_radix(list(codes), list(sizes))
    combined[np.logical_or.reduce([code < 0 for code in codes])] = -1
    return combined, int(np.prod(sizes, dtype=np.float64))


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
def _labels_by_first_appearance(combined, label_of, groups):
    """Each row's group label (-1 for code -1), new codes numbered from `groups` in order of first appearance
    (`label_of` is updated), and the first row of each new group."""
    labels = np.empty(len(combined), dtype=np.int64)
    first = np.empty(len(combined), dtype=np.int64)
    new = 0
    for i in range(len(combined)):
        code = combined[i]
        if code < 0:
            labels[i] = -1
            continue
        if label_of[code] < 0:
            label_of[code] = groups + new
            first[new] = i
            new += 1
        labels[i] = label_of[code]
    return labels, first[:new]


def _week_rows(timed: pd.DataFrame) -> list[pd.DataFrame]:
    """weekly use of each (replication, arm, resource) run of a timed log, in its order."""
    rows = []
    levels = {column: timed[column].to_numpy(dtype=np.float64) for column in ("in_use", "capacity", "queue_length")}
    day, duration = timed["day"].to_numpy(), timed["duration"].to_numpy()
    for (replication, arm, resource), run in _runs(timed):
        times = np.append(day[run], day[run][-1] + duration[run][-1])
        bounds = np.arange(np.floor(times[0] / 7) * 7, times[-1] + 7, 7)
        per_week = {}
        for column, name in [("in_use", "in_use_days"), ("capacity", "offered_days"), ("queue_length", "queued_days")]:
            level = levels[column][run]
            with np.errstate(invalid="ignore"):    # infinite capacity held for no time: NaN, and NaN is reported
                running = np.append(0.0, np.cumsum(level * duration[run]))
            per_week[name] = np.diff(np.interp(bounds, times, running)) if np.isfinite(level).all() \
                else np.full(len(bounds) - 1, np.nan)
        rows.append(pd.DataFrame({"replication": replication, "arm": arm, "resource": resource,
                                  "week_start_day": bounds[:-1], **per_week}))
    return rows


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
