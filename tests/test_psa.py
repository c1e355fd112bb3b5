"""Probabilistic sensitivity analysis: keyed parameter draws, results independent of the split into
blocks and workers, resuming from finished blocks, common random numbers making the CEAC steadier, and
the experiment script end to end on a tiny cohort."""
from __future__ import annotations

import importlib.util
import io
import contextlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from osteosim.config import ConfigError, arm_config, compose
from osteosim.economics import decisions, psa

ROOT = Path(__file__).resolve().parents[1]
ARMS = ["baseline", "mifamurtide"]
TINY = ["cohort=trial", "cohort.n_patients=60", "cohort.metastatic_fraction=0", "cohort.followup_years=30",
        "output.progress=false"]


@pytest.fixture(scope="module")
def config():
    return compose(TINY)


def test_draws_are_keyed_by_seed_sample_and_parameter(config):
    items = list(config.economics.psa)
    assert psa.draw(items, config, 0, 5) == psa.draw(items, config, 0, 5)
    assert psa.draw(items, config, 0, 5) != psa.draw(items, config, 0, 6)
    values = [psa.draw(items, config, 0, s) for s in range(2000)]
    survivor = np.array([v["economics.utilities.survivor"] for v in values])
    alpha, beta = 340.1, 101.6                      # conf/economics/nhs.yaml, health_economics.md §8 #3
    mean, sd = alpha / (alpha + beta), np.sqrt(alpha * beta / ((alpha + beta) ** 2 * (alpha + beta + 1)))
    assert abs(survivor.mean() - mean) < 4 * sd / np.sqrt(len(survivor))
    shares = np.array([[v[f"economics.end_of_life.place_of_death.{p}"] for p in ("hospital", "hospice", "home")]
                       for v in values])
    assert np.allclose(shares.sum(axis=1), 1.0) and abs(shares[:, 0].mean() - 0.45) < 0.01


def test_results_do_not_depend_on_the_split_and_an_interrupted_psa_resumes(config, tmp_path):
    whole = psa.run(config, ARMS, 12, tmp_path / "a")                  # blocks of 10: samples 0-9 and 10-11
    arms = {name: arm_config(name) for name in ARMS}
    part = psa.run_block(config, arms, range(3, 7), True)               # another split of the same samples
    mine = whole[whole["sample"].between(3, 6)].reset_index(drop=True).astype({"arm": str})
    pd.testing.assert_frame_equal(part.reset_index(drop=True), mine[part.columns])
    blocks = sorted((tmp_path / "a" / "parts").glob("samples-*.parquet"))
    kept = blocks[0].stat().st_mtime_ns
    blocks[1].unlink()                                                  # as if killed during the second block
    again = psa.run(config, ARMS, 12, tmp_path / "a")
    pd.testing.assert_frame_equal(again, whole)
    assert blocks[0].stat().st_mtime_ns == kept                         # the finished block was not redone
    with pytest.raises(ConfigError, match="different PSA"):
        psa.run(config, ARMS, 12, tmp_path / "a", paired=False)


def test_two_workers_or_two_shares_give_the_same_table_as_one(config, tmp_path):
    one = psa.run(config, ARMS, 20, tmp_path / "one")
    two = psa.run(config, ARMS, 20, tmp_path / "two", workers=2)
    pd.testing.assert_frame_equal(one, two)
    for k in (2, 1):     # as two jobs of an array sharing a folder would, in either order
        assert psa.run(config, ARMS, 20, tmp_path / "shared", share=(k, 2)) is None
    pd.testing.assert_frame_equal(one, psa.run(config, ARMS, 20, tmp_path / "shared"))


def test_common_random_numbers_keep_patient_noise_out_of_the_ceac(tmp_path):
    """The CEAC should show parameter uncertainty; with a finite cohort per sample, patient-level Monte-Carlo
    noise adds spurious spread to each sample's increment and flattens the curve. The same 30 parameter draws
    on 60 patients per arm: under common random numbers the noise both arms share cancels, so the CEAC lies
    closer to the one those draws give on 1,000 patients than it does with independent streams per arm (as
    pairing narrows the interval of a difference, tests/test_experiments.py). Fixed seeds: deterministic."""
    grid = np.linspace(0, 200_000, 81)

    def curve(patients: int, paired: bool) -> np.ndarray:
        config = compose(["cohort=trial", f"cohort.n_patients={patients}", "cohort.metastatic_fraction=0",
                          "cohort.followup_years=30", "output.progress=false"])
        table = psa.run(config, ARMS, 30, tmp_path / f"{patients}-{paired}", paired=paired)
        costs, qalys = psa.wide(table, "cost_disc", ARMS), psa.wide(table, "qalys_disc", ARMS)
        ceac = decisions.ceac(costs, qalys, ARMS, grid)
        return ceac[ceac.arm == "mifamurtide"].probability.to_numpy()

    reference = curve(1000, True)
    paired = np.abs(curve(60, True) - reference).mean()
    independent = np.abs(curve(60, False) - reference).mean()
    assert paired < 0.8 * independent, (paired, independent)


def _psa_main():
    spec = importlib.util.spec_from_file_location("psa_script", ROOT / "experiments" / "psa" / "psa.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def test_the_psa_script_writes_its_tables_and_a_self_contained_page(tmp_path):
    out = tmp_path / "psa"
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = _psa_main()(["--arms", "baseline,mifamurtide", "--samples", "12", "--patients", "40", "--out", str(out),
                            "cohort.metastatic_fraction=0", "cohort.followup_years=30",
                            "economics.thresholds=[20000,80000]"])
    assert code == 0, err.getvalue()[-2000:]
    table = pd.read_parquet(out / "psa.parquet")
    assert len(table) == 24 and "arms.mifamurtide.immunotherapy_log10_kill" in table.columns
    voi = pd.read_csv(out / "voi.csv")
    assert (voi.evppi <= voi.evpi + 1e-9).all()
    oneway = pd.read_csv(out / "oneway.csv")
    # common random numbers: a parameter that touches both arms alike (first-line utility) moves no increment
    base = oneway[oneway.end == "base"].set_index("threshold").incremental_nmb
    decrement = oneway[oneway.key == "economics.utilities.on_treatment_decrement"]
    assert len(decrement) == 4 and np.allclose(decrement.incremental_nmb, base[decrement.threshold].to_numpy())
    kill = oneway[oneway.key == "arms.mifamurtide.immunotherapy_log10_kill"]
    assert not np.allclose(kill.incremental_nmb, base[kill.threshold].to_numpy())   # the one-way runs do differ
    cheers = (out / "cheers.md").read_text(encoding="utf-8")
    assert "| 10 | Discount rate | costs 3.5%, effects 3.5% a year" in cheers and "| 20 |" in cheers
    page = (out / "psa.html").read_text(encoding="utf-8")
    assert page.count("Plotly.newPlot") == 4 and "<script src" not in page   # plotly.js inline: works offline


def test_the_psa_script_refuses_bad_options_in_one_line(tmp_path):
    for argv, fragment in ((["--arms", "baseline"], "--arms=baseline"),
                           (["--arms", "baseline,nope"], "nope"),
                           (["--arms", "baseline,mifamurtide", "--samples", "1"], "--samples=1"),
                           (["--arms", "baseline,mifamurtide", "--share", "3/2"], "--share=3/2"),
                           (["--arms", "baseline,mifamurtide", "cohort.n_patients=5"], "cohort.n_patients"),
                           (["--arms", "baseline,mifamurtide", "economics.utilities.survivor=2"],
                            "economics.utilities.survivor=2")):
        err = io.StringIO()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            code = _psa_main()([*argv, "--out", str(tmp_path / "x")])
        lines = err.getvalue().strip().splitlines()
        assert code == 2 and len(lines) == 1 and fragment in lines[0], err.getvalue()
        assert not (tmp_path / "x").exists()
