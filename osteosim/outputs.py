"""A run folder: the five files of the output contract (DESIGN §5), all or nothing.

Every file is first written into a hidden staging folder beside the results; only when all
of them are complete are they renamed into place, so an interrupted or failed run never
leaves a half-written file that looks like a result.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from osteosim.io import write_json_atomically, write_parquet_atomically

FILES = ("patients.parquet", "events.parquet", "resources.parquet", "summary.json", "dashboard.html")


def write_run(results, folder: Path) -> list[Path]:
    """Write the result tables, the summary and the dashboard into `folder`; returns the paths."""
    from osteosim.dashboard import write_dashboard

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=folder))
    out = results.config.output
    try:
        write_parquet_atomically(staging / "patients.parquet", results.patients)
        if out.events:
            write_parquet_atomically(staging / "events.parquet", results.events)
        if out.resources:
            write_parquet_atomically(staging / "resources.parquet", results.resources)
        write_json_atomically(staging / "summary.json", results.summary)
        if out.dashboard:
            write_dashboard(staging / "dashboard.html", results.patients, results.events, results.resources,
                            results.summary)
        written = []
        for name in FILES:
            if (staging / name).exists():
                os.replace(staging / name, folder / name)
                written.append(folder / name)
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)
