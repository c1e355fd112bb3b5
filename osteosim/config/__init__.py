"""Configuration: the typed schema, its validation, and composing it from ``conf/``.

Group options (``arm=``, ``arms=[...]``, error messages listing options) are looked up along the
config search path, the folders Hydra composes from: ``conf/`` by default, or what
``--config-path`` / ``--config-dir`` make it. The ``osteosim`` command publishes that path for the
duration of a job in ``OSTEOSIM_CONF_PATH`` (see :func:`search_path`), so replications on worker
processes resolve ``arms=[...]`` from the same files as the job that started them.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator, Sequence

from omegaconf import DictConfig, OmegaConf

from osteosim.config import schema
from osteosim.config.schema import Config
from osteosim.config.validate import ConfigError, check_arm_rosters, check_consistency, check_ranges

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"
CONF_PATH_VARIABLE = "OSTEOSIM_CONF_PATH"

__all__ = ["Config", "ConfigError", "CONF_DIR", "compose", "to_config", "group_options", "arm_config", "search_path",
           "conf_dirs"]


def conf_dirs() -> list[Path]:
    """The config folders in search order: the running job's (OSTEOSIM_CONF_PATH), else conf/."""
    published = os.environ.get(CONF_PATH_VARIABLE)
    return [Path(p) for p in published.split(os.pathsep) if p] if published else [CONF_DIR]


@contextlib.contextmanager
def search_path(dirs: Sequence[Path]) -> Iterator[None]:
    """Resolve group options from `dirs` (in order) while the block runs, here and in worker processes."""
    before = os.environ.get(CONF_PATH_VARIABLE)
    os.environ[CONF_PATH_VARIABLE] = os.pathsep.join(str(d) for d in dirs)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(CONF_PATH_VARIABLE, None)
        else:
            os.environ[CONF_PATH_VARIABLE] = before


def to_config(cfg: DictConfig | Config) -> Config:
    """Typed, validated configuration from a Hydra-composed DictConfig (or pass a Config through)."""
    if isinstance(cfg, DictConfig):
        typed = OmegaConf.to_object(cfg)
    else:
        typed = cfg
    if not isinstance(typed, Config):
        raise ConfigError("the configuration is not built on osteosim_schema (conf/config.yaml's first default)")
    check_ranges(typed)
    check_consistency(typed)
    for name in typed.arms:
        arm_config(name)
    if len(set(typed.arms)) != len(typed.arms):
        raise ConfigError(f"arms={list(typed.arms)} names an arm twice; each arm once, the reference first")
    return typed


def _option_file(group: str, name: str) -> Path | None:
    """The first <dir>/<group>/<name>.yaml along the search path, as Hydra would pick it."""
    for folder in conf_dirs():
        path = folder / group / f"{name}.yaml"
        if path.is_file():
            return path
    return None


def arm_config(name: str) -> schema.ArmConfig:
    """arm/<name>.yaml from the config search path as a typed, range-checked ArmConfig (`arms=[...]`)."""
    path = _option_file("arm", name) if isinstance(name, str) and "/" not in name else None
    if path is None:
        raise ConfigError(f"arms: {name} is not one of {', '.join(group_options('arm'))}")
    try:
        node = OmegaConf.merge(OmegaConf.structured(schema.ArmConfig), OmegaConf.load(path))
        arm = OmegaConf.to_object(node)
    except Exception as error:  # noqa: BLE001 - any YAML or schema problem of that file is the user's to fix
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ConfigError(f"arms: {name} ({path}) is not a valid arm: {first}") from error
    check_ranges(arm, "arm.")
    check_arm_rosters(arm)
    return arm


def group_options(group: str) -> list[str]:
    """The options of a config group: the YAML files in <dir>/<group>/ along the search path."""
    return sorted({p.stem for folder in conf_dirs() for p in (folder / group).glob("*.yaml")})


def compose(overrides: Sequence[str] = ()) -> Config:
    """Compose conf/ with command-line style overrides, as the CLI does, and validate it.
    hydra.* overrides are refused: composing runs no Hydra job, so they could only mislead."""
    from hydra import initialize_config_dir

    from osteosim.config.bases import composed

    for override in overrides:
        if str(override).lstrip("+~").startswith(("hydra.", "hydra/", "hydra=")):
            key = str(override).split("=")[0]
            raise ConfigError(f"{key}: hydra keys have no effect here (only the osteosim command runs Hydra)")
    schema.register()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = composed(list(overrides), CONF_DIR)   # each set of group choices composed once
    return to_config(cfg)
