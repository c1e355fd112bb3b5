"""Decisions under uncertainty from PSA samples: net benefit, the cost-effectiveness acceptability curve
(CEAC) and frontier (CEAF), and the efficiency frontier with dominance and extended dominance (EVPI
and EVPPI are in `voi`).

Everything takes samples x arms arrays (`psa.wide`) of discounted costs and QALYs, arms in order, the
reference first.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def net_benefit(costs: np.ndarray, qalys: np.ndarray, threshold: float) -> np.ndarray:
    """Net monetary benefit, threshold x QALYs - cost, per sample and arm."""
    return threshold * qalys - costs


def ceac(costs: np.ndarray, qalys: np.ndarray, arms: list[str], thresholds) -> pd.DataFrame:
    """For each threshold and arm, the share of samples in which the arm has the highest net benefit;
    `frontier` marks the arm with the highest expected net benefit (the acceptability frontier); `evpi`
    is the expected value of perfect information per patient at that threshold."""
    from osteosim.economics.voi import evpi

    rows = []
    for wtp in thresholds:
        nb = net_benefit(costs, qalys, wtp)
        best = np.argmax(nb, axis=1)
        optimal = int(np.argmax(nb.mean(axis=0)))
        for j, arm in enumerate(arms):
            rows.append({"threshold": float(wtp), "arm": arm, "probability": float(np.mean(best == j)),
                         "frontier": j == optimal, "evpi": evpi(nb)})
    return pd.DataFrame(rows)


def efficiency_frontier(mean_costs, mean_qalys, arms: list[str]) -> pd.DataFrame:
    """The arms by cost with their status: `dominated` (another is cheaper or as cheap and at least as
    effective), `extendedly dominated` (a mix of two others would beat it: its ICER exceeds the next
    one's), or on the `frontier`, with the ICER against the previous arm on the frontier."""
    table = pd.DataFrame({"arm": arms, "cost": np.asarray(mean_costs, float), "qalys": np.asarray(mean_qalys, float)})
    table = table.sort_values(["cost", "qalys"], ascending=[True, False]).reset_index(drop=True)
    status = {arm: "frontier" for arm in table.arm}
    for i, row in table.iterrows():
        others = table.drop(index=i)
        if ((others.cost <= row.cost) & (others.qalys >= row.qalys)
                & ((others.cost < row.cost) | (others.qalys > row.qalys))).any():
            status[row.arm] = "dominated"
    while True:
        frontier = table[table.arm.map(status) == "frontier"].reset_index(drop=True)
        ratios = np.diff(frontier.cost) / np.diff(frontier.qalys)
        worse = [k + 1 for k in range(len(ratios) - 1) if ratios[k] > ratios[k + 1]]
        if not worse:
            break
        status[frontier.arm[worse[0]]] = "extendedly dominated"
    table["status"] = table.arm.map(status)
    table["icer"] = np.nan
    frontier = table[table.status == "frontier"]
    table.loc[frontier.index[1:], "icer"] = (np.diff(frontier.cost) / np.diff(frontier.qalys))
    return table
