"""Bad input to any of the three commands: one line, exit status 2, no traceback, nothing touched.

`osteosim`, `osteosim-report` and `experiments/trial_power/trial_power.py` share one contract for
input they cannot run with (README "Bad input"): exactly one line on stderr naming the key, option
or file; exit status 2; no traceback; and the folder they ran in is unchanged, byte for byte (a
snapshot of the tree before and after). The table below is the adversarial suite of issue 15:
ranges and infinities, contradictory combinations, hydra keys that could run code, broken result
files, bad options. It runs in-process (the commands' `main` with captured streams) to stay fast.

The security cases of issue 15 follow as their own tests: user files survive a config error,
script injection into the dashboard, hydra callbacks and env_set from a command line or a shared
scenario file, provenance's git environment, stale result files, two runs into one folder, and a
killed sweep's joblib workers.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import html.parser
import importlib.util
import io
import json
import logging
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import typing
from pathlib import Path
from typing import Callable

import pytest

from osteosim.cli import report
from osteosim.cli import run as cli
from osteosim.config import CONF_PATH_VARIABLE, schema
from osteosim.results.integrity import CHECKSUMS, is_complete, seal, sealed_names

ROOT = Path(__file__).resolve().parents[1]
TRIAL_POWER = ROOT / "experiments" / "trial_power" / "trial_power.py"
QUIET = ["output.progress=false"]
TINY = ["cohort=trial", "cohort.n_patients=40", *QUIET]


# ------------------------------------------------------------------ running the commands in-process
@contextlib.contextmanager
def process_state():
    """What a command changes in this process (argv, environment, logging, cwd), put back afterwards."""
    root = logging.getLogger()
    handlers, level, argv, cwd = root.handlers[:], root.level, sys.argv[:], os.getcwd()
    names = ("HYDRA_FULL_ERROR", cli.MAIN_PID_VARIABLE, CONF_PATH_VARIABLE)
    env = {name: os.environ.get(name) for name in names}
    try:
        yield
    finally:
        for handler in root.handlers:
            if handler not in handlers:
                handler.close()
        root.handlers[:], root.level, sys.argv[:] = handlers, level, argv
        os.chdir(cwd)
        for name, value in env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _trial_power_main() -> Callable:
    spec = importlib.util.spec_from_file_location("trial_power", TRIAL_POWER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def call(command: str, args: list[str], cwd: Path) -> tuple[int, str, str]:
    """Run `command` with `args` in `cwd` as its console script would; (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with process_state(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        os.chdir(cwd)
        try:
            if command == "osteosim":
                sys.argv = ["osteosim", *args]
                cli.main()
                code = 0
            elif command == "report":
                report.main(args)
                code = 0
            else:
                code = _trial_power_main()(args)
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    return code, out.getvalue(), err.getvalue()


def snapshot(root: Path) -> dict[str, tuple]:
    """Every path under `root` with its type, size, modification time and content hash."""
    state = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() and not path.is_symlink() else ""
        state[str(path.relative_to(root))] = (path.is_dir(), info.st_size, info.st_mtime_ns, digest)
    return state


def assert_refused(code: int, out: str, err: str, fragment: str, before: dict, after: dict) -> None:
    lines = err.strip().splitlines()
    assert code == 2, f"exit status {code}\nstdout:\n{out[-2000:]}\nstderr:\n{err[-2000:]}"
    assert len(lines) == 1, f"stderr must be exactly one line, got {len(lines)}:\n{err[-3000:]}"
    assert "Traceback" not in out + err
    assert fragment in lines[0], f"{fragment!r} missing from: {lines[0]}"
    changed = sorted(set(before) ^ set(after) | {k for k in before.keys() & after.keys() if before[k] != after[k]})
    assert not changed, f"the folder changed: {changed}"


# ------------------------------------------------------------------ folders the cases start from
@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    """A complete single run (with dashboard) and a complete two-job sweep, made once for the module."""
    home = tmp_path_factory.mktemp("built")
    code, _, err = call("osteosim", [*TINY, f"hydra.run.dir={home / 'run'}"], home)
    assert code == 0, err
    code, _, err = call("osteosim", ["-m", *TINY, "output.dashboard=false", "seed=0,1",
                                     f"hydra.sweep.dir={home / 'sweep'}"], home)
    assert code == 0, err
    assert is_complete(home / "run") and is_complete(home / "sweep" / "0") and is_complete(home / "sweep" / "1")
    return {"run": home / "run", "sweep": home / "sweep"}


def copy_run(here: Path, built: dict) -> Path:
    shutil.copytree(built["run"], here / "run")
    return here / "run"


def copy_sweep(here: Path, built: dict) -> Path:
    shutil.copytree(built["sweep"], here / "sweep")
    return here / "sweep"


def write(path: Path, content: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode())


def reseal(folder: Path) -> None:
    """Seal a folder again after a change, as if the change were the run's own (a 'complete' broken job)."""
    seal(folder, sealed_names(folder))


def run_with(name: str, content: str | bytes) -> Callable:
    def setup(here: Path, built: dict) -> None:
        write(copy_run(here, built) / name, content)
    return setup


def sweep_job_with(name: str, content: str | bytes, sealed: bool = True) -> Callable:
    def setup(here: Path, built: dict) -> None:
        job = copy_sweep(here, built) / "0"
        write(job / name, content)
        if sealed:
            reseal(job)
    return setup


def truncated_run_file(name: str, keep: int) -> Callable:
    def setup(here: Path, built: dict) -> None:
        folder = copy_run(here, built)
        write(folder / name, (folder / name).read_bytes()[:keep])
    return setup


def conf_copy_with(name: str, content: str) -> Callable:
    def setup(here: Path, built: dict) -> None:
        shutil.copytree(ROOT / "conf", here / "myconf")
        write(here / "myconf" / name, content)
    return setup


def extra_dir_with(name: str, content: str) -> Callable:
    def setup(here: Path, built: dict) -> None:
        write(here / "extra" / name, content)
    return setup


def user_files(here: Path, built: dict) -> None:
    """A folder of the user's, named as a run folder: their notes and a .hydra/ of their own."""
    write(here / "mydir" / "notes.log", "my notes\n")
    write(here / "mydir" / ".hydra" / "config.yaml", "mine: true\n")
    write(here / "victim.txt", "precious\n")


def several(*setups: Callable) -> Callable:
    def setup(here: Path, built: dict) -> None:
        for each in setups:
            each(here, built)
    return setup


EVIL_SCENARIO = "# @package _global_\nscenario:\n  name: evil\nhydra:\n  job:\n    env_set:\n      GIT_DIR: /tmp\n"
CALLBACK_SCENARIO = ("# @package _global_\nhydra:\n  callbacks:\n    x:\n      _target_: builtins.open\n"
                     "      file: victim.txt\n      mode: w\n")


@dataclasses.dataclass
class Case:
    id: str
    command: str                      # osteosim | report | trial_power
    args: list[str]                   # "{here}" is the case's own folder
    fragment: str                     # what the one line must name
    setup: Callable | None = None


def O(case_id: str, args: list[str], fragment: str, setup: Callable | None = None) -> Case:
    return Case(case_id, "osteosim", args, fragment, setup)


def R(case_id: str, args: list[str], fragment: str, setup: Callable | None = None) -> Case:
    return Case(case_id, "report", args, fragment, setup)


def T(case_id: str, args: list[str], fragment: str, setup: Callable | None = None) -> Case:
    return Case(case_id, "trial_power", args, fragment, setup)


CASES = [
    # --- osteosim: values the schema types accept but the model cannot run with
    O("inf-probability", ["cohort.metastatic_fraction=inf"], "cohort.metastatic_fraction=inf"),
    O("inf-age-sd", ["cohort.age_sd=inf"], "cohort.age_sd=inf"),
    O("nan-age-sd", ["cohort.age_sd=nan"], "cohort.age_sd=nan"),
    O("inf-lung-nodules", ["cohort.lung_nodules_mean=inf"], "cohort.lung_nodules_mean=inf"),
    O("inf-accrual-rate", ["cohort=trial", "cohort.accrual_per_year=inf"], "cohort.accrual_per_year=inf"),
    O("too-many-followup-bands", ["treatment.followup_schedule=[{until_year:1,interval_days:30},{until_year:2,interval_days:30},{until_year:3,interval_days:30},{until_year:4,interval_days:30},{until_year:5,interval_days:30},{until_year:6,interval_days:30},{until_year:7,interval_days:30},{until_year:8,interval_days:30},{until_year:9,interval_days:30},{until_year:10,interval_days:30},{until_year:11,interval_days:30},{until_year:12,interval_days:30},{until_year:13,interval_days:30},{until_year:14,interval_days:30},{until_year:15,interval_days:30},{until_year:16,interval_days:30},{until_year:17,interval_days:30}]"], "treatment.followup_schedule"),
    O("huge-n-patients", ["cohort=trial", "cohort.n_patients=1000000000000"], "cohort.n_patients=1000000000000"),
    O("huge-n-patients-float", ["cohort=trial", "cohort.n_patients=1e12"], "cohort.n_patients="),
    O("negative-n-patients", ["cohort=trial", "cohort.n_patients=-5"], "cohort.n_patients=-5"),
    O("inf-background", ["resources.chemo_bed.background_per_week=inf", "cohort.accrual_years=1",
                         "cohort.followup_years=0"], "resources.chemo_bed.background_per_week=inf"),
    O("huge-background", ["resources.imaging.background_per_week=1e9"], "resources.imaging.background_per_week"),
    O("zero-background-service", ["resources.imaging.background_service_days=0"],
      "resources.imaging.background_service_days=0"),
    O("tiny-catchment", ["cohort.catchment_population_millions=1e-300"], "cohort.catchment_population_millions=1e-300"),
    O("zero-incidence", ["cohort.incidence_per_million_per_year=0"], "cohort.incidence_per_million_per_year=0"),
    O("warmup-longer-than-run", ["cohort.warmup_years=20"], "cohort.warmup_years=20"),
    O("follow-up-150-years", ["cohort.followup_years=150"], "cohort.followup_years=150"),
    O("accrual-150-years", ["cohort.accrual_years=150"], "cohort.accrual_years=150"),
    O("too-many-des-patients", ["cohort.catchment_population_millions=9000", "replications=50"], "patients"),
    O("nan-doubling", ["disease.doubling_days_median=nan"], "disease.doubling_days_median=nan"),
    O("minus-inf-sd", ["disease.micro_log10_sd=-inf"], "disease.micro_log10_sd=-inf"),
    O("huge-age-mean", ["cohort.age_mean=1e400"], "cohort.age_mean=inf"),
    O("weibull-shape-10", ["disease.relapse_pfs_weibull_shape=10"], "disease.relapse_pfs_weibull_shape=10"),
    # metastatic and relapsed structure (issue 11)
    O("lethal-below-symptoms", ["disease.lethal_log10=9"], "disease.lethal_log10=9"),
    O("resistance-positive", ["disease.resistance_log10_rate=0.5"], "disease.resistance_log10_rate=0.5"),
    O("nodule-power-negative", ["disease.micro_log10_per_log10_nodule=-1"], "disease.micro_log10_per_log10_nodule=-1"),
    O("bilateral-factor-2", ["disease.csr_bilateral_factor=2"], "disease.csr_bilateral_factor=2"),
    O("complete-response-2", ["arm.relapse_complete_response=2"], "arm.relapse_complete_response=2"),
    O("further-line-nan", ["disease.further_line_probability=nan"], "disease.further_line_probability=nan"),
    O("entry-unknown", ["cohort.entry=remission"], "cohort.entry"),
    O("gompertz-positive", ["disease.other_death_gompertz_log_a=1"], "disease.other_death_gompertz_log_a=1"),
    O("csr-above-1", ["disease.csr_probability.lung=1.5"], "disease.csr_probability.lung=1.5"),
    O("kill-weight-11", ["treatment.course_kill_weight.AP=11"], "treatment.course_kill_weight.AP=11"),
    O("negative-stay", ["treatment.length_of_stay_days.M=-1"], "treatment.length_of_stay_days.M=-1"),
    # cumulative doses and late effects (issue 12): every new key, out of range or inconsistent
    O("dox-dose-negative", ["treatment.course_doses.doxorubicin_mg_m2.AP=-75"],
      "treatment.course_doses.doxorubicin_mg_m2.AP=-75"),
    O("cis-dose-inf", ["treatment.course_doses.cisplatin_mg_m2.AP=inf"], "treatment.course_doses.cisplatin_mg_m2.AP=inf"),
    O("mtx-dose-in-mg", ["treatment.course_doses.methotrexate_g_m2.M=12000"],
      "treatment.course_doses.methotrexate_g_m2.M=12000"),
    O("ifo-dose-nan", ["treatment.course_doses.ifosfamide_g_m2.IE=nan"], "treatment.course_doses.ifosfamide_g_m2.IE=nan"),
    O("dose-missing-drug", ["~treatment.course_doses.doxorubicin_mg_m2.A"],
      "treatment.course_doses.doxorubicin_mg_m2 is missing A"),
    O("dose-misspelt-drug", ["treatment.course_doses.ifosfamide_g_m2.IE=9", "+treatment.course_doses.doxorubicn=1"],
      "doxorubicn"),
    O("hf-incidence-1", ["late_effects.heart_failure_incidence=1"], "late_effects.heart_failure_incidence=1"),
    O("hf-years-0", ["late_effects.heart_failure_years=0"], "late_effects.heart_failure_years=0"),
    O("hf-reference-negative", ["late_effects.heart_failure_reference_mg_m2=-450"],
      "late_effects.heart_failure_reference_mg_m2=-450"),
    O("hf-hr-inf", ["late_effects.heart_failure_hr_per_10_mg_m2=inf"], "late_effects.heart_failure_hr_per_10_mg_m2=inf"),
    O("hl-severe-above-1", ["late_effects.hearing_loss_severe=1.5"], "late_effects.hearing_loss_severe=1.5"),
    O("hl-reference-0", ["late_effects.hearing_loss_reference_mg_m2=0"], "late_effects.hearing_loss_reference_mg_m2=0"),
    O("hl-threshold-nan", ["late_effects.hearing_loss_threshold_mg_m2=nan"],
      "late_effects.hearing_loss_threshold_mg_m2=nan"),
    O("hl-threshold-above-reference", ["late_effects.hearing_loss_threshold_mg_m2=500"],
      "late_effects.hearing_loss_reference_mg_m2=480"),
    O("hl-young-years-200", ["late_effects.hearing_loss_young_years=200"], "late_effects.hearing_loss_young_years=200"),
    O("hl-young-rr-0", ["late_effects.hearing_loss_young_risk_ratio=0"], "late_effects.hearing_loss_young_risk_ratio=0"),
    O("kidney-above-1", ["late_effects.kidney_damage=2"], "late_effects.kidney_damage=2"),
    O("kidney-reference-0", ["late_effects.kidney_reference_g_m2=0"], "late_effects.kidney_reference_g_m2=0"),
    O("prosthesis-failure-1", ["late_effects.prosthesis_failure=1"], "late_effects.prosthesis_failure=1"),
    O("prosthesis-years-inf", ["late_effects.prosthesis_failure_years=inf"], "late_effects.prosthesis_failure_years=inf"),
    O("prosthesis-median-0", ["late_effects.prosthesis_median_years=0"], "late_effects.prosthesis_median_years=0"),
    O("prosthesis-median-before-years", ["late_effects.prosthesis_median_years=5"],
      "late_effects.prosthesis_median_years=5"),
    O("late-effects-misspelt", ["late_effects.heart_failure_incidance=0.05"], "late_effects.heart_failure_incidance"),
    O("late-effects-no-option", ["late_effects=none"], "late_effects=none"),
    # --- osteosim: supportive care (conf/supportive/, osteosim.config.validate.check_supportive)
    O("palliative-policy-unknown", ["supportive.palliative.policy=sometimes"],
      "supportive.palliative.policy='sometimes' is not one of late, early"),
    O("palliative-referral-above-1", ["supportive.palliative.referral_probability.early=1.5"],
      "supportive.palliative.referral_probability.early=1.5"),
    O("palliative-referral-policy-missing", ["~supportive.palliative.referral_probability.late"],
      "supportive.palliative.referral_probability has policies early; it must list exactly late, early"),
    O("palliative-contact-interval-0", ["supportive.palliative.contact_interval_days=0"],
      "supportive.palliative.contact_interval_days=0"),
    O("palliative-contact-days-inf", ["supportive.palliative.contact_days=inf"], "supportive.palliative.contact_days=inf"),
    O("palliative-contacts-negative", ["supportive.palliative.contacts_max=-1"], "supportive.palliative.contacts_max=-1"),
    O("eol-admission-above-1", ["supportive.palliative.end_of_life_admission=2"],
      "supportive.palliative.end_of_life_admission=2"),
    O("eol-admission-rr-0", ["supportive.palliative.end_of_life_admission_rr_specialist=0"],
      "supportive.palliative.end_of_life_admission_rr_specialist=0"),
    O("eol-admission-days-nan", ["supportive.palliative.end_of_life_admission_days=nan"],
      "supportive.palliative.end_of_life_admission_days=nan"),
    O("place-of-death-sum", ["supportive.palliative.place_of_death.home=0.5"],
      "supportive.palliative.place_of_death={home: 0.5, hospice: 0.13, hospital: 0.45} sums to 1.08"),
    O("place-of-death-unknown-place", ["+supportive.palliative.place_of_death.street=0"],
      "supportive.palliative.place_of_death has places home, hospice, hospital, street"),
    O("hospital-death-or-0", ["supportive.palliative.hospital_death_or_specialist=0"],
      "supportive.palliative.hospital_death_or_specialist=0"),
    O("home-share-above-1", ["supportive.palliative.home_share_outside_hospital_specialist=1.2"],
      "supportive.palliative.home_share_outside_hospital_specialist=1.2"),
    O("family-tiers-sum", ["supportive.family_tiers.clinical=0.5"],
      "supportive.family_tiers={universal: 0.55, targeted: 0.34, clinical: 0.5} sums to 1.39"),
    O("family-tiers-unknown", ["+supportive.family_tiers.severe=0"],
      "supportive.family_tiers has tiers universal, targeted, clinical, severe"),
    O("family-tier-negative", ["supportive.family_tiers.universal=-0.1"], "supportive.family_tiers.universal=-0.1"),
    O("supportive-visit-phase", ["supportive.visits.0.phase=lunch"],
      "supportive.visits[0].phase='lunch' is not one of palliative"),
    O("supportive-visit-resource", ["supportive.visits.0.resource=canteen"],
      "supportive.visits[0].resource='canteen' is not one of day_case"),
    O("supportive-visit-tier", ["supportive.visits.1.tier=severe"],
      "supportive.visits[1].tier='severe' is not one of all, universal, targeted, clinical"),
    O("supportive-visit-exposure", ["supportive.visits.9.exposure=radiation"],
      "supportive.visits[9].exposure='radiation' is not one of , doxorubicin, cisplatin"),
    O("supportive-visit-count-0", ["supportive.visits.0.count=0"], "supportive.visits[0].count=0"),
    O("supportive-visit-interval-0", ["supportive.visits.0.interval_days=0"], "supportive.visits[0].interval_days=0"),
    O("supportive-visit-start-negative", ["supportive.visits.0.start_after_days=-1"],
      "supportive.visits[0].start_after_days=-1"),
    O("supportive-visit-days-inf", ["supportive.visits.0.days=inf"], "supportive.visits[0].days=inf"),
    O("revision-surgery-not-bool", ["supportive.revision_surgery=maybe"], "supportive.revision_surgery"),
    O("arm-palliative-policy", ["arm.palliative_policy=never"], "arm.palliative_policy='never' is not one of , late, early"),
    O("arm-heart-failure-hr-0", ["arm.heart_failure_hr=0"], "arm.heart_failure_hr=0"),
    O("arm-roster-unknown-resource", ["+arm.rosters.canteen=[1,1,1,1,1,0,0]"], "arm.rosters.canteen is not a resource"),
    O("arm-roster-length", ["+arm.rosters.psychology=[1,1]"], "arm.rosters.psychology=[1, 1] must list 7 values"),
    O("arm-roster-negative", ["+arm.rosters.echo=[1,1,1,1,-1,0,0]"], "arm.rosters.echo[4]=-1"),
    O("supportive-misspelt", ["supportive.palliative.polcy=early"], "supportive.palliative.polcy"),
    O("supportive-no-option", ["supportive=none"], "supportive=none"),
    # --- osteosim: economics (conf/economics/, osteosim.config.validate.check_economics)
    O("cost-negative", ["economics.costs.metastasectomy.amount=-1"], "economics.costs.metastasectomy.amount=-1"),
    O("utility-above-1", ["economics.utilities.survivor=1.2"], "economics.utilities.survivor=1.2"),
    O("psa-unknown-distribution", ["economics.psa.0.dist=weibull"], "economics.psa[0].dist='weibull'"),
    O("end-of-life-shares-not-1", ["economics.end_of_life.place_of_death.home=0.5"],
      "economics.end_of_life.place_of_death"),
    O("psa-unknown-key", ["economics.psa.0.key=economics.utilities.nope"], "economics.utilities.nope"),
    O("psa-beta-negative", ["economics.psa.0.params.alpha=-1"], "economics.psa[0].params.alpha=-1"),
    O("cost-other-currency", ["economics.costs.ct_chest.currency=USD"], "economics.costs.ct_chest.currency=USD"),
    O("discount-above-1", ["economics.discount_costs=3.5"], "economics.discount_costs=3.5"),
    O("economics-no-option", ["economics=uk"], "economics=uk"),
    O("rt-no-fractions", ["treatment.rt_fractions=0"], "treatment.rt_fractions=0"),
    O("rt-8-days-a-week", ["treatment.rt_fractions_per_week=8"], "treatment.rt_fractions_per_week=8"),
    O("course-week-0", ["treatment.neoadjuvant.0.week=0"], "treatment.neoadjuvant[0].week=0"),
    O("surgery-before-chemo", ["treatment.surgery_week=5"], "treatment.surgery_week=5"),
    O("no-followup-bands", ["treatment.followup_schedule=[]"], "treatment.followup_schedule"),
    O("symptoms-before-detection", ["disease.symptom_log10=8"], "disease.symptom_log10=8"),
    O("age-min-above-max", ["cohort.age_min=50"], "cohort.age_min=50"),
    O("met-shares-above-1", ["cohort.lung_only_share_of_metastatic=0.95"], "cohort.lung_only_share_of_metastatic"),
    O("relapse-sites-not-1", ["disease.relapse_site_probabilities.lung=0.9"], "disease.relapse_site_probabilities"),
    O("roster-8-days", ["resources.imaging.roster=[1,1,1,1,1,1,1,1]"], "resources.imaging.roster"),
    O("roster-huge", ["resources.imaging.roster=[1001,0,0,0,0,0,0]"], "resources.imaging.roster[0]=1001"),
    O("visit-count-0", ["arm=mifamurtide", "arm.visits.0.count=0"], "arm.visits[0].count=0"),
    O("imaging-mri", ["arm.surveillance_imaging=mri"], "arm.surveillance_imaging"),
    O("mode-registry", ["cohort.mode=registry"], "cohort.mode"),
    O("engine-gpu", ["engine=gpu"], "engine"),
    O("cohort-engine-constrained", ["engine=cohort"], "engine=cohort"),
    O("workers-negative", ["workers=-1"], "workers=-1"),
    O("workers-1000", ["workers=1000"], "workers=1000"),
    O("replications-million", ["replications=1000000"], "replications=1000000"),
    O("chunk-10", ["cohort=trial", "output.chunk_patients=10"], "output.chunk_patients=10"),
    O("seed-2-63", ["seed=9223372036854775808"], "seed=9223372036854775808"),
    O("seed-text", ["seed=abc"], "seed='abc'"),
    O("seed-env-interpolation", ["seed=${oc.env:HOME}"], "seed="),
    O("seed-missing-interpolation", ["seed=${nope}"], "seed"),
    O("replications-fraction", ["replications=1.5"], "replications=1.5"),
    O("paired-maybe", ["paired=maybe"], "paired"),
    O("events-perhaps", ["output.events=perhaps"], "output.events"),
    O("scenario-name-list", ["scenario.name=[1,2]"], "scenario.name"),
    O("unknown-top-key", ["+foo=1"], "foo"),
    # --- osteosim: contradictory combinations and arms
    O("scenario-arm-swapped", ["scenario=optimistic_checkpoint", "arm=baseline"], "arm=baseline"),
    O("arm-beside-scenario-arms", ["scenario=xray_surveillance", "arm=baseline"], "arm=baseline"),
    O("arm-beside-arms", ["arms=[baseline,mifamurtide]", "arm=mapie"], "arm=mapie"),
    O("arm-list", ["arm=[baseline,mapie]"], "arm=[baseline,mapie]"),
    O("arms-twice", ["arms=[baseline,baseline]"], "arms="),
    O("arms-unknown", ["arms=[baseline,nope]"], "nope"),
    O("arms-path", ["arms=[baseline,../arm/mapie]"], "../arm/mapie"),
    O("group-number", ["cohort=5"], "cohort=5"),
    O("group-unknown", ["disease=fitted"], "disease=fitted"),
    # --- osteosim: command-line syntax
    O("no-equals", ["cohort.metastatic_fraction"], "cohort.metastatic_fraction"),
    O("no-key", ["=5"], "=5"),
    O("comma-list-without-m", ["seed=0,1"], "seed=0,1"),
    O("unknown-flag", ["--bogus"], "--bogus"),
    O("cfg-choice", ["--cfg", "everything"], "--cfg"),
    O("cfg-and-m", ["--cfg", "job", "-m"], "--cfg"),
    O("resolve-alone", ["--resolve"], "--resolve"),
    O("rerun-pickle", ["--experimental-rerun", "job.pickle"], "--experimental-rerun"),
    O("config-path-missing", ["--config-path", "nowhere"], "--config-path"),
    O("config-path-no-config", ["--config-path", "{here}"], "config.yaml"),
    O("config-dir-missing", ["--config-dir", "nowhere"], "--config-dir"),
    O("config-name-missing", ["--config-name", "nope"], "nope"),
    # --- osteosim: sweeps are checked whole, before any job starts
    O("sweep-second-job-bad", ["-m", *TINY, "cohort.metastatic_fraction=0.2,1.5"], "cohort.metastatic_fraction=1.5"),
    O("sweep-bad-everywhere", ["-m", "seed=0,1", "replications=0"], "replications=0"),
    O("sweep-unknown-scenario", ["-m", "scenario=default,nope"], "scenario=nope"),
    O("sweep-interval", ["-m", "seed=interval(0,1)"], "seed=interval(0,1)"),
    O("sweep-same-subdir", ["-m", "seed=0,1", "hydra.sweep.subdir=same"], "hydra.sweep.subdir"),
    O("sweep-rerun-typo", ["-m", *TINY, "output.dashboard=false", "seed=0,1", "cohort.metastatic_fractoin=0.2",
                           "hydra.sweep.dir={here}/sweep"], "cohort.metastatic_fractoin", copy_sweep),
    # --- osteosim: the user's files survive a config error
    O("notes-log-survives", ["cohort.metastatic_fraction=1.5", "hydra.run.dir={here}/mydir"],
      "cohort.metastatic_fraction=1.5", user_files),
    O("empty-run-dir", ["cohort.metastatic_fraction=0.2", "hydra.run.dir="], "hydra.run.dir", user_files),
    O("empty-run-dir-and-typo", ["cohort.metastatic_fraction=1.5", "hydra.run.dir="], "", user_files),
    O("empty-sweep-dir", ["-m", "seed=0,1", "hydra.sweep.dir="], "hydra.sweep.dir", user_files),
    O("run-dir-is-a-file", ["hydra.run.dir={here}/victim.txt"], "victim.txt", user_files),
    O("sweep-dir-under-a-file", ["-m", "seed=0,1", "hydra.sweep.dir={here}/victim.txt/sweep"], "victim.txt", user_files),
    O("boolean-given-a-number", ["output.dashboard=2"], "output.dashboard=2"),
    # --- osteosim: hydra keys that could run code, from the command line or a conf file
    O("callbacks-truncate", ["+hydra.callbacks.x._target_=builtins.open", "+hydra.callbacks.x.file=victim.txt",
                             "+hydra.callbacks.x.mode=w"], "hydra.callbacks", user_files),
    O("env-set-git", ["+hydra.job.env_set.GIT_DIR=/tmp"], "hydra.job.env_set"),
    O("env-copy", ["hydra.job.env_copy=[HOME]"], "hydra.job.env_copy"),
    O("job-logging-key", ["hydra.job_logging.root.level=DEBUG"], "hydra.job_logging"),
    O("job-logging-option", ["hydra/job_logging=evil"], "hydra/job_logging=evil"),
    O("launcher-option", ["hydra/launcher=evil"], "hydra/launcher=evil"),
    O("help-group", ["hydra/help=other"], "hydra/help"),
    O("searchpath", ["hydra.searchpath=[pkg://os]"], "hydra.searchpath"),
    O("output-subdir", ["hydra.output_subdir=../elsewhere"], "hydra.output_subdir"),
    O("launcher-target", ["hydra.launcher._target_=os.system"], "hydra.launcher._target_"),
    O("launcher-setup", ["hydra/launcher=submitit_slurm", "hydra.launcher.setup=[touch x]"], "hydra.launcher.setup"),
    O("delete-run", ["~hydra.run"], "hydra.run"),
    O("job-name-path", ["hydra.job.name=../../x"], "hydra.job.name"),
    O("group-into-hydra", ["+cohort@hydra.callbacks.x=trial"], "hydra"),
    O("scenario-env-set", ["--config-dir", "{here}/extra", "scenario=evil"], "hydra.job.env_set",
      extra_dir_with("scenario/evil.yaml", EVIL_SCENARIO)),
    O("scenario-callbacks", ["--config-dir", "{here}/extra", "scenario=evil"], "hydra.callbacks",
      several(user_files, extra_dir_with("scenario/evil.yaml", CALLBACK_SCENARIO))),
    O("conf-copy-env-set", ["--config-path", "{here}/myconf", "scenario=evil"], "hydra.job.env_set",
      conf_copy_with("scenario/evil.yaml", EVIL_SCENARIO)),
    O("conf-copy-launcher-target", ["--config-path", "{here}/myconf", "-m", "hydra/launcher=joblib", "seed=0,1"],
      "hydra.launcher._target_", conf_copy_with("hydra/launcher/joblib.yaml", "_target_: os.system\n")),
    O("conf-copy-unknown-logging", ["--config-path", "{here}/myconf", "scenario=j"], "hydra/job_logging=custom",
      conf_copy_with("scenario/j.yaml", "# @package _global_\ndefaults:\n  - override /hydra/job_logging: custom\n")),
    O("config-dir-shadowed", ["--config-dir", "{here}/extra"], "arm/baseline.yaml",
      extra_dir_with("arm/baseline.yaml", "name: baseline\nmicro_kill_multiplier: 9\n")),
    # --- osteosim-report
    R("report-missing", ["{here}/nope"], "nope"),
    R("report-a-file", ["{here}/victim.txt"], "victim.txt", user_files),
    R("report-empty", ["{here}"], "not a Hydra multirun folder"),
    R("report-no-args", [], "usage"),
    R("report-two-args", ["{here}", "{here}"], "unrecognized arguments"),
    R("report-bogus-flag", ["--bogus", "{here}"], "--bogus"),
    R("report-corrupt-patients", ["{here}/run"], "patients.parquet", truncated_run_file("patients.parquet", 3000)),
    R("report-not-parquet", ["{here}/run"], "patients.parquet", run_with("patients.parquet", "not parquet")),
    R("report-truncated-summary", ["{here}/run"], "summary.json", truncated_run_file("summary.json", 100)),
    R("report-summary-list", ["{here}/run"], "summary.json", run_with("summary.json", "[1, 2]")),
    R("report-summary-string", ["{here}/run"], "summary.json", run_with("summary.json", '"text"')),
    R("report-summary-bad-shape", ["{here}/run"], "summary.json", run_with("summary.json", '{"survival": 5}')),
    R("report-summary-not-utf8", ["{here}/run"], "summary.json", run_with("summary.json", b"\xff\xfe{")),
    R("report-corrupt-events", ["{here}/run"], "events.parquet", run_with("events.parquet", "PAR1 broken")),
    R("report-validation-columns", ["{here}/run"], "validation.csv", run_with("validation.csv", "a,b\n1,2\n")),
    R("report-broken-hydra-yaml", ["{here}/sweep"], "hydra.yaml", sweep_job_with(".hydra/hydra.yaml", "hydra: [")),
    R("report-empty-hydra-yaml", ["{here}/sweep"], "hydra.yaml", sweep_job_with(".hydra/hydra.yaml", "{}")),
    R("report-job-num-text", ["{here}/sweep"], "hydra.yaml",
      sweep_job_with(".hydra/hydra.yaml", "hydra:\n  job:\n    num: abc\n")),
    R("report-overrides-mapping", ["{here}/sweep"], "overrides.yaml", sweep_job_with(".hydra/overrides.yaml", "a: 1")),
    R("report-sealed-bad-summary", ["{here}/sweep"], "summary.json", sweep_job_with("summary.json", "[]")),
    R("report-no-complete-job", ["{here}/sweep"], "no complete job",
      several(sweep_job_with(CHECKSUMS, "{", sealed=False),
              lambda here, built: (here / "sweep" / "1" / CHECKSUMS).unlink())),
    # --- trial_power
    T("tp-no-arm", [], "--arm"),
    T("tp-unknown-arm", ["--arm", "nope"], "--arm=nope"),
    T("tp-arm-is-reference", ["--arm", "mifamurtide", "--reference", "mifamurtide"], "--reference"),
    T("tp-unknown-reference", ["--arm", "mifamurtide", "--reference", "placebo"], "--reference=placebo"),
    T("tp-seed-negative", ["--arm", "mifamurtide", "--seed", "-1"], "--seed=-1"),
    T("tp-seed-huge", ["--arm", "mifamurtide", "--seed", str(2**63)], "--seed="),
    T("tp-trials-1", ["--arm", "mifamurtide", "--trials", "1"], "--trials=1"),
    T("tp-trials-text", ["--arm", "mifamurtide", "--trials", "many"], "--trials"),
    T("tp-alpha-0", ["--arm", "mifamurtide", "--alpha", "0"], "--alpha=0"),
    T("tp-alpha-nan", ["--arm", "mifamurtide", "--alpha", "nan"], "--alpha=nan"),
    T("tp-sizes-decreasing", ["--arm", "mifamurtide", "--sizes", "400,200"], "--sizes"),
    T("tp-sizes-1", ["--arm", "mifamurtide", "--sizes", "1"], "--sizes"),
    T("tp-sizes-text", ["--arm", "mifamurtide", "--sizes", "a,b"], "--sizes"),
    T("tp-sizes-huge", ["--arm", "mifamurtide", "--sizes", "2000000"], "--sizes"),
    T("tp-endpoint", ["--arm", "mifamurtide", "--endpoint", "PFS"], "--endpoint"),
    T("tp-out-file", ["--arm", "mifamurtide", "--out", "{here}/victim.txt"], "--out", user_files),
    T("tp-out-under-file", ["--arm", "mifamurtide", "--out", "{here}/victim.txt/x"], "--out", user_files),
    T("tp-out-uncreatable", ["--arm", "mifamurtide", "--out", "/proc/osteosim-power"], "--out"),
    T("tp-override-n", ["--arm", "mifamurtide", "cohort.n_patients=5"], "cohort.n_patients"),
    T("tp-override-seed", ["--arm", "mifamurtide", "seed=3"], "seed"),
    T("tp-override-cohort", ["--arm", "mifamurtide", "cohort=service"], "cohort"),
    T("tp-override-hydra", ["--arm", "mifamurtide", "hydra.run.dir=x"], "hydra.run.dir"),
    T("tp-out-of-range", ["--arm", "mifamurtide", "cohort.metastatic_fraction=2"], "cohort.metastatic_fraction=2"),
    T("tp-inf-accrual", ["--arm", "mifamurtide", "cohort.accrual_per_year=inf"], "cohort.accrual_per_year=inf"),
    T("tp-bogus-flag", ["--arm", "mifamurtide", "--bogus"], "--bogus"),
    T("tp-misspelt-key", ["--arm", "mifamurtide", "cohort.metastatic_fractoin=0.2"], "cohort.metastatic_fractoin"),
]


def test_the_table_is_large_and_covers_the_three_commands():
    assert len(CASES) >= 100 and len({c.id for c in CASES}) == len(CASES)
    assert {c.command for c in CASES} == {"osteosim", "report", "trial_power"}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_exit_2_and_touches_nothing(case, built, tmp_path):
    here = tmp_path / "here"
    here.mkdir()
    if case.setup is not None:
        case.setup(here, built)
    args = [a.replace("{here}", str(here)) for a in case.args]
    before = snapshot(here)
    code, out, err = call(case.command, args, here)
    assert_refused(code, out, err, case.fragment, before, snapshot(here))


# ------------------------------------------------------------------ the security cases, one by one
def test_config_error_leaves_the_users_files_and_creates_nothing(tmp_path):
    user_files(tmp_path, {})
    for args in (["cohort.metastatic_fraction=1.5", f"hydra.run.dir={tmp_path / 'mydir'}"],
                 ["cohort.metastatic_fraction=1.5", "hydra.run.dir="]):
        code, _, err = call("osteosim", args, tmp_path)
        assert code == 2 and err.count("\n") == 1, err
    assert (tmp_path / "mydir" / "notes.log").read_text() == "my notes\n"
    assert (tmp_path / "mydir" / ".hydra" / "config.yaml").read_text() == "mine: true\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mydir", "victim.txt"]


def test_a_typo_in_a_rerun_leaves_a_finished_sweep_whole(built, tmp_path):
    sweep = copy_sweep(tmp_path, built)
    code, _, err = call("osteosim", ["-m", *TINY, "output.dashboard=false", "seed=0,1", "cohort.metastatic_fractoin=0.2",
                                     f"hydra.sweep.dir={sweep}"], tmp_path)
    assert code == 2, err
    table, _, incomplete = report.collect(sweep)
    assert sorted(table["job"].unique()) == [0, 1] and incomplete == []


class _Page(html.parser.HTMLParser):
    """The elements of a page as a browser's parser sees them: tags, ids, event-handler attributes, and the
    text of its headings."""

    def __init__(self):
        super().__init__()
        self.tags, self.ids, self.handlers, self.headings, self._in = [], [], [], [], None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.ids += [value for name, value in attrs if name == "id"]
        self.handlers += [name for name, _ in attrs if name.startswith("on")]
        self._in = tag

    def handle_endtag(self, tag):
        self._in = None

    def handle_data(self, data):
        if self._in in ("h1", "title"):
            self.headings.append(data)


def assert_no_injected_script(source: str) -> _Page:
    """Only the page's own scripts (plotly's config, plotly.js, one per figure), each free of anything that
    could end it early; no event handler, no element that user text could have opened."""
    bodies = re.findall(r"<script\b[^>]*>(.*?)</script\s*>", source, flags=re.S | re.I)
    assert len(bodies) == 2 + source.count('<div class="figure">')
    for body in bodies[2:]:
        assert "<!--" not in body and "<script" not in body.lower() and "</" not in body
    page = _Page()
    page.feed(source)
    assert page.tags.count("script") == len(bodies) and "img" not in page.tags and page.handlers == []
    assert all(re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", ident) for ident in page.ids), page.ids
    return page


PAYLOAD = "\"<script>document.body.setAttribute('x','1')</script><!--\""
ARM_PAYLOAD = "\"a</script><img src=x onerror=alert(1)>\""


def test_user_text_never_becomes_script_in_the_run_dashboard(tmp_path):
    folder = tmp_path / "run"
    code, _, err = call("osteosim", [*TINY, f"scenario.name={PAYLOAD}", f"arm.name={ARM_PAYLOAD}",
                                     f"hydra.run.dir={folder}"], tmp_path)
    assert code == 0, err
    page = assert_no_injected_script((folder / "dashboard.html").read_text(encoding="utf-8"))
    assert any("document.body.setAttribute('x','1')" in text for text in page.headings)   # shown, as text


def test_user_text_never_becomes_script_in_the_sweep_dashboard():
    import pandas as pd

    from osteosim.dashboards.sweep import build_sweep_dashboard

    evil = "</script><script>alert(1)</script><img src=x onerror=alert(2)>"
    rows = [{"job": j, "overrides": f"scenario.name={evil}{j}", "scenario.name": f"{evil}{j}", "arm": evil,
             "kpi": "OS.5y.all", "estimate": 0.5, "ci_low": 0.4, "ci_high": 0.6, "n": 10} for j in range(2)]
    assert_no_injected_script(build_sweep_dashboard(pd.DataFrame(rows), ["scenario.name"]))


def test_a_callback_in_a_scenario_file_never_runs(tmp_path):
    write(tmp_path / "victim.txt", "precious\n")
    write(tmp_path / "extra" / "scenario" / "evil.yaml", CALLBACK_SCENARIO)
    code, _, err = call("osteosim", ["--config-dir", str(tmp_path / "extra"), "scenario=evil"], tmp_path)
    assert code == 2 and "hydra.callbacks" in err
    assert (tmp_path / "victim.txt").read_text() == "precious\n"


def test_provenance_runs_git_in_a_clean_environment(tmp_path, monkeypatch):
    from osteosim.results.provenance import git_commit

    clean = git_commit()
    marker = tmp_path / "ran"
    monkeypatch.setenv("GIT_DIR", str(tmp_path))          # would point git at another repository
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")           # would make `git status` run a command
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "core.fsmonitor")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", f"touch {marker}; false")
    assert git_commit() == clean and not marker.exists()


def test_stale_result_files_are_removed_and_never_sealed(built, tmp_path):
    folder = copy_run(tmp_path, built)
    for name in ("events.parquet", "resources.parquet"):
        write(folder / name, "an earlier run's table")
    seal(folder, [*sealed_names(folder), "events.parquet", "resources.parquet"])   # as older osteosim did
    code, _, err = call("osteosim", [*TINY, "seed=5", "output.dashboard=false", f"hydra.run.dir={folder}"], tmp_path)
    assert code == 0, err
    files = json.loads((folder / CHECKSUMS).read_text())["files"]
    assert set(files) == {"patients.parquet", "economics.parquet", "summary.json"} and is_complete(folder)
    assert not [n for n in ("events.parquet", "resources.parquet", "dashboard.html") if (folder / n).exists()]


def test_a_second_run_into_a_busy_folder_is_refused(built, tmp_path):
    from osteosim.results.lock import exclusive

    folder = copy_run(tmp_path, built)
    with exclusive(folder):
        before = snapshot(folder)
        code, out, err = call("osteosim", [*TINY, "seed=7", f"hydra.run.dir={folder}"], tmp_path)
        assert_refused(code, out, err, "being written by another osteosim run", before, snapshot(folder))


def test_every_numeric_field_has_a_finite_range():
    def walk(cls, prefix=""):
        hints = typing.get_type_hints(cls)
        for field in dataclasses.fields(cls):
            hint, key = hints[field.name], prefix + field.name
            inner = typing.get_args(hint)[-1] if typing.get_args(hint) else hint
            if dataclasses.is_dataclass(inner):
                yield from walk(inner, key + ".")
            elif inner in (int, float) and hint is not bool:
                yield key, field.metadata.get("range")

    unbounded = [key for key, rng in walk(schema.Config) if rng is None or not all(map(math.isfinite, rng[:2]))]
    assert unbounded == []


# ------------------------------------------------------------------ a killed sweep leaves no worker behind
def _descendants(pid: int) -> set[int]:
    found, frontier = set(), [pid]
    while frontier:
        parent = frontier.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            for child in (task / "children").read_text().split() if (task / "children").exists() else []:
                if int(child) not in found:
                    found.add(int(child))
                    frontier.append(int(child))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG and /proc are Linux-only")
def test_killing_a_sweeps_main_process_ends_its_joblib_workers(tmp_path):
    sweep = tmp_path / "sweep"
    process = subprocess.Popen([sys.executable, "-m", "osteosim", "-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
                                "cohort.accrual_years=60", "output.dashboard=false", *QUIET, "seed=0,1",
                                f"hydra.sweep.dir={sweep}"], cwd=tmp_path, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    workers: set[int] = set()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            if all((sweep / job / ".osteosim.lock").exists() for job in "01"):   # both jobs are simulating
                break
            time.sleep(0.2)
        assert process.poll() is None, "the sweep ended before it could be killed"
        workers = _descendants(process.pid)
        assert workers, "no worker process found"
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(_alive(pid) for pid in workers):
            time.sleep(0.2)
        assert not [pid for pid in workers if _alive(pid)], "workers survived their sweep"
    finally:
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if process.poll() is None:
            process.kill()
