"""Planner scenarios (conf/scenario/): each composes, says which question it answers, changes
something, and runs."""
from __future__ import annotations

import dataclasses

import pytest

import osteosim
from osteosim.config import CONF_DIR, compose, group_options

SCENARIOS = group_options("scenario")
BRIEF = ["cohort.accrual_years=1", "cohort.followup_years=0.5", "output.progress=false"]


def test_the_planner_scenarios_exist():
    assert {"default", "theatre_plus", "beds_minus", "radiotherapy_plus", "demand_growth", "fast_track_diagnosis",
            "outpatient_mtx"} <= set(SCENARIOS)


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_composes_states_its_question_and_runs(name, default_config):
    text = (CONF_DIR / "scenario" / f"{name}.yaml").read_text()
    assert text.splitlines()[0] == "# @package _global_"
    config = compose([f"scenario={name}", *BRIEF])
    assert config.scenario.name == name and config.scenario.question.endswith("?")
    if name != "default":
        assert "QUESTION:" in text and "CHANGES" in text
        changed = dataclasses.replace(default_config, scenario=config.scenario)
        assert dataclasses.asdict(compose([f"scenario={name}"])) != dataclasses.asdict(changed), "changes nothing"
    results = osteosim.simulate(config)
    assert len(results.patients) > 0 and results.summary["survival"]
