"""Probabilistic sensitivity analysis of arms against a reference: costs, QALYs, CEAC, frontiers, EVPI,
EVPPI and a one-way tornado (osteosim.economics; DESIGN §8).

    .venv/bin/python experiments/psa/psa.py --arms baseline,mifamurtide [--samples 200] [--patients 2000] \
        [--workers 2] [--seed 0] [--unpaired] [--no-oneway] [--share K/N] [--out outputs/psa] [HYDRA_OVERRIDES ...]

The first arm is the reference. Every sample draws the parameters that carry a distribution in
`economics.psa` (conf/economics/), then runs a trial cohort of --patients in every arm on one patient
stream (common random numbers; --unpaired for independent streams, for comparison only). Hydra
overrides set the population, follow-up and economics, e.g. `cohort.metastatic_fraction=0
cohort.followup_years=80 economics.discount_effects=0.015`. Finished samples are kept in
--out/parts, so rerunning the same command after an interruption resumes. Writes psa.parquet (sample x
arm: costs, life years, QALYs and the sampled parameters), ceac.csv, frontier.csv, voi.csv,
oneway.csv, psa.md, psa.html (self-contained) and cheers.md (the CHEERS 2022 items the run answers)
into --out.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from osteosim.cli.script_options import (UsageError, check_out, check_own_keys, compose_or_report,  # noqa: E402
                                         make_out, one_line_parser)

MAX_SAMPLES = 100_000
MAX_PATIENTS = 1_000_000
OWN_KEYS = {"cohort": "the trial cohort", "cohort.n_patients": "--patients", "replications": "--samples",
            "arms": "--arms", "arm": "--arms", "paired": "--unpaired", "seed": "--seed", "engine": "the design (cohort)"}
CEAC_POINTS = 61


def parser() -> argparse.ArgumentParser:
    out = one_line_parser("psa.py --arms REF,ARM[,ARM...] [--samples N] [--patients N] [--workers N] [--out DIR] "
                          "[key=value ...]", __doc__.split("\n")[0])
    out.add_argument("--arms", required=True, help="arms to compare, the reference first (conf/arm/)")
    out.add_argument("--samples", type=int, default=200, help="PSA samples (default 200)")
    out.add_argument("--patients", type=int, default=2000, help="patients per arm per sample (default 2000)")
    out.add_argument("--workers", type=int, default=1, help="processes (joblib); results do not depend on it")
    out.add_argument("--seed", type=int, default=0)
    out.add_argument("--unpaired", action="store_true", help="independent patient streams per arm (comparison only)")
    out.add_argument("--no-oneway", action="store_true", help="skip the one-way sensitivity analysis")
    out.add_argument("--share", default="1/1", help="K/N: simulate only the K-th of N shares of the sample blocks "
                     "into --out/parts and stop (one job of a SLURM array); then run without --share to collect")
    out.add_argument("--out", type=Path, default=ROOT / "outputs" / "psa")
    out.add_argument("overrides", nargs="*", help="Hydra overrides (population, follow-up, economics)")
    return out


def check_options(args: argparse.Namespace) -> list[str]:
    """Options that parse but cannot be run, checked before anything is simulated; the arms as a list."""
    from osteosim.config import group_options

    arms = [a for a in args.arms.split(",") if a]
    if len(arms) < 2 or len(set(arms)) != len(arms):
        raise UsageError(f"--arms={args.arms} must name at least two different arms, the reference first")
    for arm in arms:
        if arm not in group_options("arm"):
            raise UsageError(f"--arms: {arm} is not one of {', '.join(group_options('arm'))}")
    if not 2 <= args.samples <= MAX_SAMPLES:
        raise UsageError(f"--samples={args.samples} is outside [2, {MAX_SAMPLES}]")
    if not 1 <= args.patients <= MAX_PATIENTS:
        raise UsageError(f"--patients={args.patients} is outside [1, {MAX_PATIENTS}]")
    if not 1 <= args.workers <= 256:
        raise UsageError(f"--workers={args.workers} is outside [1, 256]")
    if not 0 <= args.seed <= 2**62:
        raise UsageError(f"--seed={args.seed} is outside [0, 2**62]")
    check_own_keys(args.overrides, OWN_KEYS)
    check_out(args.out)
    try:
        k, n = (int(x) for x in args.share.split("/"))
    except ValueError:
        raise UsageError(f"--share={args.share} must be K/N (whole numbers, 1 <= K <= N)") from None
    if not 1 <= k <= n:
        raise UsageError(f"--share={args.share} must be K/N with 1 <= K <= N")
    args.share = (k, n)
    return arms


def design_overrides(args: argparse.Namespace) -> list[str]:
    return [*args.overrides, "cohort=trial", f"cohort.n_patients={args.patients}", f"seed={args.seed}",
            "engine=cohort", "output.progress=false"]


def analyse(config, arms: list[str], table: pd.DataFrame, oneway: bool, sample_for_oneway: int = 0) -> dict:
    """Everything the files and the page show, from the PSA table."""
    from osteosim.economics import decisions, psa, sensitivity, voi

    e = config.economics
    costs, qalys = psa.wide(table, "cost_disc", arms), psa.wide(table, "qalys_disc", arms)
    top = max(list(e.thresholds) + [1.0]) * 3
    grid = np.linspace(0.0, top, CEAC_POINTS)
    ceac = decisions.ceac(costs, qalys, arms, grid)
    frontier = decisions.efficiency_frontier(costs.mean(axis=0), qalys.mean(axis=0), arms)
    values = psa.parameters(table, config)
    groups: dict[str, list[str]] = {}
    for item in e.psa:
        names = [c for c in values.columns if c == item.key or c.startswith(item.key + ".")]
        groups.setdefault(item.group or item.key, []).extend(names)
    rows = []
    for wtp in e.thresholds:
        nb = decisions.net_benefit(costs, qalys, wtp)
        full = voi.evpi(nb)
        for group, names in groups.items():
            x = values[names].to_numpy()
            x = x[:, np.ptp(x, axis=0) > 0] if x.size else x
            value, se = voi.evppi(nb, x) if x.shape[1] else (0.0, 0.0)
            rows.append({"threshold": float(wtp), "group": group, "parameters": " ".join(names), "evppi": value,
                         "se": se, "evpi": full})
    out = {"costs": costs, "qalys": qalys, "ceac": ceac, "frontier": frontier, "voi": pd.DataFrame(rows),
           "oneway": None, "tornado": None}
    if oneway and e.psa:
        out["oneway"] = sensitivity.one_way(config, arms, e.thresholds, sample_for_oneway)
        out["tornado"] = sensitivity.tornado(out["oneway"], arms[1], float(e.thresholds[0]))
    return out


def markdown(config, arms, table, result, args, seconds: float) -> str:
    e = config.economics
    c = e.currency
    lines = [f"PSA of {', '.join(arms[1:])} against {arms[0]}: {args.samples} samples x {args.patients} patients per "
             f"arm, {'common random numbers' if not args.unpaired else 'independent streams'}, seed {args.seed}"
             + (f", overrides: {' '.join(args.overrides)}" if args.overrides else "") + f" ({seconds:.0f} s).",
             f"Economics: {e.name} ({e.perspective}), {c} at {e.price_year} prices, costs {100 * e.discount_costs:g}%, "
             f"effects {100 * e.discount_effects:g}% a year, continuous-time discounting, horizon "
             f"{min(e.horizon_years, config.cohort.followup_years):g} years of follow-up after accrual.", "",
             f"| arm | mean cost ({c}) | mean QALYs | status | ICER ({c}/QALY) |", "|---|---|---|---|---|"]
    for r in result["frontier"].itertuples():
        icer = "" if np.isnan(r.icer) else f"{r.icer:,.0f}"
        lines.append(f"| {r.arm} | {r.cost:,.0f} | {r.qalys:.4f} | {r.status} | {icer} |")
    lines += ["", f"| threshold ({c}/QALY) | EVPI per patient | group | EVPPI per patient (SE) |", "|---|---|---|---|"]
    for r in result["voi"].itertuples():
        lines.append(f"| {r.threshold:,.0f} | {r.evpi:,.0f} | {r.group} | {r.evppi:,.0f} ({r.se:,.0f}) |")
    ceac = result["ceac"]
    lines += ["", "Probability each arm is cost-effective:", ""]
    for wtp in e.thresholds:
        nearest = ceac.threshold.iloc[(ceac.threshold - wtp).abs().argmin()]
        part = ceac[ceac.threshold == nearest]
        lines.append(f"- at {nearest:,.0f} {c}/QALY: " + ", ".join(f"{r.arm} {r.probability:.2f}" for r in part.itertuples()))
    if result["tornado"] is not None:
        lines += ["", f"One-way sensitivity (incremental NMB of {arms[1]} at {e.thresholds[0]:,.0f} {c}/QALY):", "",
                  "| parameter | low | high | swing |", "|---|---|---|---|"]
        for r in result["tornado"].itertuples():
            lines.append(f"| {r.key} | {r.low:,.0f} | {r.high:,.0f} | {r.swing:,.0f} |")
    return "\n".join(lines) + "\n"


def cheers_checklist(config, arms: list[str], args: argparse.Namespace) -> str:
    """cheers.md: the CHEERS 2022 items this run answers, from its configuration."""
    from osteosim.config import arm_config
    from osteosim.economics import cheers
    from osteosim.results.provenance import git_commit

    rows = cheers.checklist(config, {name: arm_config(name) for name in arms}, samples=args.samples,
                            patients=args.patients, paired=not args.unpaired,
                            provenance=f"osteosim, git commit {git_commit() or 'unknown'}, seed {args.seed}")
    return cheers.markdown(rows)


def main(argv: list[str] | None = None) -> int:
    """Check everything, then simulate, then write; exit status 2 and one line for what the user must fix."""
    from osteosim.config import ConfigError

    try:
        args = parser().parse_args(argv)
        arms = check_options(args)
    except UsageError as error:
        print(f"psa: error: {error}", file=sys.stderr)
        return 2
    config = compose_or_report("psa", design_overrides(args))   # validation checks every PSA key too
    if config is None or not make_out("psa", args.out):
        return 2
    from tqdm import tqdm

    from osteosim.dashboards.economics import psa_page
    from osteosim.economics import psa
    from osteosim.results.atomic import write_parquet_atomically, write_text_atomically

    started = time.perf_counter()
    with tqdm(total=args.samples, desc="PSA samples", unit="sample") as bar:
        try:
            table = psa.run(config, arms, args.samples, args.out, args.workers, paired=not args.unpaired,
                            progress=bar.update, share=args.share)
        except ConfigError as error:
            print(f"psa: error: {error}", file=sys.stderr)
            return 2
    simulated = time.perf_counter() - started
    if table is None:
        print(f"share {args.share[0]}/{args.share[1]} of the samples simulated in {simulated:.1f} s into "
              f"{args.out}/parts; run again without --share to collect them")
        return 0
    result = analyse(config, arms, table, oneway=not args.no_oneway)
    seconds = time.perf_counter() - started
    write_parquet_atomically(args.out / "psa.parquet", table.astype({"arm": str}))
    write_text_atomically(args.out / "ceac.csv", result["ceac"].to_csv(index=False))
    write_text_atomically(args.out / "frontier.csv", result["frontier"].to_csv(index=False))
    write_text_atomically(args.out / "voi.csv", result["voi"].to_csv(index=False))
    if result["oneway"] is not None:
        write_text_atomically(args.out / "oneway.csv", result["oneway"].to_csv(index=False))
    text = markdown(config, arms, table, result, args, seconds)
    write_text_atomically(args.out / "psa.md", text)
    write_text_atomically(args.out / "cheers.md", cheers_checklist(config, arms, args))
    page = psa_page(arms=arms, costs=result["costs"], qalys=result["qalys"], ceac=result["ceac"],
                    frontier=result["frontier"], voi=result["voi"], tornado=result["tornado"],
                    thresholds=config.economics.thresholds, currency=config.economics.currency,
                    description=text.splitlines()[0] + " " + text.splitlines()[1])
    write_text_atomically(args.out / "psa.html", page)
    print(text)
    print(f"simulated in {simulated:.1f} s; wrote {args.out}/psa.parquet, ceac.csv, frontier.csv, voi.csv, "
          f"{'oneway.csv, ' if result['oneway'] is not None else ''}psa.md, psa.html, cheers.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
