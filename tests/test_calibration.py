"""The default model reproduces every published calibration target (issue 4's acceptance rule).

Survival percentages within max(published 95% CI half-width, 3 points); hazard ratios,
proportions and medians within their published interval (a derived one where none is
published: see osteosim.calibration.targets). Simulated out of sample: seed 7, not the
calibration's seed, 40,000 patients per population. Two margins are thin, and said so in the
README ("What the calibration is known to get wrong"): E1_OS5 (68.2, 95% MC interval 67.2-69.2
over experiments/validate's replications of 20,000, against a bound of 68) and KAGER_MULTIPLE_RHR
(1.63, 1.59-1.66, against 1.58): a change that moves either by that much fails here, as it should.
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


def test_the_default_disease_model_is_the_fitted_one():
    """Every value conf/disease/calibrated.yaml marks CALIBRATED is in the default configuration (which the
    targets below simulate) and differs from its prior, the value disease=priors gives: so the default is
    the fit, not the priors, and the comments record the priors truly."""
    import re

    from osteosim.config import CONF_DIR

    text = (CONF_DIR / "disease" / "calibrated.yaml").read_text()
    number = r"(-?[\d.]+(?:e-?\d+)?)"
    fitted = re.findall(rf"^(\w+):\s*{number}\s*#\s*CALIBRATED \(prior {number}\)", text, re.M)
    assert len(fitted) == 15, fitted     # the 15 disease parameters the calibration fits (README)
    default, priors = compose([]).disease, compose(["disease=priors"]).disease
    for name, value, prior in fitted:
        assert getattr(default, name) == float(value), name
        assert getattr(priors, name) == float(prior) != float(value), name


# Fitted and derived figures, and the held-out one the acceptance names (regorafenib's
# median PFS in SARC024 follows from the fitted hazard ratio); the other held-out figures are in
# experiments/validate/results/validation.md with what still misses (README).
REPRODUCED = sorted(k for k, t in TARGETS.items() if t.role in ("fit", "derived")) + ["SARC024_REGO_MEDIAN_PFS"]


@pytest.mark.parametrize("target_id", REPRODUCED)
def test_default_reproduces_target(estimates, target_id):
    target = TARGETS[target_id]
    low, high = target.tolerance()
    assert low <= estimates[target_id] <= high, (target_id, estimates[target_id], (low, high))
