"""The "Supportive care and survivorship" section of the run dashboard: psychosocial, palliative and
surveillance contacts per week by resource, the interval from palliative referral to death, place of
death with and without a referral, and the cumulative incidence of each late effect with its band.

Drawn from the count tables of `osteosim.analysis.aggregates` and the events table (des runs, or a
cohort run with output.events=true), never from patients; text reaches the page escaped (page.label).
"""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from osteosim.analysis import counting
from osteosim.analysis.aggregates import LATE_EFFECTS, aalen_johansen
from osteosim.dashboards.outcomes import _add_band_curve, _thin
from osteosim.dashboards.page import PALETTE, figure_html, label, no_data, style


DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")


def supportive_section(aggregates: dict[str, pd.DataFrame], events: pd.DataFrame) -> str:
    table = aggregates.get("supportive", pd.DataFrame())
    parts = ["<h3>Supportive-care contacts per week</h3>", _contacts(events),
             '<h3>Palliative care and place of death</h3><div class="grid">', _interval(table), _places(table), "</div>",
             '<h3>Late effects: cumulative incidence (death competing)</h3><div class="grid">',
             *(_late_effect(aggregates["incidence"], effect) for effect in LATE_EFFECTS), "</div>"]
    return "\n".join(parts)


def _contacts(events: pd.DataFrame) -> str:
    """Visits started per week on each supportive resource, mean over replications, by arm."""
    if events is None or events.empty:
        return no_data("no events table (cohort engine without output.events=true)")
    starts = events[counting.is_in(events["event"], ["start"]) & counting.is_in(events["stage"], ["supportive"])]
    if starts.empty:
        return no_data("no supportive-care contacts")
    replications = max(events["replication"].nunique(), 1)
    weekly = (starts.assign(week=np.floor(starts["day"].to_numpy() / 7).astype(np.int64),
                            resource=starts["resource"].astype(str), arm=starts["arm"].astype(str))
              .groupby(["arm", "resource", "week"]).size().rename("contacts").reset_index())
    weekly["contacts"] = weekly["contacts"] / replications
    several = weekly["arm"].nunique() > 1
    # a resource keeps its colour in every arm, an arm its dash: lines of one resource compare across arms
    colour = {r: PALETTE[i % len(PALETTE)] for i, r in enumerate(sorted(weekly["resource"].unique()))}
    dash = {a: DASHES[i % len(DASHES)] for i, a in enumerate(sorted(weekly["arm"].unique()))}
    fig = go.Figure()
    for (arm, resource), rows in weekly.groupby(["arm", "resource"]):
        fig.add_scatter(x=rows["week"], y=rows["contacts"], mode="lines",
                        line=dict(color=colour[resource], dash=dash[arm]),
                        name=label(f"{arm}: {resource}" if several else resource),
                        hovertemplate="week %{x}: %{y:.1f} contacts<extra>%{fullData.name}</extra>")
    style(fig, "Supportive-care contacts per week by resource<br>visits started, mean over replications "
          "(contacts; weeks since the start of the run)", xaxis_title="Week of the run", yaxis_title="Contacts per week")
    return figure_html(fig, "fig-supportive-contacts", weekly)


def _interval(table: pd.DataFrame) -> str:
    rows = table[table["measure"] == "referral to death (weeks)"] if not table.empty else table
    if rows.empty:
        return no_data("no death from the disease with a palliative referral before it")
    rows = rows.assign(week=rows["value"].astype(int)).sort_values(["arm", "week"])
    fig = go.Figure()
    for colour, (arm, part) in zip(itertools.cycle(PALETTE), rows.groupby("arm")):
        fig.add_bar(x=part["week"], y=part["count"], name=label(arm), marker_color=colour,
                    hovertemplate="week %{x}: %{y} deaths<extra>%{fullData.name}</extra>")
    style(fig, "Time from palliative referral to death<br>deaths from the disease, all replications (deaths; weeks)",
          xaxis_title="Weeks from referral to death", yaxis_title="Deaths", barmode="group")
    return figure_html(fig, "fig-referral-to-death", rows[["arm", "week", "count"]])


def _places(table: pd.DataFrame) -> str:
    rows = table[table["measure"].str.startswith("place")] if not table.empty else table
    if rows.empty:
        return no_data("no death from the disease")
    rows = rows.assign(percent=100 * rows["count"] / rows.groupby(["arm", "measure"])["count"].transform("sum"))
    fig = go.Figure()
    for colour, (place, part) in zip(itertools.cycle(PALETTE), rows.groupby("value", sort=True)):
        fig.add_bar(x=[label(f"{a}: {m.removeprefix('place: ')}") for a, m in zip(part["arm"], part["measure"])],
                    y=part["percent"], name=label(place), marker_color=colour, customdata=part["count"],
                    hovertemplate="%{x}: %{y:.1f}% (%{customdata} deaths)<extra>%{fullData.name}</extra>")
    style(fig, "Place of death from the disease, with and without a palliative referral before it<br>"
          "% of those deaths, all replications (%)", yaxis_title="Deaths (%)", barmode="stack")
    return figure_html(fig, "fig-place-of-death", rows[["arm", "measure", "value", "count", "percent"]])


def _late_effect(incidence: pd.DataFrame, effect: str) -> str:
    rows = incidence[incidence["analysis"] == f"late:{effect}"] if not incidence.empty else incidence
    name = effect.replace("_", " ")
    if rows.empty:
        return no_data(f"no {name} data")
    fig, tables = go.Figure(), []
    arms = sorted(rows["arm"].unique())
    for colour, arm in zip(itertools.cycle(PALETTE), arms):
        cif = aalen_johansen(rows[rows["arm"] == arm].groupby(["years", "outcome"])["count"].sum().reset_index())
        points = _thin(cif[cif["outcome"] == name])
        if points.empty:
            continue
        _add_band_curve(fig, points.rename(columns={"incidence": "estimate"}), label(arm), colour)
        tables.append(points.assign(arm=arm))
    style(fig, f"Cumulative incidence of {name}<br>Aalen–Johansen with 95% CI band, death competing (%; years since diagnosis)",
          xaxis_title="Time since diagnosis (years)", yaxis_title="Cumulative incidence (%)")
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    return figure_html(fig, f"fig-late-{effect.replace('_', '-')}", table)
