"""The run dashboard: content, atomic writing, rebuilding from a run folder, and real rendering
of the default run and of a two-arm experiment in headless Chromium from file://."""

from __future__ import annotations

import base64
import io
import math
import os
import pathlib
import re
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import browser
from osteosim.dashboards import run as dashboard
from osteosim.dashboards import service as dashboard_service
from osteosim.results import atomic as atomic_io
from osteosim.analysis.resource_use import utilisation, weekly_use
from osteosim.analysis.service import wait_times, with_durations
from osteosim.results.integrity import is_complete
from osteosim.analysis.summary import summarise_patients

MAX_BYTES = 15 * 1024 * 1024
SCREENSHOTS = os.environ.get("OSTEOSIM_SCREENSHOTS")  # keep the PNGs there when set
TWO_ARMS = ["cohort=trial", "cohort.n_patients=500", "arms=[baseline,mifamurtide]", "replications=2"]


def run_cli(folder: pathlib.Path, *overrides: str) -> pathlib.Path:
    done = subprocess.run([sys.executable, "-m", "osteosim", f"hydra.run.dir={folder}", "output.progress=false",
                           *overrides], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return folder


@pytest.fixture(scope="module")
def two_arm_run(tmp_path_factory) -> pathlib.Path:
    return run_cli(tmp_path_factory.mktemp("two-arms") / "run", *TWO_ARMS)


@pytest.fixture(scope="module")
def tables(default_tables):
    """The default run's tables (conftest: run once per session) and their summary."""
    patients, events, resources = default_tables
    return patients, events, resources, summarise_patients(patients, events, resources)


@pytest.fixture(scope="module")
def page(tables) -> str:
    """The default run's dashboard page, built once for the tests that only read it."""
    return dashboard.build_dashboard(*tables)


def figure_divs(page: str) -> int:
    return page.count('class="plotly-graph-div"')


# --- the page -----------------------------------------------------------------


def test_plotlyjs_inline_once_every_figure_drawn_with_its_csv(page):
    assert page.count("* plotly.js v") == 1
    assert re.findall(r"<script[^>]*\bsrc=", page) == []
    assert figure_divs(page) == page.count("Plotly.newPlot(") >= 20
    assert page.count('download="') == figure_divs(page) + 1  # and the busiest-weeks table
    for anchor in ["outcomes", "pathway", "capacity", "summary"]:
        assert f'href="#{anchor}"' in page and f'id="{anchor}"' in page
    for title in ["by histologic response", "by complete remission", "Cumulative incidence of death by cause",
                  "Patient flow", "Time from diagnosis to each stage", "chemo_bed: in use, rostered capacity",
                  "Chemotherapy bed-days per week", "busiest weeks", "Single arm: no hazard ratio"]:
        assert title in page


def test_csv_links_hold_the_table_behind_the_figure(tables, page):
    href = re.search(r'download="fig-km-os-arm.csv" href="data:text/csv;charset=utf-8;base64,([^"]*)"', page)[1]
    table = pd.read_csv(io.BytesIO(base64.b64decode(href)))
    assert list(table.columns) == ["arm", "level", "years", "estimate", "ci_low", "ci_high", "at_risk"]
    assert table["estimate"].between(0, 1).all() and table["at_risk"].iloc[0] == len(tables[0])


def test_summary_table_shows_survival_as_percent(tables, page):
    row = next(r for r in tables[3]["survival"] if r["estimate"] is not None)
    assert f"{100 * row['estimate']:.1f}%" in page and f"{100 * row['ci_low']:.1f}% – " in page


def test_validation_section_only_with_a_validation_table(tables, page):
    validation = dashboard.validation_table(pathlib.Path("/nonexistent"))
    assert validation is not None  # the repository's experiments/validate/results/validation.csv
    assert 'id="validation"' in dashboard.build_dashboard(*tables, validation=validation)
    assert 'id="validation"' not in page


def test_write_is_atomic(tables, tmp_path, monkeypatch):
    replaced = []
    real_replace = os.replace

    def spying_replace(src, dst):
        replaced.append((src, dst))
        real_replace(src, dst)

    monkeypatch.setattr(atomic_io.os, "replace", spying_replace)
    target = tmp_path / "dashboard.html"
    target.write_text("old")
    dashboard.write_dashboard(target, *tables)
    [(src, dst)] = replaced
    assert pathlib.Path(src).parent == tmp_path and pathlib.Path(dst) == target
    assert sorted(tmp_path.iterdir()) == [target]


def test_failed_write_keeps_old_file_and_leaves_no_temp(tables, tmp_path, monkeypatch):
    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(atomic_io.os, "replace", failing_replace)
    target = tmp_path / "dashboard.html"
    target.write_text("old")
    with pytest.raises(OSError, match="disk full"):
        dashboard.write_dashboard(target, *tables)
    assert target.read_text() == "old"
    assert sorted(tmp_path.iterdir()) == [target]


def test_empty_inputs_say_no_data():
    page = dashboard.build_dashboard(None, pd.DataFrame(), pd.DataFrame(), {})
    # outcomes, flow, time to stage, waits, capacity, summary; supportive care: contacts, referral to
    # death, place of death and the four late effects
    assert page.count('class="no-data"') == 13
    assert "Plotly.newPlot(" not in page


def test_report_rebuilds_a_run_dashboard_and_the_folder_stays_complete(default_run, tmp_path):
    from osteosim.cli import report
    folder = shutil.copytree(default_run.folder, tmp_path / "run")
    written = (folder / "dashboard.html").read_bytes()
    (folder / "dashboard.html").unlink()
    report.main([str(folder)])
    assert (folder / "dashboard.html").read_bytes() == written  # the same page, from the tables alone
    assert is_complete(folder)


# --- analyses behind the figures ------------------------------------------------


def test_wait_times_pair_nth_request_with_nth_start():
    events = pd.DataFrame({
        "replication": 0, "arm": "a", "patient_id": [1, 1, 1, 1, -1, -1, 2, 2],
        "day": [12.0, 0.0, 10.0, 3.0, 0.0, 50.0, 5.0, 5.5],
        "event": ["start", "request", "request", "start", "request", "start", "request", "start"],
        "stage": ["s", "diagnosis", "surgery", "s", "bg", "bg", "diagnosis", "s"], "resource": "mri"})
    assert wait_times(events)[["stage", "wait"]].values.tolist() == [
        ["diagnosis", 3.0], ["diagnosis", 0.5], ["surgery", 2.0]]


def test_utilisation_is_time_weighted_and_skips_infinite_capacity():
    resources = pd.DataFrame({
        "replication": 0, "arm": "a", "resource": ["mri", "mri", "mri", "lab", "lab"],
        "day": [0.0, 10.0, 20.0, 0.0, 30.0], "in_use": [1, 2, 0, 3, 5],
        "capacity": [2.0, 2.0, 4.0, math.inf, math.inf], "queue_length": 0})
    usage = utilisation(resources).set_index("resource")
    # mri: in use 1·10 + 2·10 + 0·10 = 30 over capacity 2·10 + 2·10 + 4·10 = 80 (run ends day 30)
    assert usage.loc["mri", "utilisation_pct"] == pytest.approx(37.5)
    assert usage.loc["mri", "mean_in_use"] == pytest.approx(1.0)
    assert math.isnan(usage.loc["lab", "utilisation_pct"])
    assert usage.loc["lab", "mean_in_use"] == pytest.approx(3.0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 1), st.integers(0, 4), st.integers(0, 30)),
                min_size=1, max_size=60), st.booleans())
def test_log_order_is_the_sort_by_run_resource_and_day(rows, in_time_order):
    """The resource log's order (replication, arm, resource, day; stable) whether or not each resource's rows
    come in day order (a log written in time order takes the shortcut, any other the full sort)."""
    from osteosim.analysis.service import log_order

    replication, arm, resource, day = (np.array(column) for column in zip(*rows))
    day = day.astype(np.float64)
    if in_time_order:
        by_day = np.argsort(day, kind="stable")
        replication, arm, resource, day = replication[by_day], arm[by_day], resource[by_day], day[by_day]
    expected = np.lexsort((day, resource, arm, replication))
    assert np.array_equal(log_order(replication, arm, resource, day), expected)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.sampled_from(["a", "b"]), st.sampled_from(["mri", "lab", "ct"]),
                          st.one_of(st.integers(0, 30).map(float), st.just(float("nan")))), min_size=1, max_size=50),
       st.booleans())
def test_each_change_point_holds_until_its_resources_next_or_the_runs_last(rows, in_time_order):
    """with_durations against its definition written with pandas: rows sorted by (replication, arm, resource,
    day), each holding until the next row of its resource, the last until the run's last change point (a NaN
    day, never written by the engine, propagates as a maximum does)."""
    log = pd.DataFrame(rows, columns=["replication", "arm", "resource", "day"]).astype(
        {"arm": "category", "resource": "category"}).assign(in_use=1, capacity=2.0, queue_length=0)
    if in_time_order:
        log = log.sort_values("day", kind="stable")
    expected = log.sort_values(["replication", "arm", "resource", "day"], kind="stable")
    following = expected.groupby(["replication", "arm", "resource"], observed=True)["day"].shift(-1)
    with np.errstate(invalid="ignore"):
        run_end = expected.groupby(["replication", "arm"], observed=True)["day"].transform(
            lambda days: np.maximum.reduce(days.to_numpy()))
    duration = following.where(following.notna(), run_end) - expected["day"]
    ours = with_durations(log)
    assert ours.index.equals(expected.index)
    assert np.array_equal(ours["duration"].to_numpy(), duration.to_numpy(), equal_nan=True)


def test_utilisation_by_replication_is_each_replications_own():
    resources = pd.DataFrame({
        "replication": [0, 0, 1, 1, 0, 1], "arm": "a", "resource": ["mri", "mri", "mri", "mri", "lab", "lab"],
        "day": [0.0, 10.0, 0.0, 5.0, 0.0, 0.0], "in_use": [1, 2, 0, 3, 1, 1],
        "capacity": [2.0, 4.0, 2.0, 4.0, 1.0, 1.0], "queue_length": 0})
    both = utilisation(resources, by_replication=True)
    for replication in (0, 1):
        alone = utilisation(resources[resources["replication"] == replication])
        mine = both[both["replication"] == replication].drop(columns="replication").reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, alone, check_categorical=False)


def test_weekly_use_splits_intervals_at_week_boundaries():
    # 2 beds in use from day 3 to day 10, then 1 until day 14; the run ends at day 14
    resources = pd.DataFrame({"replication": 0, "arm": "a", "resource": "chemo_bed", "day": [0.0, 3.0, 10.0, 14.0],
                              "in_use": [0, 2, 1, 0], "capacity": 4.0, "queue_length": [0, 0, 3, 0]})
    weeks = weekly_use(resources)
    assert weeks["week_start_day"].tolist() == [0.0, 7.0]
    assert weeks["in_use_days"].tolist() == pytest.approx([2 * 4, 2 * 3 + 1 * 4])  # bed-days
    assert weeks["offered_days"].tolist() == pytest.approx([28, 28])
    assert weeks["queued_days"].tolist() == pytest.approx([0, 12])


def test_contacts_keep_a_colour_per_resource_and_a_dash_per_arm():
    """Two arms x eight supportive resources: sixteen lines, each (colour, dash) once, a resource's colour
    the same in both arms (a palette of ten cycled over the lines gave two resources one colour)."""
    import json

    from osteosim.dashboards.supportive import _contacts

    resources = [f"resource_{k}" for k in range(8)]
    events = pd.DataFrame([{"replication": 0, "arm": arm, "patient_id": 1, "day": 7.0 * week, "event": "start",
                            "stage": "supportive", "resource": r, "detail": "none"}
                           for arm in ("a", "b") for r in resources for week in range(3)])
    html = _contacts(events)
    start = html.index('Plotly.newPlot(') + len('Plotly.newPlot(')
    start = html.index("[", start)
    traces, _ = json.JSONDecoder().raw_decode(html, start)
    styles = {(t["name"], t["line"]["color"], t["line"].get("dash")) for t in traces}
    assert len(traces) == 16 and len({(c, d) for _, c, d in styles}) == 16
    colour_of = {}
    for name, colour, _ in styles:
        colour_of.setdefault(name.split(": ")[1], set()).add(colour)
    assert all(len(colours) == 1 for colours in colour_of.values()) and len(colour_of) == 8


def test_downsampling_caps_points_and_keeps_the_peak():
    days = np.linspace(0, 1000, 10 * dashboard_service.MAX_STEP_POINTS)
    values = np.zeros_like(days)
    values[12_345] = 99
    kept_days, kept_values = dashboard_service.downsample_steps(days, values)
    assert len(kept_days) <= dashboard_service.MAX_STEP_POINTS
    assert kept_values.max() == 99


# --- in a browser ----------------------------------------------------------------

needs_chromium = pytest.mark.skipif(
    browser.chromium() is None, reason="chromium not installed (apt-get install chromium)"
)


@needs_chromium
def test_browser_helper_reports_page_errors(tmp_path):
    """Guards the render test: a broken page must show up as console errors."""
    page = tmp_path / "broken.html"
    page.write_text("<html><body><script>undefinedFunction();</script></body></html>")
    console = browser.dump_dom(page).console
    assert any("Uncaught ReferenceError" in message for message in console)


def check_renders(page: pathlib.Path, png: pathlib.Path) -> str:
    """No console errors, every figure div drawn by plotly.js, and a screenshot that is not blank."""
    source = page.read_text(encoding="utf-8")
    run = browser.dump_dom(page)
    assert run.console == []
    assert browser.count_rendered_plots(run.stdout) == figure_divs(source) > 0
    shot = browser.screenshot(page, png)
    assert shot.console == [] and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    blank = png.with_name("blank.html")
    blank.write_text("<html><body></body></html>")
    browser.screenshot(blank, png.with_name("blank.png"))
    assert png.stat().st_size > 5 * png.with_name("blank.png").stat().st_size
    if SCREENSHOTS:
        shutil.copy(png, pathlib.Path(SCREENSHOTS) / png.name)
    return source


@needs_chromium
def test_default_run_dashboard_renders_and_stays_small(default_run, tmp_path):
    """Size and rendering only: how fast it loads is a timing, and timings belong in benchmarks/."""
    page = default_run.folder / "dashboard.html"
    assert page.stat().st_size < MAX_BYTES
    source = check_renders(page, tmp_path / "default-dashboard.png")
    assert 'id="capacity"' in source and "fig-over-time-chemo_bed" in source


@needs_chromium
def test_two_arm_dashboard_renders_with_forest_plot(two_arm_run, tmp_path):
    source = check_renders(two_arm_run / "dashboard.html", tmp_path / "two-arm-dashboard.png")
    assert "fig-forest" in source and "mifamurtide vs baseline" in source
    assert "fig-sankey-baseline" in source and "fig-sankey-mifamurtide" in source
    assert "capacity unconstrained" in source  # a trial cohort has no resources table
    assert "Paired differences against the reference arm" in source and "OS5y.all" in source
    assert "KPIs over replications" in source and "cr2_pct_of_relapses" in source


@settings(max_examples=60, deadline=None)
@given(st.data(), st.integers(0, 30))
def test_the_csv_behind_a_figure_is_pandas_csv(data, n):
    """page.csv_text writes what `to_csv(index=False, float_format="%.6g")` writes: floats (NaN, infinities,
    -0.0, tiny and huge), integers, booleans, text with commas, quotes and line breaks, categories, missing text."""
    from osteosim.dashboards.page import csv_text

    floats = st.floats(allow_nan=True, allow_infinity=True, width=64)
    texts = st.one_of(st.none(), st.text(alphabet=st.sampled_from('ab ,"\n\'x1'), max_size=6))
    table = pd.DataFrame({
        "x": np.array(data.draw(st.lists(floats, min_size=n, max_size=n)), dtype=np.float64),
        "k": np.array(data.draw(st.lists(st.integers(-10**12, 10**12), min_size=n, max_size=n)), dtype=np.int64),
        "flag": np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool),
        "name": pd.Series(data.draw(st.lists(texts, min_size=n, max_size=n)), dtype=object),
        "level": pd.Categorical(data.draw(st.lists(st.sampled_from(["a", "b,c", None]), min_size=n, max_size=n))),
        "small": np.array(data.draw(st.lists(st.floats(width=32), min_size=n, max_size=n)), dtype=np.float32),
    })
    assert csv_text(table) == table.to_csv(index=False, float_format="%.6g")


def _utilisation_by_group_by(resources: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The definition `utilisation` computes in one compiled pass: pandas' group-by sums of the products."""
    timed = with_durations(resources)
    duration = timed["duration"].to_numpy()
    with np.errstate(invalid="ignore"):
        busy, offered = timed["in_use"].to_numpy() * duration, timed["capacity"].to_numpy() * duration
    products = pd.DataFrame({**{key: timed[key].to_numpy() if key == "replication" else timed[key].array
                                for key in keys}, "busy": busy, "offered": offered, "duration": duration})
    totals = products.groupby(keys, observed=True, sort=False)[["busy", "offered", "duration"]].sum()
    totals = totals[totals["duration"] > 0]
    finite = np.isfinite(totals["offered"])
    return pd.DataFrame({"mean_in_use": totals["busy"] / totals["duration"],
                         "mean_capacity": totals["offered"] / totals["duration"],
                         "utilisation_pct": (100 * totals["busy"] / totals["offered"]).where(finite)}).reset_index()


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.sampled_from(["a", "b"]), st.sampled_from(["mri", "lab", "ct"]),
                          st.one_of(st.floats(0, 400, allow_subnormal=False), st.just(float("nan")),
                                    st.sampled_from([100.0, 250.5])),     # on a `since` below
                          st.integers(0, 7),
                          st.one_of(st.floats(0.5, 1e6), st.just(float("inf")), st.just(float("nan")))),
                min_size=1, max_size=60),
       st.booleans(), st.booleans(), st.booleans(), st.sampled_from([0.0, -5.0, 100.0, 250.5]))
def test_utilisation_is_pandas_group_sums_bit_for_bit(rows, by_replication, categorical, in_time_order, since):
    """The compiled sums against pandas' own group-by (Kahan-compensated, NaN products skipped, groups in order
    of first appearance), on logs with awkward days and capacities (infinite, NaN), keys categorical or not;
    `since` against the timed log filtered as the summary filtered it (rows from that day, NaN days out)."""
    log = pd.DataFrame(rows, columns=["replication", "arm", "resource", "day", "in_use", "capacity"]).astype(
        {"replication": np.int32, "in_use": np.int32}).assign(queue_length=0)
    if categorical:
        log = log.astype({"arm": "category", "resource": "category"})
    if in_time_order:
        log = log.sort_values("day", kind="stable")
    keys = ["replication", "arm", "resource"] if by_replication else ["arm", "resource"]
    timed = with_durations(log)
    kept = timed if since <= 0 else timed[timed["day"] >= since]
    pd.testing.assert_frame_equal(utilisation(log, by_replication=by_replication, since=since),
                                  _utilisation_by_group_by(kept, keys), check_exact=True)


def test_utilisation_sums_are_compensated_as_pandas_sums_are():
    """Many small durations after a large one: a plain running sum loses them, pandas' (and ours) does not."""
    day = np.concatenate([[0.0], 1e9 + np.arange(1, 2001) * 0.1])
    log = pd.DataFrame({"replication": 0, "arm": "a", "resource": "mri", "day": day, "in_use": 1, "capacity": 3.0,
                        "queue_length": 0})
    ours = utilisation(log)
    pd.testing.assert_frame_equal(ours, _utilisation_by_group_by(log, ["arm", "resource"]), check_exact=True)
