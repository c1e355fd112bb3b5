"""Each conf file's YAML is parsed once per process (osteosim.config.parsing) and each set of group choices
composed once (osteosim.config.bases): the compositions are Hydra's own, and a file whose text changes is
read again."""
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


# ------------------------------------------------------------------ each set of group choices composed once (osteosim.config.bases)
# group choices with values on top, repeated; values Hydra refuses (type, unknown key, range), group options it
# cannot find, and overrides that are not plain values (added, deleted, a sweep, a dict): each must give what
# Hydra's own composition gives, the configuration or the same error
REUSE = [["cohort=trial", "cohort.n_patients=40", "seed=3"], ["cohort=trial", "cohort.n_patients=41", "seed=3"],
         ["seed=2", "arm=mifamurtide", "cohort.metastatic_fraction=0.3"], ["arm=mifamurtide", "arms=[baseline,mapie]"],
         ["scenario=theatre_plus", "seed=4"], ["resources.chemo_bed.roster=[1,2,3,4,5,6,7]"], ["seed=1", "seed=2"],
         ["seed=abc"], ["nokey=1"], ["cohort.nokey=1"], ["cohort.metastatic_fraction=1.5"], ["arm=nonexistent"],
         ["seed=1,2"], ["+foo=1"], ["~seed"], ["cohort={n_patients: 5}"], ["cohort=trial", "cohort=relapsed"]]


def _outcome(make, overrides):
    try:
        return repr(make(overrides))
    except Exception as error:  # noqa: BLE001 - the error is what is compared
        return f"{type(error).__name__}: {error}"


def _hydra_alone(overrides):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    from osteosim.config import CONF_DIR, schema, to_config

    schema.register()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return to_config(hydra_compose(config_name="config", overrides=list(overrides)))


def test_compositions_reusing_group_choices_are_hydras_own():
    hydras = [_outcome(_hydra_alone, overrides) for overrides in REUSE]
    for overrides, expected in [*zip(REUSE, hydras), *zip(REUSE, hydras)]:   # the second pass reuses group choices
        assert _outcome(compose, overrides) == expected, overrides


def test_a_conf_file_changed_on_disk_is_composed_again(tmp_path):
    from hydra import initialize_config_dir

    from osteosim.config import CONF_DIR, bases, schema

    conf = tmp_path / "conf"
    shutil.copytree(CONF_DIR, conf)
    schema.register()
    default = compose(["cohort=trial"]).cohort.n_patients
    with initialize_config_dir(config_dir=str(conf), version_base="1.3"):
        assert bases.composed(["cohort=trial", "seed=1"], conf).cohort.n_patients == default
        text = (conf / "cohort" / "trial.yaml").read_text()
        (conf / "cohort" / "trial.yaml").write_text(text.replace("n_patients:", f"n_patients: {default + 1} #", 1))
        assert bases.composed(["cohort=trial", "seed=1"], conf).cohort.n_patients == default + 1


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

