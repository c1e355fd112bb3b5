"""Self-contained HTML dashboard of one osteosim run.

Built from the result tables only (the patient aggregates of `osteosim.analysis.aggregates`, events,
resources, summary), so any saved run can be re-plotted without re-running the simulator
(`osteosim-report RUN_DIR`). plotly.js is embedded once in the page head, so the file opens
offline from ``file://``; every figure has a link to the table behind it as CSV.
"""

from __future__ import annotations

import pathlib

import numpy as np
import pandas as pd
from plotly.subplots import make_subplots

from osteosim.analysis import aggregates as patient_aggregates
from osteosim.analysis.resource_use import ResourceUse
from osteosim.dashboards.economics import economics_section
from osteosim.dashboards.outcomes import outcomes_section
from osteosim.dashboards.service import capacity_section, pathway_section
from osteosim.dashboards.supportive import supportive_section
from osteosim.results.atomic import write_text_atomically
from osteosim.dashboards.page import esc, figure_html, heading, html_page, html_table, label, no_data, style

VALIDATION = pathlib.Path(__file__).resolve().parents[2] / "experiments" / "validate" / "results" / "validation.csv"
SECTIONS = {"outcomes": "Outcomes", "pathway": "Pathway", "capacity": "Capacity",
            "supportive": "Supportive care and survivorship", "economics": "Health economics", "summary": "Summary table", "validation": "Validation"}


def build_dashboard(patients: pd.DataFrame | None, events: pd.DataFrame, resources: pd.DataFrame | ResourceUse,
                    summary: dict, aggregates: dict[str, pd.DataFrame] | None = None, validation: pd.DataFrame | None = None) -> str:
    """Return a self-contained HTML page (plotly.js embedded once, no CDN, works offline).

    `aggregates` (from `osteosim.analysis.aggregates`, built batch by batch) replaces `patients` for runs
    too large to hold; `validation` (validation.csv) adds the Validation section; `resources` is the resource log or
    what was gathered from it (osteosim.analysis.resource_use).
    """
    if aggregates is None:
        usable = patients is not None and not patients.empty
        aggregates = patient_aggregates.merge([patient_aggregates.batch(patients)] if usable else [])
    scenario = (summary.get("provenance") or {}).get("scenario")
    bodies = {
        "outcomes": outcomes_section(aggregates, summary),
        "pathway": pathway_section(aggregates, events, scenario),
        "capacity": capacity_section(resources),
        "supportive": supportive_section(aggregates, events),
    }
    if summary.get("economics"):
        bodies["economics"] = economics_section(summary["economics"])
    bodies["summary"] = _summary_section(summary)
    if validation is not None and not validation.empty:
        bodies["validation"] = _validation_section(validation)
    sections = "\n".join(f'<section id="{esc(key)}">{heading(2, SECTIONS[key])}\n{body}</section>'
                         for key, body in bodies.items())
    nav = " ".join(f'<a href="#{esc(key)}">{esc(SECTIONS[key])}</a>' for key in bodies)
    title = f"osteosim dashboard{f': scenario {scenario}' if scenario else ''}"
    return html_page(title, f"<nav>{nav}</nav>\n{heading(1, title)}\n{sections}")


def write_dashboard(path: pathlib.Path, patients: pd.DataFrame | None, events: pd.DataFrame,
                    resources: pd.DataFrame | ResourceUse, summary: dict,
                    aggregates: dict[str, pd.DataFrame] | None = None,
                    validation: pd.DataFrame | None = None) -> None:
    """Write the dashboard atomically so a reader never sees a half-written page."""
    write_text_atomically(pathlib.Path(path),
                          build_dashboard(patients, events, resources, summary, aggregates, validation))


VALIDATION_COLUMNS = ("id", "unit", "source", "published", "published_low", "published_high", "model", "model_low",
                      "model_high", "accept_low", "accept_high", "within")


def validation_table(run_folder: pathlib.Path) -> pd.DataFrame | None:
    """The run folder's validation.csv, else the validation experiment's, else None (not run yet).
    A file without the columns the section draws is a ValueError naming them."""
    for path in (pathlib.Path(run_folder) / "validation.csv", VALIDATION):
        if path.exists():
            table = pd.read_csv(path)
            missing = [c for c in VALIDATION_COLUMNS if c not in table.columns]
            if missing:
                raise ValueError(f"{path} lacks the columns {', '.join(missing)}")
            return table
    return None


# --- validation -------------------------------------------------------------


def _validation_section(validation: pd.DataFrame) -> str:
    """Model against each published target, one panel per unit, with the acceptance range shaded."""
    validation = validation.assign(**{c: validation[c].map(label) for c in ("id", "unit", "source")
                                      if c in validation})   # a run folder's validation.csv is user text
    units = list(dict.fromkeys(validation["unit"]))
    widths = [int((validation["unit"] == u).sum()) for u in units]
    fig = make_subplots(cols=len(units), column_widths=widths, subplot_titles=units, horizontal_spacing=0.06)
    for col, unit in enumerate(units, start=1):
        rows = validation[validation["unit"] == unit]
        fig.add_bar(x=rows["id"], y=rows["accept_high"] - rows["accept_low"], base=rows["accept_low"],
                    marker_color="rgba(44,160,44,0.18)", name="acceptance range", showlegend=col == 1,
                    legendgroup="accept", hovertemplate="%{x}: accept %{base:.3g}–%{y:.3g} wide<extra></extra>",
                    row=1, col=col)
        for column, colour, name in [("published", "#636efa", "published"), ("model", "#ef553b", "model")]:
            fig.add_scatter(x=rows["id"], y=rows[column], mode="markers", name=name, legendgroup=name,
                            showlegend=col == 1, marker=dict(color=colour, size=9),
                            error_y=dict(type="data", symmetric=False, array=rows[f"{column}_high"] - rows[column],
                                         arrayminus=rows[column] - rows[f"{column}_low"]),
                            customdata=np.column_stack([rows[f"{column}_low"], rows[f"{column}_high"], rows["source"]]),
                            hovertemplate=f"%{{x}} {name}: %{{y:.3g}} (%{{customdata[0]:.3g}}–%{{customdata[1]:.3g}})"
                            f"<br>%{{customdata[2]}}<extra>{unit}</extra>", row=1, col=col)
    style(fig, "Model against published targets<br>estimate and interval; shaded: acceptance range; units per panel",
          barmode="overlay")
    within = f"{int(validation['within'].sum())} of {len(validation)} targets within their acceptance range."
    return f"<p>{esc(within)}</p>\n" + figure_html(fig, "fig-validation", validation)


# --- summary ----------------------------------------------------------------


def _summary_section(summary: dict) -> str:
    """Plain tables of the run's scalar summary values, landmark survival estimates, every KPI over
    replications and, with several arms, the paired differences against the reference arm."""
    parts = [_scalar_table(summary), _survival_table(summary.get("survival") or []),
             _differences_table(summary.get("paired_differences") or []), _kpi_table(summary.get("kpis") or [])]
    body = "\n".join(part for part in parts if part)
    return body or no_data("empty summary")


def _scalar_table(summary: dict) -> str:
    scalars = {k: v for k, v in summary.items() if isinstance(v, (int, float, str, np.generic))}
    scalars.update({f"counts.{k}": v for k, v in (summary.get("counts") or {}).items()
                    if isinstance(v, (int, float, str))})
    if not scalars:
        return ""
    rows = pd.DataFrame({"key": list(scalars), "value": [_format_scalar(v) for v in scalars.values()]})
    return html_table(rows, ["Quantity", "Value"])


def _format_scalar(value: object) -> str:
    """Show floats with 4 significant digits so the table stays readable."""
    return f"{value:.4g}" if isinstance(value, (float, np.floating)) else str(value)


def _survival_table(survival: list[dict]) -> str:
    """Landmark survival estimates as percentages with 95% CI."""
    if not survival:
        return ""
    rows = pd.DataFrame(survival)
    rows = rows.assign(estimate=rows["estimate"].map(_percent),
                       ci=[f"{_percent(lo)} – {_percent(hi)}" for lo, hi in zip(rows["ci_low"], rows["ci_high"])])
    table = html_table(rows[["arm", "group", "endpoint", "years", "estimate", "ci", "n"]],
                       ["Arm", "Group", "Endpoint", "Years", "Estimate", "95% CI", "n"])
    return f"<h3>Landmark survival estimates</h3>\n{table}"


def _interval(low: float | None, high: float | None) -> str:
    return "needs ≥ 2 replications" if low is None or high is None else f"{low:.4g} – {high:.4g}"


def _kpi_table(kpis: list[dict]) -> str:
    """Every KPI's mean over replications with its 95% t-interval."""
    if not kpis:
        return ""
    rows = pd.DataFrame(kpis)
    rows = rows.assign(mean=rows["mean"].map(_format_scalar),
                       ci=[_interval(lo, hi) for lo, hi in zip(rows["ci_low"], rows["ci_high"])])
    table = html_table(rows[["arm", "kpi", "mean", "ci", "replications"]],
                       ["Arm", "KPI", "Mean", "95% CI", "Replications"])
    return ("<h3>KPIs over replications</h3>\n<p>Survival in %; crude percentages over the run's follow-up; "
            f"waits in days; uses per year; utilisation in %.</p>\n{table}")


def _differences_table(differences: list[dict]) -> str:
    """Arm − reference for every KPI, paired over replications (common random numbers)."""
    if not differences:
        return ""
    rows = pd.DataFrame(differences)
    rows = rows.assign(difference=rows["difference"].map(lambda v: f"{v:+.4g}"),
                       ci=[_interval(lo, hi) for lo, hi in zip(rows["ci_low"], rows["ci_high"])])
    table = html_table(rows[["arm", "reference", "kpi", "difference", "ci", "replications"]],
                       ["Arm", "Reference", "KPI", "Difference", "95% paired CI", "Replications"])
    return f"<h3>Paired differences against the reference arm</h3>\n{table}"


def _percent(fraction: float) -> str:
    """Format a 0–1 fraction as a percentage with one decimal ('–' when missing)."""
    return "–" if pd.isna(fraction) else f"{100 * fraction:.1f}%"

