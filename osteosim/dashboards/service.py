"""The Pathway and Capacity sections of the run dashboard: patient flow, time to each stage,
waits, and what each resource did over time against its roster.

Patients enter only through the count tables of `osteosim.analysis.aggregates`; events and resources
are the written tables (their size does not grow with a trial cohort: they are des-only).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from osteosim.analysis.resource_use import ResourceUse
from osteosim.analysis.service import wait_times
from osteosim.dashboards.page import PALETTE, csv_link, figure_html, html_table, label, no_data, style

MAX_STEP_POINTS = 1500
BUSIEST_WEEKS = 5


# --- pathway ----------------------------------------------------------------


def pathway_section(aggregates: dict[str, pd.DataFrame], events: pd.DataFrame, scenario: str | None) -> str:
    flow = aggregates["flow"]
    parts = ["<h3>Patient flow</h3>"]
    parts += [_sankey(links, arm) for arm, links in flow.groupby("arm", sort=True)] or [no_data("no patients")]
    parts += ["<h3>Time from diagnosis to each stage</h3>", _timing_figure(aggregates["timing"]),
              "<h3>Waits per stage</h3>", _waits(events, scenario)]
    return "\n".join(parts)


def _sankey(links: pd.DataFrame, arm: str) -> str:
    nodes = list(dict.fromkeys([*links["source"], *links["target"]]))
    index = {name: i for i, name in enumerate(nodes)}
    fig = go.Figure(go.Sankey(
        node=dict(label=[label(n) for n in nodes], pad=14, thickness=14,
                  hovertemplate="%{label}: %{value} patients<extra></extra>"),
        link=dict(source=links["source"].map(index), target=links["target"].map(index), value=links["count"],
                  hovertemplate="%{source.label} → %{target.label}: %{value} patients<extra></extra>")))
    style(fig, f"Patient flow through the stages of care, arm {label(arm)}<br>patients, all replications; hover for counts")
    return figure_html(fig, f"fig-sankey-{arm}", links)


def _timing_figure(timing: pd.DataFrame) -> str:
    """Share of the patients reaching a stage, by week after diagnosis they reached it."""
    if timing.empty:
        return no_data("no treated patients")
    table = timing.assign(percent=100 * timing["count"] / timing.groupby(["arm", "stage"])["count"].transform("sum"))
    several = table["arm"].nunique() > 1
    fig = go.Figure()
    for (arm, stage), rows in table.groupby(["arm", "stage"], sort=False):
        fig.add_scatter(x=rows["week"], y=rows["percent"], mode="lines+markers", name=label(f"{arm}: {stage}" if several
                        else stage), customdata=rows["count"],
                        hovertemplate="week %{x}: %{y:.1f}% (%{customdata} patients)<extra>%{fullData.name}</extra>")
    style(fig, "Time from diagnosis to each stage<br>% of the patients reaching the stage, by week after diagnosis (%; weeks)",
          xaxis_title="Weeks since diagnosis", yaxis_title="Patients (% of those reaching the stage)")
    return figure_html(fig, "fig-time-to-stage", table)


def _waits(events: pd.DataFrame, scenario: str | None) -> str:
    """Median and 90th-percentile waits per stage and arm: typical delay and the long tail."""
    waits = wait_times(events)
    if waits.empty:
        return no_data("no patient resource requests (capacity unconstrained)")
    stats = (waits.groupby(["arm", "stage"], observed=True, sort=False)["wait"]
             .agg(median="median", p90=lambda w: w.quantile(0.9), mean="mean", n="size").reset_index())
    several = stats["arm"].nunique() > 1
    fig = go.Figure()
    for arm, per_arm in stats.groupby("arm", observed=True, sort=False):
        for column, stat in [("median", "median"), ("p90", "90th percentile")]:
            fig.add_bar(x=per_arm["stage"].astype(str), y=per_arm[column], name=label(f"{arm}: {stat}" if several else stat),
                        customdata=per_arm[["mean", "n"]].to_numpy(),
                        hovertemplate=f"%{{x}}<br>{stat}: %{{y:.1f}} days"
                        "<br>mean: %{customdata[0]:.1f} days, n = %{customdata[1]}<extra></extra>")
    where = f", scenario {label(scenario)}" if scenario else ""
    style(fig, f"Wait from resource request to start, by stage{where}<br>median and 90th percentile "
          "(days; patients only, background demand excluded)", xaxis_title="Stage", yaxis_title="Wait (days)", barmode="group")
    return figure_html(fig, "fig-waits", stats)


# --- capacity ---------------------------------------------------------------


def capacity_section(resources: pd.DataFrame | ResourceUse) -> str:
    """Utilisation, each resource over the first replication, bed-days and the busiest weeks, from the resource log
    or what a run gathered from it (`ResourceUse`, since day 0)."""
    use = resources if isinstance(resources, ResourceUse) else ResourceUse.from_frame(resources)
    if use.empty:
        return no_data("no resource records: capacity unconstrained (trial cohort)")
    weekly = use.weekly()
    parts = [_utilisation(use), "<h3>In use, roster and queue over time</h3>", '<div class="grid">']
    first_rows = use.first_replication()
    first = first_rows["replication"].min()
    run = first_rows.sort_values("day", kind="stable")
    parts += [_over_time(trace, str(resource), first) for resource, trace in
              run.groupby("resource", observed=True, sort=True)]
    parts += ["</div>", _bed_days(weekly), _busiest(weekly)]
    return "\n".join(parts)


def _utilisation(use: ResourceUse) -> str:
    usage = use.utilisation().astype({"arm": str, "resource": str})
    limited = usage[usage["utilisation_pct"].notna()]
    if limited.empty:
        return no_data("no capacity-limited resources")
    fig = go.Figure()
    for arm, per_arm in limited.groupby("arm", sort=False):
        fig.add_bar(x=per_arm["resource"], y=per_arm["utilisation_pct"], name=label(arm),
                    customdata=per_arm[["mean_in_use", "mean_capacity"]].to_numpy(),
                    hovertemplate="%{x}<br>utilisation: %{y:.1f}%<br>mean in use: %{customdata[0]:.2f}"
                    " of %{customdata[1]:.2f}<extra>%{fullData.name}</extra>")
    style(fig, "Time-weighted utilisation per resource<br>% = ∫ in use dt / ∫ rostered capacity dt, all replications",
          xaxis_title="Resource", yaxis_title="Utilisation (%)", barmode="group",
          showlegend=limited["arm"].nunique() > 1)
    return figure_html(fig, "fig-utilisation", usage)


def _over_time(trace: pd.DataFrame, resource: str, replication: int) -> str:
    """In use against the rostered capacity, and the queue, over the run (peak per time bin)."""
    fig, tables = go.Figure(), []
    several = trace["arm"].nunique() > 1
    colours = iter(PALETTE * 4)
    for arm, rows in trace.groupby("arm", observed=True, sort=True):
        for column, name in [("in_use", "in use"), ("capacity", "capacity (roster)"), ("queue_length", "queue")]:
            days, values = downsample_steps(rows["day"].to_numpy(), rows[column].to_numpy(dtype=np.float64))
            if not np.isfinite(values).any():
                continue
            fig.add_scatter(x=days, y=values, name=label(f"{arm}: {name}" if several else name), mode="lines", line=dict(shape="hv", width=1,
                            color=next(colours), dash="dot" if column == "capacity" else None),
                            hovertemplate=f"day %{{x:.0f}}: %{{y}} {name}<extra>{label(resource)}</extra>")
            tables.append(pd.DataFrame({"arm": str(arm), "series": name, "day": days, "value": values}))
    style(fig, f"{label(resource)}: in use, rostered capacity and queue<br>replication {replication}; count against "
          f"simulation day; peak per bin, ≤ {MAX_STEP_POINTS} points", xaxis_title="Simulation time (days)",
          yaxis_title="Count", legend=dict(orientation="h", y=-0.2))
    return figure_html(fig, f"fig-over-time-{resource}", pd.concat(tables, ignore_index=True))


def downsample_steps(days: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keep the peak of each of MAX_STEP_POINTS equal time bins, so the file stays small (days in order)."""
    if len(days) <= MAX_STEP_POINTS:
        return days, values
    span = max(days[-1] - days[0], np.finfo(float).tiny)
    bins = np.minimum(((days - days[0]) / span * MAX_STEP_POINTS).astype(int), MAX_STEP_POINTS - 1)
    starts = np.flatnonzero(np.r_[True, bins[1:] != bins[:-1]])   # days are in order, so each bin is one run
    return days[starts], np.fmax.reduceat(values, starts)          # fmax: a NaN is skipped, as pandas' max does


def _bed_days(weekly: pd.DataFrame) -> str:
    beds = weekly[weekly["resource"] == "chemo_bed"]
    if beds.empty:
        return ""
    fig = go.Figure()
    for arm, rows in beds.groupby("arm", sort=True):
        fig.add_scatter(x=rows["week_start_day"], y=rows["in_use_days"], name=label(arm), mode="lines",
                        customdata=rows["offered_days"],
                        hovertemplate="week from day %{x:.0f}: %{y:.1f} bed-days of %{customdata:.0f} rostered"
                        "<extra>%{fullData.name}</extra>")
    style(fig, "Chemotherapy bed-days per week<br>bed-days (patients and background), mean over replications",
          xaxis_title="Week starting on day", yaxis_title="Bed-days per week", showlegend=beds["arm"].nunique() > 1)
    return "<h3>Bed-days</h3>\n" + figure_html(fig, "fig-bed-days", beds)


def _busiest(weekly: pd.DataFrame) -> str:
    """The weeks each resource was fullest, where a planner looks for the bottleneck."""
    top = (weekly.sort_values("in_use_days", ascending=False, kind="stable")
           .groupby(["arm", "resource"], sort=True).head(BUSIEST_WEEKS).sort_values(["arm", "resource"], kind="stable"))
    top = top.assign(mean_in_use=top["in_use_days"] / 7, utilisation_pct=100 * top["in_use_days"] / top["offered_days"],
                     mean_queue=top["queued_days"] / 7)[["arm", "resource", "week_start_day", "mean_in_use",
                                                         "utilisation_pct", "mean_queue"]]
    shown = top.assign(**{c: top[c].map("{:.1f}".format) for c in ("mean_in_use", "utilisation_pct", "mean_queue")},
                       week_start_day=top["week_start_day"].map("{:.0f}".format))
    return (f"<h3>The {BUSIEST_WEEKS} busiest weeks per resource (mean over replications)</h3>\n"
            "<p>Utilisation is in-use time over rostered time, so work that runs past the roster "
            "(e.g. over a weekend) can exceed 100%.</p>\n"
            + html_table(shown, ["Arm", "Resource", "Week starting day", "Mean in use (count)", "Utilisation (%)",
                                 "Mean queue (count)"]) + csv_link(top, "busiest-weeks"))
