"""The comparison dashboard of a sweep, drawn from ``sweep.parquet`` alone.

One page, plotly.js embedded once (it opens offline, like the run dashboard). A menu picks the
KPI; the first swept parameter is the x axis, one line with its 95% CI band per arm and per value
of the other swept parameters. A two-way sweep also gets a heatmap of the KPI over both
parameters, which is how a planner reads "how many theatre sessions for how many beds".
"""
from __future__ import annotations

import html
import itertools
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from osteosim.results.atomic import write_text_atomically
from osteosim.dashboards.page import PALETTE, figure_html, html_page, style, translucent


_MARGIN = dict(l=60, r=20, t=110, b=50)  # room for the title above the KPI menu


def _x_order(values: pd.Series) -> list:
    """Numbers ascending; text in the order the jobs have it."""
    unique = list(dict.fromkeys(values.dropna()))
    return sorted(unique) if pd.api.types.is_numeric_dtype(values) else unique


def _menu(labels: list[str], visible: list[list[bool]]) -> list[dict]:
    buttons = [dict(label=label, method="update", args=[{"visible": mask}, {"title.text": label}])
               for label, mask in zip(labels, visible)]
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
            label = ", ".join(f"{name}={value}" if name != "arm" else str(value) for name, value in zip(series, key))
            group = group.set_index(x_name).reindex(_x_order(rows[x_name])).reset_index()
            if group["ci_low"].notna().any():
                x = list(group[x_name]) + list(group[x_name])[::-1]
                y = list(group["ci_high"]) + list(group["ci_low"])[::-1]
                fig.add_trace(go.Scatter(x=x, y=y, mode="lines", fill="toself", fillcolor=translucent(colour), line=dict(width=0),
                                         hoverinfo="skip", showlegend=False, visible=kpi == kpis[0]))
                owners.append(kpi)
            fig.add_trace(go.Scatter(x=group[x_name], y=group["estimate"], mode="lines+markers", name=label,
                                     line=dict(color=colour), visible=kpi == kpis[0]))
            owners.append(kpi)
    fig.update_layout(updatemenus=_menu(kpis, [[owner == kpi for owner in owners] for kpi in kpis]))
    return style(fig, kpis[0], xaxis_title=x_name, yaxis_title="estimate (95% CI band)").update_layout(margin=_MARGIN)


def kpi_heatmaps(table: pd.DataFrame, swept: list[str]) -> go.Figure:
    """A two-way sweep: each KPI (and arm) as a heatmap over the two swept parameters."""
    x_name, y_name = swept
    fig, labels = go.Figure(), []
    for (kpi, arm), rows in table.groupby(["kpi", "arm"], sort=False):
        grid = rows.pivot_table(index=y_name, columns=x_name, values="estimate", aggfunc="mean")
        grid = grid.reindex(index=_x_order(rows[y_name]), columns=_x_order(rows[x_name]))
        fig.add_trace(go.Heatmap(z=grid.to_numpy(), x=[str(c) for c in grid.columns], y=[str(i) for i in grid.index],
                                 colorscale="Viridis", texttemplate="%{z:.3g}", visible=not labels))
        labels.append(f"{kpi} ({arm})")
    fig.update_layout(updatemenus=_menu(labels, [[i == j for j in range(len(labels))] for i in range(len(labels))]))
    return style(fig, labels[0], xaxis_title=x_name, yaxis_title=y_name).update_layout(margin=_MARGIN)


def build_sweep_dashboard(table: pd.DataFrame, swept: list[str]) -> str:
    figures = [figure_html(kpi_lines(table, swept), "kpi-lines", table)]
    if len(swept) == 2:
        figures.append(figure_html(kpi_heatmaps(table, swept), "kpi-heatmap", table))
    jobs = table.drop_duplicates("job")[["job", "overrides"]]
    rows = "".join(f"<tr><td>{job}</td><td style='text-align:left'>{html.escape(str(o))}</td></tr>"
                   for job, o in jobs.itertuples(index=False))
    what = ", ".join(html.escape(s) for s in swept) or "nothing (one configuration)"
    return html_page("osteosim sweep", f"""<h1>osteosim sweep: {len(jobs)} jobs</h1>
<p>Swept: {what}. Pick a KPI in the menu above each figure. Survival KPIs are Kaplan–Meier estimates
with 95% confidence bands; waits are in days; utilisation in % of rostered capacity.</p>
{''.join(figures)}
<h2>Jobs</h2>
<table><thead><tr><th>job</th><th>overrides</th></tr></thead><tbody>{rows}</tbody></table>""")


def write_sweep_dashboard(path: Path, table: pd.DataFrame, swept: list[str]) -> None:
    write_text_atomically(path, build_sweep_dashboard(table, swept))
