"""The model's estimate of every calibration target, each on its own population.

`Populations(n, seed).estimate(disease, ...)` simulates the populations with the cohort engine
(common random numbers: the same seed for every call) for disease parameters `disease` (a dict
of DiseaseConfig fields) and returns {target id: value} in the target's units (percent,
proportion, years, hazard ratio).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from osteosim import simulate
from osteosim.calibration import populations as pop
from osteosim.config import compose
from osteosim.analysis.survival import DAYS_PER_YEAR, cox_hazard_ratio, kaplan_meier


def _survival_pct(days, event, years: float) -> float:
    kmf = kaplan_meier(np.asarray(days, float), np.asarray(event, bool))
    return 100.0 * float(kmf.survival_function_at_times(years).iloc[0])


def euramos(p: pd.DataFrame) -> dict[str, float]:
    """E1_* survival, histologic response, and the COSS relapse series drawn from the same kind of patients."""
    out = {f"E1_{e}{y}": _survival_pct(p[f"{e.lower()}_days"], p[f"{e.lower()}_event"], y)
           for e in ("EFS", "OS") for y in (3, 5)}
    out["GOOD_RESPONSE"] = float(p["good_response"].astype(float).mean())
    relapsed = p[p["relapse_day"].notna() & p["csr"] & (p["relapse_site"].astype(str) != "progression")]
    after = (relapsed["followup_end_day"] - relapsed["relapse_day"]).to_numpy()
    died = relapsed["os_event"].to_numpy()
    cr2 = relapsed["cr2"].astype(bool).to_numpy()
    out["COSS_REL_OS5"] = _survival_pct(after, died, 5)
    out["COSS_REL_CR2_OS5"] = _survival_pct(after[cr2], died[cr2], 5)
    out["COSS_REL_NOCR2_OS5"] = _survival_pct(after[~cr2], died[~cr2], 5)
    out["REL_MEDIAN_TIME"] = float(np.median((relapsed["relapse_day"] - relapsed["diagnosis_day"]) / DAYS_PER_YEAR))
    return out


def coss_metastatic(p: pd.DataFrame) -> dict[str, float]:
    m = p[p["met_status"].astype(str) != "none"]
    return {"COSS_MOS_OS5": _survival_pct(m["os_days"], m["os_event"], 5),
            "COSS_MOS_EFS5": _survival_pct(m["efs_days"], m["efs_event"], 5)}


def natural_history(p: pd.DataFrame) -> dict[str, float]:
    """Cumulative proportion relapsed (or progressed) by 2 years, deaths without relapse censored."""
    relapsed = p["relapse_day"].notna().to_numpy()
    until = np.where(relapsed, p["relapse_day"], p["followup_end_day"]) - p["diagnosis_day"]
    return {"NATHIST_RELAPSE2": 100.0 - _survival_pct(until, relapsed, 2)}


INT0133_FOLLOWUP_YEARS = 6.0   # the trial reported 6-year OS (Meyers 2008; parameters.md §8)


def int0133(control: pd.DataFrame, mifamurtide: pd.DataFrame) -> dict[str, float]:
    """OS hazard ratio, mifamurtide vs not: patients split by id parity into the two arms (randomised).

    Follow-up is cut at the trial's 6 years: a Cox hazard ratio depends on the follow-up window
    when hazards are not proportional (cures), and a simulated trial cohort is otherwise followed
    for as long as its accrual lasts.
    """
    arm = (control["patient_id"].to_numpy() % 2) == 1
    days = np.where(arm, mifamurtide["os_days"], control["os_days"])
    event = np.where(arm, mifamurtide["os_event"], control["os_event"])
    keep = ~np.isnan(days)
    cutoff = INT0133_FOLLOWUP_YEARS * DAYS_PER_YEAR
    days, event, arm = days[keep], event[keep].astype(bool), arm[keep]
    return {"INT0133_MTP_HR_OS": cox_hazard_ratio(np.minimum(days, cutoff), event & (days <= cutoff), arm)[0]}


def sarc024(p: pd.DataFrame, config, regorafenib_hr: float) -> dict[str, float]:
    """PFS hazard ratio of a relapse TKI in patients whose relapse could not be put in CR2 (randomised by id)."""
    from osteosim.model import rng
    from osteosim.model import disease as k
    from osteosim.model.parameters import disease_vector

    progressive = p[p["relapse_day"].notna() & (p["cr2"].astype(float) == 0.0)]
    ids = progressive["patient_id"].to_numpy()
    treated = (ids % 2) == 1
    placebo = disease_vector(config.disease, config.arm)
    drug = placebo._replace(relapse_pfs_hr=regorafenib_hr)
    seed = int(rng.replication_seed(config.seed, 0))
    pfs = np.array([k.post_relapse_progression_days(seed, int(i), drug if t else placebo) for i, t in zip(ids, treated)])
    return {"SARC024_REGO_HR_PFS": cox_hazard_ratio(pfs, np.ones_like(pfs, dtype=bool), treated)[0]}


class Populations:
    """The target populations composed once; each estimate swaps in disease and arm parameters."""

    def __init__(self, n: int, seed: int, base: list[str] = ()):
        self.configs = {name: compose(pop.overrides(population, size, seed, list(base))) for name, population, size in (
            ("euramos", pop.EURAMOS, n), ("coss", pop.COSS_METASTATIC, n // 2),
            ("nathist", pop.NATURAL_HISTORY, n // 4), ("int0133", pop.INT0133, n),
            ("mifamurtide", pop.INT0133, n))}
        self.configs["mifamurtide"] = replace(self.configs["mifamurtide"], arm=compose(["arm=mifamurtide"]).arm)

    def _patients(self, name: str, disease: dict, arm: dict | None = None) -> pd.DataFrame:
        config = self.configs[name]
        config = replace(config, disease=replace(config.disease, **disease),
                         arm=replace(config.arm, **(arm or {})))
        return simulate(config, summary=False).patients

    def disease_targets(self, disease: dict) -> dict[str, float]:
        return {**euramos(self._patients("euramos", disease)), **coss_metastatic(self._patients("coss", disease)),
                **natural_history(self._patients("nathist", disease))}

    def mifamurtide_hr(self, disease: dict, log10_kill: float) -> float:
        control = self._patients("int0133", disease)
        treated = self._patients("mifamurtide", disease, {"immunotherapy_log10_kill": log10_kill})
        return int0133(control, treated)["INT0133_MTP_HR_OS"]

    def regorafenib_hr(self, disease: dict, relapse_pfs_hr: float) -> float:
        config = self.configs["euramos"]
        config = replace(config, disease=replace(config.disease, **disease))
        return sarc024(self._patients("euramos", disease), config, relapse_pfs_hr)["SARC024_REGO_HR_PFS"]

    def estimate(self, disease: dict, mifamurtide_kill: float, regorafenib_hr: float) -> dict[str, float]:
        return {**self.disease_targets(disease), "INT0133_MTP_HR_OS": self.mifamurtide_hr(disease, mifamurtide_kill),
                "SARC024_REGO_HR_PFS": self.regorafenib_hr(disease, regorafenib_hr)}
