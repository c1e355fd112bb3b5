"""Which ``hydra.*`` keys a command line, a conf file or a scenario may set: a short allow-list.

Hydra's own keys can run code: ``hydra.callbacks`` instantiates any ``_target_`` before the job
starts, ``hydra.job.env_set`` changes the environment of every program the job runs (git, for
provenance), the logging configs accept factories, ``hydra.searchpath`` imports packages, and a
launcher's ``_target_`` or ``setup`` lines are code too. Planners exchange scenario files
(``# @package _global_``, which may set any key), so none of that may come from a conf file, and
there is no reason to type it on the command line either. What a user legitimately sets is where
results go, and how a sweep is launched; everything else is refused.

Two checks, both before Hydra acts on anything: :func:`check_override` on each command-line
override as typed, and :func:`check_composed` on the composed ``hydra`` node against the one
Hydra's own packages give (so a key set by any conf file is caught, whatever its source).
"""
from __future__ import annotations

import re
from typing import Any, Iterable

from osteosim.config.validate import ConfigError

# hydra.<key> that may be set, and the launcher options that may be chosen (README: Security)
ALLOWED_KEYS = ("run.dir", "sweep.dir", "sweep.subdir", "job.chdir", "job.name", "mode", "sweeper.max_batch_size")
ALLOWED_PREFIXES = ("help.",)   # the text `osteosim --help` prints (conf/config.yaml writes osteosim's own)
LAUNCHER_KEYS = (
    # joblib
    "n_jobs", "backend", "prefer", "require", "verbose", "timeout", "pre_dispatch", "batch_size", "temp_folder",
    "max_nbytes", "mmap_mode",
    # submitit (SLURM and local)
    "submitit_folder", "timeout_min", "cpus_per_task", "gpus_per_node", "tasks_per_node", "mem_gb", "nodes", "name",
    "stderr_to_stdout", "partition", "qos", "comment", "constraint", "exclude", "gres", "cpus_per_gpu", "gpus_per_task",
    "mem_per_gpu", "mem_per_cpu", "account", "signal_delay_s", "max_num_timeout", "array_parallelism",
    # ray
    "ray.init.address", "ray.init.object_store_memory", "ray.init.num_cpus", "ray.init.num_gpus",
    "ray.remote.num_cpus", "ray.remote.num_gpus",
)
GROUP_OPTIONS = {
    "hydra/launcher": ("basic", "joblib", "submitit_slurm", "submitit_local", "ray"),
    "hydra/sweeper": ("basic",),
    "hydra/job_logging": ("default", "disabled", "none", "stdout"),
    "hydra/hydra_logging": ("default", "disabled", "none", "stdout"),
}
# filled in by Hydra itself while composing: they differ from the reference by construction
DERIVED = ("runtime.", "overrides.", "job.config_name", "job.override_dirname", "job.id", "job.num")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def allowed_text() -> str:
    """The allow-list as one line names it."""
    return ("hydra.run.dir, hydra.sweep.dir, hydra.sweep.subdir, hydra.job.chdir, hydra.job.name, hydra.mode, "
            "hydra.launcher.<option> (n_jobs, partition, timeout_min, mem_gb, ...), hydra.sweeper.max_batch_size, "
            "and the groups hydra/launcher, hydra/sweeper, hydra/job_logging, hydra/hydra_logging")


def is_allowed(key: str) -> bool:
    """Whether hydra.<key> is on the allow-list."""
    if key in ALLOWED_KEYS or key.startswith(ALLOWED_PREFIXES):
        return True
    return key.startswith("launcher.") and key[len("launcher."):] in LAUNCHER_KEYS


def _refuse(key: str, where: str) -> ConfigError:
    return ConfigError(f"hydra.{key} may not be set {where}: osteosim refuses hydra keys that can run code or "
                       f"move files (allowed: {allowed_text()})")


def check_override(override: Any) -> None:
    """A command-line override (Hydra's parsed Override) that touches hydra: only allow-listed keys and group
    options, never a deletion and never a config group placed under hydra with `@`."""
    key, package = override.key_or_group, override.package or ""
    if package == "hydra" or package.startswith("hydra."):
        raise _refuse(f"{package[len('hydra.'):] or '*'} (via {override.input_line})", "on the command line")
    if key.startswith("hydra/"):
        allowed = GROUP_OPTIONS.get(key)
        if allowed is None:
            raise ConfigError(f"{override.input_line}: the config group {key} may not be chosen (allowed: "
                              f"{', '.join(f'{g}=' + '|'.join(o) for g, o in GROUP_OPTIONS.items())})")
        for option in _values(override):
            if option not in allowed:
                raise ConfigError(f"{key}={option} is not one of {', '.join(allowed)}")
        return
    if key != "hydra" and not key.startswith("hydra."):
        return
    name = key[len("hydra."):]
    if override.is_delete() or not is_allowed(name):
        raise _refuse(name or "*", "on the command line")


def _values(override: Any) -> list[str]:
    """The option(s) a group override picks (several in a sweep)."""
    if override.is_sweep_override():
        return [str(v) for v in override.sweep_string_iterator()]
    return [override.get_value_element_as_str()]


def flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    """A nested container as {dotted.key: leaf}; lists are leaves (compared whole)."""
    if not isinstance(node, dict):
        return {prefix: node}
    out: dict[str, Any] = {}
    for key, value in node.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        out.update(flatten(value, path) if isinstance(value, dict) and value else {path: value})
    return out


def check_composed(hydra: dict, reference: dict, typed_keys: Iterable[str]) -> None:
    """Every key where the composed hydra node differs from Hydra's own defaults must be allow-listed, with a
    sane value; `typed_keys` (the command line's hydra keys) say whether a key came from a conf file."""
    choices = (hydra.get("runtime") or {}).get("choices") or {}
    for group, option in choices.items():
        if group in GROUP_OPTIONS and option not in GROUP_OPTIONS[group]:
            raise ConfigError(f"{group}={option} is not one of {', '.join(GROUP_OPTIONS[group])} "
                              "(a conf file chose it)")
    ours, theirs = flatten(hydra), flatten(reference)
    typed = tuple(typed_keys)
    for key in sorted(set(ours) | set(theirs)):
        if key.startswith(DERIVED) or ours.get(key, _MISSING) == theirs.get(key, _MISSING):
            continue
        where = "on the command line" if any(key == t or key.startswith(t + ".") for t in typed) \
            else "in a conf file (a scenario or a copy of conf/)"
        if not is_allowed(key):
            raise _refuse(key, where)
        _check_value(key, ours.get(key), where)


_MISSING = object()


def _check_value(key: str, value: Any, where: str) -> None:
    """Allowed keys still need sane values: a folder must be named, a job name is a file name."""
    if key in ("run.dir", "sweep.dir") and (value is None or not str(value).strip()):
        raise ConfigError(f"hydra.{key}={value if value is not None else ''} is empty ({where}): name a folder "
                          "(an empty one would write into the current folder)")
    if key == "sweep.subdir" and "${hydra.job." not in str(value or ""):
        raise ConfigError(f"hydra.sweep.subdir={value if value is not None else ''} ({where}) would put every job of "
                          "a sweep in the same folder: include ${hydra.job.num}")
    if key == "job.name" and not NAME.match(str(value)):
        raise ConfigError(f"hydra.job.name={value} ({where}) must be a plain name (letters, digits, _ . -): "
                          "it names the log file")
    if key.startswith("launcher.") and isinstance(value, (dict, list)):
        raise ConfigError(f"hydra.{key}={value} ({where}) must be a single value")
