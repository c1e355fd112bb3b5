"""Palliative care under each referral policy against the published figures (health_economics.md §2),
each with its 95% Monte-Carlo interval.

    .venv/bin/python experiments/validate/supportive.py [--patients 4000] [--replications 10] [--out DIR]

For each policy (supportive.palliative.policy late, early) a trial cohort of `--patients` (all
metastatic at diagnosis, so that deaths from the disease are many; 5 years of follow-up, cohort
engine with events) is simulated `--replications` times with seeds 1..R; the estimate is the mean
over replications and its 95% Monte-Carlo interval the mean +- 1.96 SD across them (the spread of
one study of that size), as in late_effects.py. Writes supportive.csv and supportive.md into
`--out` (default experiments/validate/results, beside validation.md) and prints the table.

What is compared, among deaths from osteosarcoma:
- the share with a palliative-care referral before death: late policy against Ebelhar (30% of
  bone/soft-tissue tumour deaths had a consult), early policy against St Jude's QoL service (~100%);
- the median days from referral to death: late against St Jude 2008 (52 d) and Gough's adult STS
  centre (16 weeks), early against St Jude 2014 (223 d);
- the share who died in hospital: against England's CYP deaths (45%, few with specialist care) and
  the Ontario children's hospital (30%, 88% with a consult);
- the share with an end-of-life admission: against Mack 2015 (admitted in the last 30 d: 62%).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(Path(__file__).resolve().parent))

from late_effects import published  # noqa: E402  the same printing of a published figure
from osteosim.results.atomic import write_text_atomically  # noqa: E402

OUT = Path(__file__).resolve().parent / "results"
POLICIES = ("late", "early")
PUBLISHED = {   # (policy, id): (published value, low, high, source)
    ("late", "referred_before_death_pct"): (30.0, np.nan, np.nan, "§2 Ebelhar: 30% (18/60) consulted"),
    ("early", "referred_before_death_pct"): (100.0, np.nan, np.nan, "§2 Levine: ~100% with the QoL service"),
    ("late", "referral_to_death_days_median"): (52.0, 52.0, 112.0, "§2 Levine 2008: 52 d; Gough: 16 wk"),
    ("early", "referral_to_death_days_median"): (223.0, np.nan, np.nan, "§2 Levine 2014: 223 d"),
    ("late", "hospital_death_pct"): (45.0, np.nan, np.nan, "§2 Gao (England CYP 2014): 45%"),
    ("early", "hospital_death_pct"): (30.0, np.nan, np.nan, "§2 Ontario (88% consulted): 30%"),
    ("late", "end_of_life_admission_pct"): (62.0, np.nan, np.nan, "§2 Mack 2015: admitted in the last 30 d 62%"),
    ("early", "end_of_life_admission_pct"): (np.nan, np.nan, np.nan, "configured: 62% x IRR 0.60 (§2 Fraser)"),
}


def estimates(policy: str, patients: int, seed: int) -> dict[str, float]:
    from osteosim import simulate
    from osteosim.config import compose

    config = compose(["cohort=trial", f"cohort.n_patients={patients}", "cohort.metastatic_fraction=1",
                      f"supportive.palliative.policy={policy}", f"seed={seed}", "output.events=true",
                      "output.progress=false"])
    r = simulate(config, summary=False)
    p, ev = r.patients, r.events
    died = p[p.death_cause.astype(str) == "osteosarcoma"]
    referred = died[died.palliative_referral_day <= died.death_day]
    admitted = ev[(ev.event.astype(str) == "start") & (ev.resource.astype(str) == "eol_bed")].patient_id
    return {
        "referred_before_death_pct": 100.0 * len(referred) / len(died),
        "referral_to_death_days_median": float((referred.death_day - referred.palliative_referral_day).median()),
        "hospital_death_pct": 100.0 * (died.place_of_death.astype(str) == "hospital").mean(),
        "end_of_life_admission_pct": 100.0 * died.patient_id.isin(admitted).mean(),
        "deaths": float(len(died)),
    }


def table(patients: int, replications: int) -> pd.DataFrame:
    rows = []
    for policy in POLICIES:
        runs = [estimates(policy, patients, seed) for seed in range(1, replications + 1)]
        for (pol, key), (value, low, high, source) in PUBLISHED.items():
            if pol != policy:
                continue
            values = np.array([run[key] for run in runs])
            mean, sd = values.mean(), values.std(ddof=1)
            rows.append({"policy": policy, "id": key, "model": mean, "model_low": mean - 1.96 * sd,
                         "model_high": mean + 1.96 * sd, "published": value, "published_low": low,
                         "published_high": high, "source": source,
                         "deaths_per_replication": np.mean([run["deaths"] for run in runs])})
    return pd.DataFrame(rows)


def markdown(t: pd.DataFrame, patients: int, replications: int) -> str:
    lines = [f"Palliative care among deaths from osteosarcoma: model (mean and 95% Monte-Carlo interval over "
             f"{replications} replications of {patients:,} metastatic patients) against the published figures.\n",
             "| policy | quantity | model (95% MC interval) | published | source |", "|---|---|---|---|---|"]
    for r in t.itertuples():
        lines.append(f"| {r.policy} | {r.id} | {r.model:.1f} ({r.model_low:.1f}–{r.model_high:.1f}) | {published(r)} "
                     f"| {r.source} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=4_000)
    parser.add_argument("--replications", type=int, default=10)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    t = table(args.patients, args.replications)
    args.out.mkdir(parents=True, exist_ok=True)
    write_text_atomically(args.out / "supportive.csv", t.to_csv(index=False))
    write_text_atomically(args.out / "supportive.md", markdown(t, args.patients, args.replications))
    print(markdown(t, args.patients, args.replications))
    print(f"wrote {args.out}/supportive.csv, supportive.md")


if __name__ == "__main__":
    main()
