"""The shared page template of the run and sweep dashboards: one inline copy of plotly.js, the
look of every figure, and a CSV link beside each figure so analysts get the numbers drawn.

It is also the one place where text becomes HTML. Scenario and arm names, swept values, a
validation file's columns: all are user input, and a page that opens in a browser must not run
what a scenario file or a command line put in them. So every string reaches the page through
:func:`esc` (text and attribute values) or :func:`label` (text that plotly.js draws), every
figure's element id is derived by :func:`figure_id` (a safe identifier, never a raw name), and
each figure's ``<script>`` is checked to be the one plotly wrote, with its JSON escaped.
"""
from __future__ import annotations

import base64
import csv
import functools
import hashlib
import html
import io
import re

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


TEMPLATE = "plotly_white"


@functools.cache
def _template() -> dict:
    """The page's plotly template as the plain dict plotly writes into each figure (validated once)."""
    return pio.templates[TEMPLATE].to_plotly_json()


def style(fig: go.Figure, title: str, **layout: object) -> go.Figure:
    """Apply the shared look so all figures read the same way; the title's first line says what is
    shown, an optional second line (after '<br>') how, and its units, in smaller type. The template
    (`TEMPLATE`) joins each figure as it is written (`figure_html`): set on a Figure, plotly
    validates and deep-copies it for every figure (about 12 ms each, half a second a dashboard)."""
    what, _, how = title.partition("<br>")
    title = f"{what}<br><sup>{how}</sup>" if how else what
    fig.update_layout(
        title=dict(text=title, font=dict(size=15)),
        hovermode="closest",
        margin=dict(l=60, r=20, t=70, b=50),
        **layout,
    )
    return fig


SAFE_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


def esc(text: object) -> str:
    """Any value as HTML text or a quoted attribute value: the only way text enters a page."""
    return html.escape(str(text), quote=True)


def label(text: object) -> str:
    """Text that plotly.js draws (trace names, titles, tick labels, hover text). plotly reads a little HTML in
    them (<br>, <b>, links) and shows entities as characters, so escaped user text is shown exactly as typed."""
    return esc(text)


def figure_id(name: str) -> str:
    """A safe element id for a figure: `name` itself if it is already a plain identifier, else a slug of it
    made unique by a short hash (arm names, resources and the like are user text)."""
    if SAFE_ID.match(name):
        return name
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-") or "figure"
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
    return f"{slug if slug[0].isalpha() else 'fig-' + slug}-{digest}"


def figure_html(fig: go.Figure, name: str, table: pd.DataFrame | None = None) -> str:
    """A figure as a div (plotly.js is already in the page head) and, when given, a link that
    downloads the table behind it as CSV (a data: URI, so it works offline)."""
    div_id = figure_id(name)
    figure = fig.to_plotly_json()      # validated as it was built; only the template joins here (it replaces
    figure["layout"]["template"] = _template()   # plotly's default, which a new Figure takes unvalidated)
    div = pio.to_html(figure, full_html=False, include_plotlyjs=False, div_id=div_id, validate=False,
                      config={"displaylogo": False, "responsive": True})
    _check_one_script(div, div_id)
    return f'<div class="figure">{div}{csv_link(table, div_id) if table is not None else ""}</div>'


def csv_text(table: pd.DataFrame) -> str:
    """`table.to_csv(index=False, float_format="%.6g")`, the same text 3x faster: pandas formats a float cell by
    cell through several Python calls (0.3 s for the default run's 90,000 points over time); here each column
    becomes a list of cells at once and the csv module pandas itself writes with (same dialect) joins them.
    A missing value is an empty cell, as pandas writes it; any other dtype is left to pandas."""
    if not all(values.dtype.kind in "fiub" or values.dtype == object or isinstance(values.dtype, pd.CategoricalDtype)
               for _, values in table.items()):
        return table.to_csv(index=False, float_format="%.6g")
    cells = [[("%.6g" % x) if x == x else "" for x in values.tolist()] if values.dtype.kind == "f"
             else [x if x == x else "" for x in values.tolist()] for _, values in table.items()]
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow([str(column) for column in table.columns])
    writer.writerows(zip(*cells))
    return text.getvalue()


def _check_one_script(div: str, div_id: str) -> None:
    """plotly escapes '<' in the figure JSON it embeds; if that ever changed, a label could close the script
    and open another. Refuse to write such a page rather than trust it."""
    lowered = div.lower()
    if lowered.count("<script") != 1 or lowered.count("</script") != 1 or "<!--" in lowered:
        raise ValueError(f"figure {div_id}: its script is not the single one plotly writes; not embedding it")


def csv_link(table: pd.DataFrame, name: str) -> str:
    # base64, not percent-encoding: urllib's quote walks the text character by character (0.1 s a 2.7 MB table)
    csv = csv_text(table).encode("utf-8")
    href = "data:text/csv;charset=utf-8;base64," + base64.b64encode(csv).decode("ascii")
    return f'<a class="csv" download="{esc(figure_id(name))}.csv" href="{esc(href)}">Download the data (CSV)</a>'


def html_table(rows: pd.DataFrame, headers: list[str], left: tuple[int, ...] = ()) -> str:
    """Small escaped HTML table; pandas' to_html adds styling we do not want. Columns in `left` are
    left-aligned (long text)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    align = {i: " style='text-align:left'" for i in left}
    body = "".join(
        "<tr>" + "".join(f"<td{align.get(i, '')}>{esc(cell)}</td>" for i, cell in enumerate(row)) + "</tr>"
        for row in rows.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def heading(level: int, text: str, anchor: str | None = None) -> str:
    """A heading; `anchor` (a fixed identifier) makes it a link target."""
    ident = f' id="{esc(figure_id(anchor))}"' if anchor else ""
    return f"<h{int(level)}{ident}>{esc(text)}</h{int(level)}>"


def paragraph(text: str) -> str:
    return f"<p>{esc(text)}</p>"


def no_data(reason: str) -> str:
    """Placeholder that tells the reader why a figure is missing instead of failing."""
    return f'<p class="no-data">No data ({esc(reason)}).</p>'


def translucent(colour: str, alpha: float = 0.2) -> str:
    """Band fill colour: the curve's colour, mostly transparent."""
    red, green, blue = hex_to_rgb(colour)
    return f"rgba({red},{green},{blue},{alpha})"


def html_page(title: str, body: str) -> str:
    """A self-contained page: the shared style and the one inline copy of plotly.js (works offline).
    `title` is text; `body` is HTML built with the functions above."""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{esc(title)}</title>
<style>{PAGE_CSS}</style>
<script type="text/javascript">window.PlotlyConfig = {{MathJaxConfig: 'local'}};</script>
<script type="text/javascript">{get_plotlyjs()}</script>
</head>
<body>
{body}
</body>
</html>
"""
