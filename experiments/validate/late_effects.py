"""Late effects of the default model against the published figures (health_economics.md §3), each
with its 95% Monte-Carlo interval.

    .venv/bin/python experiments/validate/late_effects.py [--patients 5000] [--replications 10]

A trial cohort of `--patients` (default population and configuration, 14 years of follow-up after
the last enrolment, cohort engine with events) is simulated `--replications` times with seeds
1..R; the estimate is the mean over replications and its 95% Monte-Carlo interval the mean +-
1.96 SD across them (the spread of one study of that size), as in validate.py. Writes
experiments/validate/results/late_effects.csv and late_effects.md and prints the table.

What is compared (and with what population):
- heart failure: Kaplan-Meier cumulative incidence 13.2 years after the first doxorubicin course
  (death and end of follow-up censor: the incidence in survivors), all patients given
  doxorubicin, and by dose (full MAP 450 mg/m2 vs dose-reduced); published 5.9% (2.8-9.1) at a
  median 13.2 years in OS/Ewing survivors, HR 1.13 per +10 mg/m2;
- severe hearing loss at the end of therapy: share of patients given cisplatin who finished
  first-line treatment; published 7-22% (COG, range over grading scales);
- endoprosthesis failure: Kaplan-Meier failure 10 years after limb-salvage surgery; published 29%
  (Shehadeh 2010, mean follow-up 10 years);
- kidney damage: share of relapsed patients given second-line ifosfamide; no published figure at
  their doses (the configured dose-response gives 28% at 62 g/m2, Skinner 2000).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from osteosim.results.atomic import write_text_atomically  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
DAYS_PER_YEAR = 365.25
PUBLISHED = {   # id: (published value, low, high, source)
    "heart_failure_13y_pct": (5.9, 2.8, 9.1, "health_economics.md §3 HF in OS/Ewing (PMC9982211)"),
    "heart_failure_13y_pct_full_dose": (np.nan, np.nan, np.nan, "configured: 5.9% at 450 mg/m2"),
    "heart_failure_13y_pct_reduced_dose": (np.nan, np.nan, np.nan, "configured: HR 1.13 per +10 mg/m2"),
    "severe_hearing_loss_end_of_therapy_pct": (np.nan, 7.0, 22.0, "health_economics.md §3 Knight 2017 (7-22%)"),
    "endoprosthesis_failure_10y_pct": (29.0, np.nan, np.nan, "health_economics.md §3 Shehadeh 2010"),
    "kidney_damage_after_second_line_pct": (np.nan, np.nan, np.nan, "no published figure at these doses"),
    "mean_doxorubicin_mg_m2": (450.0, 375.0, 450.0, "parameters.md §3a full MAP; §3 375-450 across protocols"),
    "mean_cisplatin_mg_m2": (480.0, np.nan, np.nan, "parameters.md §3a full MAP"),
}


def cumulative_incidence(years: pd.Series, event: pd.Series, at: float) -> float:
    from lifelines import KaplanMeierFitter

    kmf = KaplanMeierFitter().fit(years, event)
    return 100.0 * (1.0 - float(kmf.survival_function_at_times(at).iloc[0]))


def estimates(patients: int, seed: int) -> dict[str, float]:
    from osteosim import simulate
    from osteosim.config import compose

    config = compose(["cohort=trial", f"cohort.n_patients={patients}", "cohort.followup_years=14", f"seed={seed}",
                      "output.events=true", "output.progress=false"])
    r = simulate(config, summary=False)
    p, ev = r.patients, r.events
    e = config.late_effects
    dox = p[p.doxorubicin_mg_m2 > 0]
    years = (dox.heart_failure_day.fillna(dox.followup_end_day) - dox.chemo_start_day) / DAYS_PER_YEAR
    hf = dox.heart_failure_day.notna()
    full = dox.doxorubicin_mg_m2 >= e.heart_failure_reference_mg_m2
    finished = p[(p.cisplatin_mg_m2 > 0) & p.end_of_treatment_day.notna()]
    salvage = ev[(ev.event.astype(str) == "resection") & (ev.detail.astype(str) == "limb_salvage")].patient_id
    limb = p[p.patient_id.isin(salvage)]
    limb_years = (limb.prosthesis_failure_day.fillna(limb.followup_end_day) - limb.surgery_day) / DAYS_PER_YEAR
    ifo = p[p.ifosfamide_g_m2 > 0]
    return {
        "heart_failure_13y_pct": cumulative_incidence(years, hf, e.heart_failure_years),
        "heart_failure_13y_pct_full_dose": cumulative_incidence(years[full], hf[full], e.heart_failure_years),
        "heart_failure_13y_pct_reduced_dose": cumulative_incidence(years[~full], hf[~full], e.heart_failure_years),
        "severe_hearing_loss_end_of_therapy_pct": 100.0 * finished.hearing_loss_day.notna().mean(),
        "endoprosthesis_failure_10y_pct": cumulative_incidence(limb_years, limb.prosthesis_failure_day.notna(),
                                                               e.prosthesis_failure_years),
        "kidney_damage_after_second_line_pct": 100.0 * ifo.kidney_damage_day.notna().mean(),
        "mean_doxorubicin_mg_m2": dox.doxorubicin_mg_m2.mean(),
        "mean_cisplatin_mg_m2": p.cisplatin_mg_m2[p.cisplatin_mg_m2 > 0].mean(),
    }


def table(patients: int, replications: int) -> pd.DataFrame:
    runs = [estimates(patients, seed) for seed in range(1, replications + 1)]
    rows = []
    for key, (value, low, high, source) in PUBLISHED.items():
        values = np.array([run[key] for run in runs])
        mean, sd = values.mean(), values.std(ddof=1)
        rows.append({"id": key, "model": mean, "model_low": mean - 1.96 * sd, "model_high": mean + 1.96 * sd,
                     "published": value, "published_low": low, "published_high": high, "source": source})
    return pd.DataFrame(rows)


def published(r) -> str:
    """A row's published figure with its range, as the validation tables print it."""
    band = f"{r.published_low:g}–{r.published_high:g}" if pd.notna(r.published_low) else ""
    if pd.isna(r.published):
        return band or "—"
    return f"{r.published:g}" + (f" ({band})" if band else "")


def markdown(t: pd.DataFrame, patients: int, replications: int) -> str:
    lines = [f"Late effects: model (mean and 95% Monte-Carlo interval over {replications} replications of "
             f"{patients:,} patients, 14 years of follow-up) against the published figures.\n",
             "| quantity | model (95% MC interval) | published | source |", "|---|---|---|---|"]
    for r in t.itertuples():
        lines.append(f"| {r.id} | {r.model:.2f} ({r.model_low:.2f}–{r.model_high:.2f}) | {published(r)} | {r.source} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=5_000)
    parser.add_argument("--replications", type=int, default=10)
    args = parser.parse_args()
    t = table(args.patients, args.replications)
    RESULTS.mkdir(parents=True, exist_ok=True)
    write_text_atomically(RESULTS / "late_effects.csv", t.to_csv(index=False))
    write_text_atomically(RESULTS / "late_effects.md", markdown(t, args.patients, args.replications))
    print(markdown(t, args.patients, args.replications))
    print(f"wrote {RESULTS}/late_effects.csv, late_effects.md")


if __name__ == "__main__":
    main()
