"""What the experiment scripts (experiments/trial_power, experiments/psa) share about their options:
the one-line usage error (exit status 2, no usage block), the --out folder checked before anything is
simulated, and overrides of keys the script's design sets itself."""
from __future__ import annotations

import argparse
import os
from pathlib import Path


class UsageError(Exception):
    """A bad option of a script; reported as one line with exit status 2."""


def one_line_parser(usage: str, description: str) -> argparse.ArgumentParser:
    """An argparse parser whose errors are a UsageError naming the problem and `usage`, not a usage block."""

    class Parser(argparse.ArgumentParser):
        def error(self, message: str) -> None:
            raise UsageError(f"{message} (usage: {usage}; --help)")

    return Parser(description=description)


def check_out(out: Path) -> None:
    """--out must be a folder this user can write, or creatable as one; checked now, not after the simulation."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out={out} exists and is not a folder")
    existing = next((p for p in [out, *out.absolute().parents] if p.exists()), None)
    if existing is None or not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"--out={out} cannot be written ({existing} is not a writable folder)")


def check_own_keys(overrides: list[str], own: dict[str, str]) -> None:
    """Refuse an override of a key the script sets (`own`: key -> the option or design that sets it)."""
    for override in overrides:
        key = override.split("=", 1)[0].lstrip("+~")
        if key in own:
            raise UsageError(f"{override}: {key} is set by {own[key]}, not by an override")


def compose_or_report(script: str, overrides: list[str]):
    """The validated configuration of `overrides`, or None once a user error is printed as
    '<script>: config error: ...' (anything else is a bug and keeps its traceback)."""
    import sys

    from osteosim.cli.errors import explain
    from osteosim.config import compose

    try:
        return compose(overrides)
    except Exception as error:  # noqa: BLE001 - translated, re-raised if not a user error
        message = explain(error)
        if message is None:
            raise
        print(f"{script}: config error: {message}", file=sys.stderr)
        return None


def make_out(script: str, out: Path) -> bool:
    """Create --out (the last check, and the first write); False once the reason is printed."""
    import sys

    try:
        out.mkdir(parents=True, exist_ok=True)
        return True
    except OSError as error:
        print(f"{script}: error: --out={out} cannot be created ({error.strerror or error})", file=sys.stderr)
        return False
