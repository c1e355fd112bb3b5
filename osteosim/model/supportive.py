"""Supportive care beside the pathway (conf/supportive): its keyed decisions and what is drawn after it.

Palliative care (DESIGN §2): when cure is no longer possible (a relapse, a first-line progression
or disease at entry that can be neither removed nor cleared), the early policy refers the patient
to specialist palliative care at once; the late policy refers when the last line of treatment
stops (`palliative_day`). A referral starts the palliative-care nurse's contacts (a visits phase);
an end-of-life admission on the oncology ward for the last days is planned when cure is no longer
possible, less often when the patient has been referred by then. Where a patient who dies of the
disease dies is drawn after the pathway (it changes nothing in it), from whether the referral came
before the death. None of this changes survival: the steps are logs and visits, which take no time.

Psychosocial care: a family assessment at diagnosis sorts the family into a risk tier (universal,
targeted, clinical); supportive visit series (conf/supportive `visits`) follow from the assessment,
each chemotherapy admission (so contacts follow days in hospital), the first relapse, a
palliative referral and, for the family, a death; survivors are screened yearly.

Draws: purposes `palliative_referral`, `end_of_life` (in the pathway), `place_of_death`
(after it) and `family_tier` (at diagnosis), index 0 each: a patient reaches the point where
cure is not possible once.
"""
from __future__ import annotations

from typing import NamedTuple

import numba as nb
import numpy as np

from osteosim.model import rng
from osteosim.model.codes import DEATH, PLACE, TIER


@nb.njit(cache=True)
def referred(seed, pid, P):
    """Is the patient referred to specialist palliative care at the policy's trigger?"""
    return rng.uniform(seed, pid, rng.PURPOSE.palliative_referral, 0) < P.referral_p


@nb.njit(cache=True)
def admitted_at_end(seed, pid, referred_by_now, P):
    """Is an admission for the last days of life planned (less often with specialist palliative care)?"""
    p = P.eol_admission_p * (P.eol_admission_rr if referred_by_now else 1.0)
    return rng.uniform(seed, pid, rng.PURPOSE.end_of_life, 0) < min(p, 1.0)


@nb.njit(cache=True)
def family_tier(seed, pid, P):
    """The family's psychosocial risk tier at diagnosis (codes.TIER): universal, targeted or clinical."""
    u = rng.uniform(seed, pid, rng.PURPOSE.family_tier, 0)
    return TIER.universal if u < P.tier_universal else TIER.targeted if u < P.tier_universal + P.tier_targeted \
        else TIER.clinical


class PlaceParams(NamedTuple):
    home: float                  # shares without specialist palliative care
    hospice: float
    hospital: float
    hospital_or: float           # odds ratio of a hospital death with it ...
    home_outside_hospital: float # ... and the home share of the rest


def pack_places(cfg) -> PlaceParams:
    p = cfg.supportive.palliative
    return PlaceParams(float(p.place_of_death["home"]), float(p.place_of_death["hospice"]),
                       float(p.place_of_death["hospital"]), float(p.hospital_death_or_specialist),
                       float(p.home_share_outside_hospital_specialist))


@nb.njit(cache=True)
def place_shares(referred_before, L):
    """(home, hospice, hospital) chances for a death from the disease, with or without a referral before it."""
    if not referred_before:
        return L.home, L.hospice, L.hospital
    odds = L.hospital / (1.0 - L.hospital) * L.hospital_or if L.hospital < 1.0 else np.inf
    hospital = odds / (1.0 + odds) if odds < np.inf else 1.0
    return (1.0 - hospital) * L.home_outside_hospital, (1.0 - hospital) * (1.0 - L.home_outside_hospital), hospital


@nb.njit(cache=True)
def places_of_death(death_cause, death_day, referral_day, first_id, seed, L):
    """codes.PLACES_OF_DEATH code per patient: where each death from the disease happened (0: no such death)."""
    n = death_cause.shape[0]
    out = np.zeros(n, dtype=np.int8)
    for i in range(n):
        if death_cause[i] != DEATH.osteosarcoma:
            continue
        home, hospice, _ = place_shares(referral_day[i] <= death_day[i], L)
        u = rng.uniform(seed, first_id + i, rng.PURPOSE.place_of_death, 0)
        out[i] = PLACE.home if u < home else PLACE.hospice if u < home + hospice else PLACE.hospital
    return out
