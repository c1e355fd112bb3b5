"""What makes a run folder self-describing: config hash, seed, package versions, git commit."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import platform
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


def git_commit() -> str:
    """The commit of the osteosim checkout, with '-dirty' when it has uncommitted changes."""
    root = Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return commit + ("-dirty" if dirty else "")
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
