"""The default model reproduces every published calibration target (issue 4's acceptance rule).

Survival percentages within max(published 95% CI half-width, 3 points); hazard ratios,
proportions and medians within their published interval (a derived one where none is
published: see osteosim.calibration.targets). Simulated out of sample: seed 7, not the
calibration's seed. Monte-Carlo error must be small against the margins: E1_OS5 sits 0.2 points
inside its bound (measured on seeds 101-108: 68.18, SE 0.09 over 8 x 40,000 patients; one run of
40,000 has an SD of 0.24 points), so the test simulates 320,000 patients per population
(SD ~0.09 points), which costs ~30 s.
"""
import pytest

from osteosim.calibration.estimates import Populations
from osteosim.calibration.targets import load
from osteosim.config import compose

TARGETS = load()
PATIENTS = 320_000   # per population; see the module docstring


@pytest.fixture(scope="module")
def estimates():
    kill = compose(["arm=mifamurtide"]).arm.immunotherapy_log10_kill
    hr = compose(["arm=regorafenib"]).arm.relapse_pfs_hr
    return Populations(PATIENTS, seed=7).estimate({}, kill, hr)


def test_the_default_disease_model_is_the_calibrated_one():
    assert compose([]).disease == compose(["disease=calibrated"]).disease


# The thinnest margin: 5-year OS of EURAMOS-1 is ~68.2 against an acceptance of 68-74 (published
# 71). The model's EFS-OS gap at 5 years is ~13 points against the published 17: patients alive
# after a relapse are too few (README "What the calibration is known to get wrong").
@pytest.mark.parametrize("target_id", sorted(TARGETS))
def test_default_reproduces_target(estimates, target_id):
    target = TARGETS[target_id]
    low, high = target.tolerance()
    assert low <= estimates[target_id] <= high, (target_id, estimates[target_id], (low, high))
