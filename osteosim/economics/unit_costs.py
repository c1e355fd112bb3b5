"""The priced things of conf/economics, in the analysis's currency and price year.

Amounts are compounded from their own price year to `economics.price_year` at
`economics.inflation_per_year` (0 by default: amounts stay at their source's prices, DESIGN §8).
Chemotherapy courses are counted from the cumulative dose columns, since the patients table
keeps doses, not admissions: the doses are a known mix of course types (`treatment.course_doses`),
so the counts solve one small linear system per patient. A dose-reduced course counts as the
share of a course it gave (its admission is then priced at that share too: 6% of courses at 75%,
about 1.5% of first-line admissions, conf/treatment/map.yaml).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from osteosim.config.schema import ArmConfig, ArmVisits, Config, EconomicsConfig
from osteosim.model.record import DOSE_COLUMNS


def price(e: EconomicsConfig, name: str) -> float:
    """One unit of costs[name] at the analysis's price year."""
    cost = e.costs[name]
    return cost.amount * (1.0 + e.inflation_per_year) ** (e.price_year - cost.price_year)


def course_types(config: Config) -> list[str]:
    """Course types with a dose (AP, A, M, IE), in the order of treatment.course_doses."""
    return list(config.treatment.course_doses.doxorubicin_mg_m2)


def course_counts(patients: pd.DataFrame, config: Config) -> dict[str, np.ndarray]:
    """Courses of each type a patient was given, from their cumulative doses (least squares on the
    dose matrix: exact when, as in MAP, every type has its own drug signature), as one product with the
    matrix's pseudo-inverse (LAPACK's least-squares solve over a chunk's 200,000 dose vectors took 30 ms
    for the same counts); rounding to 9 decimals removes the last-digit noise either way.

    The product is written out drug by drug, not as a matrix product: BLAS ran that 4 x 4 product on
    threads of its own, which doubled pricing's CPU time and went on spinning beside the engine."""
    types = course_types(config)
    inverse = _dose_pseudo_inverse(config)
    counts = np.zeros((len(patients), len(types)))
    for j, column in enumerate(DOSE_COLUMNS):
        counts += patients[column].to_numpy(dtype=float)[:, None] * inverse[:, j]
    counts = np.clip(np.round(counts, 9), 0.0, None)
    return {t: counts[:, i] for i, t in enumerate(types)}


def _dose_pseudo_inverse(config: Config) -> np.ndarray:
    """type x drug: the least-squares map from a patient's cumulative doses to their course counts."""
    doses = config.treatment.course_doses
    matrix = np.array([[getattr(doses, column)[t] for t in course_types(config)] for column in DOSE_COLUMNS])
    return np.linalg.pinv(matrix)


def course_price(config: Config, course: str) -> float:
    """One chemotherapy admission of a course type: a delivery attendance, its bed days (the treatment
    config's length of stay, so a scenario that shortens it costs less) and its drugs."""
    e = config.economics
    return (price(e, "chemo_delivery") + config.treatment.length_of_stay_days[course] * price(e, "chemo_bed_day")
            + price(e, e.chemotherapy_drugs[course]))


def primary_surgery(config: Config) -> float:
    """Expected cost of resecting the primary: the table does not say which operation, so the
    limb-salvage share of the treatment config weighs the two (ASSUMPTION, DESIGN §8)."""
    e, share = config.economics, config.treatment.limb_salvage
    return share * price(e, "surgery_limb_salvage") + (1.0 - share) * price(e, "surgery_amputation")


def end_of_life(e: EconomicsConfig) -> float:
    """Expected cost of the last days of a cancer death, over the places patients die."""
    eol = e.end_of_life
    return sum(share * price(e, eol.cost_by_place[place]) for place, share in eol.place_of_death.items())


def visit_price(e: EconomicsConfig, arm: ArmConfig, visit: ArmVisits) -> float:
    """One of an arm's appointments: its delivery (a bed is priced per day of stay) and its share of
    the arm's drug."""
    delivery = price(e, e.visit_delivery[visit.resource])
    if visit.resource == "chemo_bed":
        delivery *= visit.days
    drug = e.arm_drugs.get(arm.name)
    return delivery + (price(e, drug.cost) / drug.visits_per_unit if drug is not None else 0.0)
