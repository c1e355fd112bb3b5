"""A resource log gathered a replication at a time (analysis.resource_use.ResourceUse) gives what the whole
table gives: the same utilisation (by arm, by replication, from any day), weekly use and first replication,
bit for bit, whether the batches come from memory or from a run's Parquet file."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st

from osteosim.analysis.resource_use import ResourceUse, WrittenLog
from osteosim.analysis.service import with_durations
from osteosim.engines.replications import Chunk
from osteosim.results.run_folder import write_tables

ARMS = ["mifamurtide", "baseline"]          # neither alphabetical nor the categories' order below
RESOURCES = ["mri", "lab", "ct"]
SINCES = (0.0, 100.0)


def _log(rows) -> pd.DataFrame:
    """A resource log as the engine writes it: replications ascending, each arm's rows in time order."""
    log = pd.DataFrame(rows, columns=["replication", "arm", "resource", "day", "in_use", "capacity"])
    log = log.assign(queue_length=log["in_use"] % 3).astype({"replication": np.int32, "in_use": np.int32,
                                                             "queue_length": np.int32})
    log = log.sort_values(["replication", "arm", "day"], kind="stable", key=lambda c: c.map(ARMS.index)
                          if c.name == "arm" else c, ignore_index=True)
    return log.astype({"arm": pd.CategoricalDtype(ARMS[::-1]), "resource": pd.CategoricalDtype(RESOURCES)})


LOGS = st.lists(st.tuples(st.integers(0, 3), st.sampled_from(ARMS), st.sampled_from(RESOURCES),
                          st.one_of(st.floats(0, 400, allow_subnormal=False), st.sampled_from([100.0, 7.0])),
                          st.integers(0, 5), st.one_of(st.floats(0.5, 50), st.just(float("inf")))),
                min_size=1, max_size=60).map(_log)


def _same(a: ResourceUse, b: ResourceUse) -> None:
    for since in SINCES:
        for by_replication in (False, True):
            pd.testing.assert_frame_equal(a.utilisation(by_replication, since), b.utilisation(by_replication, since),
                                          check_exact=True)
    pd.testing.assert_frame_equal(a.weekly(), b.weekly(), check_exact=True)
    pd.testing.assert_frame_equal(a.first_replication(), b.first_replication(), check_exact=True)


@settings(max_examples=60, deadline=None)
@given(LOGS)
def test_replication_by_replication_is_the_whole_table(log):
    """Sums carried from replication to replication, in ascending order, are the whole table's sums."""
    timed = with_durations(log)
    whole = ResourceUse.from_frame(timed, SINCES)
    gathered = ResourceUse(SINCES)
    for _, rows in timed.groupby("replication", sort=True):
        gathered.add(rows)
    _same(gathered, whole)


@settings(max_examples=25, deadline=None)
@given(LOGS)
def test_a_run_file_read_a_replication_at_a_time_is_the_whole_file(tmp_path_factory, log):
    """From a file laid out as a run writes it (a row group per replication x arm, categories its own per chunk),
    against the whole file read as the run used to read it."""
    path = tmp_path_factory.mktemp("log") / "resources.parquet"
    writer = None
    for _, chunk in log.groupby(["replication", "arm"], sort=False, observed=True):
        chunk = chunk.astype({"arm": pd.CategoricalDtype([str(chunk["arm"].iloc[0])])})
        table = pa.Table.from_pandas(chunk, preserve_index=False)
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table.cast(writer.schema))
    writer.close()
    whole = ResourceUse.from_frame(with_durations(pd.read_parquet(path)), SINCES)
    _same(ResourceUse.from_file(path, SINCES), whole)


def test_a_file_not_laid_out_by_replication_is_read_whole(tmp_path):
    """Replications mixed in a row group (not a run's layout): the file is read whole, with the same result."""
    log = _log([(1, "baseline", "mri", 0.0, 1, 2.0), (0, "baseline", "mri", 3.0, 2, 2.0),
                (1, "baseline", "mri", 5.0, 0, 2.0), (0, "baseline", "mri", 9.0, 1, 2.0)])
    path = tmp_path / "resources.parquet"
    log.to_parquet(path, index=False)
    assert pq.ParquetFile(path).metadata.num_row_groups == 1
    _same(ResourceUse.from_file(path, SINCES), ResourceUse.from_frame(with_durations(pd.read_parquet(path)), SINCES))


def test_the_compensation_is_carried_from_replication_to_replication():
    """Replication 0 leaves 0.75 capacity-days in its compensation (below half a unit in the last place of 2**53);
    replication 1 adds 0.75 more: the whole table's running sum then rounds up by 2, and so must the gathered
    sums, which they would not if each replication's compensation started from zero."""
    log = pd.DataFrame({"replication": np.int32([0, 0, 0, 1, 1]), "arm": "baseline", "resource": "mri",
                        "day": [0.0, 1.0, 2.0, 0.0, 1.0], "in_use": np.int32(0),
                        "capacity": [2.0 ** 53, 0.75, 1.0, 0.75, 1.0], "queue_length": np.int32(0)}
                       ).astype({"arm": "category", "resource": "category"})
    timed = with_durations(log)
    gathered = ResourceUse(SINCES)
    for _, rows in timed.groupby("replication", sort=True):
        gathered.add(rows)
    _same(gathered, ResourceUse.from_frame(timed, SINCES))
    assert gathered.utilisation()["mean_capacity"].iloc[0] == (2.0 ** 53 + 2) / 3


def _written(log: pd.DataFrame, folder, resource_categories) -> WrittenLog:
    """The log through the run's writer, a chunk per replication x arm with categories of its own as the des engine
    makes them (its arm alone; `resource_categories(chunk)` for the resources), gathered as it is written."""
    written = WrittenLog(SINCES)
    chunks = [Chunk(None, None, chunk.astype({"arm": pd.CategoricalDtype([str(chunk["arm"].iloc[0])]),
                                              "resource": pd.CategoricalDtype(resource_categories(chunk))}))
              for _, chunk in log.groupby(["replication", "arm"], sort=False, observed=True)]
    write_tables(chunks, folder, resource_log=written)
    return written


@settings(max_examples=25, deadline=None)
@given(LOGS, st.booleans())
def test_a_log_gathered_as_it_is_written_is_the_written_file_read_back(tmp_path_factory, log, own_resources):
    """The engine's layout (every replication with the same arms, every chunk on the same resources) is gathered
    as written, and equals what reading the file back gives. Otherwise (resource categories of a chunk's own, only
    those it uses, in its order; an arm missing from a replication) the file's categories may differ from those
    the first replication fixed: the file is then read instead, or what was gathered must still be equal."""
    folder = tmp_path_factory.mktemp("run")
    categories = (lambda chunk: list(pd.unique(chunk["resource"].astype(str)))) if own_resources \
        else (lambda chunk: RESOURCES)
    gathered = _written(log, folder, categories).done(folder / "resources.parquet")
    arms = log.groupby("replication")["arm"].agg(lambda arm: tuple(pd.unique(arm.astype(str))))
    if gathered is None:
        assert own_resources or arms.nunique() > 1
        return
    _same(gathered, ResourceUse.from_file(folder / "resources.parquet", SINCES))


def test_off_the_writers_layout_or_with_other_categories_in_the_file_the_file_is_read_instead(tmp_path):
    log = _log([(0, "baseline", "mri", 0.0, 1, 2.0), (1, "baseline", "mri", 3.0, 2, 2.0),
                (0, "mifamurtide", "mri", 5.0, 0, 2.0)])
    later_arm = WrittenLog(SINCES)
    for replication in (0, 1):
        rows = log[(log["replication"] == replication) & (log["arm"] == "baseline")]
        later_arm.add(rows.astype({"arm": pd.CategoricalDtype(["baseline"])}))
    later_arm.add(log[log["arm"] == "mifamurtide"].assign(replication=np.int32(2))
                  .astype({"arm": pd.CategoricalDtype(["mifamurtide"])}))
    assert later_arm.done(tmp_path / "none.parquet") is None       # an arm the first replication did not have
    backwards = WrittenLog(SINCES)
    backwards.add(log[log["replication"] == 1])
    backwards.add(log[log["replication"] == 0])
    assert backwards.done(tmp_path / "none.parquet") is None
    mixed = WrittenLog(SINCES)
    mixed.add(log)                                                  # two replications in one chunk
    assert mixed.done(tmp_path / "none.parquet") is None
    gathered = WrittenLog(SINCES)
    gathered.add(log[log["replication"] == 0])
    other = tmp_path / "other.parquet"                               # a file whose reader gives other categories
    log.assign(arm=log["arm"].cat.reorder_categories(ARMS)).to_parquet(other, index=False)
    assert gathered.done(other) is None
