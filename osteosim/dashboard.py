"""Self-contained HTML dashboard of one osteosim run.

Built from the result tables only (patients, events, resources, summary), so
any saved run can be re-plotted without re-running the simulator. plotly.js is
embedded once in the page head, so the file opens offline from ``file://``.
"""

from __future__ import annotations

import html
import itertools
import pathlib

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.colors import hex_to_rgb, qualitative
from plotly.offline import get_plotlyjs

from osteosim.analysis import utilisation, wait_times
from osteosim.io import write_text_atomically
from osteosim.survival import curve, kaplan_meier_counts, select, survival_counts

MAX_STEP_POINTS = 2000
PALETTE = qualitative.Plotly
SECTIONS = {
    "survival": "Survival",
    "waits": "Waits per stage",
    "utilisation": "Resource utilisation",
    "summary": "Summary table",
}
PAGE_CSS = """
body { font-family: system-ui, sans-serif; margin: 0 2rem 3rem; color: #222; }
nav { position: sticky; top: 0; background: #fff; padding: .6rem 0;
      border-bottom: 1px solid #ddd; z-index: 10; }
nav a { margin-right: 1.5rem; }
.figure { height: 460px; margin: 1rem 0 2rem; }
.no-data { color: #777; font-style: italic; }
table { border-collapse: collapse; margin: .5rem 0 1.5rem; }
th, td { border: 1px solid #ccc; padding: .25rem .6rem; text-align: right; }
th { background: #f3f3f3; }
"""


def build_dashboard(
    patients: pd.DataFrame | None, events: pd.DataFrame, resources: pd.DataFrame, summary: dict,
    survival: pd.DataFrame | None = None, aggregates: dict[str, pd.DataFrame] | None = None,
) -> str:
    """Return a self-contained HTML page (plotly.js embedded once, no CDN, works offline).

    `survival` (from `survival.survival_counts`) replaces `patients` for runs too large to hold.
    """
    if survival is None and patients is not None and not patients.empty:
        survival = survival_counts(patients)
    bodies = {
        "survival": _survival_section(survival if survival is not None else pd.DataFrame()),
        "waits": _waits_section(events),
        "utilisation": _utilisation_section(resources),
        "summary": _summary_section(summary),
    }
    sections = "\n".join(
        f'<section id="{key}"><h2>{SECTIONS[key]}</h2>\n{body}</section>'
        for key, body in bodies.items()
    )
    return _page(sections)


def write_dashboard(
    path: pathlib.Path,
    patients: pd.DataFrame | None,
    events: pd.DataFrame,
    resources: pd.DataFrame,
    summary: dict,
    survival: pd.DataFrame | None = None,
    aggregates: dict[str, pd.DataFrame] | None = None,
) -> None:
    """Write the dashboard atomically so a reader never sees a half-written page."""
    write_text_atomically(pathlib.Path(path),
                          build_dashboard(patients, events, resources, summary, survival, aggregates))


# --- survival -------------------------------------------------------------


def _survival_section(survival: pd.DataFrame) -> str:
    """Overall and event-free survival side by side, the two endpoints trials report."""
    if survival.empty:
        return _no_data("no patients")
    return "\n".join(
        _figure_html(_km_figure(survival, endpoint, name), f"fig-km-{endpoint.lower()}")
        for endpoint, name in [("OS", "Overall survival"), ("EFS", "Event-free survival")]
    )


def _km_figure(survival: pd.DataFrame, endpoint: str, name: str) -> go.Figure:
    """One Kaplan–Meier curve with 95% band per arm × metastatic group."""
    arms = sorted(survival["arm"].unique())
    fig = go.Figure()
    curves = [(arm, group) for arm in arms for group in ("localized", "metastatic")]
    colours = itertools.cycle(PALETTE)
    for arm, group in curves:
        rows = select(survival, arm, group, endpoint)
        if rows.empty:
            continue
        label = f"{arm}: {group}" if len(arms) > 1 else group
        _add_km_curve(fig, kaplan_meier_counts(rows, label=label), label, next(colours))
    return _style(
        fig,
        title=f"{name} ({endpoint}) by metastatic status at diagnosis — Kaplan–Meier, 95% CI",
        xaxis_title="Time since diagnosis (years)",
        yaxis_title=f"{endpoint} (%)",
        yaxis_range=[0, 101],
    )


def _add_km_curve(fig: go.Figure, kmf, label: str, colour: str) -> None:
    """Add a step curve plus its shaded confidence band, hover showing CI and number at risk."""
    points = curve(kmf)
    years = points["years"].to_numpy()
    estimate, low, high = (100 * points[c].to_numpy() for c in ("estimate", "ci_low", "ci_high"))
    at_risk = points["at_risk"].to_numpy()
    band = dict(mode="lines", line=dict(width=0, shape="hv"), legendgroup=label,
                showlegend=False, hoverinfo="skip")
    fig.add_scatter(x=years, y=high, **band)
    fig.add_scatter(x=years, y=low, fill="tonexty", fillcolor=_translucent(colour), **band)
    fig.add_scatter(
        x=years, y=estimate, name=label, legendgroup=label, mode="lines",
        line=dict(color=colour, shape="hv"),
        customdata=np.column_stack([low, high, at_risk]),
        hovertemplate="%{x:.2f} years: %{y:.1f}% (95% CI %{customdata[0]:.1f}–%{customdata[1]:.1f}%)"
        "<br>at risk: %{customdata[2]}<extra>%{fullData.name}</extra>",
    )


# --- waits ----------------------------------------------------------------


def _waits_section(events: pd.DataFrame) -> str:
    """Median and 90th-percentile waits per stage: typical delay and the long tail."""
    waits = wait_times(events)
    if waits.empty:
        return _no_data("no patient resource requests")
    return _figure_html(_waits_figure(waits), "fig-waits")


def _waits_figure(waits: pd.DataFrame) -> go.Figure:
    """Grouped bars of median and p90 wait per stage (per arm when there are several)."""
    stats = (
        waits.groupby(["arm", "stage"], observed=True, sort=False)["wait"]
        .agg(median="median", p90=lambda w: w.quantile(0.9), mean="mean", n="size")
        .reset_index()
    )
    several_arms = stats["arm"].nunique() > 1
    fig = go.Figure()
    for arm, per_arm in stats.groupby("arm", observed=True, sort=False):
        for column, stat_name in [("median", "median"), ("p90", "90th percentile")]:
            fig.add_bar(
                x=per_arm["stage"].astype(str), y=per_arm[column],
                name=f"{arm}: {stat_name}" if several_arms else stat_name,
                customdata=per_arm[["mean", "n"]].to_numpy(),
                hovertemplate=f"%{{x}}<br>{stat_name}: %{{y:.1f}} days"
                "<br>mean: %{customdata[0]:.1f} days, n = %{customdata[1]}<extra></extra>",
            )
    return _style(
        fig,
        title="Wait from resource request to start, by stage — median and 90th percentile "
        "(days; patients only, background demand excluded)",
        xaxis_title="Stage",
        yaxis_title="Wait (days)",
        barmode="group",
    )


# --- utilisation ----------------------------------------------------------


def _utilisation_section(resources: pd.DataFrame) -> str:
    """Utilisation bars for capacity-limited resources, plus the in-use trace over time."""
    if resources.empty:
        return _no_data("no resource records")
    usage = utilisation(resources)
    limited = usage[usage["utilisation_pct"].notna()]
    unconstrained = usage[usage["utilisation_pct"].isna()]
    parts = [
        _figure_html(_utilisation_figure(limited), "fig-utilisation")
        if not limited.empty
        else _no_data("no capacity-limited resources"),
        _unconstrained_table(unconstrained),
        _figure_html(_in_use_figure(resources), "fig-in-use"),
    ]
    return "\n".join(parts)


def _utilisation_figure(limited: pd.DataFrame) -> go.Figure:
    """Bars of time-weighted utilisation per resource, one colour per arm."""
    fig = go.Figure()
    for arm, per_arm in limited.groupby("arm", observed=True, sort=False):
        fig.add_bar(
            x=per_arm["resource"].astype(str), y=per_arm["utilisation_pct"], name=str(arm),
            customdata=per_arm[["mean_in_use", "mean_capacity"]].to_numpy(),
            hovertemplate="%{x}<br>utilisation: %{y:.1f}%<br>mean in use: %{customdata[0]:.2f}"
            " of %{customdata[1]:.2f}<extra>%{fullData.name}</extra>",
        )
    return _style(
        fig,
        title="Time-weighted utilisation per capacity-limited resource "
        "(% = ∫ in use dt / ∫ capacity dt, all replications)",
        xaxis_title="Resource",
        yaxis_title="Utilisation (%)",
        barmode="group",
        showlegend=limited["arm"].nunique() > 1,
    )


def _unconstrained_table(unconstrained: pd.DataFrame) -> str:
    """Unconstrained resources have no utilisation %, but their load is still worth seeing."""
    if unconstrained.empty:
        return ""
    rows = unconstrained.assign(mean_in_use=unconstrained["mean_in_use"].map("{:.2f}".format))
    table = _html_table(
        rows[["arm", "resource", "mean_in_use"]],
        ["Arm", "Resource", "Mean in use (count)"],
    )
    return f"<h3>Unconstrained resources (infinite capacity)</h3>\n{table}"


def _in_use_figure(resources: pd.DataFrame) -> go.Figure:
    """Step trace of units in use over time for the first replication, per arm × resource."""
    first = resources["replication"].min()
    run = resources[resources["replication"] == first].sort_values("day", kind="stable")
    several_arms = run["arm"].nunique() > 1
    fig = go.Figure()
    for (arm, resource), trace in run.groupby(["arm", "resource"], observed=True, sort=True):
        days, in_use = _downsample_steps(trace["day"].to_numpy(), trace["in_use"].to_numpy())
        label = f"{arm}: {resource}" if several_arms else str(resource)
        fig.add_scatter(
            x=days, y=in_use, name=label, mode="lines", line=dict(shape="hv", width=1),
            hovertemplate="day %{x:.1f}: %{y} in use<extra>%{fullData.name}</extra>",
        )
    return _style(
        fig,
        title=f"Units in use over time, replication {first} (count; at most "
        f"{MAX_STEP_POINTS} points per resource, peak kept when downsampled)",
        xaxis_title="Simulation time (days)",
        yaxis_title="In use (count)",
    )


def _downsample_steps(days: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keep the peak of each of MAX_STEP_POINTS equal time bins, so the file stays small."""
    if len(days) <= MAX_STEP_POINTS:
        return days, values
    span = max(days[-1] - days[0], np.finfo(float).tiny)
    bins = np.minimum(((days - days[0]) / span * MAX_STEP_POINTS).astype(int), MAX_STEP_POINTS - 1)
    peaks = pd.DataFrame({"bin": bins, "day": days, "value": values}).groupby("bin").agg(
        day=("day", "first"), value=("value", "max")
    )
    return peaks["day"].to_numpy(), peaks["value"].to_numpy()


# --- summary --------------------------------------------------------------


def _summary_section(summary: dict) -> str:
    """Plain tables of the run's scalar summary values and landmark survival estimates."""
    parts = [_scalar_table(summary), _survival_table(summary.get("survival") or [])]
    body = "\n".join(part for part in parts if part)
    return body or _no_data("empty summary")


def _scalar_table(summary: dict) -> str:
    """Key/value table of the summary's top-level numbers and strings."""
    scalars = {k: v for k, v in summary.items() if isinstance(v, (int, float, str, np.generic))}
    if not scalars:
        return ""
    rows = pd.DataFrame({"key": list(scalars), "value": [_format_scalar(v) for v in scalars.values()]})
    return _html_table(rows, ["Quantity", "Value"])


def _format_scalar(value: object) -> str:
    """Show floats with 4 significant digits so the table stays readable."""
    if isinstance(value, (float, np.floating)):
        return f"{value:.4g}"
    return str(value)


def _survival_table(survival: list[dict]) -> str:
    """Landmark survival estimates as percentages with 95% CI."""
    if not survival:
        return ""
    rows = pd.DataFrame(survival)
    rows = rows.assign(
        estimate=rows["estimate"].map(_percent),
        ci=[f"{_percent(lo)} – {_percent(hi)}" for lo, hi in zip(rows["ci_low"], rows["ci_high"])],
    )
    table = _html_table(
        rows[["arm", "group", "endpoint", "years", "estimate", "ci", "n"]],
        ["Arm", "Group", "Endpoint", "Years", "Estimate", "95% CI", "n"],
    )
    return f"<h3>Landmark survival estimates</h3>\n{table}"


def _percent(fraction: float) -> str:
    """Format a 0–1 fraction as a percentage with one decimal ('–' when missing)."""
    return "–" if pd.isna(fraction) else f"{100 * fraction:.1f}%"


# --- page assembly --------------------------------------------------------


def _style(fig: go.Figure, title: str, **layout: object) -> go.Figure:
    """Apply the shared look so all figures read the same way."""
    fig.update_layout(
        title=dict(text=title, font=dict(size=15)),
        template="plotly_white",
        hovermode="closest",
        margin=dict(l=60, r=20, t=60, b=50),
        **layout,
    )
    return fig


def _figure_html(fig: go.Figure, div_id: str) -> str:
    """Render a figure as a div; plotly.js is already in the page head, so never include it."""
    div = pio.to_html(
        fig,
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        config={"displaylogo": False, "responsive": True},
    )
    return f'<div class="figure">{div}</div>'


def _html_table(rows: pd.DataFrame, headers: list[str]) -> str:
    """Small escaped HTML table; pandas' to_html adds styling we do not want."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row) + "</tr>"
        for row in rows.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _no_data(reason: str) -> str:
    """Placeholder that tells the reader why a section is empty instead of failing."""
    return f'<p class="no-data">No data ({html.escape(reason)}).</p>'


def html_page(title: str, body: str) -> str:
    """A self-contained page: the shared style and the one inline copy of plotly.js (works offline)."""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{html.escape(title)}</title>
<style>{PAGE_CSS}</style>
<script type="text/javascript">window.PlotlyConfig = {{MathJaxConfig: 'local'}};</script>
<script type="text/javascript">{get_plotlyjs()}</script>
</head>
<body>
{body}
</body>
</html>
"""


def _page(sections: str) -> str:
    """The run dashboard: nav links to the sections."""
    nav = " ".join(f'<a href="#{key}">{title}</a>' for key, title in SECTIONS.items())
    return html_page("osteosim dashboard", f"<nav>{nav}</nav>\n<h1>osteosim dashboard</h1>\n{sections}")


def _translucent(colour: str, alpha: float = 0.2) -> str:
    """Band fill colour: the curve's colour, mostly transparent."""
    red, green, blue = hex_to_rgb(colour)
    return f"rgba({red},{green},{blue},{alpha})"
