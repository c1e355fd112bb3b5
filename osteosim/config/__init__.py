"""Configuration: the typed schema, its validation, and composing it from ``conf/``."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from omegaconf import DictConfig, OmegaConf

from osteosim.config import schema
from osteosim.config.schema import Config
from osteosim.config.validate import ConfigError, check_consistency, check_ranges

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"

__all__ = ["Config", "ConfigError", "CONF_DIR", "compose", "to_config", "group_options", "arm_config"]


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


def arm_config(name: str) -> schema.ArmConfig:
    """conf/arm/<name>.yaml as a typed, range-checked ArmConfig (for `arms=[...]` experiments)."""
    if name not in group_options("arm"):
        raise ConfigError(f"arms: {name} is not one of {', '.join(group_options('arm'))}")
    node = OmegaConf.merge(OmegaConf.structured(schema.ArmConfig), OmegaConf.load(CONF_DIR / "arm" / f"{name}.yaml"))
    arm = OmegaConf.to_object(node)
    check_ranges(arm, "arm.")
    return arm


def group_options(group: str) -> list[str]:
    """The options of a config group, from the YAML files in conf/<group>/."""
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


def compose(overrides: Sequence[str] = ()) -> Config:
    """Compose conf/ with command-line style overrides, as the CLI does, and validate it."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    schema.register()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = hydra_compose(config_name="config", overrides=list(overrides))
    return to_config(cfg)
