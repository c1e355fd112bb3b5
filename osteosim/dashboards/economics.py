"""Health economics on the page: the run dashboard's section (each arm's mean discounted cost and QALYs,
and the paired comparison with the reference, from summary.json alone), and the page of a PSA
(experiments/psa): the cost-effectiveness plane, the CEAC with its acceptability frontier, the
efficiency frontier, EVPI and EVPPI by parameter group, and the one-way tornado. Text reaches the page
only through osteosim.dashboards.page (arm and parameter names are user input)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from osteosim.dashboards.page import (PALETTE, figure_html, heading, html_page, html_table, label, no_data,
                                      paragraph, style)


def economics_section(economics: dict) -> str:
    """The run dashboard's Health economics section, from summary.json's "economics"."""
    settings = economics.get("settings", {})
    currency = settings.get("currency", "")
    rows = {(r["arm"], r["kpi"]): r for r in economics.get("by_arm", [])}
    arms = list(dict.fromkeys(arm for arm, _ in rows))
    if not arms:
        return no_data("no patients priced")
    means = pd.DataFrame([{"arm": arm, **{f"{m}{part}": (rows.get((arm, m)) or {}).get(key)
                                          for m in ("cost_disc", "qalys_disc") for part, key in
                                          (("", "mean"), ("_low", "ci_low"), ("_high", "ci_high"))}}
                          for arm in arms])
    fig = go.Figure()
    for j, r in enumerate(means.itertuples()):
        err = lambda mid, lo, hi: dict(type="data", symmetric=False, array=[(hi - mid) if hi is not None else 0],  # noqa: E731
                                       arrayminus=[(mid - lo) if lo is not None else 0])
        fig.add_scatter(x=[r.qalys_disc], y=[r.cost_disc], mode="markers", name=label(r.arm),
                        marker=dict(size=11, color=PALETTE[j % len(PALETTE)]),
                        error_x=err(r.qalys_disc, r.qalys_disc_low, r.qalys_disc_high),
                        error_y=err(r.cost_disc, r.cost_disc_low, r.cost_disc_high))
    style(fig, f"Mean discounted cost and QALYs per patient, by arm<br>{label(settings.get('name', ''))}: costs "
               f"{100 * settings.get('discount_costs', 0):g}%, effects {100 * settings.get('discount_effects', 0):g}% a "
               f"year; bars: 95% CI over replications", xaxis_title="QALYs (discounted)",
          yaxis_title=f"Cost ({label(currency)}, discounted)")
    body = [paragraph(f"Perspective: {settings.get('perspective', '')}; {currency} at {settings.get('price_year', '')} "
                      f"prices; discounting {settings.get('discounting', '')}; carer QALYs "
                      f"{'included' if settings.get('carer_qalys') else 'not included'}."),
            figure_html(fig, "economics_means", means)]
    if economics.get("note"):
        body.append(paragraph(f"Note: {economics['note']}."))
    incremental = economics.get("incremental", [])
    if incremental:
        thresholds = list(incremental[0]["nmb_disc"])
        table = pd.DataFrame([{
            "arm": r["arm"], "reference": r["reference"],
            "cost": _ci(r["cost_disc"], ",.0f"), "qalys": _ci(r["qalys_disc"], ".3f"),
            "icer": f"{r['icer']:,.0f}" if r["icer"] is not None else r["icer_meaning"],
            **{f"nmb {t}": _ci(r["nmb_disc"][t], ",.0f") for t in thresholds}} for r in incremental])
        body.append(html_table(table, ["arm", "against", f"incremental cost ({currency})", "incremental QALYs",
                                       f"ICER ({currency}/QALY)"] + [f"incremental NMB at {t}" for t in thresholds],
                               left=(0, 1, 4)))
    return "\n".join(body)


def _ci(row: dict, fmt: str) -> str:
    if row["ci_low"] is None:
        return format(row["difference"], fmt)
    return f"{format(row['difference'], fmt)} ({format(row['ci_low'], fmt)} to {format(row['ci_high'], fmt)})"


def ce_plane(costs: np.ndarray, qalys: np.ndarray, arms: list[str], currency: str, thresholds) -> go.Figure:
    """Incremental cost against incremental QALYs of each arm over the reference, one point per sample."""
    fig = go.Figure()
    d_q, d_c = qalys[:, 1:] - qalys[:, :1], costs[:, 1:] - costs[:, :1]
    for j, arm in enumerate(arms[1:]):
        fig.add_scatter(x=d_q[:, j], y=d_c[:, j], mode="markers", name=label(arm), opacity=0.5,
                        marker=dict(size=5, color=PALETTE[(j + 1) % len(PALETTE)]))
    span = np.array([min(0.0, float(np.nanmin(d_q))), max(0.0, float(np.nanmax(d_q)))]) if d_q.size else np.zeros(2)
    for wtp in thresholds:
        fig.add_scatter(x=span, y=wtp * span, mode="lines", line=dict(dash="dot", color="#888"),
                        name=label(f"{wtp:,.0f} {currency}/QALY"))
    return style(fig, f"Cost-effectiveness plane against {label(arms[0])}<br>one point per PSA sample; "
                      f"discounted, per patient", xaxis_title="Incremental QALYs",
                 yaxis_title=f"Incremental cost ({label(currency)})")


def ceac_figure(table: pd.DataFrame, currency: str) -> go.Figure:
    fig = go.Figure()
    for j, (arm, part) in enumerate(table.groupby("arm", sort=False)):
        fig.add_scatter(x=part.threshold, y=part.probability, mode="lines", name=label(arm),
                        line=dict(color=PALETTE[j % len(PALETTE)]))
    frontier = table[table.frontier]
    fig.add_scatter(x=frontier.threshold, y=frontier.probability, mode="markers", name="frontier (CEAF)",
                    marker=dict(size=6, symbol="circle-open", color="#222"))
    return style(fig, "Cost-effectiveness acceptability curves and frontier<br>share of samples in which each arm "
                      "has the highest net monetary benefit; circles: the arm with the highest expected one",
                 xaxis_title=f"Willingness to pay ({label(currency)} per QALY)", yaxis_title="Probability",
                 yaxis_range=[0, 1])


def voi_figure(table: pd.DataFrame, currency: str) -> go.Figure:
    fig = go.Figure()
    for j, (threshold, part) in enumerate(table.groupby("threshold")):
        fig.add_bar(x=[label(g) for g in part.group], y=part.evppi, name=label(f"{threshold:,.0f} {currency}/QALY"),
                    error_y=dict(type="data", array=1.96 * part.se), marker_color=PALETTE[j % len(PALETTE)])
    return style(fig, f"EVPPI per patient by parameter group<br>GAM metamodel; bars: 95% Monte-Carlo interval of "
                      f"the first term ({label(currency)})", yaxis_title=f"EVPPI ({label(currency)} per patient)",
                 barmode="group")


def tornado_figure(table: pd.DataFrame, arm: str, threshold: float, currency: str) -> go.Figure:
    fig = go.Figure()
    base = float(table.base.iloc[0]) if len(table) else 0.0
    keys = [label(k) for k in table.key][::-1]
    for end, colour in (("low", PALETTE[0]), ("high", PALETTE[1])):
        fig.add_bar(y=keys, x=(table[end] - base)[::-1], base=base, orientation="h", name=f"{end} value",
                    marker_color=colour)
    fig.add_vline(x=base, line_dash="dot", line_color="#888")
    return style(fig, f"One-way sensitivity: incremental NMB of {label(arm)} at {threshold:,.0f} {label(currency)}"
                      f"/QALY<br>each parameter at its 2.5th and 97.5th percentile, the others at their point values",
                 xaxis_title=f"Incremental net monetary benefit ({label(currency)} per patient)", barmode="overlay",
                 height=max(300, 40 * len(table) + 120))


def psa_page(*, arms: list[str], costs: np.ndarray, qalys: np.ndarray, ceac: pd.DataFrame, frontier: pd.DataFrame,
             voi: pd.DataFrame, tornado: pd.DataFrame | None, thresholds, currency: str, description: str) -> str:
    """The whole page, self-contained (plotly.js inline: works offline)."""
    body = [heading(1, "Health economics: probabilistic sensitivity analysis"), paragraph(description),
            heading(2, "Cost-effectiveness plane", "plane"),
            figure_html(ce_plane(costs, qalys, arms, currency, thresholds), "ce_plane") if len(arms) > 1
            else no_data("one arm: nothing to compare"),
            heading(2, "Efficiency frontier", "frontier"),
            html_table(frontier.assign(cost=frontier.cost.round(0), qalys=frontier.qalys.round(4),
                                       icer=frontier.icer.round(0))[["arm", "cost", "qalys", "status", "icer"]],
                       ["arm", f"mean cost ({currency})", "mean QALYs", "status", f"ICER ({currency}/QALY)"], left=(0, 3)),
            heading(2, "Acceptability", "ceac"), figure_html(ceac_figure(ceac, currency), "ceac", ceac),
            heading(2, "Value of information", "voi"),
            figure_html(voi_figure(voi, currency), "evppi", voi) if len(voi) else no_data("no parameter groups"),
            heading(2, "One-way sensitivity", "tornado")]
    if tornado is not None and len(tornado):
        body.append(figure_html(tornado_figure(tornado, arms[1], float(tornado.threshold.iloc[0]), currency),
                                "tornado", tornado))
    else:
        body.append(no_data("not run, or no parameter with a one-way range"))
    return html_page(f"osteosim PSA: {', '.join(arms)}", "\n".join(body))
