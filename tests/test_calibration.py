"""The default model reproduces every published calibration target (issue 4's acceptance rule).

Survival percentages within max(published 95% CI half-width, 3 points); hazard ratios,
proportions and medians within their published interval (a derived one where none is
published: see osteosim.calibration.targets). Simulated out of sample: seed 7, not the
calibration's seed, 40,000 patients per population. Monte-Carlo error is small against every
margin: the thinnest, COSS_REL_CR2_OS5 (about 42.4-42.7 against a bound of 44.2), is about 3.7 SDs
of a 40,000-patient run inside it (SD about 0.42 points, from experiments/validate's replications).
"""
import pytest

from osteosim.calibration.estimates import Populations
from osteosim.calibration.targets import load
from osteosim.config import compose

TARGETS = load()
PATIENTS = 40_000   # per population; see the module docstring


@pytest.fixture(scope="module")
def estimates():
    kill = compose(["arm=mifamurtide"]).arm.immunotherapy_log10_kill
    hr = compose(["arm=regorafenib"]).arm.relapse_pfs_hr
    return Populations(PATIENTS, seed=7).estimate({}, kill, hr)


def test_the_default_disease_model_is_the_calibrated_one():
    assert compose([]).disease == compose(["disease=calibrated"]).disease


# 5-year OS of EURAMOS-1 (about 70.4 against the published 71, acceptance 68-74) reflects the model's
# EFS-OS gap at 5 years: about 15.7 points against the published 17 (README "What the calibration is
# known to get wrong").
@pytest.mark.parametrize("target_id", sorted(TARGETS))
def test_default_reproduces_target(estimates, target_id):
    target = TARGETS[target_id]
    low, high = target.tolerance()
    assert low <= estimates[target_id] <= high, (target_id, estimates[target_id], (low, high))
