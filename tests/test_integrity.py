"""Resume and integrity: a run folder counts as complete only when checksums.json, written last,
matches every result file; a complete folder is skipped on rerun; a killed or tampered one is redone."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from osteosim.results.integrity import CHECKSUMS, is_complete, seal, unseal

QUIET = ["output.progress=false", "output.dashboard=false"]
TINY_RUN = ["cohort=trial", "cohort.n_patients=50", *QUIET]
# a des run that takes several seconds (80 years of referrals), so that it can be killed midway
LONG_RUN = ["cohort.accrual_years=30", *QUIET]   # long enough to kill while it writes (about 8 s)
SKIPPED = "is already complete for this configuration (checksums match): skipped"


def osteosim(args: list[str], cwd: Path, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "osteosim", *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def run(args: list[str], cwd: Path) -> tuple[int, str, str]:
    process = osteosim(args, cwd)
    out, err = process.communicate(timeout=300)
    return process.returncode, out, err


@pytest.fixture()
def sealed(tmp_path) -> Path:
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "summary.json").write_text('{"provenance": {"config_hash": "abc"}}')
    (folder / "patients.parquet").write_bytes(b"PAR1" + bytes(range(256)) * 40)
    seal(folder, ["summary.json", "patients.parquet", "dashboard.html"])
    return folder


def test_sealed_folder_is_complete_and_lists_only_existing_files(sealed):
    assert is_complete(sealed)
    assert set(json.loads((sealed / CHECKSUMS).read_text())["files"]) == {"summary.json", "patients.parquet"}


@pytest.mark.parametrize("damage", ["edit", "truncate", "delete", "no-checksums", "bad-checksums"])
def test_any_damage_makes_the_folder_incomplete(sealed, damage):
    target = sealed / "patients.parquet"
    if damage == "edit":
        data = bytearray(target.read_bytes())
        data[100] ^= 1
        target.write_bytes(bytes(data))
    elif damage == "truncate":
        target.write_bytes(target.read_bytes()[:1000])  # a half-written file
    elif damage == "delete":
        target.unlink()
    elif damage == "no-checksums":
        (sealed / CHECKSUMS).unlink()
    else:
        (sealed / CHECKSUMS).write_text('{"files": ')
    assert not is_complete(sealed)


def test_unseal_drops_checksums_and_staging_leftovers(sealed):
    (sealed / ".staging-abc").mkdir()
    (sealed / ".staging-abc" / "patients.parquet").write_bytes(b"half")
    unseal(sealed)
    assert not is_complete(sealed) and not list(sealed.glob(".staging-*"))
    assert (sealed / "summary.json").exists()  # results stay until replaced


def test_complete_run_is_skipped_and_tampered_one_rerun(tmp_path):
    folder = tmp_path / "run"
    args = [*TINY_RUN, f"hydra.run.dir={folder}"]
    assert run(args, tmp_path)[0] == 0 and is_complete(folder)
    written = {p.name: p.stat().st_mtime_ns for p in folder.glob("*.*")}

    returncode, out, err = run(args, tmp_path)
    assert returncode == 0, err
    assert out.strip() == f"osteosim: {folder} {SKIPPED}"
    assert {p.name: p.stat().st_mtime_ns for p in folder.glob("*.*")} == written  # nothing rewritten

    original = (folder / "patients.parquet").read_bytes()
    (folder / "patients.parquet").write_bytes(original[:-10] + b"0123456789")  # edited after completion
    assert not is_complete(folder)
    returncode, out, err = run(args, tmp_path)
    assert returncode == 0 and SKIPPED not in out, err
    assert is_complete(folder) and (folder / "patients.parquet").read_bytes() == original


def test_another_configuration_in_a_complete_folder_is_run(tmp_path):
    folder = tmp_path / "run"
    assert run([*TINY_RUN, f"hydra.run.dir={folder}"], tmp_path)[0] == 0
    returncode, out, err = run([*TINY_RUN, "seed=1", f"hydra.run.dir={folder}"], tmp_path)
    assert returncode == 0 and SKIPPED not in out, err
    assert json.loads((folder / "summary.json").read_text())["provenance"]["seed"] == 1 and is_complete(folder)


@pytest.mark.slow
def test_job_killed_midway_is_incomplete_then_rerun_completes_it(tmp_path):
    folder = tmp_path / "run"
    args = [*LONG_RUN, f"hydra.run.dir={folder}"]
    process = osteosim(args, tmp_path)
    deadline = time.monotonic() + 120
    while not list(folder.glob(".staging-*")) and time.monotonic() < deadline:
        time.sleep(0.05)  # wait until the job is writing its results ...
    time.sleep(1.5)
    assert process.poll() is None, "the run finished before it could be killed: make LONG_RUN longer"
    os.kill(process.pid, signal.SIGKILL)  # ... and kill it midway, as a lost node or OOM killer would
    process.communicate()

    assert not is_complete(folder)
    assert not [name for name in ("patients.parquet", "summary.json", CHECKSUMS) if (folder / name).exists()]

    started = time.perf_counter()
    returncode, out, err = run(args, tmp_path)
    assert returncode == 0 and SKIPPED not in out, err
    assert is_complete(folder) and not list(folder.glob(".staging-*"))
    print(f"rerun after the kill: {time.perf_counter() - started:.1f} s")
