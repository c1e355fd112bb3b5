"""What makes a run folder self-describing: config hash, seed, package versions, git commit."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import platform
import shutil
import subprocess
from importlib import metadata
from pathlib import Path

from osteosim.engines.replications import engine_for

PACKAGES = ("osteosim", "simpy", "numpy", "numba", "pandas", "pyarrow", "plotly", "hydra-core", "omegaconf", "lifelines")


def config_hash(config) -> str:
    """SHA-256 of the fully resolved, typed configuration."""
    text = json.dumps(dataclasses.asdict(config), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


# git reads its repository, work tree, config and even commands to run (core.fsmonitor) from the
# environment and from config files: provenance must not be steered by either
GIT_SAFETY = ("-c", "core.fsmonitor=false", "-c", "core.untrackedCache=false", "--no-optional-locks")


def _git_environment() -> dict[str, str]:
    """A clean environment for git: no GIT_* variables, no user or system git config, a fixed PATH."""
    return {"PATH": os.defpath, "HOME": os.devnull, "LC_ALL": "C", "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull, "GIT_TERMINAL_PROMPT": "0"}


def _git(*args: str, root: Path) -> subprocess.CompletedProcess:
    git = shutil.which("git", path=os.defpath) or shutil.which("git")
    if git is None:
        raise OSError("git not found")
    return subprocess.run([git, *GIT_SAFETY, *args], cwd=root, env=_git_environment(), capture_output=True,
                          text=True, timeout=10, stdin=subprocess.DEVNULL)


def git_commit() -> str:
    """The commit of the osteosim checkout, with '-dirty' when it has uncommitted changes ('unknown' outside git)."""
    root = Path(__file__).resolve().parents[2]
    try:
        head = _git("rev-parse", "HEAD", root=root)
        if head.returncode != 0:
            return "unknown"
        dirty = _git("status", "--porcelain", "--untracked-files=no", root=root).stdout.strip()
        return head.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def provenance(config) -> dict:
    return {
        "config_hash": config_hash(config),
        "seed": config.seed,
        "replications": config.replications,
        "engine": engine_for(config),
        "arm": config.arm.name,
        "arms": list(config.arms) or [config.arm.name],
        "paired": config.paired,
        "cohort": config.cohort.mode,
        "scenario": config.scenario.name,
        "versions": versions(),
        "git_commit": git_commit(),
    }
