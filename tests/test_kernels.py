"""The disease kernels' timing rules (DESIGN §3): what imaging sees, and when survival after a
relapse starts counting."""
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


def test_survival_after_relapse_counts_from_symptoms_whenever_the_relapse_is_found():
    crossing = 100.0
    state = occult(DETECT, crossing)
    symptoms = k.symptom_day(crossing, state, PARAMS)
    assert symptoms == pytest.approx(crossing + (SYMPTOM - DETECT) / GROWTH)
    for found in (crossing, crossing + 10.0, symptoms - 1.0):   # CT, X-ray, late X-ray: same clock
        assert k.post_relapse_clock_start(found, crossing, state, PARAMS) == pytest.approx(symptoms)
    assert k.post_relapse_clock_start(symptoms + 5.0, crossing, state, PARAMS) == symptoms + 5.0
    assert k.post_relapse_clock_start(50.0, np.inf, state, PARAMS) == 50.0


def test_growth_past_detection_is_measured_up_to_the_symptom_threshold():
    state = occult(DETECT, 0.0)
    assert k.log10_past_detection(0.0, 0.0, state, PARAMS) == 0.0
    assert k.log10_past_detection(10.0, 0.0, state, PARAMS) == pytest.approx(10.0 * GROWTH)
    assert k.log10_past_detection(1e4, 0.0, state, PARAMS) == pytest.approx(SYMPTOM - DETECT)
    assert k.log10_past_detection(10.0, np.inf, state, PARAMS) == 0.0
