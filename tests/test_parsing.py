"""Each conf file's YAML is parsed once per process (osteosim.config.parsing): the compositions are
the same as without the cache, and a file whose text changes is parsed again."""
import shutil

from omegaconf import OmegaConf

from osteosim.config import compose, parsing

OVERRIDES = [[], ["scenario=early_palliative"], ["cohort=trial", "arm=mifamurtide", "economics=us"]]


def test_compositions_with_the_cache_equal_those_without(monkeypatch):
    cached = [repr(compose(o)) for o in OVERRIDES]
    monkeypatch.setattr(OmegaConf, "load", staticmethod(parsing._original))
    assert [repr(compose(o)) for o in OVERRIDES] == cached


def test_a_changed_file_is_parsed_again(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("a: 1\nb: [1, 2]\n")
    first = parsing.load(path)
    first.b.append(3)                      # a loaded config is the caller's own: changing it changes no cache
    assert OmegaConf.to_container(parsing.load(path)) == {"a": 1, "b": [1, 2]}
    path.write_text("a: 2\n")
    assert OmegaConf.to_container(parsing.load(path)) == {"a": 2}


# ------------------------------------------------------------------ one composition per command (osteosim.cli.composition)
COMMANDS = [["cohort=trial", "cohort.n_patients=30"], ["scenario=early_palliative", "seed=3", "hydra.job.name=x"]]


def _received(run_in_process, monkeypatch, folder, args) -> tuple[dict, int]:
    """The configuration the job receives from `osteosim <args>` (it simulates nothing), and how many
    compositions Hydra's config loader made for the command."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra.core.hydra_config import HydraConfig

    from osteosim.cli import run as cli

    seen, made = [], []

    def task(cfg) -> None:      # the job's config and Hydra's own node, as the job sees them
        seen.append({"job": OmegaConf.to_container(cfg, resolve=False),
                     "hydra": OmegaConf.to_container(HydraConfig.get(), resolve=False)})

    monkeypatch.setattr(cli, "task", task)
    impl = ConfigLoaderImpl._load_configuration_impl
    monkeypatch.setattr(ConfigLoaderImpl, "_load_configuration_impl",
                        lambda self, *a, **k: made.append(1) or impl(self, *a, **k))
    code, _, err = run_in_process([*args, f"hydra.run.dir={folder}"])
    assert code == 0 and len(seen) == 1, err
    shutil.rmtree(folder)                                    # the next command runs into the same folder
    return seen[0], len(made)


def test_hydra_reuses_the_preflights_composition_and_the_job_receives_the_same(run_in_process, monkeypatch, tmp_path):
    from contextlib import nullcontext

    from osteosim.cli import composition

    _received(run_in_process, monkeypatch, tmp_path / "warm", COMMANDS[0])  # Hydra's reference node, once a process
    for i, args in enumerate(COMMANDS):
        reused, made = _received(run_in_process, monkeypatch, tmp_path / f"a{i}", args)
        with monkeypatch.context() as m:
            m.setattr(composition, "reused", lambda done: nullcontext())
            own, made_by_hydra = _received(run_in_process, monkeypatch, tmp_path / f"a{i}", args)
        assert reused == own
        assert made_by_hydra == made + 2        # Hydra's mode and run compositions are the ones saved


def test_a_fresh_process_composes_with_the_runs_version_base(tmp_path):
    """In a new process the preflight composes before anything else has told Hydra its version base: it must be
    the run's (1.3), since the run receives the preflight's composition (an earlier order gave '1.1')."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "osteosim", "--cfg", "hydra", f"hydra.run.dir={tmp_path / 'run'}"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "version_base: '1.3'" in done.stdout

