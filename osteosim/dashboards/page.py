"""The shared page template of the run and sweep dashboards: one inline copy of plotly.js, the
look of every figure, and a CSV link beside each figure so analysts get the numbers drawn."""
from __future__ import annotations

import html
from urllib.parse import quote

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.colors import hex_to_rgb, qualitative
from plotly.offline import get_plotlyjs

PALETTE = qualitative.Plotly
PAGE_CSS = """
body { font-family: system-ui, sans-serif; margin: 0 2rem 3rem; color: #222; }
nav { position: sticky; top: 0; background: #fff; padding: .6rem 0;
      border-bottom: 1px solid #ddd; z-index: 10; }
nav a { margin-right: 1.5rem; }
.figure { margin: 1rem 0 2rem; }
.figure > div:first-child { height: 460px; }
/* two fixed columns: plotly sizes each figure when it is drawn, before the next one joins the grid */
.grid { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 0 1.5rem; }
a.csv { font-size: .85rem; }
.no-data { color: #777; font-style: italic; }
table { border-collapse: collapse; margin: .5rem 0 1.5rem; }
th, td { border: 1px solid #ccc; padding: .25rem .6rem; text-align: right; }
th { background: #f3f3f3; }
"""


def style(fig: go.Figure, title: str, **layout: object) -> go.Figure:
    """Apply the shared look so all figures read the same way; the title's first line says what is
    shown, an optional second line (after '<br>') how, and its units, in smaller type."""
    what, _, how = title.partition("<br>")
    title = f"{what}<br><sup>{how}</sup>" if how else what
    fig.update_layout(
        title=dict(text=title, font=dict(size=15)),
        template="plotly_white",
        hovermode="closest",
        margin=dict(l=60, r=20, t=70, b=50),
        **layout,
    )
    return fig


def figure_html(fig: go.Figure, div_id: str, table: pd.DataFrame | None = None) -> str:
    """A figure as a div (plotly.js is already in the page head) and, when given, a link that
    downloads the table behind it as CSV (a data: URI, so it works offline)."""
    div = pio.to_html(fig, full_html=False, include_plotlyjs=False, div_id=div_id,
                      config={"displaylogo": False, "responsive": True})
    return f'<div class="figure">{div}{csv_link(table, div_id) if table is not None else ""}</div>'


def csv_link(table: pd.DataFrame, name: str) -> str:
    href = "data:text/csv;charset=utf-8," + quote(table.to_csv(index=False, float_format="%.6g"))
    return f'<a class="csv" download="{html.escape(name)}.csv" href="{href}">Download the data (CSV)</a>'


def html_table(rows: pd.DataFrame, headers: list[str]) -> str:
    """Small escaped HTML table; pandas' to_html adds styling we do not want."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row) + "</tr>"
        for row in rows.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def no_data(reason: str) -> str:
    """Placeholder that tells the reader why a figure is missing instead of failing."""
    return f'<p class="no-data">No data ({html.escape(reason)}).</p>'


def translucent(colour: str, alpha: float = 0.2) -> str:
    """Band fill colour: the curve's colour, mostly transparent."""
    red, green, blue = hex_to_rgb(colour)
    return f"rgba({red},{green},{blue},{alpha})"


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
