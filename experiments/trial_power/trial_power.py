"""Power of a randomised trial of an arm against a reference, by number of patients (simulated).

    .venv/bin/python experiments/trial_power/trial_power.py --arm mifamurtide \
        --sizes 200,400,800,1600 [--reference baseline] [--endpoint OS] [--trials 200] [--alpha 0.05] \
        [--seed 0] [--out outputs/trial_power] [HYDRA_OVERRIDES ...]

Hydra overrides set the population and the trial's timing, for example
`cohort.metastatic_fraction=1 cohort.accrual_per_year=100 cohort.followup_years=3`. Each size
runs `--trials` simulated trials (osteosim.analysis.trials: both arms on the same patients, keyed 1:1
randomisation, two-sided log-rank). Writes power.csv, trials.csv (one row per simulated trial),
power.md and power.html (Plotly, self-contained) into --out, and prints the table.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from osteosim.results.atomic import write_text_atomically  # noqa: E402
from osteosim.analysis.trials import TrialDesign, patients_for_power, power_at  # noqa: E402


def sizes(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--sizes must be comma-separated whole numbers, got {text!r}")
    if not values or min(values) < 2 or values != sorted(set(values)):
        raise argparse.ArgumentTypeError(f"--sizes must be increasing whole numbers >= 2, got {text!r}")
    return values


def markdown(curve: pd.DataFrame, design: TrialDesign, overrides: list[str], needed: float | None) -> str:
    lines = [f"Simulated power of {design.arm} against {design.reference} ({design.endpoint}, two-sided log-rank "
             f"at alpha {design.alpha}, {design.trials} trials per size, seed {design.seed}"
             + (f", overrides: {' '.join(overrides)}" if overrides else "") + ").\n",
             "| patients | events (mean) | HR (median) | power (95% CI) | Schoenfeld power |", "|---|---|---|---|---|"]
    for r in curve.itertuples():
        lines.append(f"| {r.patients} | {r.events_mean:.0f} | {r.hazard_ratio_median:.3f} | "
                     f"{r.power:.2f} ({r.power_low:.2f}–{r.power_high:.2f}) | {r.schoenfeld_power:.2f} |")
    lines.append("")
    lines.append(f"Patients for 80% power: {needed:.0f} (linear between simulated sizes)." if needed is not None
                 else "No simulated size reaches 80% power.")
    return "\n".join(lines) + "\n"


def figure(curve: pd.DataFrame, design: TrialDesign) -> str:
    import plotly.graph_objects as go

    fig = go.Figure(go.Scatter(
        x=curve.patients, y=100 * curve.power, mode="lines+markers", name="simulated",
        error_y=dict(type="data", symmetric=False, array=100 * (curve.power_high - curve.power),
                     arrayminus=100 * (curve.power - curve.power_low)),
        hovertemplate="%{x} patients: power %{y:.0f}%<extra>simulated (95% CI)</extra>"))
    fig.add_scatter(x=curve.patients, y=100 * curve.schoenfeld_power, mode="lines", line=dict(dash="dot"),
                    name="Schoenfeld (events, median HR)")
    fig.add_hline(y=80, line_dash="dash", line_color="#888")
    fig.update_layout(title=f"Power of {design.arm} vs {design.reference} ({design.endpoint}, log-rank, "
                            f"alpha {design.alpha}; %)", xaxis_title="Patients randomised (both arms)",
                      yaxis_title="Power (%)", yaxis_range=[0, 100], template="plotly_white")
    return fig.to_html(include_plotlyjs=True, full_html=True)   # self-contained: works offline


def main(argv: list[str] | None = None) -> int:
    from osteosim.cli.run import explain
    from osteosim.config import compose

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--arm", required=True, help="the experimental arm (conf/arm/)")
    parser.add_argument("--reference", default="baseline", help="the control arm (default: baseline)")
    parser.add_argument("--sizes", type=sizes, default=sizes("200,400,800,1600"),
                        help="patients randomised per trial, both arms together (default 200,400,800,1600)")
    parser.add_argument("--endpoint", choices=["OS", "EFS"], default="OS")
    parser.add_argument("--trials", type=int, default=200, help="simulated trials per size (default 200)")
    parser.add_argument("--alpha", type=float, default=0.05, help="two-sided significance level (default 0.05)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "outputs" / "trial_power")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of the population and timing")
    args = parser.parse_args(argv)
    if args.trials < 2:
        parser.error(f"--trials must be at least 2, got {args.trials}")
    if not 0.0 < args.alpha < 1.0:
        parser.error(f"--alpha must be between 0 and 1, got {args.alpha}")
    design = TrialDesign(args.reference, args.arm, args.endpoint, args.alpha, args.trials, args.seed)
    try:   # a bad arm or override fails here, before anything is simulated or written
        compose([*args.overrides, "cohort=trial", f"arms=[{args.reference},{args.arm}]"])
    except Exception as error:
        message = explain(error)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return 2
    from tqdm import tqdm

    rows, trials = [], []
    for n in tqdm(args.sizes, desc="trial sizes", unit="size"):
        row, per_trial = power_at(n, design, args.overrides)
        rows.append(row)
        trials.append(per_trial)
    curve = pd.DataFrame(rows)
    needed = patients_for_power(curve)
    args.out.mkdir(parents=True, exist_ok=True)
    write_text_atomically(args.out / "power.csv", curve.to_csv(index=False))
    write_text_atomically(args.out / "trials.csv", pd.concat(trials, ignore_index=True).to_csv(index=False))
    text = markdown(curve, design, args.overrides, needed)
    write_text_atomically(args.out / "power.md", text)
    write_text_atomically(args.out / "power.html", figure(curve, design))
    print(text)
    print(f"wrote {args.out}/power.csv, trials.csv, power.md, power.html")
    return 0


if __name__ == "__main__":
    sys.exit(main())
