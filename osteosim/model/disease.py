"""Numba kernels of the disease model: the single source of truth of the biology.

A patient's disease is a tuple of floats (fields below; log10 clonogens), and every kernel is a
pure function returning the new tuple: no arrays cross the calls, which keeps Numba's
reference counting out of the hot loop.
The pathway asks questions only at stage boundaries (a chemotherapy course, surgery, the end
of treatment, a relapse), so both engines call these same functions and nothing here knows
about queues or resources. All randomness comes from :mod:`osteosim.model.rng`, keyed by
(seed, patient, purpose, index).
"""
from __future__ import annotations

import numba as nb
import numpy as np

from osteosim.model import rng
# ------------------------------------------------------------- state tuple fields
MICRO = 0          # log10 occult (micrometastatic) clonogens
OVERT = 1          # log10 overt residual disease (visible metastases or primary); -inf = none
DAY = 2            # the day MICRO and OVERT refer to
GROWTH = 3         # log10 growth per day (patient-specific)
SENSITIVITY = 4    # log10 kill of one full-dose 5-week MAP cycle on bulk tumour
PRIMARY_KILL = 5   # log10 kill accumulated by the primary before surgery
DETECT_DAY = 6     # first day the occult burden reached the detection threshold (inf: not yet)

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
P_IMMUNO_KILL = 15    # arm modifier: log10 kill of occult disease by adjuvant immunotherapy
P_NO_CR2_PFS = 16     # median progression-free days after a relapse without CR2 (no active drug)
P_RELAPSE_PFS_HR = 17 # arm modifier: hazard ratio on that progression (relapse TKIs)
P_RELAPSE_SHAPE = 18  # Weibull shape of survival after relapse
P_LATE_RELAPSE_DAYS = 19  # a relapse this long after diagnosis is "late" (better prognosis)
P_LATE_RELAPSE_HR = 20    # hazard ratio of death after a late relapse against an early one
P_SECOND_MALIGNANCY = 21  # yearly hazard of a second malignancy after first-line treatment
N_PARAMS = 22



@nb.njit(cache=True)
def initial_state(day, micro, overt, growth, sensitivity):
    """A patient's disease at referral."""
    return (micro, overt, day, growth, sensitivity, 0.0, np.inf)


@nb.njit(cache=True)
def advance(s, day, params):
    """Grow both compartments exponentially up to `day`; remember when occult disease became visible."""
    dt = day - s[DAY]
    if dt <= 0.0:
        return s
    grown = s[MICRO] + s[GROWTH] * dt
    detect_day = s[DETECT_DAY]
    if detect_day == np.inf and grown >= params[P_DETECT]:
        detect_day = s[DAY] + max(0.0, (params[P_DETECT] - s[MICRO]) / s[GROWTH])
    return (grown, s[OVERT] + s[GROWTH] * dt, day, s[GROWTH], s[SENSITIVITY], s[PRIMARY_KILL], detect_day)


@nb.njit(cache=True)
def chemotherapy_course(s, day, weight, intensity, before_surgery, params):
    """One admission: kill by its share of a MAP cycle (weight) times delivered dose intensity."""
    s = advance(s, day, params)
    kill = s[SENSITIVITY] * weight * intensity
    return (s[MICRO] - kill * params[P_MICRO_MULT] * params[P_ARM_KILL], s[OVERT] - kill * params[P_OVERT_MULT],
            s[DAY], s[GROWTH], s[SENSITIVITY], s[PRIMARY_KILL] + (kill if before_surgery else 0.0), s[DETECT_DAY])


@nb.njit(cache=True)
def good_histologic_response(s, noise, params):
    """< 10% viable tumour: the same chemosensitivity that drives cure, plus noise (a z-score)."""
    return s[PRIMARY_KILL] + params[P_RESPONSE_NOISE] * noise >= params[P_GOOD_RESPONSE]


@nb.njit(cache=True)
def overt_disease_visible(s, day, params):
    """(state, do overt metastases still show on restaging, or did they melt away under chemotherapy?)"""
    s = advance(s, day, params)
    return s, s[OVERT] >= params[P_DETECT]


@nb.njit(cache=True)
def _log10_add(a, b):
    hi = max(a, b)
    if hi == -np.inf:
        return hi
    return hi + np.log10(10.0 ** (a - hi) + 10.0 ** (b - hi))


@nb.njit(cache=True)
def clear_overt(s, day, params):
    """Local therapy removed all overt disease."""
    s = advance(s, day, params)
    return (s[MICRO], -np.inf, s[DAY], s[GROWTH], s[SENSITIVITY], s[PRIMARY_KILL], s[DETECT_DAY])


@nb.njit(cache=True)
def fold_invisible_overt(s, day, params):
    """Overt lesions below imaging are occult disease from now on."""
    s = advance(s, day, params)
    return (_log10_add(s[MICRO], s[OVERT]), -np.inf, s[DAY], s[GROWTH], s[SENSITIVITY], s[PRIMARY_KILL],
            s[DETECT_DAY])


@nb.njit(cache=True)
def absorb_visible_occult(s, remainder):
    """Occult disease imaging now sees becomes overt disease (for local control to resect or not);
    what stays below imaging is `remainder` log10 clonogens, tracked afresh."""
    return (remainder, _log10_add(s[OVERT], s[MICRO]), s[DAY], s[GROWTH], s[SENSITIVITY], s[PRIMARY_KILL], np.inf)


@nb.njit(cache=True)
def with_overt(s, overt):
    """The state with overt disease of the given burden (staging found metastases)."""
    return (s[MICRO], overt, s[DAY], s[GROWTH], s[SENSITIVITY], s[PRIMARY_KILL], s[DETECT_DAY])


@nb.njit(cache=True)
def occult_visible_since(s, params):
    """The day occult disease first reached what imaging sees, if imaging would see it now (else inf).

    A burden that crossed the threshold and was then pushed back below it by chemotherapy does
    not show on a scan taken now: imaging sees the present, not the history.
    """
    return s[DETECT_DAY] if s[MICRO] >= params[P_DETECT] else np.inf


@nb.njit(cache=True)
def progression_detectable_day(s, params):
    """First day disease shows on imaging, as far as the current state tells (inf: not so far)."""
    if s[OVERT] > -np.inf:
        grow = params[P_DETECT] + params[P_PROGRESSION] - s[OVERT]
        return s[DAY] + max(0.0, grow / s[GROWTH])
    return occult_visible_since(s, params)


@nb.njit(cache=True)
def symptom_day(detect_day, s, params):
    """Disease that keeps growing past detection causes symptoms a fixed number of logs later."""
    return detect_day + (params[P_SYMPTOM] - params[P_DETECT]) / s[GROWTH]


@nb.njit(cache=True)
def log10_past_detection(day, crossing, s, params):
    """How far (log10) a relapse grew past what CT sees before it was found on `day`.

    Capped at the symptom threshold: a relapse is found by symptoms at the latest.
    """
    if crossing == np.inf:
        return 0.0
    return min(max(0.0, (day - crossing) * s[GROWTH]), params[P_SYMPTOM] - params[P_DETECT])


@nb.njit(cache=True)
def post_relapse_clock_start(found_day, crossing, s, params):
    """The day survival after relapse is counted from: when the relapse causes symptoms, or when
    it was found if that is later. Finding a relapse sooner therefore adds no survival by itself
    (no lead-time gain); earlier detection helps only through second remission.
    """
    if crossing == np.inf:
        return found_day
    return max(found_day, symptom_day(crossing, s, params))


@nb.njit(cache=True)
def end_of_treatment_outcome(s, day, seed, patient, params):
    """(state, day a relapse becomes detectable; inf = cured) at the end of treatment.

    Residual overt disease or occult disease already visible means progression; otherwise an
    arm's adjuvant immunotherapy (mifamurtide runs 36 weeks from the adjuvant phase) kills
    occult disease by its log10 kill, and the
    surviving clonogens are Poisson and the relapse is the regrowth time from them to detection.
    """
    s = advance(s, day, params)
    known = progression_detectable_day(s, params)
    if known < np.inf:
        return s, known
    s = (s[MICRO] - params[P_IMMUNO_KILL], s[OVERT], s[DAY], s[GROWTH], s[SENSITIVITY], s[PRIMARY_KILL], s[DETECT_DAY])
    if s[MICRO] >= params[P_DETECT]:
        return s, day
    survivors = rng.poisson(seed, patient, rng.CLONOGENS, 0, 10.0 ** s[MICRO])
    if survivors == 0.0:
        return s, np.inf
    return s, day + (params[P_DETECT] - np.log10(survivors)) / s[GROWTH]


@nb.njit(cache=True)
def post_relapse_survival_days(cr2, days_since_diagnosis, seed, patient, params):
    """Days from the start of the post-relapse clock (`post_relapse_clock_start`) to death from
    osteosarcoma (inf = cured after second remission).

    Weibull survival by CR2 status (shape 1 = exponential; above 1, deaths cluster later), with
    the arm's mortality hazard ratio, and that of a late relapse, acting proportionally; a
    fraction of patients in second remission are cured.
    """
    if cr2:
        if rng.bernoulli(seed, patient, rng.POST_RELAPSE, 0, params[P_CR2_CURE]):
            return np.inf
        median = params[P_CR2_MEDIAN]
    else:
        median = params[P_NO_CR2_MEDIAN]
    shape = params[P_RELAPSE_SHAPE]
    hr = params[P_RELAPSE_HR] * (params[P_LATE_RELAPSE_HR] if days_since_diagnosis >= params[P_LATE_RELAPSE_DAYS]
                                 else 1.0)
    e = rng.exponential(seed, patient, rng.POST_RELAPSE, 1, 1.0) / hr
    return median * (e / np.log(2.0)) ** (1.0 / shape)


@nb.njit(cache=True)
def post_relapse_progression_days(seed, patient, params):
    """Days from the start of second-line therapy to progression, without CR2 (exponential, arm's HR)."""
    mean = params[P_NO_CR2_PFS] / np.log(2.0) / params[P_RELAPSE_PFS_HR]
    return rng.exponential(seed, patient, rng.POST_RELAPSE, 2, mean)


@nb.njit(cache=True)
def other_cause_death_days(age_years, seed, patient, params):
    """Days to death from other causes: Gompertz hazard exp(log_a + b * age) per year."""
    a = np.exp(params[P_GOMPERTZ_LOG_A])
    b = params[P_GOMPERTZ_B]
    e = rng.exponential(seed, patient, rng.OTHER_DEATH, 0, 1.0)
    years = np.log1p(b * e / (a * np.exp(b * age_years))) / b
    return years * 365.25


@nb.njit(cache=True)
def second_malignancy_days(end_of_treatment, death, horizon, first_id, seed, params):
    """Day of a second primary cancer after first-line treatment (NaN: none while followed).

    A constant hazard from the end of treatment; it ends event-free survival (DESIGN §5) but is
    not followed further (its deaths are in neither cause of death).
    """
    out = np.full(end_of_treatment.shape[0], np.nan)
    rate = params[P_SECOND_MALIGNANCY]
    if rate <= 0.0:
        return out
    for i in range(end_of_treatment.shape[0]):
        if np.isnan(end_of_treatment[i]):
            continue
        day = end_of_treatment[i] + rng.exponential(seed, first_id + i, rng.SECOND_MALIGNANCY, 0, 365.25 / rate)
        if day < horizon and not day >= death[i]:
            out[i] = day
    return out
