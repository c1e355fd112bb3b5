"""Power of a randomised trial of an arm against a reference, by number of patients (simulated).

    .venv/bin/python experiments/trial_power/trial_power.py --arm mifamurtide \
        --sizes 200,400,800,1600 [--reference baseline] [--endpoint OS] [--trials 200] [--alpha 0.05] \
        [--population trial|relapsed] [--landmark-months M] [--seed 0] [--out outputs/trial_power] \
        [HYDRA_OVERRIDES ...]

    e.g. a phase II trial in relapsed disease, PFS at 4 months:
    .venv/bin/python experiments/trial_power/trial_power.py --arm regorafenib --population relapsed \
        --endpoint PFS --landmark-months 4 --sizes 40,80,120

Hydra overrides set the population and the trial's timing, for example
`cohort.metastatic_fraction=1 cohort.accrual_per_year=100 cohort.followup_years=3`. Each size
runs `--trials` simulated trials (osteosim.analysis.trials: both arms on the same patients, keyed 1:1
randomisation, two-sided log-rank; with --landmark-months, Fisher's exact test of the share
event-free at that time). --population relapsed enrols patients at a recurrence with measurable
disease (cohort=relapsed, where EFS is PFS from entry). Writes power.csv, trials.csv (one row per simulated trial),
power.md and power.html (Plotly, self-contained) into --out, and prints the table.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from osteosim.cli.script_options import (UsageError, check_out, check_own_keys, compose_or_report,  # noqa: E402
                                         make_out, one_line_parser)
from osteosim.results.atomic import write_text_atomically  # noqa: E402
from osteosim.analysis.trials import TrialDesign, patients_for_power, power_at  # noqa: E402


MAX_SIZE = 1_000_000        # patients in one simulated trial
MAX_TRIALS = 100_000
FEW_EVENTS = 10             # fewer events than this on average: hazard ratio and power mean little
OWN_KEYS = {"cohort": "--population", "cohort.n_patients": "--sizes", "replications": "--trials",
            "arms": "--arm and --reference", "arm": "--arm and --reference", "paired": "the design (always paired)",
            "seed": "--seed", "engine": "the design (engine=cohort)"}


def sizes(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--sizes must be comma-separated whole numbers, got {text!r}")
    if not values or min(values) < 2 or max(values) > MAX_SIZE or values != sorted(set(values)):
        raise argparse.ArgumentTypeError(f"--sizes must be increasing whole numbers in [2, {MAX_SIZE}], got {text!r}")
    return values


def parser() -> argparse.ArgumentParser:
    out = one_line_parser("trial_power.py --arm ARM [--sizes N,N,...] [--trials N] [--out DIR] [key=value ...]",
                          __doc__.split("\n")[0])
    out.add_argument("--arm", required=True, help="the experimental arm (conf/arm/)")
    out.add_argument("--reference", default="baseline", help="the control arm (default: baseline)")
    out.add_argument("--sizes", type=sizes, default=sizes("200,400,800,1600"),
                     help="patients randomised per trial, both arms together (default 200,400,800,1600)")
    out.add_argument("--endpoint", choices=["OS", "EFS", "PFS"], default="OS",
                     help="OS, EFS, or PFS (progression or death from entry: --population relapsed)")
    out.add_argument("--population", choices=["trial", "relapsed"], default="trial",
                     help="patients at diagnosis (cohort=trial, default) or at a recurrence (cohort=relapsed)")
    out.add_argument("--landmark-months", type=float, default=None,
                     help="compare the share event-free at this many months (Fisher's exact test), not the curves")
    out.add_argument("--trials", type=int, default=200, help="simulated trials per size (default 200)")
    out.add_argument("--alpha", type=float, default=0.05, help="two-sided significance level (default 0.05)")
    out.add_argument("--seed", type=int, default=0)
    out.add_argument("--out", type=Path, default=ROOT / "outputs" / "trial_power")
    out.add_argument("overrides", nargs="*", help="Hydra overrides of the population and timing")
    return out


def check_options(args: argparse.Namespace) -> None:
    """Options that parse but cannot be run; all checked before anything is simulated."""
    from osteosim.config import group_options

    if not 2 <= args.trials <= MAX_TRIALS:
        raise UsageError(f"--trials={args.trials} is outside [2, {MAX_TRIALS}]")
    if args.landmark_months is not None and not 0.0 < args.landmark_months <= 1200.0:
        raise UsageError(f"--landmark-months={args.landmark_months} is outside (0, 1200]")
    if args.endpoint == "PFS" and args.population != "relapsed":
        raise UsageError("--endpoint=PFS needs --population relapsed (at diagnosis the endpoint is EFS)")
    if not 0.0 < args.alpha < 1.0:
        raise UsageError(f"--alpha={args.alpha} is outside (0, 1)")
    if not 0 <= args.seed <= 2**62:
        raise UsageError(f"--seed={args.seed} is outside [0, 2**62]")
    for flag in ("arm", "reference"):
        if getattr(args, flag) not in group_options("arm"):
            raise UsageError(f"--{flag}={getattr(args, flag)} is not one of {', '.join(group_options('arm'))}")
    if args.arm == args.reference:
        raise UsageError(f"--arm={args.arm} is also the --reference: a trial compares two different arms")
    check_own_keys(args.overrides, OWN_KEYS)
    check_out(args.out)


def design_overrides(args: argparse.Namespace) -> list[str]:
    """The largest configuration power_at will compose, so range and run-size checks apply to it now."""
    return [*args.overrides, f"cohort={args.population}", f"cohort.n_patients={max(args.sizes)}", f"replications={args.trials}",
            f"arms=[{args.reference},{args.arm}]", "paired=true", f"seed={args.seed}", "engine=cohort",
            "output.progress=false"]


def few_events_warning(curve: pd.DataFrame) -> str | None:
    """Sizes too small for their trials to say anything (a hazard ratio from a handful of events)."""
    few = curve[~(curve.events_mean >= FEW_EVENTS)]
    if few.empty:
        return None
    shown = ", ".join(str(n) for n in few.patients)
    return (f"trial_power: warning: at {shown} patients the trials have fewer than {FEW_EVENTS} events on "
            "average: their hazard ratios and power mean little")


def markdown(curve: pd.DataFrame, design: TrialDesign, overrides: list[str], needed: float | None) -> str:
    test = (f"share event-free at {12 * design.landmark_years:g} months, two-sided Fisher's exact test"
            if design.landmark_years is not None else "two-sided log-rank")
    lines = [f"Simulated power of {design.arm} against {design.reference} in cohort={design.population} "
             f"({design.endpoint}, {test} at alpha {design.alpha}, {design.trials} trials per size, seed {design.seed}"
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
    from osteosim.dashboards.page import label

    test = "log-rank" if design.landmark_years is None else f"event-free at {12 * design.landmark_years:g} months"
    fig.update_layout(title=f"Power of {label(design.arm)} vs {label(design.reference)} ({design.endpoint}, {test}, "
                            f"alpha {design.alpha}; %)", xaxis_title="Patients randomised (both arms)",
                      yaxis_title="Power (%)", yaxis_range=[0, 100], template="plotly_white")
    return fig.to_html(include_plotlyjs=True, full_html=True)   # self-contained: works offline


def main(argv: list[str] | None = None) -> int:
    """Check everything (options, arms, overrides, --out), then simulate, then write; exit status 2 and one
    line for anything the user must fix, with nothing written."""
    try:
        args = parser().parse_args(argv)
        check_options(args)
    except UsageError as error:
        print(f"trial_power: error: {error}", file=sys.stderr)
        return 2
    landmark = None if args.landmark_months is None else args.landmark_months / 12.0
    design = TrialDesign(args.reference, args.arm, args.endpoint, args.alpha, args.trials, args.seed,
                         args.population, landmark)
    # a bad override fails here, before anything is simulated or written; then --out, the first write
    if compose_or_report("trial_power", design_overrides(args)) is None or not make_out("trial_power", args.out):
        return 2
    from tqdm import tqdm

    import numpy as np

    rows, trials = [], []
    with np.errstate(over="ignore"):   # Cox on a handful of events overflows exp(); few_events_warning says so
        for n in tqdm(args.sizes, desc="trial sizes", unit="size"):
            row, per_trial = power_at(n, design, args.overrides)
            rows.append(row)
            trials.append(per_trial)
    curve = pd.DataFrame(rows)
    needed = patients_for_power(curve)
    warning = few_events_warning(curve)
    write_text_atomically(args.out / "power.csv", curve.to_csv(index=False))
    write_text_atomically(args.out / "trials.csv", pd.concat(trials, ignore_index=True).to_csv(index=False))
    text = markdown(curve, design, args.overrides, needed) + (f"\n{warning.split(': ', 1)[1]}\n" if warning else "")
    write_text_atomically(args.out / "power.md", text)
    write_text_atomically(args.out / "power.html", figure(curve, design))
    print(text)
    print(f"wrote {args.out}/power.csv, trials.csv, power.md, power.html")
    if warning:
        print(warning, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
