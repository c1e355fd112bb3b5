"""Run osteosim's Numba code as plain Python/NumPy, in the same process: the baseline the
compiled kernels are measured against.

Every `@njit` function of the listed modules is swapped for its `.py_func` (the very source
the compiler sees); calls between them go through module attributes, so the whole model runs
interpreted, then everything is put back.
"""
from __future__ import annotations

import contextlib
import importlib
import warnings

from numba.core.registry import CPUDispatcher

MODULES = ("osteosim.model.rng", "osteosim.model.disease", "osteosim.model.decisions", "osteosim.model.appointments",
           "osteosim.model.pathway", "osteosim.engines.cohort")


@contextlib.contextmanager
def interpreted(modules=MODULES):
    swapped = []
    try:
        for name in modules:
            module = importlib.import_module(name)
            for attr, value in list(vars(module).items()):
                if isinstance(value, CPUDispatcher):
                    swapped.append((module, attr, value))
                    setattr(module, attr, value.py_func)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # uint64 wrap-around in the hash is intended
            yield
    finally:
        for module, attr, value in swapped:
            setattr(module, attr, value)
