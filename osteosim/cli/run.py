"""The ``osteosim`` command: a Hydra app that validates, simulates and writes a run folder.

The whole command line is checked first (:mod:`osteosim.cli.preflight`), before Hydra creates,
writes or instantiates anything; only then is it handed to Hydra. Errors in what the user asked
for (config values, keys, group options, overrides, hydra keys, flags) are reported as one line,
``osteosim: config error: <key>=<value> ...``, with exit status 2, and no file is created,
changed or removed. Hydra's own error reporting is switched off (HYDRA_FULL_ERROR) so that its
exceptions reach us to be translated.
"""
from __future__ import annotations

import difflib
import os
import re
import sys
import time
from pathlib import Path

EXIT_CONFIG_ERROR = 2
MAIN_PID_VARIABLE = "OSTEOSIM_MAIN_PID"   # the `osteosim` process a sweep's workers belong to


def _bar(total: float, unit: str, enabled: bool):
    """A tqdm progress bar (simulated days or patients) that appears only for runs longer than ~2 s."""
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, unit_scale=True, delay=2.0, disable=not enabled, file=sys.stderr,
                dynamic_ncols=True, desc="osteosim", bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} {unit} "
                "[{elapsed}<{remaining}]")


def _one_numba_thread_per_parallel_job(launcher_target: str) -> None:
    """Jobs that run side by side (joblib, SLURM, Ray launchers) would each start a thread per core
    and fight over the cores: give each one Numba thread (ECOSYSTEM.md), unless NUMBA_NUM_THREADS
    says otherwise. Numba is already imported here, so its pool size is set directly; the variable
    is for the job's own worker processes. Results do not depend on it (keyed random numbers)."""
    if launcher_target.rsplit(".", 1)[-1] == "BasicLauncher":
        return
    import numba

    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    numba.set_num_threads(min(int(os.environ["NUMBA_NUM_THREADS"]), numba.config.NUMBA_NUM_THREADS))


def _die_with_the_sweep(launcher_target: str) -> None:
    """A joblib worker runs jobs for the `osteosim -m` process that started it: if that process is killed, the
    worker must not go on simulating (and writing) unseen. Ask the kernel to kill it when its parent ends
    (Linux prctl PR_SET_PDEATHSIG); only in a worker whose parent is that osteosim process, never in the
    main process (which would then die with the user's shell)."""
    main_pid = os.environ.get(MAIN_PID_VARIABLE)
    if "Joblib" not in launcher_target or not main_pid or os.getpid() == int(main_pid):
        return
    if os.getppid() != int(main_pid) or not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != int(main_pid):  # the parent ended before the request took effect
        os._exit(1)


def _search_dirs() -> list[Path]:
    """The file folders Hydra composed this job from, in its search order (for `arms=[...]`)."""
    from hydra.core.hydra_config import HydraConfig

    sources = HydraConfig.get().runtime.config_sources
    return [Path(s.path) for s in sources if s.schema == "file" and s.path]


def task(cfg) -> None:
    """Validate the composed config, simulate, write the run folder, print the headline numbers.
    The command line was checked before Hydra started (osteosim.cli.preflight); this check is the job's own
    guard and deletes nothing. One run at a time writes into a folder (osteosim.results.lock). A folder
    already complete for the same configuration (osteosim.results.integrity) is skipped, so a rerun of an
    interrupted sweep only redoes the jobs that did not finish."""
    from hydra.core.hydra_config import HydraConfig

    from osteosim.config import ConfigError, search_path
    from osteosim.results.lock import FolderBusy, exclusive

    _die_with_the_sweep(HydraConfig.get().launcher._target_)
    folder = Path(HydraConfig.get().runtime.output_dir)
    with search_path(_search_dirs()):
        try:
            with exclusive(folder):
                _run_job(cfg, folder)
        except (ConfigError, FolderBusy) as error:
            # exit here: Hydra's job runner writes "Error executing job with overrides: ..." to stderr
            # for any Exception a job raises, which would break the one-line contract
            _config_error_exit(explain(error) or str(error))


def _run_job(cfg, folder: Path) -> None:
    """The job proper, with the folder locked."""
    from hydra.core.hydra_config import HydraConfig

    from osteosim.analysis.replications import difference_lines
    from osteosim.analysis.summary import survival_lines
    from osteosim.config import to_config
    from osteosim.engines.replications import chunks, reference_arm, work_total
    from osteosim.model import compiled_before
    from osteosim.results.integrity import completed_config_hash, seal, unseal
    from osteosim.results.provenance import config_hash, provenance
    from osteosim.results.run_folder import warmup_day, write_run

    config = to_config(cfg)
    if completed_config_hash(folder) == config_hash(config):
        print(f"osteosim: {folder} is already complete for this configuration (checksums match): skipped")
        return
    _one_numba_thread_per_parallel_job(HydraConfig.get().launcher._target_)
    started = time.perf_counter()
    if config.output.progress and not compiled_before():
        print("osteosim: compiling the model for this installation (once; about 20 s)", file=sys.stderr, flush=True)
    total, unit = work_total(config)
    unseal(folder)
    with _bar(total, unit, config.output.progress) as bar:
        summary, written = write_run(chunks(config, progress=bar.update), folder, provenance=provenance(config),
                                     dashboard=config.output.dashboard, reference=reference_arm(config),
                                     warmup_day=warmup_day(config))
    seal(folder, written)
    print("\n".join(survival_lines(summary) + difference_lines(summary)))
    print(f"results: {folder} ({time.perf_counter() - started:.1f} s)")


# ------------------------------------------------------------------ error translation
def _schema_field(full_key: str):
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


def _field_type(full_key: str) -> str:
    """What a key accepts, in words: 'a number in [0, 1]', 'true or false', 'one of AP, A, M, IE', ..."""
    import dataclasses
    import typing

    from osteosim.config.validate import range_text

    field, hint = _schema_field(full_key)
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


def _suggest(prefix: str, key: str, valid: list[str]) -> str:
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
        message = f"{shown}: no such key{within} ({_suggest(prefix, key, valid)})"
    elif isinstance(cause, ValidationError) and getattr(cause, "full_key", None):
        message = f"{cause.full_key}={cause.value!r} is not {_field_type(cause.full_key)}"
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


def main() -> None:
    """Entry point of `osteosim` and `python -m osteosim`: check the whole command line (osteosim.cli.preflight),
    and only then hand it to Hydra."""
    import hydra

    from osteosim.cli import preflight
    from osteosim.config import CONF_DIR, schema, search_path

    os.environ["HYDRA_FULL_ERROR"] = "1"
    schema.register()
    try:
        plan = preflight.check(sys.argv[1:], CONF_DIR)
    except Exception as error:  # noqa: BLE001 - translated below, re-raised if not a user error
        _exit_or_raise(error)
    sys.argv = [sys.argv[0], *plan.argv]
    os.environ[MAIN_PID_VARIABLE] = str(os.getpid())
    app = hydra.main(config_path=str(CONF_DIR), config_name="config", version_base="1.3")(task)
    with search_path(plan.dirs or [CONF_DIR]):
        try:
            app()
        except Exception as error:  # noqa: BLE001 - translated below, re-raised if not a user error
            _exit_or_raise(error)


def _exit_or_raise(error: BaseException) -> None:
    """A user error becomes one line and exit status 2; anything else is a bug and keeps its traceback."""
    message = explain(error)
    if message is None:
        raise error
    _config_error_exit(message)


def _config_error_exit(message: str) -> None:
    print(f"osteosim: config error: {message}", file=sys.stderr)
    sys.exit(EXIT_CONFIG_ERROR)
