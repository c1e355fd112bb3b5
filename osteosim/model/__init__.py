"""The model: what happens to a patient — codes, draws, population, disease, protocol, decisions, pathway.

Numba keeps compiled functions in a cache, but it does not notice when a function one of them
calls changes in another file: an edited decision would go on running in a cached engine. So
the cache lives in a folder named by a hash of the compiled sources (this package and
`osteosim.engines`), set here before any of them is compiled: a change anywhere compiles afresh.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numba

_COMPILED = (Path(__file__).parent, Path(__file__).parents[1] / "engines")


def _source_hash() -> str:
    digest = hashlib.sha256()
    for folder in _COMPILED:
        for path in sorted(folder.rglob("*.py")):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _cache_dir() -> str:
    base = os.environ.get("NUMBA_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "osteosim", "numba")
    return os.path.join(base, _source_hash())


numba.config.CACHE_DIR = _cache_dir()


def compiled_before(kernel: str = "") -> bool:
    """Has this installation cached compiled code already (so a run starts at once)? `kernel` names one entry
    point as Numba files it (module.function, e.g. "cohort.run_patients"): each engine compiles its own."""
    folder = Path(numba.config.CACHE_DIR)
    return folder.is_dir() and any(folder.rglob(f"{kernel}-*.nbi" if kernel else "*.nbi"))
