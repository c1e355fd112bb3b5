"""Error translation shared by the commands: a user's mistake as one line naming the key and what it accepts.

`explain` turns Hydra's and OmegaConf's exceptions into that line (None for a bug, which should
raise); `schema_field` finds the schema field behind a dotted key, for the preflight checks too.
"""
from __future__ import annotations

import difflib
import re


def schema_field(full_key: str):
    """The schema field that governs `full_key` (for a list or dict entry: the list or dict field) and
    the Python type the key expects, or (None, None) if the schema has no such key."""
    import dataclasses
    import typing

    from osteosim.config.schema import Config

    field, hint = None, Config
    for part in re.sub(r"\[(\d+)\]", r".\1", full_key).split("."):
        if dataclasses.is_dataclass(hint):
            fields = {f.name: f for f in dataclasses.fields(hint)}
            if part not in fields:
                return None, None
            field, hint = fields[part], typing.get_type_hints(hint)[part]
        elif typing.get_args(hint):  # list[X] or dict[str, X]: an entry is an X
            hint = typing.get_args(hint)[-1]
        else:
            return None, None
    return field, hint


def field_type(full_key: str) -> str:
    """What a key accepts, in words: 'a number in [0, 1]', 'true or false', 'one of AP, A, M, IE', ..."""
    import dataclasses
    import typing

    from osteosim.config.validate import range_text

    field, hint = schema_field(full_key)
    meta = field.metadata if field else {}
    if meta.get("choices"):
        return f"one of {', '.join(meta['choices'])}"
    if hint is bool:
        return "true or false"
    if hint in (int, float):
        kind = "an integer" if hint is int else "a number"
        return f"{kind} in {range_text(meta['range'])}" if "range" in meta else kind
    if dataclasses.is_dataclass(hint):
        return f"a group of keys ({', '.join(f.name for f in dataclasses.fields(hint))})"
    if typing.get_origin(hint) is list:
        return "a list, e.g. [1,2,3]"
    if typing.get_origin(hint) is dict:
        return "a mapping, e.g. {a: 1, b: 2}"
    return "a valid value for this key"


def suggest(prefix: str, key: str, valid: list[str]) -> str:
    """'did you mean ...?' for a misspelt key, else the keys that are allowed there."""
    close = difflib.get_close_matches(key, valid, n=1)
    dotted = prefix + "." if prefix else ""
    if close:
        return f"did you mean {dotted}{close[0]}?"
    return f"valid keys{' of ' + prefix if prefix else ''}: {', '.join(valid)}"


def explain(error: BaseException) -> str | None:
    """One line for a user error, or None if `error` is not one (a bug: let it raise)."""
    from hydra.errors import ConfigCompositionException, HydraException, MissingConfigException, OverrideParseException
    from omegaconf.errors import (ConfigAttributeError, ConfigKeyError, MissingMandatoryValue,
                                  OmegaConfBaseException, ValidationError)

    from osteosim.config import ConfigError, group_options
    from osteosim.config.hydra_keys import GROUP_OPTIONS
    from osteosim.results.lock import FolderBusy

    cause = error.__cause__ if isinstance(error, ConfigCompositionException) and error.__cause__ else error
    # the override as typed ("key=value"), when Hydra names it
    typed = re.search(r"(?:use \+|Error merging override )(.+)$", str(error), re.MULTILINE)
    if isinstance(error, (ConfigError, FolderBusy)):
        message = str(error)
    elif isinstance(error, MissingConfigException):
        found = re.search(r"Could not (?:find|load) '([\w./-]+)/([^'/]*)'", str(error))
        group, option = found.groups() if found else ("", "")
        options = GROUP_OPTIONS.get(group) or group_options(group)
        message = (f"{group}={option} is not one of {', '.join(options)}" if found
                   else str(error).splitlines()[0])
    elif isinstance(error, OverrideParseException):
        reason = str(error).splitlines()[0]
        message = (f"{error.override} is not a valid override ({reason}); write key=value, "
                   "a list as [a,b,c], and quote a value that contains spaces or brackets")
    elif isinstance(cause, (ConfigKeyError, ConfigAttributeError)) and getattr(cause, "parent_node", None) is not None:
        key, full_key = str(cause.key), cause.full_key
        prefix = full_key[: -len(key) - 1] if full_key != key else ""
        valid = [k for k in cause.parent_node.keys() if prefix or k != "hydra"]
        # name the override as typed, and the unknown key within it when that is not its last part
        shown = typed.group(1) if typed else full_key
        typed_key = shown.split("=")[0].lstrip("+~")
        within = "" if typed_key == re.sub(r"\[(\d+)\]", r".\1", full_key) else f" {full_key}"
        message = f"{shown}: no such key{within} ({suggest(prefix, key, valid)})"
    elif isinstance(cause, ValidationError) and getattr(cause, "full_key", None):
        message = f"{cause.full_key}={cause.value!r} is not {field_type(cause.full_key)}"
    elif isinstance(cause, MissingMandatoryValue):
        message = f"{cause.full_key} has no value (a required key: set it in its conf/ group file or on the command line)"
    elif isinstance(cause, OmegaConfBaseException):
        first = str(cause).splitlines()[0]
        message = f"{cause.full_key}: {first}" if getattr(cause, "full_key", None) else first
    elif isinstance(error, HydraException) and str(error).strip():
        message = str(error).strip().splitlines()[0]
    else:
        return None
    return " ".join(message.split())  # always one line
