"""A single run's configuration, composed once per command.

The preflight (`osteosim.cli.preflight`) composes the command as Hydra will run it; Hydra then
composes it twice more, once to learn whether it is a sweep (`Hydra.get_mode`) and once to run
it (with `hydra.mode=RUN` added to the overrides when no conf file sets the mode), each a
quarter of a second of OmegaConf merging. While Hydra runs the command, `reused` hands those two
requests a copy of the preflight's composition when they ask for what it composed: the same
config name, overrides and search path, in the same process a moment later (the conf files
cannot have changed in between); the added `hydra.mode=RUN` is applied to the copy as Hydra
applies an override after composing. Anything else is composed by Hydra as before; a test
compares what the job receives either way.
"""
from __future__ import annotations

import contextlib
import copy
from dataclasses import dataclass

from hydra.types import RunMode


RUN_MODE = "hydra.mode=RUN"   # what Hydra adds to a single run's overrides when no conf file sets the mode


def _apply_hydra_override(cfg, line: str) -> None:
    """A hydra.* value override applied to a composed config as `ConfigLoaderImpl` applies it (last)."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra.core.override_parser.overrides_parser import OverridesParser

    override = OverridesParser.create().parse_overrides([line])
    ConfigLoaderImpl._apply_overrides_to_config(override, cfg)
    cfg.hydra.overrides.hydra.append(line)


@dataclass(frozen=True)
class Composed:
    """What the preflight composed for a single run, and what it was composed from."""
    config: object                      # the DictConfig (the checks read it; each reuse gets a copy)
    config_name: str | None
    overrides: tuple[str, ...]
    search_path: tuple[tuple[str, str], ...]


def search_path_of(loader) -> tuple[tuple[str, str], ...]:
    """A config loader's search path as (provider, path) pairs, in order."""
    return tuple((str(e.provider), str(e.path)) for e in loader.config_search_path.get_path())


def composed(hydra, config_name: str | None, overrides: list[str], config) -> Composed:
    return Composed(config, config_name, tuple(overrides), search_path_of(hydra.config_loader))


@contextlib.contextmanager
def reused(done: Composed | None):
    """While Hydra runs the command: its single-run compositions of `done`'s command are copies of `done`."""
    if done is None:
        yield
        return
    from hydra._internal.config_loader_impl import ConfigLoaderImpl

    original = ConfigLoaderImpl.load_configuration

    def load_configuration(self, config_name, overrides, run_mode, from_shell=True, validate_sweep_overrides=True):
        overrides = list(overrides)
        added = overrides[len(done.overrides):]
        same = (config_name == done.config_name and tuple(overrides[:len(done.overrides)]) == done.overrides
                and added in ([], [RUN_MODE]) and search_path_of(self) == done.search_path
                # Hydra.run's composition, or Hydra.get_mode's (which reads only hydra.mode from it)
                and (run_mode == RunMode.RUN or not validate_sweep_overrides))
        if not same:
            return original(self, config_name, overrides, run_mode, from_shell, validate_sweep_overrides)
        cfg = copy.deepcopy(done.config)
        if added:
            _apply_hydra_override(cfg, RUN_MODE)
        return cfg

    ConfigLoaderImpl.load_configuration = load_configuration
    try:
        yield
    finally:
        ConfigLoaderImpl.load_configuration = original
