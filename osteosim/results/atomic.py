"""Writing results: every file lands whole or not at all (temp file beside it, then os.replace)."""
from __future__ import annotations

import json
import os
import pathlib
import tempfile
from typing import Callable

import pandas as pd


def _atomic(path: pathlib.Path, write: Callable[[pathlib.Path], None]) -> None:
    path = pathlib.Path(path)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = pathlib.Path(tmp_name)
    try:
        write(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomically(path: pathlib.Path, text: str) -> None:
    _atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_parquet_atomically(path: pathlib.Path, frame: pd.DataFrame) -> None:
    _atomic(path, lambda tmp: frame.to_parquet(tmp, index=False, engine="pyarrow", compression="zstd"))


def write_json_atomically(path: pathlib.Path, data: dict) -> None:
    write_text_atomically(path, json.dumps(data, indent=2, sort_keys=False, allow_nan=False, default=str) + "\n")
