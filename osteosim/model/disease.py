"""Numba kernels of the disease model: the single source of truth of the biology.

A patient's disease is a `DiseaseState` (a named tuple of floats, log10 clonogens), and every
kernel is a pure function returning the new one: no arrays cross the calls, which keeps
Numba's reference counting out of the hot loop.
The pathway asks questions only at stage boundaries (a chemotherapy course, surgery, the end
of treatment, a relapse), so both engines call these same functions and nothing here knows
about queues or resources. All randomness comes from :mod:`osteosim.model.rng`, keyed by
(seed, patient, purpose, index).
"""
from __future__ import annotations

from typing import NamedTuple

import numba as nb
import numpy as np

from osteosim.model import rng
from osteosim.model.codes import DAYS_PER_YEAR
class DiseaseState(NamedTuple):
    """One patient's disease (log10 clonogens); kernels return a new one, nothing is mutated."""
    micro: float           # log10 occult (micrometastatic) clonogens
    overt: float           # log10 overt residual disease (visible metastases or primary); -inf = none
    day: float             # the day micro and overt refer to
    growth: float          # log10 growth per day (patient-specific)
    sensitivity: float     # log10 kill of one full-dose 5-week MAP cycle on bulk tumour
    primary_kill: float    # log10 kill accumulated by the primary before surgery
    detect_day: float      # first day the occult burden reached the detection threshold (inf: not yet)
    resistant: float       # log10 occult clonogens no chemotherapy kills (Goldie-Coldman); -inf = none


class DiseaseParams(NamedTuple):
    """The configured biology and the arm's modifiers, as the kernels read them (model.parameters packs it)."""
    micro_mult: float          # micrometastases are killed more per cycle than bulk (x this)
    overt_mult: float          # overt metastases killed like bulk (x this)
    detect: float              # log10 burden seen on imaging
    symptom: float             # log10 burden that causes symptoms
    progression: float         # log10 growth of residual overt disease that counts as progression
    good_response: float       # log10 kill on the primary that leaves < 10% viable tumour
    response_noise: float      # SD of the measurement/biology noise on histologic response
    rt_control: float          # probability radiotherapy controls a treated site
    resistance: float          # log10 chance that an occult clonogen at staging is chemoresistant
    relapse_hr: float          # arm modifier: hazard ratio of death after relapse (slows growth to the lethal burden)
    arm_kill: float            # arm modifier on micrometastatic kill
    gompertz_log_a: float      # other-cause mortality: log of the Gompertz hazard at age 0, per year
    gompertz_b: float          # ... and its rise per year of age
    immuno_kill: float         # arm modifier: log10 kill of occult disease by adjuvant immunotherapy
    lethal: float              # log10 burden at which osteosarcoma kills
    resection_kill: float      # log10 of occult clonogens a surgical remission of a relapse takes with the lesions
    pfs_median: float          # median days to progression on a line of treatment for unresectable disease ...
    pfs_shape: float           # ... and the Weibull shape of that time (phase II benchmarks)
    further_line: float        # chance another line follows a progression (else palliative care)
    relapse_pfs_hr: float      # arm modifier: hazard ratio of progression on the arm's relapse line
    complete_response: float   # arm modifier: chance the arm's relapse line clears unresectable disease
    second_malignancy: float   # yearly hazard of a second malignancy after first-line treatment


@nb.njit(cache=True)
def initial_state(day, micro, overt, growth, sensitivity):
    """A patient's disease at referral."""
    return DiseaseState(micro, overt, day, growth, sensitivity, 0.0, np.inf, -np.inf)


@nb.njit(cache=True)
def _log10_add(a, b):
    hi, lo = max(a, b), min(a, b)
    if lo == -np.inf:      # nothing to add (most patients have no resistant clonogens): no transcendental calls
        return hi
    return hi + np.log10(1.0 + 10.0 ** (lo - hi))


@nb.njit(cache=True)
def occult(s):
    """log10 of all occult clonogens, sensitive and resistant."""
    return _log10_add(s.micro, s.resistant)


@nb.njit(cache=True)
def burden(s):
    """log10 of all the clonogens, occult and overt."""
    return _log10_add(occult(s), s.overt)


@nb.njit(cache=True)
def advance(s, day, params):
    """Grow every compartment exponentially up to `day`; remember when occult disease became visible."""
    dt = day - s.day
    if dt <= 0.0:
        return s
    detect_day = s.detect_day
    if detect_day == np.inf:
        before = occult(s)
        if before + s.growth * dt >= params.detect:
            detect_day = s.day + max(0.0, (params.detect - before) / s.growth)
    return DiseaseState(s.micro + s.growth * dt, s.overt + s.growth * dt, day, s.growth, s.sensitivity, s.primary_kill,
                        detect_day, s.resistant + s.growth * dt)


@nb.njit(cache=True)
def seed_resistance(s, seed, patient, params):
    """Chemoresistant clonogens among the occult disease at staging (Goldie-Coldman: each clonogen is
    resistant with a small chance, so their number is Poisson and a larger burden more often holds one).
    No chemotherapy kills them: only surgery removes them, which makes cure fall steeply with burden."""
    n = rng.poisson(seed, patient, rng.PURPOSE.resistance, 0, 10.0 ** (s.micro + params.resistance))
    resistant = np.log10(n) if n > 0.0 else -np.inf
    return DiseaseState(s.micro, s.overt, s.day, s.growth, s.sensitivity, s.primary_kill, s.detect_day, resistant)


@nb.njit(cache=True)
def chemotherapy_course(s, day, weight, intensity, before_surgery, params):
    """One admission: kill by its share of a MAP cycle (weight) times delivered dose intensity."""
    s = advance(s, day, params)
    kill = s.sensitivity * weight * intensity
    return DiseaseState(s.micro - kill * params.micro_mult * params.arm_kill, s.overt - kill * params.overt_mult,
                        s.day, s.growth, s.sensitivity, s.primary_kill + (kill if before_surgery else 0.0),
                        s.detect_day, s.resistant)


@nb.njit(cache=True)
def good_histologic_response(s, noise, params):
    """< 10% viable tumour: the same chemosensitivity that drives cure, plus noise (a z-score)."""
    return s.primary_kill + params.response_noise * noise >= params.good_response


@nb.njit(cache=True)
def overt_disease_visible(s, day, params):
    """(state, do overt metastases still show on restaging, or did they melt away under chemotherapy?)"""
    s = advance(s, day, params)
    return s, s.overt >= params.detect


@nb.njit(cache=True)
def clear_overt(s, day, params):
    """Local therapy removed all overt disease."""
    s = advance(s, day, params)
    return DiseaseState(s.micro, -np.inf, s.day, s.growth, s.sensitivity, s.primary_kill, s.detect_day, s.resistant)


@nb.njit(cache=True)
def fold_invisible_overt(s, day, params):
    """Overt lesions below imaging are occult disease from now on."""
    s = advance(s, day, params)
    return DiseaseState(_log10_add(s.micro, s.overt), -np.inf, s.day, s.growth, s.sensitivity, s.primary_kill,
                        s.detect_day, s.resistant)


@nb.njit(cache=True)
def absorb_visible_occult(s, remainder):
    """Occult disease imaging now sees becomes overt disease (for local control to resect or not);
    what stays below imaging is `remainder` log10 clonogens, tracked afresh (resistant ones in the
    same proportion)."""
    total = occult(s)
    left = min(0.0, remainder - total)
    return DiseaseState(s.micro + left, _log10_add(s.overt, total), s.day, s.growth, s.sensitivity, s.primary_kill,
                        np.inf, s.resistant + left)


@nb.njit(cache=True)
def with_overt(s, overt):
    """The state with overt disease of the given burden (staging found metastases)."""
    return DiseaseState(s.micro, overt, s.day, s.growth, s.sensitivity, s.primary_kill, s.detect_day, s.resistant)


@nb.njit(cache=True)
def occult_visible_since(s, params):
    """The day occult disease first reached what imaging sees, if imaging would see it now (else inf).

    A burden that crossed the threshold and was then pushed back below it by chemotherapy does
    not show on a scan taken now: imaging sees the present, not the history.
    """
    return s.detect_day if occult(s) >= params.detect else np.inf


@nb.njit(cache=True)
def progression_detectable_day(s, params):
    """First day disease shows on imaging, as far as the current state tells (inf: not so far)."""
    if s.overt > -np.inf:
        grow = params.detect + params.progression - s.overt
        return s.day + max(0.0, grow / s.growth)
    return occult_visible_since(s, params)


@nb.njit(cache=True)
def symptom_day(detect_day, s, params):
    """Disease that keeps growing past detection causes symptoms a fixed number of logs later."""
    return detect_day + (params.symptom - params.detect) / s.growth


@nb.njit(cache=True)
def log10_past_detection(day, crossing, s, params):
    """How far (log10) a relapse grew past what CT sees before it was found on `day`.

    Capped at the symptom threshold: a relapse is found by symptoms at the latest.
    """
    if crossing == np.inf:
        return 0.0
    return min(max(0.0, (day - crossing) * s.growth), params.symptom - params.detect)


@nb.njit(cache=True)
def _regrowth(s, day, surviving, params):
    """(state, day `surviving` clonogens regrow to what imaging sees; inf if none survive)."""
    if surviving == 0.0:
        return s, np.inf
    return s, day + (params.detect - np.log10(surviving)) / s.growth


@nb.njit(cache=True)
def end_of_treatment_outcome(s, day, seed, patient, params):
    """(state, day a relapse becomes detectable; inf = cured) at the end of treatment.

    Residual overt disease or occult disease already visible means progression; otherwise an
    arm's adjuvant immunotherapy (mifamurtide runs 36 weeks from the adjuvant phase) kills
    occult disease by its log10 kill (ASSUMPTION: resistant clonogens too), the surviving
    sensitive clonogens are Poisson, and the relapse is the regrowth time from them and the
    resistant ones to detection.
    """
    s = advance(s, day, params)
    known = progression_detectable_day(s, params)
    if known < np.inf:
        return s, known
    s = DiseaseState(s.micro - params.immuno_kill, s.overt, s.day, s.growth, s.sensitivity, s.primary_kill,
                     s.detect_day, s.resistant - params.immuno_kill)
    if occult(s) >= params.detect:
        return s, day
    survivors = rng.poisson(seed, patient, rng.PURPOSE.clonogens, 0, 10.0 ** s.micro)
    return _regrowth(s, day, survivors + _resistant_count(s, seed, patient, 0, params), params)


@nb.njit(cache=True)
def _resistant_count(s, seed, patient, index, params):
    """The resistant clonogens as a whole number (Poisson once a kill has made their expected number fractional)."""
    if s.resistant == -np.inf:
        return 0.0
    return rng.poisson(seed, patient, rng.PURPOSE.resistant_survivors, index, 10.0 ** s.resistant)


@nb.njit(cache=True)
def lethal_day(s, params):
    """The day disease nobody can remove reaches the lethal burden, growing at the patient's own rate.

    Death after a relapse without remission is therefore set by the tumour, not by when it was
    found: finding a relapse sooner adds no survival by itself (no lead-time gain), and a fast-
    growing (early) relapse kills sooner than a slow (late) one. The arm's post-relapse hazard
    ratio slows that growth in proportion (an accelerated-failure reading of a hazard ratio).
    """
    return s.day + max(0.0, params.lethal - burden(s)) / (s.growth * params.relapse_hr)


@nb.njit(cache=True)
def remission(s, day, params):
    """A relapse put into remission: the visible lesions go, with `resection_kill` log10 of the
    occult disease around them (sensitive and resistant alike); what stays behind scales with
    what was there."""
    s = advance(s, day, params)
    sensitive = _log10_add(s.micro, s.overt)
    return DiseaseState(sensitive - params.resection_kill, -np.inf, s.day, s.growth, s.sensitivity, s.primary_kill,
                        np.inf, s.resistant - params.resection_kill)


@nb.njit(cache=True)
def after_remission(s, day, relapse, seed, patient, params):
    """(state, day the next relapse becomes detectable; inf = cured) when the treatment of a
    remission ends: the surviving occult clonogens (Poisson) regrow to what imaging sees."""
    s = advance(s, day, params)
    if occult(s) >= params.detect:
        return s, day
    survivors = rng.poisson(seed, patient, rng.PURPOSE.relapse_clonogens, relapse, 10.0 ** s.micro)
    return _regrowth(s, day, survivors + _resistant_count(s, seed, patient, relapse + 1, params), params)


@nb.njit(cache=True)
def progression_days(line, hr, seed, patient, params):
    """Days from the start of a line of treatment for disease that could not be removed to its
    progression: Weibull with the phase II benchmarks' median and shape; the line's hazard ratio
    (the arm's relapse drug on its line, else 1) acts proportionally."""
    e = rng.exponential(seed, patient, rng.PURPOSE.relapse_progression, line, 1.0) / hr
    return params.pfs_median * (e / np.log(2.0)) ** (1.0 / params.pfs_shape)


@nb.njit(cache=True)
def other_cause_death_days(age_years, seed, patient, params):
    """Days to death from other causes: Gompertz hazard exp(log_a + b * age) per year."""
    a = np.exp(params.gompertz_log_a)
    b = params.gompertz_b
    e = rng.exponential(seed, patient, rng.PURPOSE.other_death, 0, 1.0)
    years = np.log1p(b * e / (a * np.exp(b * age_years))) / b
    return years * DAYS_PER_YEAR


@nb.njit(cache=True)
def second_malignancy_days(end_of_treatment, death, horizon, first_id, seed, params):
    """Day of a second primary cancer after first-line treatment (NaN: none while followed).

    A constant hazard from the end of treatment; it ends event-free survival (DESIGN §5) but is
    not followed further (its deaths are in neither cause of death).
    """
    out = np.full(end_of_treatment.shape[0], np.nan)
    rate = params.second_malignancy
    if rate <= 0.0:
        return out
    for i in range(end_of_treatment.shape[0]):
        if np.isnan(end_of_treatment[i]):
            continue
        day = end_of_treatment[i] + rng.exponential(seed, first_id + i, rng.PURPOSE.second_malignancy, 0, DAYS_PER_YEAR / rate)
        if day < horizon and not day >= death[i]:
            out[i] = day
    return out
