"""The comparison dashboard of a sweep, drawn from ``sweep.parquet`` alone.

One page, plotly.js embedded once (it opens offline, like the run dashboard). A menu picks the
KPI; the first swept parameter is the x axis, one line with its 95% CI band per arm and per value
of the other swept parameters. A two-way sweep also gets a heatmap of the KPI over both
parameters, which is how a planner reads "how many theatre sessions for how many beds".
"""
from __future__ import annotations

import itertools
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from osteosim.results.atomic import write_text_atomically
from osteosim.dashboards.page import PALETTE, esc, figure_html, heading, html_page, html_table, label, style, translucent


_MARGIN = dict(l=60, r=20, t=110, b=50)  # room for the title above the KPI menu


def _x_order(values: pd.Series) -> list:
    """Numbers ascending; text in the order the jobs have it."""
    unique = list(dict.fromkeys(values.dropna()))
    return sorted(unique) if pd.api.types.is_numeric_dtype(values) else unique


def _shown(values: pd.Series) -> pd.Series:
    """Swept values as plotly draws them: numbers as they are, text escaped (it is what the user typed)."""
    return values if pd.api.types.is_numeric_dtype(values) else values.map(lambda v: v if pd.isna(v) else label(v))


def _menu(labels: list[str], visible: list[list[bool]]) -> list[dict]:
    buttons = [dict(label=label(text), method="update", args=[{"visible": mask}, {"title.text": label(text)}])
               for text, mask in zip(labels, visible)]
    return [dict(buttons=buttons, direction="down", x=0, xanchor="left", y=1.03, yanchor="bottom")]


def kpi_lines(table: pd.DataFrame, swept: list[str]) -> go.Figure:
    """Each KPI against the first swept parameter (the job number if nothing was swept), with CI bands."""
    x_name, series = (swept[0], ["arm", *swept[1:]]) if swept else ("job", ["arm"])
    fig, owners = go.Figure(), []
    kpis = list(dict.fromkeys(table["kpi"]))
    for kpi in kpis:
        rows = table[table["kpi"] == kpi]
        for colour, (key, group) in zip(itertools.cycle(PALETTE), rows.groupby(series, sort=False, dropna=False)):
            key = key if isinstance(key, tuple) else (key,)
            name = ", ".join(f"{column}={value}" if column != "arm" else str(value) for column, value in zip(series, key))
            group = group.set_index(x_name).reindex(_x_order(rows[x_name])).reset_index()
            if group["ci_low"].notna().any():
                x = list(_shown(group[x_name])) + list(_shown(group[x_name]))[::-1]
                y = list(group["ci_high"]) + list(group["ci_low"])[::-1]
                fig.add_trace(go.Scatter(x=x, y=y, mode="lines", fill="toself", fillcolor=translucent(colour), line=dict(width=0),
                                         hoverinfo="skip", showlegend=False, visible=kpi == kpis[0]))
                owners.append(kpi)
            fig.add_trace(go.Scatter(x=_shown(group[x_name]), y=group["estimate"], mode="lines+markers", name=label(name),
                                     line=dict(color=colour), visible=kpi == kpis[0]))
            owners.append(kpi)
    fig.update_layout(updatemenus=_menu(kpis, [[owner == kpi for owner in owners] for kpi in kpis]))
    return style(fig, label(kpis[0]), xaxis_title=label(x_name),
                 yaxis_title="estimate (95% CI band)").update_layout(margin=_MARGIN)


def kpi_heatmaps(table: pd.DataFrame, swept: list[str]) -> go.Figure:
    """A two-way sweep: each KPI (and arm) as a heatmap over the two swept parameters."""
    x_name, y_name = swept
    fig, labels = go.Figure(), []
    for (kpi, arm), rows in table.groupby(["kpi", "arm"], sort=False):
        grid = rows.pivot_table(index=y_name, columns=x_name, values="estimate", aggfunc="mean")
        grid = grid.reindex(index=_x_order(rows[y_name]), columns=_x_order(rows[x_name]))
        fig.add_trace(go.Heatmap(z=grid.to_numpy(), x=[label(c) for c in grid.columns], y=[label(i) for i in grid.index],
                                 colorscale="Viridis", texttemplate="%{z:.3g}", visible=not labels))
        labels.append(f"{kpi} ({arm})")
    fig.update_layout(updatemenus=_menu(labels, [[i == j for j in range(len(labels))] for i in range(len(labels))]))
    return style(fig, label(labels[0]), xaxis_title=label(x_name), yaxis_title=label(y_name)).update_layout(margin=_MARGIN)


def build_sweep_dashboard(table: pd.DataFrame, swept: list[str]) -> str:
    figures = [figure_html(kpi_lines(table, swept), "kpi-lines", table)]
    if len(swept) == 2:
        figures.append(figure_html(kpi_heatmaps(table, swept), "kpi-heatmap", table))
    jobs = table.drop_duplicates("job")[["job", "overrides"]]
    what = ", ".join(swept) or "nothing (one configuration)"
    return html_page("osteosim sweep", f"""{heading(1, f"osteosim sweep: {len(jobs)} jobs")}
<p>Swept: {esc(what)}. Pick a KPI in the menu above each figure. Survival KPIs are Kaplan–Meier estimates
with 95% confidence bands; waits are in days; utilisation in % of rostered capacity.</p>
{''.join(figures)}
{heading(2, "Jobs")}
{html_table(jobs, ["job", "overrides"], left=(1,))}""")


def write_sweep_dashboard(path: Path, table: pd.DataFrame, swept: list[str]) -> None:
    write_text_atomically(path, build_sweep_dashboard(table, swept))
