"""The default model against every published figure: estimate, 95% Monte-Carlo interval, published value.

    .venv/bin/python experiments/validate/validate.py [--patients 20000] [--replications 10]

Each target is simulated on its own population (osteosim.calibration.populations) with the
default configuration, `--replications` times with different seeds; the model's estimate is
the mean and its 95% Monte-Carlo interval the mean +- 1.96 SD across replications (the spread
of one study of `--patients` patients). Each figure's role says whether the calibration was fitted
to it (`fit`), a parameter was set from it (`derived`) or it is held out (`validate`): only the
held-out ones test the model. Writes experiments/validate/results/validation.csv, validation.md
and validation.html (Plotly, self-contained).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from osteosim.calibration.estimates import Populations  # noqa: E402
from osteosim.calibration.targets import ROLES, load  # noqa: E402
from osteosim.results.atomic import write_text_atomically  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
UNITS = {"EFS_pct": "percent of patients", "OS_pct": "percent of patients", "Relapse_pct": "percent of patients",
         "Share_pct": "percent of patients", "GoodResponse_proportion": "proportion",
         "MedianTimeToFirstRelapse_years": "years", "MedianOS_months": "months", "MedianPFS_months": "months",
         "OS_hazard_ratio": "hazard ratio", "PFS_hazard_ratio": "hazard ratio", "OS_relative_hazard": "hazard ratio"}


def default_arm_effects() -> tuple[float, float]:
    from osteosim.config import compose

    return (compose(["arm=mifamurtide"]).arm.immunotherapy_log10_kill, compose(["arm=regorafenib"]).arm.relapse_pfs_hr)


def validation_table(patients: int, replications: int) -> pd.DataFrame:
    targets = load()
    kill, hr = default_arm_effects()
    runs = [Populations(patients, seed).estimate({}, kill, hr) for seed in range(1, replications + 1)]
    rows = []
    for key, target in targets.items():
        values = np.array([run[key] for run in runs])
        mean, sd = values.mean(), values.std(ddof=1)
        lo, hi = target.tolerance()
        rows.append({"id": key, "role": target.role, "endpoint": target.endpoint, "unit": UNITS[target.endpoint],
                     "model": mean, "model_low": mean - 1.96 * sd, "model_high": mean + 1.96 * sd,
                     "published": target.value, "published_low": target.ci_low, "published_high": target.ci_high,
                     "accept_low": lo, "accept_high": hi, "within": bool(lo <= mean <= hi), "source": target.source})
    return pd.DataFrame(rows)


def markdown(table: pd.DataFrame, patients: int, replications: int) -> str:
    lines = [f"Model (mean and 95% Monte-Carlo interval over {replications} replications of {patients:,} patients "
             "per population) against the published figures. Role: `fit` = the calibration was fitted to it, "
             "`derived` = a parameter was set from it, `validate` = held out (nothing was fitted to it). Sources "
             "and populations: experiments/calibrate/targets.csv.\n"]
    for role in ROLES:
        part = table[table.role == role]
        within = int(part.within.sum())
        lines += [f"\n## {ROLE_TITLES[role]}: {within} of {len(part)} within their acceptance interval\n",
                  "| figure | model (95% MC interval) | published (95% CI) | acceptance | within |", "|---|---|---|---|---|"]
        for r in part.itertuples():
            published = f"{r.published:g}" + (f" ({r.published_low:g}–{r.published_high:g})"
                                               if pd.notna(r.published_low) else "")
            lines.append(f"| {r.id} | {r.model:.3f} ({r.model_low:.3f}–{r.model_high:.3f}) | {published} | "
                         f"{r.accept_low:.3f}–{r.accept_high:.3f} | {'yes' if r.within else '**no**'} |")
    lines.append("\nLate effects (heart failure, hearing loss, kidney damage, endoprosthesis failure) and palliative "
                 "care under each referral policy are validated in the same way by their own scripts: "
                 "late_effects.md and supportive.md in this folder.")
    return "\n".join(lines) + "\n"


ROLE_TITLES = {"fit": "Fitted", "derived": "Derived (a parameter was set from the figure)",
               "validate": "Held out (validation)"}


def figure(table: pd.DataFrame) -> str:
    from plotly.subplots import make_subplots

    table = table.assign(id=[f"{i} ({r})" for i, r in zip(table["id"], table["role"])])
    units = list(dict.fromkeys(table["unit"]))
    fig = make_subplots(rows=len(units), cols=1, subplot_titles=units, vertical_spacing=0.08)
    for row, unit in enumerate(units, start=1):
        part = table[table["unit"] == unit]
        fig.add_scatter(x=part["published"], y=part["id"], mode="markers", name="published (95% CI)",
                        marker=dict(symbol="diamond", size=10, color="#d62728"), showlegend=row == 1,
                        error_x=dict(type="data", symmetric=False,
                                     array=(part["published_high"] - part["published"]).fillna(0),
                                     arrayminus=(part["published"] - part["published_low"]).fillna(0)),
                        row=row, col=1)
        fig.add_scatter(x=part["model"], y=part["id"], mode="markers", name="model (95% MC interval)",
                        marker=dict(size=9, color="#1f77b4"), showlegend=row == 1,
                        error_x=dict(type="data", symmetric=False, array=part["model_high"] - part["model"],
                                     arrayminus=part["model"] - part["model_low"]),
                        row=row, col=1)
    fig.update_layout(height=320 * len(units), title="osteosim against published calibration targets",
                      template="plotly_white")
    return fig.to_html(full_html=True, include_plotlyjs=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=20_000)
    parser.add_argument("--replications", type=int, default=10)
    args = parser.parse_args()
    table = validation_table(args.patients, args.replications)
    RESULTS.mkdir(parents=True, exist_ok=True)
    write_text_atomically(RESULTS / "validation.csv", table.to_csv(index=False))
    write_text_atomically(RESULTS / "validation.md", markdown(table, args.patients, args.replications))
    write_text_atomically(RESULTS / "validation.html", figure(table))
    print(markdown(table, args.patients, args.replications))
    print(f"wrote {RESULTS}/validation.csv, validation.md, validation.html")


if __name__ == "__main__":
    main()
