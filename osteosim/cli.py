"""The ``osteosim`` command: a Hydra app that validates, simulates and writes a run folder.

Errors in what the user asked for (config values, keys, group options, overrides) are
reported as one line, ``osteosim: config error: <key>=<value> ...``, with exit status 2 and
no result files. Hydra's own error reporting is switched off (HYDRA_FULL_ERROR) so that
its exceptions reach us to be translated.
"""
from __future__ import annotations

import difflib
import os
import re
import shutil
import sys
import time
from pathlib import Path

EXIT_CONFIG_ERROR = 2


def _bar(total_days: float, enabled: bool):
    """A tqdm progress bar in simulated days that appears only for runs longer than ~2 s."""
    from tqdm import tqdm

    return tqdm(total=round(total_days), unit="sim-day", delay=2.0, disable=not enabled, file=sys.stderr,
                dynamic_ncols=True, desc="osteosim")


def _remove_hydra_bookkeeping(folder: Path) -> None:
    """A run that fails validation leaves nothing behind: drop what Hydra created, and the folder if empty."""
    shutil.rmtree(folder / ".hydra", ignore_errors=True)
    for log in folder.glob("*.log"):
        log.unlink(missing_ok=True)
    try:
        folder.rmdir()
    except OSError:
        pass


def task(cfg) -> None:
    """Validate the composed config, simulate, write the run folder, print the headline numbers."""
    from hydra.core.hydra_config import HydraConfig

    from osteosim.config import ConfigError, to_config
    from osteosim.outcomes import survival_lines
    from osteosim.outputs import write_run
    from osteosim.provenance import provenance
    from osteosim.simulate import horizon_days, simulate

    folder = Path(HydraConfig.get().runtime.output_dir)
    try:
        config = to_config(cfg)
    except ConfigError:
        _remove_hydra_bookkeeping(folder)
        raise
    started = time.perf_counter()
    with _bar(horizon_days(config) * config.replications, config.output.progress) as bar:
        results = simulate(config, progress=lambda days: bar.update(round(days)))
    results.summary["provenance"] = provenance(config)
    results.summary["provenance"]["runtime_seconds"] = round(time.perf_counter() - started, 3)
    write_run(results, folder)
    print("\n".join(survival_lines(results.summary)))
    print(f"results: {folder}")


# ------------------------------------------------------------------ error translation
def _suggest(full_key: str) -> str:
    """'did you mean ...' from the schema fields next to a misspelt key."""
    import dataclasses

    from osteosim.config.schema import Config

    node, parts = Config, full_key.split(".")
    for part in parts[:-1]:
        fields = {f.name: f for f in dataclasses.fields(node)} if dataclasses.is_dataclass(node) else {}
        if part not in fields or not dataclasses.is_dataclass(fields[part].type if not isinstance(fields[part].type, str) else None):
            node = _field_type(node, part)
        else:
            node = fields[part].type
        if node is None:
            return ""
    if not dataclasses.is_dataclass(node):
        return ""
    names = [f.name for f in dataclasses.fields(node)]
    close = difflib.get_close_matches(parts[-1], names, n=1)
    prefix = ".".join(parts[:-1])
    allowed = f"; keys of {prefix or 'the top level'}: {', '.join(names)}"
    return (f" (did you mean {prefix + '.' if prefix else ''}{close[0]}?)" if close else "") + allowed


def _field_type(node, name: str):
    import dataclasses
    import typing

    if not dataclasses.is_dataclass(node):
        return None
    hints = typing.get_type_hints(node)
    return hints.get(name) if dataclasses.is_dataclass(hints.get(name)) else None


def _group_options(group: str) -> list[str]:
    from osteosim.config import group_options

    return group_options(group)


def explain(error: BaseException) -> str | None:
    """One line for a user error, or None if `error` is not one (a bug: let it raise)."""
    from hydra.errors import ConfigCompositionException, MissingConfigException, OverrideParseException
    from omegaconf.errors import ConfigKeyError, MissingMandatoryValue, OmegaConfBaseException, ValidationError

    from osteosim.config import ConfigError

    if isinstance(error, ConfigError):
        return str(error)
    if isinstance(error, MissingConfigException):
        found = re.search(r"Could not (?:find|load) '([\w.-]+)/([^']+)'", str(error))
        if found:
            group, option = found.groups()
            return f"{group}={option} is not one of {', '.join(_group_options(group))}"
        return str(error).splitlines()[0]
    if isinstance(error, OverrideParseException):
        return f"could not parse the command-line override: {str(error).splitlines()[0]}"
    cause = error.__cause__ if isinstance(error, ConfigCompositionException) and error.__cause__ else error
    if isinstance(cause, OmegaConfBaseException):
        key = getattr(cause, "full_key", None) or ""
        if isinstance(cause, ConfigKeyError):
            missing = re.search(r"Key '([^']+)' not in|Key '([^']+)' is not in struct", str(cause))
            return f"unknown key {key}{_suggest(key)}"
        if isinstance(cause, ValidationError):
            value = re.search(r"Value '([^']*)'", str(cause))
            target = re.search(r"converted to (\w+)", str(cause))
            shown = repr(value.group(1)) if value else "?"
            return f"{key}={shown} is not a valid {(target.group(1).lower() if target else 'value')}"
        if isinstance(cause, MissingMandatoryValue):
            return f"{key} has no value (a required key: set it in its conf/ group file or on the command line)"
        return f"{key}: {str(cause).splitlines()[0]}" if key else str(cause).splitlines()[0]
    if isinstance(error, ConfigCompositionException):
        return str(error).splitlines()[0]
    return None


def main() -> None:
    """Entry point of `osteosim` and `python -m osteosim`."""
    import hydra

    from osteosim.config import CONF_DIR, schema

    os.environ["HYDRA_FULL_ERROR"] = "1"
    schema.register()
    app = hydra.main(config_path=str(CONF_DIR), config_name="config", version_base="1.3")(task)
    try:
        app()
    except Exception as error:  # noqa: BLE001 - translated below, re-raised if not a user error
        message = explain(error)
        if message is None:
            raise
        print(f"osteosim: config error: {message}", file=sys.stderr)
        sys.exit(EXIT_CONFIG_ERROR)
