"""The ``osteosim`` command: a Hydra app that validates, simulates and writes a run folder.

The whole command line is checked first (:mod:`osteosim.cli.preflight`), before Hydra creates,
writes or instantiates anything; only then is it handed to Hydra. Errors in what the user asked
for (config values, keys, group options, overrides, hydra keys, flags) are reported as one line,
``osteosim: config error: <key>=<value> ...``, with exit status 2, and no file is created,
changed or removed. Hydra's own error reporting is switched off (HYDRA_FULL_ERROR) so that its
exceptions reach us to be translated.
"""
from __future__ import annotations

import os
import sys
import time
from dataclasses import replace
from pathlib import Path

from osteosim.cli.errors import explain

# each engine's entry point as Numba's cache names it, and what compiling it took on a fresh install (2 cores)
ENTRY_KERNELS = {"des": "run.des_next_step", "cohort": "cohort.run_patients"}
COMPILE_SECONDS = {"des": 30, "cohort": 20}

EXIT_CONFIG_ERROR = 2
MAIN_PID_VARIABLE = "OSTEOSIM_MAIN_PID"   # the `osteosim` process a sweep's workers belong to


def _bar(total: float, unit: str, enabled: bool):
    """A tqdm progress bar (simulated days or patients) that appears only for runs longer than ~2 s."""
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, unit_scale=True, delay=2.0, disable=not enabled, file=sys.stderr,
                dynamic_ncols=True, desc="osteosim", bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} {unit} "
                "[{elapsed}<{remaining}]")


def _side_by_side(launcher_target: str) -> bool:
    """Does this launcher run jobs side by side (joblib, SLURM, Ray), sharing the cores, unlike the basic one?"""
    return launcher_target.rsplit(".", 1)[-1] != "BasicLauncher"


def _one_numba_thread_per_parallel_job(launcher_target: str) -> None:
    """Jobs that run side by side (joblib, SLURM, Ray launchers) would each start a thread per core
    and fight over the cores: give each one Numba thread (ECOSYSTEM.md), or NUMBA_NUM_THREADS if the user
    set it. The variable itself is left as it was: Numba reads it again whenever it compiles, and a value
    other than the one its thread pool started with is an error (a job that compiled, as every job of a
    first sweep on a fresh install does, failed so). The job's own worker processes take one thread each
    (engines.replications). Results do not depend on it (keyed random numbers)."""
    if not _side_by_side(launcher_target):
        return
    import numba

    numba.set_num_threads(min(int(os.environ.get("NUMBA_NUM_THREADS", 1)), numba.config.NUMBA_NUM_THREADS))


def _workers_for(config, launcher_target: str):
    """The configuration the replications run with: workers=0 (auto) is a process per core, but a job among
    others sharing the cores gets one. The provenance and the completion check keep the configuration as given."""
    return replace(config, workers=1) if config.workers == 0 and _side_by_side(launcher_target) else config


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
    from osteosim.engines.replications import WorkerLost
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
        except WorkerLost as error:     # not the input's fault (status 1), but no traceback would help either
            print(f"osteosim: error: {error}", file=sys.stderr)
            sys.exit(1)


def _run_job(cfg, folder: Path) -> None:
    """The job proper, with the folder locked."""
    from hydra.core.hydra_config import HydraConfig

    from osteosim.analysis.replications import difference_lines
    from osteosim.analysis.summary import survival_lines
    from osteosim.config import to_config
    from osteosim.economics.comparison import lines as economics_lines
    from osteosim.economics.tables import Pricer
    from osteosim.engines.replications import arm_variants, chunks, engine_for, reference_arm, work_total
    from osteosim.model import compiled_before
    from osteosim.results.integrity import completed_config_hash, seal, unseal
    from osteosim.results.provenance import config_hash, provenance
    from osteosim.results.run_folder import warmup_day, write_run

    config = to_config(cfg)
    if completed_config_hash(folder) == config_hash(config):
        print(f"osteosim: {folder} is already complete for this configuration (checksums match): skipped")
        return
    launcher = HydraConfig.get().launcher._target_
    _one_numba_thread_per_parallel_job(launcher)
    started = time.perf_counter()
    engine = engine_for(config)
    if config.output.progress and not compiled_before(ENTRY_KERNELS[engine]):
        print(f"osteosim: compiling the {engine} engine for this installation (once; about {COMPILE_SECONDS[engine]} s)",
              file=sys.stderr, flush=True)
    total, unit = work_total(config)
    unseal(folder)
    pricer = Pricer(config, {variant.arm.name: variant.arm for variant in arm_variants(config)})
    with _bar(total, unit, config.output.progress) as bar:
        summary, written = write_run(chunks(_workers_for(config, launcher), progress=bar.update), folder,
                                     provenance=provenance(config),
                                     dashboard=config.output.dashboard, reference=reference_arm(config),
                                     warmup_day=warmup_day(config), pricer=pricer,
                                     behind=engine == "cohort")
    seal(folder, written)
    print("\n".join(survival_lines(summary, config.cohort.entry == "relapse") + difference_lines(summary)
                    + economics_lines(summary["economics"])))
    print(f"results: {folder} ({time.perf_counter() - started:.1f} s)")


def main() -> None:
    """Entry point of `osteosim` and `python -m osteosim`: check the whole command line (osteosim.cli.preflight),
    and only then hand it to Hydra."""
    import hydra

    from osteosim.cli import preflight
    from osteosim.cli.composition import reused
    from osteosim.config import CONF_DIR, schema, search_path

    os.environ["HYDRA_FULL_ERROR"] = "1"
    schema.register()
    # made first: it sets Hydra's version base, which the preflight's compositions (handed on to Hydra's run,
    # osteosim.cli.composition) must use as the run's own do
    app = hydra.main(config_path=str(CONF_DIR), config_name="config", version_base="1.3")(task)
    try:
        plan = preflight.check(sys.argv[1:], CONF_DIR)
    except Exception as error:  # noqa: BLE001 - translated below, re-raised if not a user error
        _exit_or_raise(error)
    sys.argv = [sys.argv[0], *plan.argv]
    os.environ[MAIN_PID_VARIABLE] = str(os.getpid())
    with search_path(plan.dirs or [CONF_DIR]), reused(plan.composed):
        try:
            app()
        except Exception as error:  # noqa: BLE001 - translated below, re-raised if not a user error
            _exit_or_raise(error)


def entry() -> None:
    """The `osteosim` console script and `python -m osteosim`: `main`, then the process ends. Everything it
    wrote is closed by then, so the objects it leaves behind (about 250,000 after a default run) are frozen
    out of the garbage collector's reach: finalising them one by one took the interpreter 0.5 s of a 4.5 s
    run. Not in `main` itself, which tests call in-process many times."""
    import gc

    main()
    gc.freeze()


def _exit_or_raise(error: BaseException) -> None:
    """A user error becomes one line and exit status 2; anything else is a bug and keeps its traceback."""
    message = explain(error)
    if message is None:
        raise error
    _config_error_exit(message)


def _config_error_exit(message: str) -> None:
    print(f"osteosim: config error: {message}", file=sys.stderr)
    sys.exit(EXIT_CONFIG_ERROR)
