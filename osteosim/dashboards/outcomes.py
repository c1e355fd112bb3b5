"""The Outcomes section of the run dashboard: Kaplan–Meier by arm and subgroup, cumulative
incidence with competing risks, and the forest plot of hazard ratios against the reference arm.

Drawn from the count tables of `osteosim.analysis.aggregates` and the summary, never from patients.
"""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from osteosim.analysis.aggregates import aalen_johansen
from osteosim.dashboards.page import PALETTE, figure_html, label, no_data, style, translucent
from osteosim.analysis.survival import curve, kaplan_meier_counts

ENDPOINT_NAMES = {"OS": "Overall survival", "EFS": "Event-free survival"}
SUBGROUPS = ["all patients", "metastatic status", "histologic response", "complete remission"]
MAX_CURVE_POINTS = 600


def outcomes_section(aggregates: dict[str, pd.DataFrame], summary: dict) -> str:
    counts = aggregates["subgroups"]
    if counts.empty:
        return no_data("no patients")
    km = [_km_figure(counts, endpoint, subgroup) for endpoint in ENDPOINT_NAMES for subgroup in SUBGROUPS]
    parts = ['<h3>Kaplan–Meier survival</h3><div class="grid">', *km, "</div>",
             '<h3>Cumulative incidence (competing risks)</h3><div class="grid">',
             *(_incidence_figure(aggregates["incidence"], analysis) for analysis in ("relapse", "death")), "</div>",
             "<h3>Hazard ratios against the reference arm</h3>", _forest(summary.get("hazard_ratios") or [])]
    return "\n".join(parts)


def _km_figure(counts: pd.DataFrame, endpoint: str, subgroup: str) -> str:
    """One KM curve with its 95% band per arm × level; the hover gives the CI and the number at risk."""
    rows = counts[(counts["endpoint"] == endpoint) & (counts["subgroup"] == (
        "metastatic status" if subgroup == "all patients" else subgroup))]
    if subgroup == "all patients":
        rows = rows.assign(level="all")
    arms = sorted(rows["arm"].unique())
    fig, tables = go.Figure(), []
    for colour, ((arm, level), group) in zip(itertools.cycle(PALETTE), rows.groupby(["arm", "level"], sort=True)):
        name = f"{arm}: {level}" if len(arms) > 1 and level != "all" else (arm if level == "all" else level)
        points = curve(kaplan_meier_counts(group.groupby(["years", "event"])["count"].sum().reset_index()),
                       MAX_CURVE_POINTS)
        _add_band_curve(fig, points, label(name), colour)
        tables.append(points.assign(arm=arm, level=level))
    by = "arm" if subgroup == "all patients" else subgroup
    style(fig, f"{ENDPOINT_NAMES[endpoint]} ({endpoint}) by {by}<br>Kaplan–Meier with 95% CI band (%; years since diagnosis)",
          xaxis_title="Time since diagnosis (years)", yaxis_title=f"{endpoint} (%)", yaxis_range=[0, 101])
    table = pd.concat(tables, ignore_index=True)[["arm", "level", "years", "estimate", "ci_low", "ci_high", "at_risk"]]
    return figure_html(fig, f"fig-km-{endpoint.lower()}-{by.replace(' ', '-')}", table)


def _add_band_curve(fig: go.Figure, points: pd.DataFrame, name: str, colour: str) -> None:
    """A step curve and its shaded 95% band; `name` is already escaped (page.label)."""
    years = points["years"].to_numpy()
    estimate, low, high = (100 * points[c].to_numpy() for c in ("estimate", "ci_low", "ci_high"))
    band = dict(mode="lines", line=dict(width=0, shape="hv"), legendgroup=name, showlegend=False, hoverinfo="skip")
    fig.add_scatter(x=years, y=high, **band)
    fig.add_scatter(x=years, y=low, fill="tonexty", fillcolor=translucent(colour), **band)
    fig.add_scatter(
        x=years, y=estimate, name=name, legendgroup=name, mode="lines", line=dict(color=colour, shape="hv"),
        customdata=np.column_stack([low, high, points["at_risk"].to_numpy()]),
        hovertemplate="%{x:.2f} years: %{y:.1f}% (95% CI %{customdata[0]:.1f}–%{customdata[1]:.1f}%)"
        "<br>at risk: %{customdata[2]}<extra>%{fullData.name}</extra>")


def _incidence_figure(incidence: pd.DataFrame, analysis: str) -> str:
    rows = incidence[incidence["analysis"] == analysis]
    fig, tables = go.Figure(), []
    arms = sorted(rows["arm"].unique())
    colours = itertools.cycle(PALETTE)
    for arm in arms:
        cif = aalen_johansen(rows[rows["arm"] == arm].groupby(["years", "outcome"])["count"].sum().reset_index())
        for outcome, points in cif.groupby("outcome", sort=True):
            points = _thin(points)
            name = f"{arm}: {outcome}" if len(arms) > 1 else outcome
            _add_band_curve(fig, points.rename(columns={"incidence": "estimate"}), label(name), next(colours))
            tables.append(points.assign(arm=arm))
    what = ("the first event: relapse or progression, second malignancy, death<br>Aalen–Johansen with 95% CI band, "
            "competing (%; years)" if analysis == "relapse"
            else "death by cause<br>Aalen–Johansen with 95% CI band; causes compete (%; years)")
    style(fig, f"Cumulative incidence of {what}",
          xaxis_title="Time since diagnosis (years)", yaxis_title="Cumulative incidence (%)")
    table = (pd.concat(tables, ignore_index=True)[["arm", "outcome", "years", "incidence", "ci_low", "ci_high",
                                                   "at_risk"]] if tables
             else pd.DataFrame())
    return figure_html(fig, f"fig-incidence-{analysis}", table)


def _thin(points: pd.DataFrame) -> pd.DataFrame:
    """At most MAX_CURVE_POINTS steps, keeping the last, so the page stays small at any N."""
    if len(points) <= MAX_CURVE_POINTS:
        return points
    keep = np.unique(np.linspace(0, len(points) - 1, MAX_CURVE_POINTS).astype(int))
    return points.iloc[keep]


def _forest(hazard_ratios: list[dict]) -> str:
    """Cox hazard ratio with 95% CI per arm and endpoint, on a log axis (1 = no difference)."""
    if not hazard_ratios:
        return '<p class="no-data">Single arm: no hazard ratio against a reference arm.</p>'
    table = pd.DataFrame(hazard_ratios).dropna(subset=["hazard_ratio"]).astype(
        {"hazard_ratio": float, "ci_low": float, "ci_high": float})
    if table.empty:
        return '<p class="no-data">Hazard ratios not estimable yet (too few events in this run).</p>'
    table = table.assign(label=(table["arm"] + " vs " + table["reference"] + ": " + table["endpoint"]).map(label))[::-1]
    fig = go.Figure(go.Scatter(
        x=table["hazard_ratio"], y=table["label"], mode="markers", marker=dict(size=10, symbol="square"),
        error_x=dict(type="data", symmetric=False, array=table["ci_high"] - table["hazard_ratio"],
                     arrayminus=table["hazard_ratio"] - table["ci_low"]),
        customdata=table[["ci_low", "ci_high", "patients"]].to_numpy(),
        hovertemplate="%{y}<br>HR %{x:.2f} (95% CI %{customdata[0]:.2f}–%{customdata[1]:.2f}), "
        "%{customdata[2]} patients<extra></extra>"))
    fig.add_vline(x=1, line_dash="dash", line_color="#888")
    style(fig, "Hazard ratio against the reference arm<br>Cox, 95% CI (ratio, log scale; < 1 favours the arm)",
          xaxis_title="Hazard ratio", xaxis_type="log", showlegend=False,
          xaxis_range=np.log10([min(table["ci_low"].min(), 1) / 1.2, max(table["ci_high"].max(), 1) * 1.2]))
    return figure_html(fig, "fig-forest", table.drop(columns="label")[::-1])
