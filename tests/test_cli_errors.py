"""The command line's contract for bad input.

A bad config value, unknown key, unknown group option or malformed override gives exactly one
line on stderr, ``osteosim: config error: ...``, naming the key, the value and what is allowed;
exit status 2; no traceback; and no result files (the run folder is absent or empty).

Most cases run ``osteosim.cli.run.main`` in-process (patched ``sys.argv``, ``SystemExit`` caught) to
keep the suite fast; a few run ``python -m osteosim`` as a subprocess to prove the real exit code.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import stand_in_pool

PREFIX = "osteosim: config error: "
QUIET = ["output.progress=false"]
TINY_RUN = ["cohort=trial", "cohort.n_patients=50", "output.dashboard=false"]

# (overrides, fragments the one-line message must contain: the key, the value, what is allowed)
BAD_INPUT = [
    pytest.param(["cohort.metastatic_fraction=1.5"], ["cohort.metastatic_fraction=1.5", "[0, 1]"],
                 id="probability-above-1"),
    pytest.param(["resources.chemo_bed.roster=[10,10,-1,10,10,10,10]"], ["resources.chemo_bed.roster[2]=-1", "[0, 1000]"],
                 id="roster-negative-capacity"),
    pytest.param(["resources.theatre_ortho.roster=[]"], ["resources.theatre_ortho.roster=[]", "7 values", "Mon..Sun"],
                 id="roster-empty"),
    pytest.param(["resources.theatre_ortho.roster=[0,0,0,0,0,0,0]"],
                 ["resources.theatre_ortho.roster=[0, 0, 0, 0, 0, 0, 0]", "at least one server"], id="roster-all-zero"),
    pytest.param(["resources.theatre_ortho.roster=[1,1,1]"], ["resources.theatre_ortho.roster=[1, 1, 1]", "7 values"],
                 id="roster-wrong-length"),
    pytest.param(["arm=nonexistent"], ["arm=nonexistent", "baseline", "surgery_alone"], id="unknown-arm"),
    pytest.param(["cohort=nonexistent"], ["cohort=nonexistent", "service", "trial"], id="unknown-cohort-option"),
    pytest.param(["cohort.metastatic_fractoin=0.2"],
                 ["cohort.metastatic_fractoin=0.2", "did you mean cohort.metastatic_fraction?"], id="misspelt-key"),
    pytest.param(["replicatoins=3"], ["replicatoins=3", "did you mean replications?"], id="misspelt-top-level-key"),
    pytest.param(["cohort.site_probabilities.femr=0.5"],
                 ["cohort.site_probabilities.femr=0.5", "did you mean cohort.site_probabilities.femur?"],
                 id="misspelt-dict-key"),
    pytest.param(["resources.chemo_beds.roster=[1,1,1,1,1,1,1]"],
                 ["resources.chemo_beds.roster=[1,1,1,1,1,1,1]", "did you mean resources.chemo_bed?"],
                 id="misspelt-resource"),
    pytest.param(["cohort.foo_bar=1"], ["cohort.foo_bar=1", "valid keys of cohort:", "metastatic_fraction"],
                 id="unknown-key-lists-valid-keys"),
    pytest.param(["cohort=trial", "cohort.n_patients=0"], ["cohort.n_patients=0", "[1, 100000000]"], id="trial-zero-patients"),
    pytest.param(["treatment.surgery_to_adjuvant_days=-3"], ["treatment.surgery_to_adjuvant_days=-3", "[0, 365]"],
                 id="negative-duration"),
    pytest.param(["cohort.metastatic_fraction=abc"], ["cohort.metastatic_fraction='abc'", "a number in [0, 1]"],
                 id="not-a-number"),
    pytest.param(["seed=1.5"], ["seed=1.5", "an integer in [0, "], id="not-an-integer"),
    pytest.param(["output.dashboard=maybe"], ["output.dashboard='maybe'", "true or false"], id="not-a-boolean"),
    pytest.param(["treatment.neoadjuvant.0.drug=X"], ["treatment.neoadjuvant[0].drug='X'", "one of AP, A, M, IE"],
                 id="unknown-drug"),
    pytest.param(["replications=0"], ["replications=0", "[1, 100000]"], id="zero-replications"),
    pytest.param(["seed=-1"], ["seed=-1", "[0, "], id="negative-seed"),
    pytest.param(["cohort.site_probabilities.femur=0.5"],
                 ["cohort.site_probabilities=", "femur: 0.5", "sums to 1.08", "must sum to 1"],
                 id="site-probabilities-not-summing-to-1"),
    pytest.param(["treatment.length_of_stay_days.M=0"], ["treatment.length_of_stay_days.M=0", "(0, 60]"],
                 id="zero-length-of-stay"),
    pytest.param(["cohort.metastatic_fraction=[1,"], ["cohort.metastatic_fraction=[1,", "key=value"],
                 id="malformed-override"),
    pytest.param(["cohort.age_min=40", "cohort.age_max=20"], ["cohort.age_min=40", "below cohort.age_max=20"],
                 id="age-min-above-max"),
    pytest.param(["cohort.age_min=20", "cohort.age_max=20"], ["cohort.age_min=20", "below cohort.age_max=20"],
                 id="age-min-equals-max"),
]

# one of each path to the message: a range check after composition (Hydra has created the run
# folder), a group option composition cannot find, and an override the parser rejects
IN_SUBPROCESS = ["probability-above-1", "unknown-arm", "malformed-override"]


def run_subprocess(args: list[str], cwd: Path) -> tuple[int, str, str]:
    done = subprocess.run([sys.executable, "-m", "osteosim", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)
    return done.returncode, done.stdout, done.stderr


def assert_config_error(returncode: int, out: str, err: str, run_dir: Path, fragments: list[str]) -> None:
    assert returncode == 2, f"exit status {returncode}\nstdout:\n{out}\nstderr:\n{err}"
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"stderr must be exactly one line, got {len(lines)}:\n{err}"
    message = lines[0]
    assert message.startswith(PREFIX), message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} missing from: {message}"
    assert "Traceback" not in out, out
    assert not run_dir.exists() or not any(run_dir.iterdir()), sorted(p.name for p in run_dir.rglob("*"))


@pytest.mark.parametrize("overrides, fragments", BAD_INPUT)
def test_bad_input_is_one_line_exit_2_no_files(overrides, fragments, tmp_path, request, run_in_process):
    run_dir = tmp_path / "run"
    args = [*overrides, *QUIET, f"hydra.run.dir={run_dir}"]
    if request.node.callspec.id in IN_SUBPROCESS:
        returncode, out, err = run_subprocess(args, tmp_path)
    else:
        returncode, out, err = run_in_process(args)
    assert_config_error(returncode, out, err, run_dir, fragments)


def test_subprocess_cases_exist():
    ids = {param.id for param in BAD_INPUT}
    assert set(IN_SUBPROCESS) <= ids and len(IN_SUBPROCESS) >= 3


def test_help_lists_the_config_groups(tmp_path):
    returncode, out, err = run_subprocess(["--help"], tmp_path)
    assert returncode == 0, err
    groups = out.split("== Configuration groups ==")[1].split("== Config ==")[0]
    for group in ("cohort", "disease", "treatment", "resources", "arm", "scenario"):
        assert f"{group}:" in groups, f"group {group} not listed in --help:\n{groups}"


def test_valid_tiny_run_writes_results(tmp_path):
    run_dir = tmp_path / "run"
    returncode, out, err = run_subprocess([*TINY_RUN, *QUIET, f"hydra.run.dir={run_dir}"], tmp_path)
    assert returncode == 0, err
    assert "osteosim: config error" not in err
    assert (run_dir / "patients.parquet").is_file()
    assert (run_dir / "summary.json").is_file()
    assert not (run_dir / "dashboard.html").exists()


def test_added_unknown_key_is_rejected(tmp_path, run_in_process):
    run_dir = tmp_path / "run"
    returncode, out, err = run_in_process(["+cohort.foo=1", *TINY_RUN, *QUIET, f"hydra.run.dir={run_dir}"])
    assert_config_error(returncode, out, err, run_dir, ["cohort.foo", "1"])


def test_a_replication_worker_killed_midway_is_one_line_exit_1_and_no_results(tmp_path, run_in_process, monkeypatch):
    """A worker process that dies (the kernel killed it, say for memory) ends the run with one line, status 1 (not
    the input's fault, so not 2), and nothing written: a pool whose every replication's process ended abruptly."""
    from concurrent.futures.process import BrokenProcessPool

    from osteosim.results.run_folder import FILES

    stand_in_pool.installed(monkeypatch, lambda r: BrokenProcessPool("A process in the pool was terminated abruptly"))
    run_dir = tmp_path / "run"
    returncode, out, err = run_in_process(["replications=2", "workers=2", "cohort.accrual_years=1",
                                           "cohort.followup_years=1", *QUIET, f"hydra.run.dir={run_dir}"])
    assert returncode == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("osteosim: error: a process running replications ended abruptly")
    assert "workers=1" in lines[0] and "Traceback" not in out
    assert not [path.name for path in run_dir.iterdir() if path.name in FILES or path.name.startswith(".staging")]
