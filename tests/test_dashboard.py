"""Tests for the HTML dashboard: content, atomic writing, size, and real rendering."""

from __future__ import annotations

import math
import os
import pathlib
import re

import numpy as np
import pandas as pd
import pytest

import browser
from osteosim import dashboard
from osteosim import io as atomic_io

ARMS = ("standard", "intensified")
# stage, resource, visits per patient, mean wait (days)
PATHWAY = [
    ("diagnosis", "mri", 2, 5.0),
    ("chemotherapy", "chemo_chair", 18, 1.0),
    ("surgery", "theatre", 1, 14.0),
    ("radiotherapy", "linac", 25, 2.0),
    ("pathology", "pathology_lab", 2, 0.0),
]
CAPACITY = {"mri": 2, "chemo_chair": 6, "theatre": 1, "linac": 2, "pathology_lab": math.inf}
HORIZON_DAYS = 3650.0
FIGURES_WITH_FULL_DATA = 5  # OS, EFS, waits, utilisation, in use over time
MAX_BYTES = 15 * 1024 * 1024


def make_patients(rng: np.random.Generator, n_per_arm: int) -> pd.DataFrame:
    """Patients with plausible survival: metastatic disease does worse."""
    n = n_per_arm * len(ARMS)
    met = rng.choice(["none", "lung", "extrapulmonary", "multisystem"], n, p=[0.75, 0.15, 0.05, 0.05])
    scale = np.where(met == "none", 4000.0, 900.0)
    os_days = np.minimum(rng.exponential(scale), 3650.0)
    efs_days = os_days * rng.uniform(0.3, 1.0, n)
    return pd.DataFrame(
        {
            "replication": np.zeros(n, dtype=np.int32),
            "arm": pd.Categorical(np.repeat(ARMS, n_per_arm)),
            "patient_id": np.arange(n, dtype=np.int64),
            "met_status": met,
            "os_days": os_days,
            "os_event": os_days < 3650.0,
            "efs_days": efs_days,
            "efs_event": efs_days < 3650.0 * 0.9,
        }
    )


def make_events(rng: np.random.Generator, patients: pd.DataFrame, n_background: int) -> pd.DataFrame:
    """request/start/end rows for every patient visit, plus background demand (patient_id -1)."""
    visits = pd.concat([_patient_visits(rng, patients), _background_visits(rng, n_background)])
    request = visits.assign(event="request", day=visits["request_day"])
    start = visits.assign(event="start", day=visits["request_day"] + visits["wait"])
    end = visits.assign(event="end", day=start["day"] + 0.5)
    columns = ["replication", "arm", "patient_id", "day", "event", "stage", "resource"]
    return (
        pd.concat([request, start, end])[columns]
        .assign(detail="")
        .sort_values("day", kind="stable")
        .reset_index(drop=True)
        .astype({"event": "category", "stage": "category", "resource": "category"})
    )


def _patient_visits(rng: np.random.Generator, patients: pd.DataFrame) -> pd.DataFrame:
    """One row per patient visit to a resource, with its request day and wait."""
    stages = pd.DataFrame(PATHWAY, columns=["stage", "resource", "visits", "mean_wait"])
    per_stage = stages.loc[stages.index.repeat(stages["visits"])].reset_index(drop=True)
    visits = patients[["replication", "arm", "patient_id"]].merge(per_stage, how="cross")
    n = len(visits)
    return visits.assign(
        request_day=rng.uniform(0, HORIZON_DAYS, n), wait=rng.exponential(visits["mean_wait"] + 1e-9)
    )


def _background_visits(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Other hospital demand on the same resources (must not count as patient waits)."""
    return pd.DataFrame(
        {
            "replication": 0,
            "arm": rng.choice(ARMS, n),
            "patient_id": -1,
            "stage": "background",
            "resource": rng.choice(["mri", "theatre"], n),
            "request_day": rng.uniform(0, HORIZON_DAYS, n),
            "wait": rng.exponential(3.0, n),
        }
    )


def make_resources(rng: np.random.Generator, change_points: int) -> pd.DataFrame:
    """Random-walk in_use change points per arm × resource, some capacity-limited, one infinite."""
    frames = []
    for arm in ARMS:
        for resource, capacity in CAPACITY.items():
            ceiling = capacity if math.isfinite(capacity) else 40
            steps = rng.choice([-1, 1], change_points)
            frames.append(
                pd.DataFrame(
                    {
                        "replication": 0,
                        "arm": arm,
                        "resource": resource,
                        "day": np.sort(rng.uniform(0, HORIZON_DAYS, change_points)),
                        "in_use": np.clip(np.cumsum(steps), 0, ceiling),
                        "capacity": float(capacity),
                        "queue_length": rng.poisson(1.0, change_points),
                    }
                )
            )
    return pd.concat(frames, ignore_index=True).astype({"resource": "category"})


def make_summary() -> dict:
    """Summary dict shaped like the simulator's, with landmark survival rows."""
    return {
        "n_patients": 400,
        "horizon_days": HORIZON_DAYS,
        "survival": [
            {"arm": "standard", "group": "localized", "endpoint": "OS", "years": 5,
             "estimate": 0.712, "ci_low": 0.65, "ci_high": 0.77, "n": 300},
            {"arm": "standard", "group": "metastatic", "endpoint": "EFS", "years": 5,
             "estimate": 0.253, "ci_low": 0.15, "ci_high": 0.36, "n": 100},
        ],
    }


@pytest.fixture(scope="module")
def tables() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict]:
    """Full-size inputs: ~400 patients, ~100k event rows, >2000 change points per resource."""
    rng = np.random.default_rng(20240601)
    patients = make_patients(rng, n_per_arm=200)
    return (
        patients,
        make_events(rng, patients, n_background=15_000),
        make_resources(rng, change_points=5_000),
        make_summary(),
    )


@pytest.fixture(scope="module")
def written(tables, tmp_path_factory) -> pathlib.Path:
    """The full dashboard written once to disk, shared by the file and browser tests."""
    path = tmp_path_factory.mktemp("dashboard") / "dashboard.html"
    dashboard.write_dashboard(path, *tables)
    return path


def empty_tables() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict]:
    """Inputs with the right columns but no rows, as a run with nothing recorded gives."""
    return (
        pd.DataFrame(columns=["replication", "arm", "patient_id", "met_status",
                              "os_days", "os_event", "efs_days", "efs_event"]),
        pd.DataFrame(columns=["replication", "arm", "patient_id", "day", "event",
                              "stage", "resource", "detail"]),
        pd.DataFrame(columns=["replication", "arm", "resource", "day", "in_use",
                              "capacity", "queue_length"]),
        {},
    )


def test_events_fixture_is_full_size(tables):
    """The size test below only means something at the size the brief names."""
    patients, events, _, _ = tables
    assert len(patients) == 400
    assert len(events) >= 100_000


def test_plotlyjs_is_inline_once_and_no_remote_scripts(tables):
    html = dashboard.build_dashboard(*tables)
    assert html.count("* plotly.js v") == 1
    assert re.findall(r"<script[^>]*\bsrc=", html) == []
    assert html.count("Plotly.newPlot(") == FIGURES_WITH_FULL_DATA
    for anchor in ["survival", "waits", "utilisation", "summary"]:
        assert f'href="#{anchor}"' in html and f'id="{anchor}"' in html


def test_summary_table_shows_survival_as_percent(tables):
    html = dashboard.build_dashboard(*tables)
    assert "71.2%" in html and "65.0% – 77.0%" in html and "25.3%" in html


def test_write_is_atomic_and_under_15_mb(tables, tmp_path, monkeypatch):
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
    assert 1_000_000 < target.stat().st_size < MAX_BYTES


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
    html = dashboard.build_dashboard(*empty_tables())
    assert html.count('class="no-data"') == 4
    assert "Plotly.newPlot(" not in html


def test_frames_without_columns_say_no_data():
    html = dashboard.build_dashboard(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), {})
    assert html.count('class="no-data"') == 4


def test_only_localized_patients_still_plot(tables):
    patients, events, resources, summary = tables
    localized = patients[patients["met_status"] == "none"]
    html = dashboard.build_dashboard(localized, events, resources, summary)
    assert "standard: localized" in html and ": metastatic" not in html
    assert html.count("Plotly.newPlot(") == FIGURES_WITH_FULL_DATA


def test_wait_times_pair_nth_request_with_nth_start():
    events = pd.DataFrame(
        {
            "replication": 0,
            "arm": "a",
            "patient_id": [1, 1, 1, 1, -1, -1, 2, 2],
            "day": [12.0, 0.0, 10.0, 3.0, 0.0, 50.0, 5.0, 5.5],
            "event": ["start", "request", "request", "start", "request", "start", "request", "start"],
            "stage": ["s", "diagnosis", "surgery", "s", "bg", "bg", "diagnosis", "s"],
            "resource": ["mri", "mri", "mri", "mri", "mri", "mri", "mri", "mri"],
        }
    )
    waits = dashboard.wait_times(events)
    assert waits[["stage", "wait"]].values.tolist() == [
        ["diagnosis", 3.0],
        ["diagnosis", 0.5],
        ["surgery", 2.0],
    ]


def test_utilisation_is_time_weighted_and_skips_infinite_capacity():
    resources = pd.DataFrame(
        {
            "replication": 0,
            "arm": "a",
            "resource": ["mri", "mri", "mri", "lab", "lab"],
            "day": [0.0, 10.0, 20.0, 0.0, 30.0],
            "in_use": [1, 2, 0, 3, 5],
            "capacity": [2.0, 2.0, 4.0, math.inf, math.inf],
            "queue_length": 0,
        }
    )
    usage = dashboard.utilisation(resources).set_index("resource")
    # mri: in use 1·10 + 2·10 + 0·10 = 30 over capacity 2·10 + 2·10 + 4·10 = 80 (run ends day 30)
    assert usage.loc["mri", "utilisation_pct"] == pytest.approx(37.5)
    assert usage.loc["mri", "mean_in_use"] == pytest.approx(1.0)
    assert math.isnan(usage.loc["lab", "utilisation_pct"])
    assert usage.loc["lab", "mean_in_use"] == pytest.approx(3.0)


def test_downsampling_caps_points_and_keeps_the_peak():
    days = np.linspace(0, 1000, 10 * dashboard.MAX_STEP_POINTS)
    values = np.zeros_like(days)
    values[12_345] = 99
    kept_days, kept_values = dashboard._downsample_steps(days, values)
    assert len(kept_days) <= dashboard.MAX_STEP_POINTS
    assert kept_values.max() == 99


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


@needs_chromium
def test_every_figure_renders_without_console_errors(written):
    run = browser.dump_dom(written)
    assert run.console == []
    assert browser.count_rendered_plots(run.stdout) == FIGURES_WITH_FULL_DATA
    assert run.stdout.count('class="main-svg"') >= FIGURES_WITH_FULL_DATA


@needs_chromium
def test_screenshot_shows_more_than_a_blank_page(written, tmp_path):
    blank_page = tmp_path / "blank.html"
    blank_page.write_text("<html><body></body></html>")
    blank_png, dashboard_png = tmp_path / "blank.png", tmp_path / "dashboard.png"
    browser.screenshot(blank_page, blank_png)
    run = browser.screenshot(written, dashboard_png)
    assert run.console == []
    assert dashboard_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert dashboard_png.stat().st_size > 5 * blank_png.stat().st_size
