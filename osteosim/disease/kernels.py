"""Numba kernels of the disease model: the single source of truth of the biology.

A patient's disease is one row of a float64 array (columns below), in log10 clonogens.
The pathway asks questions only at stage boundaries (a chemotherapy course, surgery, the end
of treatment, a relapse), so both engines call these same functions and nothing here knows
about queues or resources. All randomness comes from :mod:`osteosim.rng`, keyed by
(seed, patient, purpose, index).
"""
from __future__ import annotations

import numba as nb
import numpy as np

from osteosim import rng

# ------------------------------------------------------------- state row columns
MICRO = 0          # log10 occult (micrometastatic) clonogens
OVERT = 1          # log10 overt residual disease (visible metastases or primary); -inf = none
DAY = 2            # the day MICRO and OVERT refer to
GROWTH = 3         # log10 growth per day (patient-specific)
SENSITIVITY = 4    # log10 kill of one full-dose 5-week MAP cycle on bulk tumour
PRIMARY_KILL = 5   # log10 kill accumulated by the primary before surgery
DETECT_DAY = 6     # first day the occult burden reached the detection threshold (inf: not yet)
N_STATE = 7

# ------------------------------------------------------------- parameter vector
P_MICRO_MULT = 0      # micrometastases are killed more per cycle than bulk (x this)
P_OVERT_MULT = 1      # overt metastases killed like bulk (x this)
P_DETECT = 2          # log10 burden seen on imaging
P_SYMPTOM = 3         # log10 burden that causes symptoms
P_PROGRESSION = 4     # log10 growth of residual overt disease that counts as progression
P_GOOD_RESPONSE = 5   # log10 kill on the primary that leaves < 10% viable tumour
P_RESPONSE_NOISE = 6  # SD of the measurement/biology noise on histologic response
P_RT_CONTROL = 7      # probability radiotherapy controls a treated site
P_CR2_CURE = 8
P_CR2_MEDIAN = 9
P_NO_CR2_MEDIAN = 10
P_RELAPSE_HR = 11     # arm modifier on post-relapse mortality
P_ARM_KILL = 12       # arm modifier on micrometastatic kill
P_GOMPERTZ_LOG_A = 13
P_GOMPERTZ_B = 14
N_PARAMS = 15

LN10 = np.log(10.0)


@nb.njit(cache=True)
def initial_state(day, micro, overt, growth, sensitivity):
    """A patient's disease row at referral."""
    s = np.empty(N_STATE)
    s[MICRO] = micro
    s[OVERT] = overt
    s[DAY] = day
    s[GROWTH] = growth
    s[SENSITIVITY] = sensitivity
    s[PRIMARY_KILL] = 0.0
    s[DETECT_DAY] = np.inf
    return s


@nb.njit(cache=True)
def advance(s, day, params):
    """Grow both compartments exponentially up to `day`; remember when occult disease became visible."""
    dt = day - s[DAY]
    if dt <= 0.0:
        return
    grown = s[MICRO] + s[GROWTH] * dt
    detect = params[P_DETECT]
    if s[DETECT_DAY] == np.inf and grown >= detect:
        s[DETECT_DAY] = s[DAY] + max(0.0, (detect - s[MICRO]) / s[GROWTH])
    s[MICRO] = grown
    s[OVERT] = s[OVERT] + s[GROWTH] * dt
    s[DAY] = day


@nb.njit(cache=True)
def chemotherapy_course(s, day, weight, intensity, before_surgery, params):
    """One admission: kill by its share of a MAP cycle (weight) times delivered dose intensity."""
    advance(s, day, params)
    kill = s[SENSITIVITY] * weight * intensity
    s[MICRO] -= kill * params[P_MICRO_MULT] * params[P_ARM_KILL]
    s[OVERT] -= kill * params[P_OVERT_MULT]
    if before_surgery:
        s[PRIMARY_KILL] += kill


@nb.njit(cache=True)
def good_histologic_response(s, noise, params):
    """< 10% viable tumour: the same chemosensitivity that drives cure, plus noise (a z-score)."""
    return s[PRIMARY_KILL] + params[P_RESPONSE_NOISE] * noise >= params[P_GOOD_RESPONSE]


@nb.njit(cache=True)
def overt_disease_visible(s, day, params):
    """Do overt metastases still show on restaging (or did they melt away under chemotherapy)?"""
    advance(s, day, params)
    return s[OVERT] >= params[P_DETECT]


@nb.njit(cache=True)
def _log10_add(a, b):
    hi = max(a, b)
    if hi == -np.inf:
        return hi
    return hi + np.log10(10.0 ** (a - hi) + 10.0 ** (b - hi))


@nb.njit(cache=True)
def clear_overt(s, day, params):
    """Local therapy removed all overt disease; anything below imaging joins the occult pool."""
    advance(s, day, params)
    s[OVERT] = -np.inf


@nb.njit(cache=True)
def fold_invisible_overt(s, day, params):
    """Overt lesions that chemotherapy shrank below imaging are occult disease from now on."""
    advance(s, day, params)
    s[MICRO] = _log10_add(s[MICRO], s[OVERT])
    s[OVERT] = -np.inf


@nb.njit(cache=True)
def progression_detectable_day(s, params):
    """First day disease shows on imaging, as far as the current state tells (inf: not so far)."""
    if s[OVERT] > -np.inf:
        grow = params[P_DETECT] + params[P_PROGRESSION] - s[OVERT]
        return s[DAY] + max(0.0, grow / s[GROWTH])
    return s[DETECT_DAY]


@nb.njit(cache=True)
def symptom_day(detect_day, s, params):
    """Disease that keeps growing past detection causes symptoms a fixed number of logs later."""
    return detect_day + (params[P_SYMPTOM] - params[P_DETECT]) / s[GROWTH]


@nb.njit(cache=True)
def end_of_treatment_outcome(s, day, seed, patient, params):
    """Cure or the day a relapse becomes detectable (inf = cured), given the state at the end of treatment.

    Residual overt disease or occult disease already visible means progression; otherwise the
    surviving clonogens are Poisson and the relapse is the regrowth time from them to detection.
    """
    advance(s, day, params)
    known = progression_detectable_day(s, params)
    if known < np.inf:
        return known
    if s[MICRO] >= params[P_DETECT]:
        return day
    survivors = rng.poisson(seed, patient, rng.CLONOGENS, 0, 10.0 ** s[MICRO])
    if survivors == 0.0:
        return np.inf
    return day + (params[P_DETECT] - np.log10(survivors)) / s[GROWTH]


@nb.njit(cache=True)
def post_relapse_survival_days(cr2, seed, patient, params):
    """Days from relapse to death from osteosarcoma (inf = cured after second remission).

    Exponential survival by CR2 status, with the arm's mortality hazard ratio; a fraction of
    patients in second remission are cured.
    """
    hr = params[P_RELAPSE_HR]
    if cr2:
        if rng.bernoulli(seed, patient, rng.POST_RELAPSE, 0, params[P_CR2_CURE]):
            return np.inf
        median = params[P_CR2_MEDIAN]
    else:
        median = params[P_NO_CR2_MEDIAN]
    return rng.exponential(seed, patient, rng.POST_RELAPSE, 1, median / np.log(2.0) / hr)


@nb.njit(cache=True)
def other_cause_death_days(age_years, seed, patient, params):
    """Days to death from other causes: Gompertz hazard exp(log_a + b * age) per year."""
    a = np.exp(params[P_GOMPERTZ_LOG_A])
    b = params[P_GOMPERTZ_B]
    e = rng.exponential(seed, patient, rng.OTHER_DEATH, 0, 1.0)
    years = np.log1p(b * e / (a * np.exp(b * age_years))) / b
    return years * 365.25
