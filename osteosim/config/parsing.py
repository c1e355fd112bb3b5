"""Each conf/ file's YAML parsed once per process.

Hydra parses every file of the defaults list again at each composition, and a command composes
several times (the preflight's checks, then Hydra's own run; tests and sweeps many more). PyYAML's
pure-Python parser is a fifth of a composition's time. `install` makes OmegaConf.load keep what
it parsed, keyed by the file's text (so an edited file is parsed again), and build a fresh
config from it each time: the composed configuration is the same object tree as before.
"""
from __future__ import annotations

import io
import os
import pathlib

import yaml
from omegaconf import OmegaConf

_parsed: dict[str, object] = {}
_original = None


def install() -> None:
    """Route OmegaConf.load through the cache (idempotent)."""
    global _original
    if _original is None:
        _original = OmegaConf.load
        OmegaConf.load = staticmethod(load)  # type: ignore[method-assign]


def load(file_):
    """OmegaConf.load, parsing each distinct text once."""
    from omegaconf._utils import get_yaml_loader

    if isinstance(file_, (str, pathlib.Path)):
        with io.open(os.path.abspath(file_), "r", encoding="utf-8") as f:
            text = f.read()
    elif getattr(file_, "read", None):
        text = file_.read()
    else:
        raise TypeError("Unexpected file type")
    if text not in _parsed:
        obj = yaml.load(io.StringIO(text), Loader=get_yaml_loader())
        if obj is not None and not isinstance(obj, (list, dict, str)):
            raise IOError(f"Invalid loaded object type: {type(obj).__name__}")
        _parsed[text] = obj
    obj = _parsed[text]
    return OmegaConf.create() if obj is None else OmegaConf.create(obj)
