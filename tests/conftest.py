"""Shared fixtures: configurations composed from conf/ exactly as the CLI does, and the default run.

The default run (the README's main command: one regional service, 10 years of referrals, SimPy
engine) takes several seconds; it is run once per test session, through the CLI into a temporary
run folder, and every test that needs it reads that folder (copy it before changing anything).

On a fresh clone the Numba kernels are not compiled yet (about 45 s of one core). With both
workers (xdist), each compiled them itself, and so did CLI subprocesses started before the
cache was written; the main process now compiles them once before the workers start, one
engine per core (`pytest_configure`), and every later process loads them from the cache.
"""
from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

# absolute: the CLI tests start processes in other folders, where a relative cache would be empty (each compiled)
os.environ["NUMBA_CACHE_DIR"] = os.path.abspath(os.environ.get("NUMBA_CACHE_DIR")
                                                or os.path.join(os.path.dirname(__file__), "..", ".numba_cache"))

from osteosim.config import compose  # noqa: E402

# a tiny run of one engine compiles its kernels into the cache (the two share the model's kernels), and its summary
# and dashboard tables the analysis kernels (counting, the resource log's), which every run with a summary uses
_COMPILE = ("from osteosim import simulate; from osteosim.analysis import aggregates; from osteosim.config import compose; "
            "r = simulate(compose(['cohort=trial', 'cohort.n_patients=20', 'output.progress=false', 'engine={}'])); "
            "aggregates.batch(r.patients)")


def pytest_configure(config):
    """In the main process of a run on several workers, before they start: compile the kernels of both engines
    at once, one process each. A failure here is left for the tests to report."""
    from osteosim.cli.run import ENTRY_KERNELS
    from osteosim.model import compiled_before

    if hasattr(config, "workerinput") or not getattr(config.option, "numprocesses", None):
        return
    compiling = [subprocess.Popen([sys.executable, "-c", _COMPILE.format(engine)], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
                 for engine, kernel in ENTRY_KERNELS.items() if not compiled_before(kernel)]
    for process in compiling:
        process.wait(timeout=600)


@pytest.fixture(scope="session")
def default_config():
    return compose()


class DefaultRun(NamedTuple):
    folder: Path      # the run folder: patients/events/resources.parquet, summary.json, dashboard.html, ...
    stdout: str       # what the command printed


@pytest.fixture(scope="session")
def default_run(tmp_path_factory) -> DefaultRun:
    """`osteosim` with no overrides (the README's command), run once, into a fresh run folder."""
    folder = tmp_path_factory.mktemp("default") / "run"
    done = subprocess.run([sys.executable, "-m", "osteosim", f"hydra.run.dir={folder}"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return DefaultRun(folder, done.stdout)


@pytest.fixture(scope="session")
def default_tables(default_run):
    """The default run's patients, events and resources, as written to its Parquet files."""
    import pandas as pd

    return tuple(pd.read_parquet(default_run.folder / f"{name}.parquet") for name in ("patients", "events", "resources"))


def small_trial(n: int = 200, *overrides: str):
    """A small unconstrained trial cohort without the large optional tables."""
    return compose(["cohort=trial", f"cohort.n_patients={n}", "output.progress=false", *overrides])


@pytest.fixture
def run_in_process(monkeypatch, capsys):
    """Call cli.main() as `osteosim <args>` would, and restore what Hydra changes in the process."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")  # main() sets it; monkeypatch undoes it afterwards

    from osteosim.cli import run as cli

    def run(args: list[str]) -> tuple[int, str, str]:
        """(exit status, stdout, stderr); a command that returns without sys.exit is status 0."""
        monkeypatch.setattr(sys, "argv", ["osteosim", *args])
        try:
            cli.main()
            code = 0
        except SystemExit as exited:
            code = exited.code
        out, err = capsys.readouterr()
        return code, out, err

    yield run
    for handler in root.handlers:  # Hydra's job logging: a file in the run folder and the captured stdout
        if handler not in handlers:
            handler.close()
    root.handlers[:], root.level = handlers, level
