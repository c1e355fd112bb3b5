"""``osteosim-report SWEEP_DIR``: one table and one dashboard from a whole Hydra sweep.
``osteosim-report RUN_DIR``: the run's dashboard.html redrawn from its tables.

A sweep (``osteosim -m ...``) leaves one run folder per job; planners want to read a KPI against
the parameters they swept, not open forty dashboards. This collects every complete job
(:mod:`osteosim.results.integrity`) into ``sweep.parquet``, one row per job × arm × KPI with its 95% CI,
and draws ``sweep_dashboard.html`` from that table alone.

The table holds only what the simulation decided (job number, overrides, swept values, KPI
estimates), never paths, times or versions, and its rows are sorted, so the same sweep gives the
same file whichever launcher ran it (basic, joblib, SLURM) and however many workers it had.

Whatever is wrong with the folder (not there, not a sweep, a file that cannot be read) is one
line on stderr naming the folder or file, exit status 2, and nothing written: every file is read
before the first is written.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pandas as pd
import yaml

from osteosim.results.atomic import write_parquet_atomically, write_text_atomically
from osteosim.results.integrity import is_complete
from osteosim.results.run_folder import UnreadableResult, read_summary, reading

EXIT_USAGE = 2
TABLE, DASHBOARD = "sweep.parquet", "sweep_dashboard.html"
FIXED_COLUMNS = ("job", "overrides", "arm", "kpi", "estimate", "ci_low", "ci_high", "n")


class ReportError(Exception):
    """Something about SWEEP_DIR that the user must fix; reported as one line."""


def job_folders(root: Path) -> list[Path]:
    """The job folders of a Hydra multirun folder (each has .hydra/overrides.yaml)."""
    if not root.is_dir():
        raise ReportError(f"{root} is not a folder")
    try:
        jobs = sorted(p.parent.parent for p in root.rglob("overrides.yaml")
                      if p.parent.name == ".hydra" and p.parent.parent != root)
    except OSError as error:
        raise ReportError(f"{root} cannot be searched ({error.strerror or error})") from error
    if not jobs:
        kind = "a single run folder" if (root / ".hydra" / "overrides.yaml").exists() else "not a Hydra multirun folder"
        raise ReportError(f"{root} is {kind}, not a sweep (make one with osteosim -m key=a,b ...)")
    return jobs


def _yaml(path: Path):
    """A YAML file of Hydra's record; an unreadable one is UnreadableResult naming it."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise UnreadableResult(f"{path} cannot be read ({first})") from error


def _job_number(folder: Path) -> int:
    """hydra.job.num, the sweep's own numbering of the job (the same under every launcher)."""
    path = folder / ".hydra" / "hydra.yaml"
    hydra = _yaml(path)
    with reading(path):
        number = hydra["hydra"]["job"]["num"]
        if isinstance(number, bool) or not isinstance(number, int):
            raise ValueError(f"hydra.job.num is {number!r}, not a job number")
        return number


def _overrides(folder: Path) -> list[str]:
    path = folder / ".hydra" / "overrides.yaml"
    overrides = _yaml(path) or []
    if not isinstance(overrides, list):
        raise UnreadableResult(f"{path} cannot be read (not a list of overrides)")
    return [str(o) for o in overrides]


def kpi_rows(summary: dict) -> list[dict]:
    """The summary's KPIs as rows {arm, kpi, estimate, ci_low, ci_high, n}."""
    nan = float("nan")
    rows = [{"arm": r["arm"], "kpi": f"{r['endpoint']}.{r['years']}y.{r['group']}", "estimate": r["estimate"],
             "ci_low": r["ci_low"], "ci_high": r["ci_high"], "n": r["n"]} for r in summary.get("survival", [])]
    for r in summary.get("waits", []):
        for stat in ("median", "p90"):
            rows.append({"arm": r["arm"], "kpi": f"wait_{stat}_days.{r['stage']}", "estimate": r[f"{stat}_days"],
                         "ci_low": nan, "ci_high": nan, "n": r["n"]})
    for r in summary.get("utilisation", []):
        rows.append({"arm": r["arm"], "kpi": f"utilisation_pct.{r['resource']}", "estimate": r["utilisation_pct"],
                     "ci_low": nan, "ci_high": nan, "n": None})
    for r in (summary.get("economics") or {}).get("by_arm", []):   # a scenario's cost beside its waits
        rows.append({"arm": r["arm"], "kpi": f"economics.{r['kpi']}", "estimate": r["mean"],
                     "ci_low": nan if r["ci_low"] is None else r["ci_low"],
                     "ci_high": nan if r["ci_high"] is None else r["ci_high"], "n": None})
    return rows


def _typed(texts: list[str | None]) -> pd.Series:
    """Swept values as numbers when every one is a number, else as the text typed."""
    parsed = [None if t is None else yaml.safe_load(t) for t in texts]
    numbers = [v for v in parsed if v is not None]
    if numbers and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in numbers):
        integer = all(isinstance(v, int) for v in numbers)
        return pd.Series(parsed, dtype="Int64" if integer else "float64")
    return pd.Series(texts, dtype="string")


def swept_keys(overrides: dict[int, list[str]]) -> dict[str, dict[int, str | None]]:
    """key -> {job: value text} for every override key whose value is not the same in all jobs."""
    values: dict[str, dict[int, str | None]] = {}
    for job, items in overrides.items():
        for item in items:
            key, _, value = item.partition("=")
            values.setdefault(key.lstrip("+~"), {})[job] = value
    return {key: {job: by_job.get(job) for job in overrides} for key, by_job in values.items()
            if len(by_job) < len(overrides) or len(set(by_job.values())) > 1}


def collect(root: Path) -> tuple[pd.DataFrame, list[str], list[Path]]:
    """(sweep table, swept column names, incomplete job folders) of the sweep in `root`."""
    complete, incomplete = {}, []
    for folder in job_folders(root):
        if not is_complete(folder):
            incomplete.append(folder)
        elif (job := _job_number(folder)) in complete:
            raise ReportError(f"{root} holds more than one sweep (job {job} in {complete[job].relative_to(root)} and "
                              f"{folder.relative_to(root)}): give the folder of one sweep")
        else:
            complete[job] = folder
    if not complete:
        raise ReportError(f"{root} has no complete job yet ({len(incomplete)} incomplete): run or rerun the sweep")
    overrides = {job: _overrides(folder) for job, folder in sorted(complete.items())}
    swept = swept_keys(overrides)
    columns = {key: (f"{key} (swept)" if key in FIXED_COLUMNS else key) for key in swept}
    rows = []
    for job, folder in sorted(complete.items()):
        summary = read_summary(folder / "summary.json")
        with reading(folder / "summary.json"):
            for row in kpi_rows(summary):
                rows.append({"job": job, "overrides": " ".join(overrides[job]), **row})
    try:
        table = pd.DataFrame(rows, columns=list(FIXED_COLUMNS)).astype(
            {"job": "int64", "overrides": "string", "arm": "string", "kpi": "string", "estimate": "float64",
             "ci_low": "float64", "ci_high": "float64", "n": "Int64"})
    except (ValueError, TypeError) as error:
        raise ReportError(f"{root}: a job's summary.json holds values that are not numbers ({error})") from error
    table = table.sort_values(["job", "arm", "kpi"], kind="stable").reset_index(drop=True)
    for position, key in enumerate(swept, start=2):
        table.insert(position, columns[key], _typed([swept[key][job] for job in table["job"]]))
    return table, [columns[key] for key in swept], incomplete


def is_run_folder(folder: Path) -> bool:
    """A single run's folder: its patients table and summary (a sweep folder has neither at its top)."""
    return (folder / "patients.parquet").is_file() and (folder / "summary.json").is_file()


def report(root: Path) -> tuple[Path, Path, list[Path]]:
    """Write sweep.parquet and sweep_dashboard.html into `root`; returns their paths and the incomplete jobs.
    Both are built before either is written."""
    from osteosim.dashboards.sweep import build_sweep_dashboard

    table, swept, incomplete = collect(root)
    page = build_sweep_dashboard(table, swept)
    _check_writable(root)
    write_parquet_atomically(root / TABLE, table)
    write_text_atomically(root / DASHBOARD, page)
    return root / TABLE, root / DASHBOARD, incomplete


def _check_writable(folder: Path) -> None:
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ReportError(f"{folder} is not writable: cannot write the report there")


def _redraw(folder: Path) -> Path:
    """A run folder's dashboard redrawn from its tables (osteosim.results.run_folder.rebuild_dashboard)."""
    from osteosim.results.run_folder import rebuild_dashboard

    _check_writable(folder)
    return rebuild_dashboard(folder)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not argparse's usage block
        _fail(f"{message} (usage: osteosim-report SWEEP_DIR or RUN_DIR)")


def _fail(message: str) -> None:
    print(f"osteosim-report: error: {message}", file=sys.stderr)
    sys.exit(EXIT_USAGE)


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``osteosim-report``."""
    parser = _Parser(prog="osteosim-report", description="Collect an osteosim sweep (a Hydra multirun folder) into "
                     f"{TABLE} (one row per job x arm x KPI, with 95%% CIs) and {DASHBOARD}; or redraw a single "
                     "run folder's dashboard.html from its tables.")
    parser.add_argument("sweep_dir", type=Path, metavar="SWEEP_DIR",
                        help="the sweep folder, e.g. multirun/<date>/<time>, or a run folder")
    args = parser.parse_args(argv)
    try:
        if is_run_folder(args.sweep_dir):
            print(f"run dashboard: {_redraw(args.sweep_dir)}")
            return
        table, dashboard, incomplete = report(args.sweep_dir)
    except (ReportError, UnreadableResult) as error:
        _fail(" ".join(str(error).split()))
    if incomplete:
        names = ", ".join(str(p.relative_to(args.sweep_dir)) for p in incomplete)
        print(f"osteosim-report: {len(incomplete)} incomplete job(s) left out ({names}): rerun the sweep to finish them",
              file=sys.stderr)
    print(f"sweep table: {table}\nsweep dashboard: {dashboard}")
