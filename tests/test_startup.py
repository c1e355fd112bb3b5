"""What a run says before it starts: each engine's first run on an installation compiles it, and says so."""
import importlib

import numba

from osteosim.cli.run import COMPILE_SECONDS, ENTRY_KERNELS
from osteosim.model import compiled_before


def test_each_engine_is_known_compiled_by_its_own_entry_kernel(tmp_path, monkeypatch):
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path))
    assert not compiled_before() and not compiled_before(ENTRY_KERNELS["des"])
    (tmp_path / "des_x").mkdir()
    (tmp_path / "des_x" / "run.des_next_step-22.py311.nbi").write_bytes(b"")
    assert compiled_before() and compiled_before(ENTRY_KERNELS["des"])
    assert not compiled_before(ENTRY_KERNELS["cohort"])     # the cohort engine still compiles on its first run


def test_the_entry_kernels_are_the_engines_compiled_functions():
    assert set(ENTRY_KERNELS) == set(COMPILE_SECONDS) == {"des", "cohort"}
    for name in ENTRY_KERNELS.values():
        module, function = name.split(".")
        package = "osteosim.engines.des." if module == "run" else "osteosim.engines."
        kernel = getattr(importlib.import_module(package + module), function)
        assert isinstance(kernel, numba.core.registry.CPUDispatcher), name
