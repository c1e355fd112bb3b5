"""The disease kernels' rules (DESIGN §3): what imaging sees, when disease that cannot be removed
kills, and what chemotherapy and surgery do to resistant clonogens."""
from __future__ import annotations

import numpy as np
import pytest

from osteosim.config import compose
from osteosim.model import disease as k
from osteosim.model.parameters import disease_vector

PARAMS = disease_vector(compose([]).disease, compose([]).arm)
DETECT, SYMPTOM = PARAMS.detect, PARAMS.symptom
GROWTH = np.log10(2.0) / 20.0     # a 20-day doubling time


def occult(burden: float, day: float = 0.0):
    return k.initial_state(day, burden, -np.inf, GROWTH, 0.5)


def test_a_burden_pushed_back_below_detection_does_not_show_on_imaging():
    state = k.advance(occult(DETECT - 0.1), 30.0, PARAMS)          # crosses the threshold on day ~6.6
    assert state.detect_day == pytest.approx(0.1 / GROWTH)
    assert k.occult_visible_since(state, PARAMS) == state.detect_day
    treated = k.chemotherapy_course(state, 31.0, 1.0, 1.0, True, PARAMS)   # one full MAP cycle of kill
    assert treated.micro < DETECT
    assert k.occult_visible_since(treated, PARAMS) == np.inf
    assert k.progression_detectable_day(treated, PARAMS) == np.inf


def test_death_without_remission_does_not_depend_on_when_the_relapse_was_found():
    """No lead-time gain: the lethal burden is reached on the same day whether CT, X-ray or symptoms found it."""
    crossing = 100.0
    state = occult(DETECT, crossing)
    expected = crossing + (PARAMS.lethal - DETECT) / GROWTH
    symptoms = k.symptom_day(crossing, state, PARAMS)
    for found in (crossing, crossing + 10.0, symptoms):
        assert k.lethal_day(k.advance(state, found, PARAMS), PARAMS) == pytest.approx(expected)


def test_an_arms_post_relapse_hazard_ratio_slows_the_growth_to_the_lethal_burden():
    state = occult(DETECT, 0.0)
    slower = PARAMS._replace(relapse_hr=0.5)
    assert k.lethal_day(state, slower) == pytest.approx(2.0 * k.lethal_day(state, PARAMS))


def test_chemotherapy_spares_resistant_clonogens_and_surgery_takes_both_alike():
    state = k.DiseaseState(6.0, -np.inf, 0.0, GROWTH, 0.5, 0.0, np.inf, 1.0)
    treated = k.chemotherapy_course(state, 0.0, 1.0, 1.0, False, PARAMS)
    assert treated.micro < state.micro and treated.resistant == state.resistant
    resected = k.remission(state, 0.0, PARAMS)
    assert state.micro - resected.micro == pytest.approx(PARAMS.resection_kill)
    assert state.resistant - resected.resistant == pytest.approx(PARAMS.resection_kill)


def test_resistant_clonogens_at_staging_are_poisson_with_the_configured_rate():
    """Mean count = 10^(burden + rate); tolerance 4 standard errors of the mean of n Poisson draws."""
    n, burden = 20_000, -PARAMS.resistance + np.log10(2.0)     # expected 2 resistant clonogens
    state = k.DiseaseState(burden, -np.inf, 0.0, GROWTH, 0.5, 0.0, np.inf, -np.inf)
    counts = np.array([10.0 ** k.seed_resistance(state, 3, pid, PARAMS).resistant for pid in range(n)])
    assert abs(counts.mean() - 2.0) < 4.0 * np.sqrt(2.0 / n)
    assert abs((counts == 0).mean() - np.exp(-2.0)) < 4.0 * np.sqrt(np.exp(-2.0) * (1 - np.exp(-2.0)) / n)


def test_growth_past_detection_is_measured_up_to_the_symptom_threshold():
    state = occult(DETECT, 0.0)
    assert k.log10_past_detection(0.0, 0.0, state, PARAMS) == 0.0
    assert k.log10_past_detection(10.0, 0.0, state, PARAMS) == pytest.approx(10.0 * GROWTH)
    assert k.log10_past_detection(1e4, 0.0, state, PARAMS) == pytest.approx(SYMPTOM - DETECT)
    assert k.log10_past_detection(10.0, np.inf, state, PARAMS) == 0.0
