"""Late effects of treatment, drawn after the pathway from the doses it gave (they change nothing in it).

Like second malignancies (`model.disease.second_malignancy_days`), each late effect is a day per
patient (NaN: none while followed), drawn by a keyed kernel once the pathway is over, from what
the row recorded: cumulative doses and the days the exposures began or ended (`model.doses`).
None comes before its exposure; a death (any cause) or the end of follow-up before it censors it.

- heart failure: constant hazard from the first doxorubicin course, h = h_ref x HR^((D - D_ref)/10)
  for a cumulative dose D > 0 (zero without doxorubicin), h_ref = -ln(1 - F)/T so that the
  cumulative incidence is F at T years at the reference dose, times the arm's heart_failure_hr
  (a cardioprotectant such as dexrazoxane);
- severe hearing loss by the end of cisplatin (the day of the last cisplatin course): chance
  p_ref x (D - threshold)/(D_ref - threshold), none at or below the threshold, x a risk ratio
  for the young, at most 1;
- kidney damage by the end of ifosfamide (the day of the last ifosfamide course): chance
  p_ref x D/D_ref, at most 1;
- endoprosthesis failure needing revision after limb-salvage surgery: Weibull time from surgery
  through the published failure by a given year and median implant survival.

Draws: purpose `late_effect` (rng.PURPOSES), index = the effect's place in `EFFECTS`.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numba as nb
import numpy as np

from osteosim.model import rng
from osteosim.model.codes import DAYS_PER_YEAR
from osteosim.model.decisions import amputation

EFFECTS = ("heart_failure", "hearing_loss", "kidney_damage", "prosthesis_failure")   # keyed-draw indices


class LateEffectParams(NamedTuple):
    hf_rate_ref: float         # yearly heart-failure hazard at the reference doxorubicin dose
    hf_ref_dose: float         # mg/m2
    hf_log_hr_per_mg: float    # log hazard ratio per mg/m2
    hl_p_ref: float            # severe hearing loss at the reference cisplatin dose
    hl_ref_dose: float         # mg/m2
    hl_threshold: float        # mg/m2: none at or below
    hl_young_years: float      # age at diagnosis below which ...
    hl_young_rr: float         # ... the chance is multiplied by this
    kd_p_ref: float            # kidney damage at the reference ifosfamide dose
    kd_ref_dose: float         # g/m2
    pf_shape: float            # Weibull shape of endoprosthesis survival
    pf_scale_days: float       # ... and its scale, days
    limb_salvage: float        # share of resections that save the limb (the pathway's keyed decision)


def pack(cfg) -> LateEffectParams:
    """The configured late effects (cfg.late_effects) as the kernel reads them."""
    from osteosim.config.validate import prosthesis_weibull

    e = cfg.late_effects
    shape, scale_years = prosthesis_weibull(e)
    return LateEffectParams(
        hf_rate_ref=-math.log1p(-e.heart_failure_incidence) / e.heart_failure_years * cfg.arm.heart_failure_hr,
        hf_ref_dose=float(e.heart_failure_reference_mg_m2),
        hf_log_hr_per_mg=math.log(e.heart_failure_hr_per_10_mg_m2) / 10.0,
        hl_p_ref=float(e.hearing_loss_severe),
        hl_ref_dose=float(e.hearing_loss_reference_mg_m2),
        hl_threshold=float(e.hearing_loss_threshold_mg_m2),
        hl_young_years=float(e.hearing_loss_young_years),
        hl_young_rr=float(e.hearing_loss_young_risk_ratio),
        kd_p_ref=float(e.kidney_damage),
        kd_ref_dose=float(e.kidney_reference_g_m2),
        pf_shape=float(shape),
        pf_scale_days=float(scale_years * DAYS_PER_YEAR),
        limb_salvage=float(cfg.treatment.limb_salvage),
    )


@nb.njit(cache=True)
def heart_failure_rate(dose, L):
    """Yearly hazard of heart failure after a cumulative doxorubicin dose (mg/m2)."""
    if dose <= 0.0:
        return 0.0
    return L.hf_rate_ref * np.exp(L.hf_log_hr_per_mg * (dose - L.hf_ref_dose))


@nb.njit(cache=True)
def hearing_loss_chance(dose, age, L):
    """Chance of severe hearing loss by the end of a cumulative cisplatin dose (mg/m2)."""
    if dose <= L.hl_threshold:
        return 0.0
    p = L.hl_p_ref * (dose - L.hl_threshold) / (L.hl_ref_dose - L.hl_threshold)
    if age < L.hl_young_years:
        p *= L.hl_young_rr
    return min(p, 1.0)


@nb.njit(cache=True)
def kidney_damage_chance(dose, L):
    """Chance of moderate or severe kidney damage after a cumulative ifosfamide dose (g/m2)."""
    return min(L.kd_p_ref * dose / L.kd_ref_dose, 1.0) if dose > 0.0 else 0.0


@nb.njit(cache=True)
def prosthesis_failure_day(seed, pid, surgery, shape, scale_days):
    """The day a limb-salvage endoprosthesis fails (Weibull from surgery); the pathway books revision
    surgery on it (supportive.revision_surgery) from the same draw."""
    u = rng.uniform(seed, pid, rng.PURPOSE.late_effect, 3)
    return surgery + scale_days * (-np.log(u)) ** (1.0 / shape)


@nb.njit(cache=True)
def _followed(day, death, horizon):
    """The day if the patient is alive and followed then, else NaN."""
    return day if day < horizon and not day >= death else np.nan


@nb.njit(cache=True)
def late_effect_days(doxorubicin, doxorubicin_first, cisplatin, cisplatin_last, ifosfamide, ifosfamide_last,
                     surgery, age, death, horizon, first_id, seed, L):
    """(heart failure, hearing loss, kidney damage, prosthesis failure) days per patient (NaN: none)."""
    n = doxorubicin.shape[0]
    hf, hl, kd, pf = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    for i in range(n):
        pid = first_id + i
        rate = heart_failure_rate(doxorubicin[i], L)
        if rate > 0.0 and not np.isnan(doxorubicin_first[i]):
            day = doxorubicin_first[i] + rng.exponential(seed, pid, rng.PURPOSE.late_effect, 0, DAYS_PER_YEAR / rate)
            hf[i] = _followed(day, death[i], horizon)
        if not np.isnan(cisplatin_last[i]) and \
                rng.uniform(seed, pid, rng.PURPOSE.late_effect, 1) < hearing_loss_chance(cisplatin[i], age[i], L):
            hl[i] = _followed(cisplatin_last[i], death[i], horizon)
        if not np.isnan(ifosfamide_last[i]) and \
                rng.uniform(seed, pid, rng.PURPOSE.late_effect, 2) < kidney_damage_chance(ifosfamide[i], L):
            kd[i] = _followed(ifosfamide_last[i], death[i], horizon)
        if not np.isnan(surgery[i]) and not amputation(seed, pid, L):
            pf[i] = _followed(prosthesis_failure_day(seed, pid, surgery[i], L.pf_shape, L.pf_scale_days), death[i],
                              horizon)
    return hf, hl, kd, pf
