"""One writer per run folder: two runs writing into the same folder would mix their files.

The lock is an advisory ``flock`` on ``.osteosim.lock`` in the folder, held for the whole job and
released by the kernel when the process ends, however it ends (so a killed run never leaves a
stale lock). The file itself stays; it holds nothing.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import Iterator

LOCK = ".osteosim.lock"


class FolderBusy(Exception):
    """Another process is writing into this run folder."""


@contextlib.contextmanager
def exclusive(folder: Path) -> Iterator[None]:
    """Hold the folder's lock while the block runs; FolderBusy at once if another run holds it."""
    fd = os.open(Path(folder) / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FolderBusy(f"{folder} is being written by another osteosim run: wait for it to finish, "
                             "or give another hydra.run.dir") from None
        yield
    finally:
        os.close(fd)


def is_busy(folder: Path) -> bool:
    """True if a run holds the folder's lock now (checked without creating anything)."""
    path = Path(folder) / LOCK
    if not path.is_file():
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
