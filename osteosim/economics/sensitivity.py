"""One-way sensitivity: each uncertain parameter at the 2.5th and 97.5th percentiles of its PSA
distribution, the others at their point values (the configuration's), on one common patient stream,
so each bar of the tornado is the parameter's effect and not sampling noise.

Fixed parameters and Dirichlet shares (a share cannot move alone) are left out.
"""
from __future__ import annotations

import pandas as pd

from osteosim.config import arm_config
from osteosim.config.schema import Config, Uncertain
from osteosim.economics import psa

LOW, HIGH = 0.025, 0.975


def percentiles(item: Uncertain) -> tuple[float, float] | None:
    """The 2.5th and 97.5th percentiles of a parameter's distribution (None: not varied one way)."""
    if item.dist in ("fixed", "dirichlet"):
        return None
    return psa.quantile(item, LOW), psa.quantile(item, HIGH)


def incremental_nmb(rows: list[dict], threshold: float) -> dict[str, float]:
    """Each non-reference arm's discounted net monetary benefit less the reference's (the first row)."""
    ref = rows[0]
    return {r["arm"]: threshold * (r["qalys_disc"] - ref["qalys_disc"]) - (r["cost_disc"] - ref["cost_disc"])
            for r in rows[1:]}


def one_way(config: Config, arm_names: list[str], thresholds, sample: int = 0) -> pd.DataFrame:
    """Rows per parameter x end (base, low, high) x arm x threshold: the value used and the incremental NMB."""
    arms = {name: arm_config(name) for name in arm_names}
    items = list(config.economics.psa)
    out = []

    def run(values: dict, key: str, end: str) -> None:
        sampled, sampled_arms = psa.apply(config, arms, values, [i for i in items if i.key in values])
        rows = psa.evaluate(sampled, sampled_arms, sample)
        for wtp in thresholds:
            for arm, inmb in incremental_nmb(rows, wtp).items():
                out.append({"key": key, "end": end, "value": values.get(key), "arm": arm, "threshold": float(wtp),
                            "incremental_nmb": inmb})

    run({}, "", "base")
    for item in items:
        ends = percentiles(item)
        if ends is None:
            continue
        for end, value in zip(("low", "high"), ends):
            run({item.key: psa.clip(value, psa.field_range(item.key))}, item.key, end)
    return pd.DataFrame(out)


def tornado(table: pd.DataFrame, arm: str, threshold: float) -> pd.DataFrame:
    """Per parameter: incremental NMB at its low and high values, and the swing, widest first."""
    part = table[(table.arm == arm) & (table.threshold == threshold)]
    base = float(part[part.end == "base"].incremental_nmb.iloc[0])
    wide = part[part.end != "base"].pivot(index="key", columns="end", values="incremental_nmb")
    wide["swing"] = (wide["high"] - wide["low"]).abs()
    wide["base"], wide["arm"], wide["threshold"] = base, arm, threshold
    return wide.sort_values("swing", ascending=False).reset_index()
