"""Is a run folder complete? ``checksums.json``, written last, is the proof.

A sweep that is interrupted (a killed process, a SLURM job that ran out of time, a node that
went down) must be rerunnable without redoing the jobs that finished, and without taking a
half-written folder for a finished one. Result files already land atomically (see
:mod:`osteosim.results.run_folder`), but a kill between two renames can still leave a folder with some
new files and some old or missing ones. So, once every result file is in place, their SHA-256
sums are written atomically to ``checksums.json``; a folder is complete if and only if that
file exists and every file it lists is there with the same sum. Anything else (no checksums, a
file missing, truncated or edited afterwards) makes the folder incomplete, and it is rerun.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from osteosim.results.atomic import write_json_atomically

CHECKSUMS = "checksums.json"
_BLOCK = 1 << 20


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def seal(folder: Path, names) -> None:
    """Record the sums of the result files `names` that exist in `folder`; call only once all are in place.
    The caller names the files this run wrote (osteosim.results.run_folder.write_run), never "whatever is
    there", so an earlier run's file is never sealed into this one."""
    folder = Path(folder)
    files = {name: sha256(folder / name) for name in names if (folder / name).is_file()}
    write_json_atomically(folder / CHECKSUMS, {"algorithm": "sha256", "files": files})


def sealed_names(folder: Path) -> list[str]:
    """The files checksums.json lists (empty if there is none or it is unreadable)."""
    try:
        files = json.loads((Path(folder) / CHECKSUMS).read_text(encoding="utf-8"))["files"]
        return [str(name) for name in files] if isinstance(files, dict) else []
    except (OSError, ValueError, KeyError, TypeError):
        return []


def unseal(folder: Path) -> None:
    """Before (re)writing results: the folder stops counting as complete, and an interrupted run's
    staging leftovers go."""
    folder = Path(folder)
    (folder / CHECKSUMS).unlink(missing_ok=True)
    for leftover in folder.glob(".staging-*"):
        shutil.rmtree(leftover, ignore_errors=True)


def is_complete(folder: Path) -> bool:
    """True iff checksums.json exists, lists summary.json, and every listed file matches its sum."""
    folder = Path(folder)
    try:
        files = json.loads((folder / CHECKSUMS).read_text(encoding="utf-8"))["files"]
        return "summary.json" in files and all(
            (folder / name).is_file() and sha256(folder / name) == digest for name, digest in files.items())
    except (OSError, ValueError, KeyError, TypeError):
        return False


def completed_config_hash(folder: Path) -> str | None:
    """The config hash of a complete folder's results (from summary.json's provenance), else None."""
    if not is_complete(folder):
        return None
    summary = json.loads((Path(folder) / "summary.json").read_text(encoding="utf-8"))
    return summary.get("provenance", {}).get("config_hash")
