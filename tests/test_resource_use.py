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

from osteosim.analysis.resource_use import ResourceUse
from osteosim.analysis.service import with_durations

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
