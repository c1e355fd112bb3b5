"""Everything ``osteosim`` checks before Hydra is handed the command line.

Hydra acts as soon as it has composed: it instantiates ``hydra.callbacks``, creates the run folder,
writes ``.hydra/`` (overwriting a finished job's record on a rerun) and opens the log, all before
the job function sees the configuration. So the whole command is checked here first, with Hydra's
own parser, search path and composition, and nothing is handed on unless all of it is valid:

- the command-line syntax (one line, not argparse's usage block);
- every ``hydra.*`` key, as typed and as composed from any conf file (:mod:`osteosim.config.hydra_keys`);
- ``--config-dir`` files that the package's ``conf/`` would silently shadow;
- every job of a sweep (``-m`` with comma lists), each composed and validated as it will run;
- combinations that would run with wrong labels (a scenario's own arm and a different ``arm=``).

A refusal is a :class:`ConfigError` (or a Hydra exception) that ``osteosim.cli.run`` prints as one
line with exit status 2; at that point no file has been created, changed or removed.
"""
from __future__ import annotations

import argparse
import filecmp
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from omegaconf import OmegaConf

from osteosim.cli.composition import Composed, composed
from osteosim.config import ConfigError, hydra_keys, search_path, to_config

CONFIG_NAME = "config"
TASK_NAME = "osteosim"


class UsageError(ConfigError):
    """A malformed command line (an unknown flag, a flag without its value)."""


@dataclass
class Plan:
    """What the checks found out, for the run: the arguments to hand Hydra and the config search path."""
    argv: list[str]
    dirs: list[Path] = field(default_factory=list)
    runs: bool = True          # False for --help, --cfg, --info, ...: nothing is simulated
    composed: Composed | None = None   # a single run's composition, for Hydra to reuse (osteosim.cli.composition)


def check(argv: list[str], default_primary: Path) -> Plan:
    """Check the whole command line before Hydra acts on it; the Plan says how to hand it on."""
    args = parse(argv)
    if args.experimental_rerun is not None:
        raise ConfigError("--experimental-rerun is refused: it unpickles a file, which can run any code")
    check_commands(args)
    plan = Plan(argv=hydra_argv(args), runs=args.cfg is None and args.info is None)
    if args.help or args.hydra_help or args.shell_completion:
        plan.runs = False
        return plan
    args.config_path = os.path.abspath(args.config_path) if args.config_path is not None else None
    args.config_dir = os.path.abspath(args.config_dir) if args.config_dir is not None else None
    primary, extra = _folders(args, default_primary)
    check_not_shadowed(primary, extra)
    parsed = _check_overrides(list(args.overrides), [primary, *([extra] if extra else [])])
    with warnings.catch_warnings():  # Hydra's deprecation notes would break the one-line contract; the run shows them
        warnings.simplefilter("ignore")
        _check_jobs(_hydra(_search_path(args, primary)), args, parsed, plan)
    return plan


def parse(argv: list[str]) -> argparse.Namespace:
    """Hydra's own argument parser, but a malformed command line is one line, not a usage block."""
    from hydra._internal.utils import get_args_parser

    parser = get_args_parser()

    def error(message: str) -> None:
        raise UsageError(f"{message} (usage: osteosim [--multirun] [--config-path DIR] [--config-dir DIR] "
                         "key=value ...; osteosim --help)")

    parser.error = error  # type: ignore[method-assign]
    return parser.parse_args(argv)


def check_commands(args: argparse.Namespace) -> None:
    """Hydra's own rules for combining its flags, as one line instead of a traceback."""
    commands = [flag for flag, on in (("--run", args.run), ("--multirun", args.multirun), ("--cfg", args.cfg),
                                      ("--shell-completion", args.shell_completion), ("--info", args.info)) if on]
    if len(commands) > 1:
        raise UsageError(f"{' and '.join(commands)} cannot be combined: give one of --run, --multirun, --cfg, --info")
    if args.resolve and args.cfg is None and not args.help:
        raise UsageError("--resolve works only with --cfg or --help")


def hydra_argv(args: argparse.Namespace) -> list[str]:
    """The command line rebuilt from what was parsed, with --config-path and --config-dir made absolute
    against the current folder (Hydra would take a relative --config-path against osteosim's own code)."""
    out = []
    for flag, name in (("--help", "help"), ("--hydra-help", "hydra_help"), ("--resolve", "resolve"),
                       ("--run", "run"), ("--multirun", "multirun"), ("--shell-completion", "shell_completion")):
        if getattr(args, name):
            out.append(flag)
    for flag, name in (("--cfg", "cfg"), ("--package", "package"), ("--config-name", "config_name"),
                       ("--info", "info")):
        if getattr(args, name) is not None:
            out.append(f"{flag}={getattr(args, name)}")
    for flag, name in (("--config-path", "config_path"), ("--config-dir", "config_dir")):
        if getattr(args, name) is not None:
            out.append(f"{flag}={os.path.abspath(getattr(args, name))}")
    return out + list(args.overrides)


def _folders(args: argparse.Namespace, default_primary: Path) -> tuple[Path, Path | None]:
    """The primary config folder (--config-path, else the package's conf/) and the extra one (--config-dir)."""
    primary = Path(args.config_path) if args.config_path is not None else default_primary
    extra = Path(args.config_dir) if args.config_dir is not None else None
    for flag, folder in (("--config-path", primary), ("--config-dir", extra)):
        if folder is not None and not folder.is_dir():
            raise ConfigError(f"{flag}={folder} is not a folder")
    if args.config_path is not None and not (primary / f"{args.config_name or CONFIG_NAME}.yaml").is_file():
        raise ConfigError(f"--config-path={primary} has no {args.config_name or CONFIG_NAME}.yaml "
                          "(give a full copy of conf/: cp -r conf myconf)")
    return primary, extra


def check_not_shadowed(primary: Path, extra: Path | None) -> None:
    """Hydra searches --config-dir after the primary folder, so a changed copy of one of its files there would be
    ignored without a word: refuse it, and say how to use the copy."""
    if extra is None:
        return
    for path in sorted(extra.rglob("*.yaml")):
        twin = primary / path.relative_to(extra)
        if twin.is_file() and not filecmp.cmp(path, twin, shallow=False):
            raise ConfigError(f"--config-dir={extra}: {path.relative_to(extra)} would be ignored, because "
                              f"{twin} comes first on the search path; give the option a new name, or use "
                              "--config-path with a full copy of conf/")


def _check_overrides(overrides: list[str], folders: list[Path]):
    """Parse the overrides (Hydra's grammar) and check each as typed: a key, the hydra-key allow-list, and an
    option name (not a number or a mapping) for a config group."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(overrides)
    groups = {p.name for folder in folders for p in folder.iterdir() if p.is_dir()}
    for override in parsed:
        if not override.key_or_group:
            raise UsageError(f"{override.input_line}: an override needs a key (key=value)")
        hydra_keys.check_override(override)
        _check_boolean(override)
        if override.key_or_group in groups and not override.is_delete() and not _names_one_option(override):
            hint = " (to compare arms, give arms=[a,b])" if override.key_or_group == "arm" else ""
            raise ConfigError(f"{override.input_line}: {override.key_or_group} is a config group; give the name "
                              f"of one of its options{hint}")
    return parsed


def _check_boolean(override) -> None:
    """OmegaConf takes any integer for a boolean key (output.dashboard=2 is true): a number there is a slip."""
    from osteosim.cli.errors import schema_field

    if override.is_delete() or override.is_sweep_override() or override.key_or_group.startswith("hydra"):
        return
    _, hint = schema_field(override.key_or_group)
    value = override.value()
    if hint is bool and isinstance(value, (int, float)) and not isinstance(value, bool):
        raise ConfigError(f"{override.input_line} is not true or false")


def _names_one_option(override) -> bool:
    """A group override picks one option by name (or, in a sweep, one per job): osteosim has no group whose
    options combine, so a list would silently merge several files into one."""
    if override.is_sweep_override():
        return True
    return isinstance(override.value(), str)


def _is_hydra(override) -> bool:
    key = override.key_or_group
    return key == "hydra" or key.startswith(("hydra.", "hydra/"))


def _search_path(args: argparse.Namespace, primary: Path):
    """The config search path exactly as Hydra builds it for this command line."""
    from hydra._internal.utils import create_config_search_path
    from hydra.core.config_search_path import SearchPathQuery

    path = create_config_search_path(str(primary))
    if args.config_dir is not None:
        path.prepend(provider="command-line", path=f"file://{args.config_dir}", anchor=SearchPathQuery(provider="schema"))
    return path


def _hydra(search):
    """A Hydra instance for composing only: it is not registered globally, so the real run starts afresh."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra._internal.hydra import Hydra

    return Hydra(task_name=TASK_NAME, config_loader=ConfigLoaderImpl(config_search_path=search))


def _check_jobs(hydra, args: argparse.Namespace, parsed, plan: Plan) -> None:
    """Compose the command (and, for a sweep, each of its jobs) as Hydra will, and check each composition."""
    from hydra.types import RunMode

    config_name = args.config_name or CONFIG_NAME
    overrides = list(args.overrides)
    typed = [o.key_or_group[len("hydra."):] for o in parsed if o.key_or_group.startswith("hydra.")]
    master = None if args.multirun else _run_composition(hydra, config_name, overrides)
    if master is not None:
        plan.composed = composed(hydra, config_name, overrides, master)
    multirun = args.multirun or (master is None and hydra.get_mode(config_name=config_name, overrides=overrides)
                                 == RunMode.MULTIRUN)
    if master is None:
        master = _compose(hydra, config_name, overrides, RunMode.MULTIRUN if multirun else RunMode.RUN)
    _check_hydra_node(master, typed)
    plan.dirs = _config_dirs(master)
    if not plan.runs:
        return
    check_output_folder(master, "hydra.sweep.dir" if multirun else "hydra.run.dir")
    if not multirun:
        check_folder_free(master)
    hydra_overrides = [o.input_line for o in parsed if _is_hydra(o)]
    for job in _job_overrides(parsed, multirun):
        cfg = _compose(hydra, config_name, hydra_overrides + job, RunMode.RUN) if multirun else master
        _check_hydra_node(cfg, typed)
        check_scenario_arm(cfg, job, plan.dirs)
        with search_path(plan.dirs):   # arms=[...] resolve along the same path as the job will
            _validate(cfg, job, multirun)


def _run_composition(hydra, config_name: str, overrides: list[str]):
    """The command composed as a single run, when that is what it is: no sweep and no conf file asking for
    one (hydra.mode). Saves Hydra's separate composition to find the mode; None sends the command down that
    path (a sweep, or anything the single composition refuses: its error is then Hydra's own)."""
    from hydra.types import RunMode

    try:
        cfg = hydra.compose_config(config_name, overrides, run_mode=RunMode.RUN)
    except Exception:  # noqa: BLE001 - decided, and reported, by the full path below
        return None
    return cfg if cfg.hydra.mode in (None, RunMode.RUN) else None


def _compose(hydra, config_name: str, overrides: list[str], mode):
    """Hydra's composition; the few plain ValueErrors its defaults list raises on odd overrides become one line."""
    try:
        return hydra.compose_config(config_name, overrides, run_mode=mode)
    except ValueError as error:
        if type(error) is not ValueError:
            raise
        first = (str(error).strip().splitlines() or ["invalid"])[0]
        raise ConfigError(f"{' '.join(overrides) or 'the configuration'}: {first}") from error


def _check_hydra_node(cfg, typed: list[str]) -> None:
    """The composed hydra node may differ from Hydra's own only in allow-listed keys."""
    hydra = OmegaConf.to_container(cfg.hydra, resolve=False)
    choices = (hydra.get("runtime") or {}).get("choices") or {}
    for group, allowed in hydra_keys.GROUP_OPTIONS.items():
        if choices.get(group) not in (None, *allowed):
            raise ConfigError(f"{group}={choices[group]} is not one of {', '.join(allowed)} (a conf file chose it)")
    hydra_keys.check_composed(hydra, _reference_hydra(choices), typed)


# Hydra's own hydra node for each launcher/sweeper/logging choice: it depends on Hydra's packaged configs only,
# so one composition per choice and process serves every command (tests run hundreds in one process)
_REFERENCE_HYDRA: dict = {}


def _reference_hydra(choices: dict) -> dict:
    """The hydra node Hydra's own packages give for these launcher/sweeper/logging choices (no conf file)."""
    from hydra._internal.utils import create_config_search_path
    from hydra.types import RunMode

    picks = tuple(f"{group}={choices[group]}" for group in hydra_keys.GROUP_OPTIONS if choices.get(group))
    if picks not in _REFERENCE_HYDRA:
        cfg = _hydra(create_config_search_path(None)).compose_config(None, list(picks), run_mode=RunMode.RUN)
        _REFERENCE_HYDRA[picks] = OmegaConf.to_container(cfg.hydra, resolve=False)
    return _REFERENCE_HYDRA[picks]


def _config_dirs(cfg) -> list[Path]:
    """The file folders of the composed config's search path, in Hydra's order."""
    sources = cfg.hydra.runtime.config_sources
    return [Path(s.path) for s in sources if s.schema == "file" and s.path]


def check_output_folder(cfg, key: str) -> None:
    """Where Hydra will create the run (or sweep) folder: a file in the way, or a folder this user cannot
    write, would only fail once Hydra is under way."""
    try:
        folder = Path(str(OmegaConf.select(cfg, key)))
    except Exception:  # noqa: BLE001 - named by Hydra's runtime values: Hydra resolves it itself
        return
    existing = next((p for p in [folder, *folder.absolute().parents] if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise ConfigError(f"{key}={folder}: {existing} is a file, not a folder")
    if existing is not None and not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"{key}={folder}: {existing} is not writable")


def check_folder_free(cfg) -> None:
    """A run into a folder another osteosim run is writing now would overwrite its .hydra/ record before the job
    could notice: refuse it here (the job itself holds the lock, osteosim.results.lock)."""
    from osteosim.results.lock import FolderBusy, is_busy

    try:
        folder = Path(str(cfg.hydra.run.dir))
    except Exception:  # noqa: BLE001 - a folder named by Hydra's runtime values: the job's own lock decides
        return
    if folder.is_dir() and is_busy(folder):
        raise FolderBusy(f"{folder} is being written by another osteosim run: wait for it to finish, "
                         "or give another hydra.run.dir")


def _job_overrides(parsed, multirun: bool) -> list[list[str]]:
    """The overrides of every job: one list for a run, the cartesian product of the comma lists for a sweep."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

    task = [o for o in parsed if not _is_hydra(o)]
    if not multirun:
        return [[o.input_line for o in task]]
    for override in task:
        if override.is_sweep_override() and not override.is_discrete_sweep():
            raise ConfigError(f"{override.input_line}: a sweep lists its values (a,b,c, choice(...) or range(...)); "
                              "interval(...) needs a sweeper plugin osteosim does not use")
    return [job for batch in BasicSweeper.split_arguments(task, None) for job in batch]


def check_scenario_arm(cfg, job: list[str], dirs: list[Path]) -> None:
    """`arm=` beside `arms=[...]` (typed, or from a scenario) would be silently ignored; and a scenario that picks
    its own arm (and tunes it) mislabels the run if the command line swaps the arm underneath it."""
    keys = {o.split("=", 1)[0].lstrip("+"): o.split("=", 1)[-1] for o in job}
    typed_arm, scenario = keys.get("arm"), cfg.hydra.runtime.choices.get("scenario")
    if typed_arm is None:
        return
    if list(cfg.arms):
        source = "typed" if "arms" in keys else f"from scenario={scenario}"
        raise ConfigError(f"arm={typed_arm} has no effect beside arms=[{','.join(cfg.arms)}] ({source}): "
                          "list every arm in arms=[...] instead")
    own = _scenario_arm(scenario, dirs)
    if own is not None and own != typed_arm:
        raise ConfigError(f"arm={typed_arm} contradicts scenario={scenario}, which runs arm={own} (and tunes it); "
                          "drop arm=, or pick another scenario")


def _scenario_arm(scenario: str | None, dirs: list[Path]) -> str | None:
    """The arm a scenario file selects in its defaults list (`override /arm: X`), if any; the file is the
    first one along the search path, as Hydra picks it."""
    path = next((d / "scenario" / f"{scenario}.yaml" for d in dirs if (d / "scenario" / f"{scenario}.yaml").is_file()),
                None)
    data = OmegaConf.load(path) if path is not None else None
    defaults = data.get("defaults") if OmegaConf.is_dict(data) else None
    for entry in defaults or []:
        for key, value in (entry.items() if OmegaConf.is_dict(entry) else []):
            if str(key).replace("override", "").strip().lstrip("/") == "arm":
                return str(value)
    return None


def _validate(cfg, job: list[str], multirun: bool) -> None:
    """The job's configuration as the job itself will check it; in a sweep, the message names the job."""
    try:
        to_config(_job_part(cfg))
    except ConfigError as error:
        if not multirun:
            raise
        raise ConfigError(f"{error} (sweep job with {' '.join(job)}; no job was started)") from error


def _job_part(cfg):
    """The composed config without its hydra node, as the job function receives it."""
    from omegaconf import open_dict, read_write

    job = cfg.copy()
    with read_write(job), open_dict(job):
        del job["hydra"]
    return job
