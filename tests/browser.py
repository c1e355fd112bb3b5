"""Headless-Chromium helpers for checking that generated HTML really renders.

Uses only the chromium command line (no Python browser drivers): --dump-dom
gives the DOM after scripts ran, --screenshot gives a PNG, and
--enable-logging=stderr puts the page's console messages on stderr.
"""

from __future__ import annotations

import pathlib
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
    "--virtual-time-budget=10000",
]
TIMEOUT_SECONDS = 120
# e.g. [12:34:1127/202758.877079:INFO:CONSOLE:1] "Uncaught ...", source: file:///x.html (1)
CONSOLE_LINE = re.compile(r':CONSOLE[:(].*?\] "(?P<message>.*)", source: (?P<source>\S+)')


@dataclass
class PageRun:
    """What one headless Chromium visit of a page produced."""

    stdout: str
    console: list[str]


def chromium() -> str | None:
    """Path of the chromium binary, or None so callers can skip."""
    return shutil.which("chromium")


def dump_dom(page: pathlib.Path) -> PageRun:
    """Open the page via file:// and return the DOM after its scripts ran."""
    return _visit(page, ["--dump-dom"])


def screenshot(page: pathlib.Path, png: pathlib.Path, width: int = 1400, height: int = 3000) -> PageRun:
    """Open the page via file:// and save a PNG of the first width × height pixels."""
    return _visit(page, [f"--screenshot={png}", f"--window-size={width},{height}"])


def page_console_messages(stderr: str, page_url: str) -> list[str]:
    """Console lines logged by the page itself (not Chromium's dbus/GPU noise)."""
    return [
        match["message"]
        for match in map(CONSOLE_LINE.search, stderr.splitlines())
        if match and match["source"].startswith(page_url)
    ]


def count_rendered_plots(dom: str) -> int:
    """Number of divs plotly.js turned into plots (it adds the js-plotly-plot class)."""
    return len(re.findall(r'class="[^"]*\bjs-plotly-plot\b', dom))


def _visit(page: pathlib.Path, extra_flags: list[str]) -> PageRun:
    """Run chromium once on the page with a fresh profile, so runs never share state."""
    binary = chromium()
    if binary is None:
        raise RuntimeError("chromium is not installed")
    url = page.resolve().as_uri()
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        result = subprocess.run(
            [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra_flags, url],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            check=True,
        )
    return PageRun(stdout=result.stdout, console=page_console_messages(result.stderr, url))
