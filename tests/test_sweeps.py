"""Sweeps: a two-way capacity sweep through the joblib launcher gives sweep.parquet and a dashboard;
1 or 2 workers, joblib or SLURM, the same table; a rerun only redoes unfinished jobs; osteosim-report
fails with one line on what is not a finished sweep.

The SLURM test starts a real single-node cluster (tests/slurm_local.sh, Debian's
slurm-wlm and munge) and is skipped, saying why, only where those cannot be installed or started.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import browser
from osteosim.cli import report
from osteosim.results.integrity import CHECKSUMS
from osteosim.dashboards.sweep import build_sweep_dashboard

THEATRE, BEDS = "resources.theatre_ortho.roster", "resources.chemo_bed.roster"
# two years of referrals to one service, two theatre rosters x two chemo-bed rosters
SWEEP = ["cohort.accrual_years=2", "cohort.followup_years=1", "output.progress=false", "output.dashboard=false",
         f"{THEATRE}=[1,1,1,1,1,0,0],[2,2,2,2,2,0,0]", f"{BEDS}=[8,8,8,8,8,8,8],[12,12,12,12,12,12,12]"]
SLURM_SCRIPT = Path(__file__).resolve().parent / "slurm_local.sh"
SLURM_LAUNCHER = ["hydra/launcher=submitit_slurm", "hydra.launcher.partition=debug", "hydra.launcher.cpus_per_task=1",
                  "hydra.launcher.mem_gb=1", "hydra.launcher.timeout_min=5"]


def sweep(folder: Path, launcher: list[str], env: dict | None = None) -> float:
    """Run SWEEP into `folder` with the given launcher overrides; returns the wall time."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "osteosim", "-m", *launcher, f"hydra.sweep.dir={folder}", *SWEEP],
                          cwd=folder.parent, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return time.perf_counter() - started


def collect(folder: Path) -> pd.DataFrame:
    report.main([str(folder)])
    return pd.read_parquet(folder / report.TABLE)


@pytest.fixture(scope="module")
def joblib_sweep(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("joblib") / "sweep"
    seconds = sweep(folder, ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"])
    print(f"\n2x2 sweep, joblib, 2 workers: {seconds:.1f} s")
    report.main([str(folder)])
    return folder


def test_two_way_capacity_sweep_gives_table_and_dashboard(joblib_sweep):
    table = pd.read_parquet(joblib_sweep / report.TABLE)
    assert list(table.columns[:4]) == ["job", "overrides", THEATRE, BEDS]
    assert {"arm", "kpi", "estimate", "ci_low", "ci_high", "n"} <= set(table.columns)
    assert sorted(table["job"].unique()) == [0, 1, 2, 3]
    assert len(table.drop_duplicates([THEATRE, BEDS])) == 4
    kpis = set(table["kpi"])
    assert {"OS.1y.all", "EFS.1y.metastatic", "wait_median_days.surgery", "wait_p90_days.diagnosis",
            "utilisation_pct.theatre_ortho", "utilisation_pct.chemo_bed"} <= kpis
    assert len(table) == len(table.drop_duplicates(["job", "arm", "kpi"]))  # one row per job x arm x KPI
    # each job's survival estimates and intervals are those of its summary.json
    survival = table[table["kpi"].str.startswith(("OS.", "EFS."))].set_index(["job", "arm", "kpi"])
    for job in range(4):
        rows = json.loads((joblib_sweep / str(job) / "summary.json").read_text())["survival"]
        assert len(rows) == 18
        for r in rows:
            got = survival.loc[(job, r["arm"], f"{r['endpoint']}.{r['years']}y.{r['group']}")]
            expected = [np.nan if r[k] is None else r[k] for k in ("estimate", "ci_low", "ci_high")]
            np.testing.assert_array_equal(got[["estimate", "ci_low", "ci_high"]].to_numpy(float), expected)
            assert got["n"] == r["n"]
    # a second theatre session a day halves the surgeons' share of theatre time
    util = table[table["kpi"] == "utilisation_pct.theatre_ortho"].set_index([THEATRE, BEDS])["estimate"]
    for beds in util.index.get_level_values(BEDS).unique():
        assert util[("[2,2,2,2,2,0,0]", beds)] < util[("[1,1,1,1,1,0,0]", beds)]

    page = (joblib_sweep / report.DASHBOARD).read_text()
    assert page.count("plotly.js v") == 1 and "<script src=" not in page  # embedded once, works offline
    assert 'id="kpi-lines"' in page and 'id="kpi-heatmap"' in page


def test_one_and_two_joblib_workers_give_the_same_table(joblib_sweep, tmp_path):
    folder = tmp_path / "sweep"
    seconds = sweep(folder, ["hydra/launcher=joblib", "hydra.launcher.n_jobs=1"])
    print(f"2x2 sweep, joblib, 1 worker: {seconds:.1f} s")
    pd.testing.assert_frame_equal(collect(folder), pd.read_parquet(joblib_sweep / report.TABLE))
    assert (folder / report.TABLE).read_bytes() == (joblib_sweep / report.TABLE).read_bytes()


def test_rerun_of_a_sweep_redoes_only_unfinished_jobs(joblib_sweep, tmp_path, capsys):
    folder = tmp_path / "sweep"
    shutil.copytree(joblib_sweep, folder)
    (folder / "1" / CHECKSUMS).unlink()                      # killed before it was sealed
    with open(folder / "3" / "patients.parquet", "ab") as f:  # a file changed after completion
        f.write(b"x")
    report.main([str(folder)])
    assert "2 incomplete job(s) left out (1, 3)" in capsys.readouterr().err
    assert pd.read_parquet(folder / report.TABLE)["job"].unique().tolist() == [0, 2]

    before = {job: (folder / job / "summary.json").stat().st_mtime_ns for job in "0123"}
    sweep(folder, ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"])
    after = {job: (folder / job / "summary.json").stat().st_mtime_ns for job in "0123"}
    assert [job for job in "0123" if after[job] != before[job]] == ["1", "3"]
    pd.testing.assert_frame_equal(collect(folder), pd.read_parquet(joblib_sweep / report.TABLE))


@pytest.mark.skipif(browser.chromium() is None, reason="chromium not installed (apt-get install chromium)")
def test_sweep_dashboard_renders_in_a_browser(joblib_sweep):
    run = browser.dump_dom(joblib_sweep / report.DASHBOARD)
    assert run.console == []
    assert browser.count_rendered_plots(run.stdout) == 2


def test_one_way_and_unswept_tables_plot():
    rows = [{"job": j, "overrides": f"seed={j}", "seed": j, "arm": "baseline", "kpi": kpi, "estimate": 0.5 + j / 10,
             "ci_low": 0.4, "ci_high": 0.9, "n": 100} for j in range(3) for kpi in ("OS.5y.all", "EFS.5y.all")]
    table = pd.DataFrame(rows)
    assert 'id="kpi-heatmap"' not in build_sweep_dashboard(table, ["seed"])
    assert 'id="kpi-lines"' in build_sweep_dashboard(table.drop(columns="seed"), [])


def test_swept_values_are_typed_and_constant_overrides_are_not_columns():
    swept = report.swept_keys({0: ["cohort=trial", "seed=0", "x=0.5", "arm=a"],
                               1: ["cohort=trial", "seed=1", "x=1", "arm=b"]})
    assert list(swept) == ["seed", "x", "arm"]
    assert str(report._typed(list(swept["seed"].values())).dtype) == "Int64"
    assert str(report._typed(list(swept["x"].values())).dtype) == "float64"
    assert str(report._typed(list(swept["arm"].values())).dtype) == "string"


@pytest.mark.parametrize("case, message", [
    ("missing", "is not a folder"),
    ("empty", "is not a Hydra multirun folder, not a sweep"),
    ("single-run", "is a single run folder, not a sweep"),
    ("no-complete-job", "has no complete job yet (1 incomplete)"),
])
def test_report_errors_are_one_line_exit_2(case, message, tmp_path, capsys):
    folder = tmp_path / "sweep"
    if case != "missing":
        folder.mkdir()
    if case == "single-run":
        (folder / ".hydra").mkdir()
        (folder / ".hydra" / "overrides.yaml").write_text("- seed=1\n")
    if case == "no-complete-job":
        (folder / "0" / ".hydra").mkdir(parents=True)
        (folder / "0" / ".hydra" / "overrides.yaml").write_text("- seed=1\n")
        (folder / "0" / "summary.json").write_text(json.dumps({"survival": []}))
    with pytest.raises(SystemExit) as stop:
        report.main([str(folder)])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.count("\n") == 1
    assert err.startswith("osteosim-report: error: ") and message in err


def test_report_refuses_a_folder_of_several_sweeps(joblib_sweep, tmp_path, capsys):
    for name in ("a", "b"):
        shutil.copytree(joblib_sweep, tmp_path / "day" / name)
    with pytest.raises(SystemExit) as stop:
        report.main([str(tmp_path / "day")])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.count("\n") == 1 and "holds more than one sweep (job 0 in a/0 and b/0)" in err


def test_report_usage_error_is_one_line(capsys):
    with pytest.raises(SystemExit) as stop:
        report.main([])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.count("\n") == 1 and "usage: osteosim-report SWEEP_DIR" in err


# ------------------------------------------------------------------ SLURM, for real
@pytest.fixture()
def slurm_cluster(tmp_path):
    """A single-node SLURM on localhost for the test, stopped afterwards (munged too, if it started it)."""
    missing = [tool for tool in ("slurmctld", "slurmd", "sbatch", "munged") if not shutil.which(tool)]
    if missing:
        pytest.skip(f"SLURM not installed ({', '.join(missing)} missing): "
                    "apt-get install -y --no-install-recommends slurm-wlm munge (.ci/run does)")
    if not SLURM_SCRIPT.exists():
        pytest.skip(f"{SLURM_SCRIPT} not found (it ships with the tests)")
    folder = tmp_path / "slurm"
    munge_was_running = subprocess.run(["pgrep", "-x", "munged"], capture_output=True).returncode == 0
    start = subprocess.run(["bash", str(SLURM_SCRIPT), "start", str(folder)], capture_output=True, text=True, timeout=120)
    if start.returncode != 0 or " idle " not in start.stdout:
        _stop_slurm(folder, munge_was_running)
        pytest.skip(f"the local SLURM cluster did not start: {(start.stderr or start.stdout).strip()[-300:]}")
    try:
        yield folder / "slurm.conf"
    finally:
        _stop_slurm(folder, munge_was_running)


def _stop_slurm(folder: Path, munge_was_running: bool) -> None:
    subprocess.run(["bash", str(SLURM_SCRIPT), "stop", str(folder)], capture_output=True, timeout=60)
    pid_file = Path("/run/munge/munged.pid")
    if not munge_was_running and pid_file.exists():
        try:
            os.kill(int(pid_file.read_text().strip()), 15)
        except (ValueError, ProcessLookupError):
            pass


@pytest.mark.slow
@pytest.mark.slurm
def test_slurm_sweep_gives_the_same_table_as_joblib(joblib_sweep, slurm_cluster, tmp_path):
    folder = tmp_path / "sweep"
    env = {**os.environ, "SLURM_CONF": str(slurm_cluster)}  # the jobs run sys.executable: this venv
    seconds = sweep(folder, SLURM_LAUNCHER, env=env)
    print(f"2x2 sweep, SLURM (submitit), 1 node: {seconds:.1f} s")
    assert list((folder / ".submitit").iterdir()), "the jobs did not go through SLURM"
    pd.testing.assert_frame_equal(collect(folder), pd.read_parquet(joblib_sweep / report.TABLE))
    assert (folder / report.TABLE).read_bytes() == (joblib_sweep / report.TABLE).read_bytes()


def test_parallel_launchers_give_each_job_one_numba_thread_and_it_can_still_compile():
    """A job of a parallel launcher runs on one Numba thread and can compile afterwards (a first sweep on a
    fresh install compiles in every job): setting NUMBA_NUM_THREADS in the process made Numba's next compile
    fail, its thread pool having started with another value."""
    code = ("import numba, os; from osteosim.cli.run import _one_numba_thread_per_parallel_job as one; "
            "one('hydra._internal.core_plugins.basic_launcher.BasicLauncher'); "
            "basic = numba.get_num_threads() == numba.config.NUMBA_NUM_THREADS; "
            "one('hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher'); "
            "compiled = numba.njit(lambda x: x + 1)(1); "
            "print(basic, numba.get_num_threads(), compiled)")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_NUM_THREADS"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.stdout.split() == ["True", "1", "2"], done.stderr


def test_a_parallel_launchers_job_runs_its_replications_in_one_process_under_auto_workers():
    """workers=0 (auto) is a process per core for one run, but a job of a parallel launcher shares the cores with
    the sweep's other jobs: it gets one. Workers the user asked for are left as asked."""
    from osteosim.cli.run import _workers_for
    from osteosim.config import compose

    basic = "hydra._internal.core_plugins.basic_launcher.BasicLauncher"
    parallel = ["hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher",
                "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"]
    auto, two = compose(["replications=4"]), compose(["replications=4", "workers=2"])
    assert _workers_for(auto, basic).workers == 0
    assert [_workers_for(auto, launcher).workers for launcher in parallel] == [1, 1]
    assert [_workers_for(two, launcher).workers for launcher in [basic, *parallel]] == [2, 2, 2]
