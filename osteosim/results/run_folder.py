"""A run folder: the files of the output contract (DESIGN §5), all or nothing.

Tables are streamed chunk by chunk into Parquet files in a hidden staging folder beside the
results (so ten million patients never sit in memory at once); the summary and the dashboard
are then computed from those files alone; only when everything is complete are the files
renamed into place, so an interrupted or failed run never leaves a half-written result.

The files of the contract (FILES) are osteosim's own in a run folder: a run puts in place those
it wrote and removes the others, left by an earlier run there (say dashboard.html when this run
has output.dashboard=false), so a folder never mixes two runs' results and checksums.json lists
exactly what this run wrote. Any other file in the folder is left alone.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterable, Iterator

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from osteosim.results.atomic import write_json_atomically

FILES = ("patients.parquet", "events.parquet", "resources.parquet", "economics.parquet", "summary.json",
         "dashboard.html")
BATCH_ROWS = 500_000
SUMMARY_COLUMNS = ["replication", "arm", "met_status", "good_response", "csr", "relapse_day", "cr2",
                   "second_malignancy_day", "death_cause",
                   "efs_days", "efs_event", "os_days", "os_event",
                   "death_day", "heart_failure_day", "palliative_referral_day", "place_of_death"]


class UnreadableResult(ValueError):
    """A result file that is there but cannot be read (truncated, corrupt, or not what it should be)."""


@contextlib.contextmanager
def reading(path: Path) -> Iterator[None]:
    """Whatever goes wrong while the block reads `path` (a result file, from disk) is that file's fault:
    report it as UnreadableResult naming the file, not as a traceback."""
    try:
        yield
    except (pa.ArrowException, OSError, ValueError, TypeError, KeyError, AttributeError, IndexError) as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        if isinstance(error, KeyError):
            first = f"no key {first}"
        raise UnreadableResult(f"{path} cannot be read ({first[:200]})") from error


def read_summary(path: Path) -> dict:
    """summary.json as a dict; anything else (truncated, not JSON, not an object) is UnreadableResult."""
    with reading(path):
        summary = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(summary, dict):
        raise UnreadableResult(f"{path} cannot be read (a JSON {type(summary).__name__}, not an object)")
    return summary


class _TableWriter:
    """Appends DataFrame chunks to one Parquet file (one row group per chunk)."""

    def __init__(self, path: Path):
        self.path, self.writer = path, None

    def write(self, frame: pd.DataFrame | None) -> None:
        if frame is None:
            return
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self.writer is None:
            # dictionary pages only for categorical and text columns: tried on floats (millions of distinct
            # days) Parquet builds a dictionary and falls back, which made writing 1.8x slower and files larger
            coded = [f.name for f in table.schema if pa.types.is_dictionary(f.type) or pa.types.is_string(f.type)]
            self.writer = pq.ParquetWriter(self.path, table.schema, compression="zstd", use_dictionary=coded)
        self.writer.write_table(table.cast(self.writer.schema))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def write_tables(chunks: Iterable, staging: Path, totals: "PatientTotals | None" = None, pricer=None,
                 behind: bool = False, resource_log=None) -> None:
    """Stream every chunk's patients, events and resources into the staging folder; `totals`, if
    given, counts each chunk's patients as it passes (the summary then needs no second read);
    `pricer` (osteosim.economics.tables.Pricer), if given, writes each chunk's economics rows;
    `resource_log` (analysis.resource_use.WrittenLog), if given, gathers the resource log's use as it passes.

    behind=True prices and counts each chunk in one thread and writes it in another while the engine makes
    the next (each stage at most one chunk behind the one before it): for an engine that leaves the
    interpreter while it works (the cohort engine's kernel releases the GIL; Parquet and NumPy do too).
    SimPy never does, so the des engine writes in line."""
    writers = {name: _TableWriter(staging / f"{name}.parquet") for name in ("patients", "events", "resources",
                                                                           "economics")}

    def count(chunk):
        """The first stage behind the engine: price and count a chunk; hands on what is to be written."""
        economics = pricer(chunk.patients) if pricer is not None and chunk.patients is not None else None
        if totals is not None and chunk.patients is not None:
            totals.add(chunk.patients)
        if resource_log is not None:
            resource_log.add(chunk.resources)
        return chunk, economics

    def write(counted) -> None:
        chunk, economics = counted
        for name in ("patients", "events", "resources"):
            writers[name].write(getattr(chunk, name))
        writers["economics"].write(economics)

    try:
        if behind:
            _stages_behind(chunks, [count, write])
        else:
            for chunk in chunks:
                write(count(chunk))
    finally:
        for writer in writers.values():
            writer.close()


def _stages_behind(chunks: Iterable, stages: list) -> None:
    """Each chunk through stages[0], then stages[1] with what it returned, ..., each stage in a thread of its own
    and at most one chunk behind the one before it (the producer the first); chunks pass every stage in order.
    The first error, a stage's or the producer's, stops them all and is raised here."""
    from concurrent.futures import ThreadPoolExecutor

    pending: list = [None] * len(stages)
    workers = [ThreadPoolExecutor(1, thread_name_prefix=f"osteosim-stage{i}") for i in range(len(stages))]

    def run(i: int, item) -> None:
        out = stages[i](item)
        if i + 1 < len(stages):
            if pending[i + 1] is not None:
                pending[i + 1].result()
            pending[i + 1] = workers[i + 1].submit(run, i + 1, out)

    try:
        for chunk in chunks:
            if pending[0] is not None:
                pending[0].result()
            pending[0] = workers[0].submit(run, 0, chunk)
    finally:
        try:
            for i in range(len(stages)):      # in order: a stage's last hand-on happens before its future ends
                if pending[i] is not None:
                    pending[i].result()
        finally:
            for worker in workers:
                worker.shutdown()


def _read(path: Path, columns=None) -> pd.DataFrame:
    return pd.read_parquet(path, columns=columns) if path.exists() else pd.DataFrame()


class PatientTotals:
    """What the summary (survival counts, tallies) and, if asked, the dashboard (osteosim.analysis.aggregates)
    need from the patients, added up batch by batch: the running totals stay small whatever the run's size.
    The dashboard's aggregates are computed only when a dashboard is asked for. Batches' count tables are
    summed MERGE_EVERY at a time: a group-by over the totals after every batch cost as much as counting it,
    and a batch of 250,000 patients leaves ~28 MB of tables (16 waiting raised a 10M run's peak by 0.5 GB)."""

    MERGE_EVERY = 4

    def __init__(self, dashboard: bool = True):
        self.dashboard = dashboard
        self._counts, self._aggregates, self.tallies = [], [], []

    def add(self, frame: pd.DataFrame) -> None:
        from osteosim.analysis import aggregates
        from osteosim.analysis.summary import tally
        from osteosim.analysis.survival import survival_counts

        if frame.empty:
            return
        self._counts.append(survival_counts(frame))
        if self.dashboard:
            self._aggregates.append(aggregates.batch(frame))
        self.tallies.append(tally(frame))
        if len(self._counts) >= self.MERGE_EVERY:
            self._counts, self._aggregates = [self.counts], [self.aggregates] if self.dashboard else []

    @property
    def counts(self) -> pd.DataFrame:
        from osteosim.analysis.survival import merge_counts

        return merge_counts(self._counts)

    @property
    def aggregates(self) -> dict[str, pd.DataFrame] | None:
        from osteosim.analysis import aggregates

        return aggregates.merge(self._aggregates) if self.dashboard else None


def patient_aggregates(path: Path, dashboard: bool = True) -> tuple[pd.DataFrame, list[dict], dict[str, pd.DataFrame]]:
    """Survival counts, tallies and (unless dashboard=False: None) the dashboard's aggregates of a patients
    file, read in batches so any size fits in memory."""
    from osteosim.analysis import aggregates

    totals = PatientTotals(dashboard)
    if path.exists():
        columns = list(dict.fromkeys(SUMMARY_COLUMNS + (aggregates.COLUMNS if dashboard else [])))
        file = pq.ParquetFile(path)
        columns = [c for c in columns if c in file.schema_arrow.names]   # a run written before a column existed
        for batch in file.iter_batches(batch_size=BATCH_ROWS, columns=columns):
            totals.add(batch.to_pandas())
    return totals.counts, totals.tallies, totals.aggregates


COX_COLUMNS = ["arm", "os_days", "os_event", "efs_days", "efs_event"]


def summarise_folder(staging: Path, provenance: dict | None, dashboard: bool, reference: str | None = None,
                     warmup_day: float = 0.0, totals: PatientTotals | None = None, pricer=None,
                     resources=None) -> dict:
    """summary.json (and dashboard.html) from the written tables, or from `totals` counted as they were
    written (the patients file is then not read again, except for Cox fits with several arms), and `resources`
    (a ResourceUse from day warmup_day and 0) gathered as the resource log was written."""
    from osteosim.analysis.resource_use import ResourceUse
    from osteosim.analysis.summary import summarise

    if totals is None:
        survival, tallies, patient_tables = patient_aggregates(staging / "patients.parquet", dashboard)
    else:
        survival, tallies, patient_tables = totals.counts, totals.tallies, totals.aggregates
    events = _read(staging / "events.parquet")
    # the resource log, a replication at a time: utilisation after the warm-up (summary) and from day 0 (dashboard)
    if resources is None:
        resources = ResourceUse.from_file(staging / "resources.parquet", (warmup_day, 0.0), weekly=dashboard)
    several_arms = survival["arm"].nunique() > 1
    cox = _read(staging / "patients.parquet", COX_COLUMNS) if several_arms else None
    summary = summarise(survival, tallies, events, resources, reference, cox, warmup_day)
    if pricer is not None:
        summary["economics"] = pricer.summary(reference)
    if provenance is not None:
        summary["provenance"] = provenance
    write_json_atomically(staging / "summary.json", summary)
    if dashboard:   # imported only here: Plotly's import alone is 0.2-0.3 s of a small run without a dashboard
        from osteosim.dashboards.run import write_dashboard

        write_dashboard(staging / "dashboard.html", None, events, resources, summary, aggregates=patient_tables,
                        validation=_validation_or_none(staging.parent))
    return summary


def _validation_or_none(folder: Path):
    """The validation table for the dashboard; a broken validation.csv loses its section, not the run."""
    import sys

    from osteosim.dashboards.run import validation_table

    try:
        return validation_table(folder)
    except (OSError, ValueError) as error:
        print(f"osteosim: warning: validation section left out ({error})", file=sys.stderr)
        return None


def write_run(chunks: Iterable, folder: Path, *, provenance: dict | None = None, dashboard: bool = True,
              reference: str | None = None, warmup_day: float = 0.0, pricer=None,
              behind: bool = False) -> tuple[dict, list[str]]:
    """Write a whole run into `folder`; returns the summary and the names of the files it wrote. With a
    `pricer` (osteosim.economics.tables.Pricer) the run also has economics.parquet and summary["economics"];
    `behind`: see write_tables."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=folder))
    try:
        from osteosim.analysis.resource_use import WrittenLog

        totals, resource_log = PatientTotals(dashboard), WrittenLog((warmup_day, 0.0), weekly=dashboard)
        write_tables(chunks, staging, totals, pricer, behind, resource_log)
        summary = summarise_folder(staging, provenance, dashboard, reference, warmup_day, totals, pricer,
                                   resource_log.done(staging / "resources.parquet"))
        written = [name for name in FILES if (staging / name).is_file()]
        for name in FILES:
            if name in written:
                os.replace(staging / name, folder / name)
            else:
                _remove_stale(folder / name)
        return summary, written
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _remove_stale(path: Path) -> None:
    """An earlier run's result file that this run does not write: it must not pass for this run's."""
    if path.is_file() or path.is_symlink():
        path.unlink()


def write_results(results, folder: Path, **kwargs) -> dict:
    """Write in-memory `Results` (the Python API's) as a run folder."""
    from osteosim.engines.replications import Chunk

    events = results.events if len(results.events.columns) else None
    resources = results.resources if len(results.resources.columns) and len(results.resources) else None
    chunk = Chunk(results.patients, events if events is not None and len(events) else None, resources)
    from osteosim.engines.replications import reference_arm

    config = results.config
    return write_run([chunk], folder, dashboard=config.output.dashboard, reference=reference_arm(config),
                     warmup_day=warmup_day(config), **kwargs)[0]


def warmup_day(config) -> float:
    """Service KPIs start after the warm-up; a trial cohort has none (nothing queues)."""
    from osteosim.model.population import DAYS_PER_YEAR

    return config.cohort.warmup_years * DAYS_PER_YEAR


def rebuild_dashboard(folder: Path) -> Path:
    """Redraw a run folder's dashboard.html from its tables (`osteosim-report RUN_DIR`), through the
    same batched aggregation as the run, so it works for any number of patients. A complete folder
    stays complete (the dashboard is derived, so its checksum is recorded anew, beside the files the run
    itself wrote). Every file is read before anything is written: an unreadable one (UnreadableResult)
    leaves the folder as it was."""
    from osteosim.analysis.resource_use import ResourceUse
    from osteosim.dashboards.run import build_dashboard, validation_table
    from osteosim.results.atomic import write_text_atomically
    from osteosim.results.integrity import is_complete, sealed_names, seal

    folder = Path(folder)
    complete = is_complete(folder)
    summary = read_summary(folder / "summary.json")
    with reading(folder / "patients.parquet"):
        _, _, patient_tables = patient_aggregates(folder / "patients.parquet")
    with reading(folder / "events.parquet"):
        events = _read(folder / "events.parquet")
    with reading(folder / "resources.parquet"):
        resources = ResourceUse.from_file(folder / "resources.parquet")
    with reading(folder / "validation.csv"):
        validation = validation_table(folder)
    with reading(folder / "summary.json"):   # the tables were read: what is left to fail is the summary's content
        page = build_dashboard(None, events, resources, summary, aggregates=patient_tables, validation=validation)
    write_text_atomically(folder / "dashboard.html", page)
    if complete:
        seal(folder, sorted({*sealed_names(folder), "dashboard.html"}, key=FILES.index))
    return folder / "dashboard.html"
