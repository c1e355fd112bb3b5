"""The model's estimate of every published figure (calibration and validation targets), each on its own population.

`Populations(n, seed).estimate(disease, ...)` simulates the populations with the cohort engine
(common random numbers: the same seed for every call) for disease parameters `disease` (a dict
of DiseaseConfig fields) and returns {target id: value} in the target's units (percent,
proportion, years, months, hazard ratio). Which figures are fitted and which are held out is
the `role` column of experiments/calibrate/targets.csv; this module estimates them all.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from osteosim import simulate
from osteosim.calibration import populations as pop
from osteosim.config import compose
from osteosim.analysis.survival import DAYS_PER_YEAR, cox_hazard_ratio, cox_hazard_ratios, kaplan_meier

DAYS_PER_MONTH = DAYS_PER_YEAR / 12.0


def _days(x) -> np.ndarray:
    """Whole days (rounded up): tied times make lifelines' Cox fit several times faster on a large cohort."""
    return np.ceil(np.asarray(x, dtype=np.float64))


def _survival_pct(days, event, years: float) -> float:
    km = kaplan_meier(np.asarray(days, float), np.asarray(event, bool))
    return float("nan") if km is None else 100.0 * km.at(years)


def _median_months(days, event) -> float:
    """Kaplan-Meier median (months) of times in days."""
    km = kaplan_meier(np.asarray(days, float), np.asarray(event, bool))
    return float("nan") if km is None else km.median() * 12.0


def _efs_from_surgery_pct(p: pd.DataFrame, years: float) -> float:
    """EFS from surgery of the primary (as trials randomised after it), in patients event-free then."""
    operated = p[p["surgery_day"].notna()]
    since = (operated["surgery_day"] - operated["diagnosis_day"]).to_numpy()
    days = operated["efs_days"].to_numpy() - since
    keep = days > 0
    return _survival_pct(days[keep], operated["efs_event"].to_numpy()[keep], years)


def _staged(p: pd.DataFrame, *patterns: str) -> pd.DataFrame:
    return p[p["met_status"].astype(str).isin(patterns)]


def _after_relapse(relapsed: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Overall survival counted from the (first) relapse."""
    return (relapsed["followup_end_day"] - relapsed["relapse_day"]).to_numpy(), relapsed["os_event"].to_numpy()


def euramos(p: pd.DataFrame) -> dict[str, float]:
    """EURAMOS-1 and the series of its kind of patients: survival, histologic response and its weight,
    and the course after a first relapse (COSS, Hawkins, Durnali, palliative ifosfamide)."""
    out = {f"E1_{e}{y}": _survival_pct(p[f"{e.lower()}_days"], p[f"{e.lower()}_event"], y)
           for e in ("EFS", "OS") for y in (3, 5)}
    out["GOOD_RESPONSE"] = float(p["good_response"].astype(float).mean())
    localized = _staged(p, "none")
    poor, good = localized[localized["good_response"] == False], localized[localized["good_response"] == True]  # noqa: E712
    out["MARINA_PR_LOCALIZED_EFS3"] = _efs_from_surgery_pct(poor, 3)
    out["BISHOP_GR_EFS10"] = _efs_from_surgery_pct(good, 10)
    out["BISHOP_PR_EFS10"] = _efs_from_surgery_pct(poor, 10)
    relapsed = p[p["relapse_day"].notna() & p["csr"] & (p["relapse_site"].astype(str) != "progression")]
    after, died = _after_relapse(relapsed)
    cr2 = relapsed["cr2"].astype(bool).to_numpy()
    out["COSS_REL_OS5"] = _survival_pct(after, died, 5)
    out["COSS_REL_CR2_OS5"] = _survival_pct(after[cr2], died[cr2], 5)
    out["COSS_REL_NOCR2_OS5"] = _survival_pct(after[~cr2], died[~cr2], 5)
    out["NOCR2_MEDIAN_OS"] = _median_months(after[~cr2], died[~cr2])
    out["HAWKINS_REL_OS4"] = _survival_pct(after, died, 4)
    out["REL_MEDIAN_TIME"] = float(np.median((relapsed["relapse_day"] - relapsed["diagnosis_day"]) / DAYS_PER_YEAR))
    lung = relapsed["relapse_site"].astype(str).to_numpy() == "lung"
    early = ((relapsed["relapse_day"] - relapsed["diagnosis_day"]) < DAYS_PER_YEAR).to_numpy()
    out["DURNALI_EARLY_MEDIAN_OS"] = _median_months(after[lung & early], died[lung & early])
    out["DURNALI_LATE_MEDIAN_OS"] = _median_months(after[lung & ~early], died[lung & ~early])
    return out


def coss_metastatic(p: pd.DataFrame) -> dict[str, float]:
    """Primary metastatic disease, as staging found it: survival overall and by what staging saw and
    surgery removed (Kager, Harris, Mialou, NCI PDQ, Marina, Choi)."""
    m = p[p["met_status"].astype(str) != "none"]
    out = {"COSS_MOS_OS5": _survival_pct(m["os_days"], m["os_event"], 5),
           "COSS_MOS_EFS5": _survival_pct(m["efs_days"], m["efs_event"], 5),
           "MIALOU_CSR": 100.0 * float(m["csr"].mean())}
    lesions = m["n_lung_nodules"] + m["met_status"].astype(str).isin(["extrapulmonary", "multisystem"])
    kager = cox_hazard_ratios(_days(m["os_days"]), m["os_event"], {"multiple": lesions >= 2, "incomplete": ~m["csr"]})
    out["KAGER_MULTIPLE_RHR"], out["KAGER_INCOMPLETE_RHR"] = kager["multiple"][0], kager["incomplete"][0]
    for key, pattern in (("MIALOU_MULTISYSTEM_EFS5", "multisystem"), ("PDQ_BONE_EFS5", "extrapulmonary")):
        part = _staged(m, pattern)
        out[key] = _survival_pct(part["efs_days"], part["efs_event"], 5)
    poor = m[m["good_response"] == False]  # noqa: E712
    out["MARINA_PR_METASTATIC_EFS3"] = _efs_from_surgery_pct(poor, 3)
    lung = _staged(m, "lung")
    operated = lung[lung["metastasectomy_day"].notna()]
    many = (operated["n_lung_nodules"] >= 8).to_numpy()
    bilateral = operated["bilateral"].to_numpy()
    days, event = operated["efs_days"].to_numpy(), operated["efs_event"].to_numpy()
    out["HARRIS_8PLUS_EFS5"] = _survival_pct(days[many], event[many], 5)
    out["HARRIS_UNDER8_EFS5"] = _survival_pct(days[~many], event[~many], 5)
    out["HARRIS_UNILATERAL_EFS5"] = _survival_pct(days[~bilateral], event[~bilateral], 5)
    out["HARRIS_BILATERAL_EFS5"] = _survival_pct(days[bilateral], event[bilateral], 5)
    out["CHOI_UNILATERAL_HR_OS"] = cox_hazard_ratio(_days(operated["os_days"]), operated["os_event"], ~bilateral)[0]
    cleared = lung["csr"] & lung["surgery_day"].notna() & lung["metastasectomy_day"].isna()
    out["PDQ_LUNG_DISAPPEAR"] = 100.0 * float(cleared[lung["surgery_day"].notna()].mean())
    return out


def natural_history(p: pd.DataFrame) -> dict[str, float]:
    """Cumulative proportion relapsed (or progressed) by 2 years, deaths without relapse censored."""
    relapsed = p["relapse_day"].notna().to_numpy()
    until = np.where(relapsed, p["relapse_day"], p["followup_end_day"]) - p["diagnosis_day"]
    return {"NATHIST_RELAPSE2": 100.0 - _survival_pct(until, relapsed, 2)}


INT0133_FOLLOWUP_YEARS = 6.0   # the trial reported 6-year OS (Meyers 2008; parameters.md §8)


def _randomised(control: pd.DataFrame, treated: pd.DataFrame, days: str, event: str):
    """Patients split by id parity into the two arms of a randomised trial run on the same patients."""
    arm = (control["patient_id"].to_numpy() % 2) == 1
    return (np.where(arm, treated[days], control[days]), np.where(arm, treated[event], control[event]).astype(bool),
            arm)


def int0133(control: pd.DataFrame, mifamurtide: pd.DataFrame) -> dict[str, float]:
    """OS hazard ratio, mifamurtide vs not.

    Follow-up is cut at the trial's 6 years: a Cox hazard ratio depends on the follow-up window
    when hazards are not proportional (cures), and a simulated trial cohort is otherwise followed
    for as long as its accrual lasts.
    """
    days, event, arm = _randomised(control, mifamurtide, "os_days", "os_event")
    keep = ~np.isnan(days)
    cutoff = INT0133_FOLLOWUP_YEARS * DAYS_PER_YEAR
    days, event, arm = days[keep], event[keep], arm[keep]
    return {"INT0133_MTP_HR_OS": cox_hazard_ratio(np.minimum(days, cutoff), event & (days <= cutoff), arm)[0]}


def relapsed_trials(placebo: pd.DataFrame, regorafenib: pd.DataFrame) -> dict[str, float]:
    """Phase II trials in relapsed disease (cohort=relapsed): EFS at 4 months with an inactive drug
    (Lagmay), and SARC024's randomised comparison (medians and PFS hazard ratio)."""
    out = {"LAGMAY_EFS_4MONTHS": _survival_pct(placebo["efs_days"], placebo["efs_event"], 4.0 / 12.0)}
    days, event, treated = _randomised(placebo, regorafenib, "efs_days", "efs_event")
    out["SARC024_PLACEBO_MEDIAN_PFS"] = _median_months(days[~treated], event[~treated])
    out["SARC024_REGO_MEDIAN_PFS"] = _median_months(days[treated], event[treated])
    out["SARC024_REGO_HR_PFS"] = cox_hazard_ratio(days, event, treated)[0]
    return out


class Populations:
    """The target populations composed once; each estimate swaps in disease and arm parameters."""

    def __init__(self, n: int, seed: int, base: list[str] = ()):
        self.configs = {name: compose(pop.overrides(population, size, seed, list(base))) for name, population, size in (
            ("euramos", pop.EURAMOS, n), ("coss", pop.COSS_METASTATIC, n),
            ("nathist", pop.NATURAL_HISTORY, n // 4), ("int0133", pop.INT0133, n),
            ("mifamurtide", pop.INT0133, n), ("relapsed", pop.RELAPSED, n // 4), ("regorafenib", pop.RELAPSED, n // 4))}
        for name in ("mifamurtide", "regorafenib"):
            self.configs[name] = replace(self.configs[name], arm=compose([f"arm={name}"]).arm)

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

    def relapsed_trials(self, disease: dict, relapse_pfs_hr: float) -> dict[str, float]:
        return relapsed_trials(self._patients("relapsed", disease),
                               self._patients("regorafenib", disease, {"relapse_pfs_hr": relapse_pfs_hr}))

    def regorafenib_hr(self, disease: dict, relapse_pfs_hr: float) -> float:
        return self.relapsed_trials(disease, relapse_pfs_hr)["SARC024_REGO_HR_PFS"]

    def estimate(self, disease: dict, mifamurtide_kill: float, regorafenib_hr: float) -> dict[str, float]:
        return {**self.disease_targets(disease), "INT0133_MTP_HR_OS": self.mifamurtide_hr(disease, mifamurtide_kill),
                **self.relapsed_trials(disease, regorafenib_hr)}
