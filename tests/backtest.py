"""Pinned back-test: two small seeded runs whose key outputs are compared with stored values.

The runs are deterministic (keyed random numbers), so every stored number must come back exactly.
Each quantity is stored under its own name in tests/backtest_expected.json: row counts, counts
of events by (event, stage, resource), sums and category counts of the patients table, Kaplan-Meier
OS and EFS at 3 and 5 years, median waits and utilisation, and a SHA-256 of each column and of the
whole table as canonical CSV. A failure lists the quantities that moved, so it says what changed
(e.g. only ``trial.patients.column.relapse_day``), not merely that something did.

The hashes are of the in-memory tables (`osteosim.simulate`), written as CSV by pandas (floats
with their shortest exact representation), not of the Parquet bytes, which also carry the pyarrow
version.

When a change of results is intended, regenerate the stored values with ONE command, from the
repository root, and commit the new file with the change that explains it:

    .venv/bin/python tests/backtest.py --update

Without ``--update`` it prints the quantities that differ and exits 1 (0 if none).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import sys
from pathlib import Path

os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(__file__).resolve().parents[1] / ".numba_cache"))

EXPECTED = Path(__file__).resolve().parent / "backtest_expected.json"
UPDATE_COMMAND = ".venv/bin/python tests/backtest.py --update"

RUNS = {
    # a trial cohort on the all-Numba engine, with its event log
    "trial": ["cohort=trial", "cohort.n_patients=3000", "seed=11", "output.events=true", "output.progress=false"],
    # a regional service on the SimPy engine: queues, rosters, background demand (logged, as the
    # pinned event counts include it; the default leaves it out, tests/test_outputs.py)
    "service": ["cohort.accrual_years=2", "cohort.followup_years=3", "seed=11", "output.progress=false",
                "output.background_events=true"],
}


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _csv(frame) -> str:
    return frame.to_csv(index=False, lineterminator="\n")


def _number(x):
    """JSON-safe: NaN and None as null, numpy scalars as Python numbers."""
    if x is None:
        return None
    x = x.item() if hasattr(x, "item") else x
    return None if isinstance(x, float) and math.isnan(x) else x


def table_quantities(name: str, frame) -> dict:
    out = {f"{name}.rows": len(frame), f"{name}.columns": list(frame.columns), f"{name}.sha256": _sha256(_csv(frame))}
    for column in frame.columns:
        out[f"{name}.column.{column}"] = _sha256(_csv(frame[[column]]))
    return out


def quantities(run: str) -> dict:
    """Every pinned quantity of one run, by name."""
    from osteosim import simulate
    from osteosim.config import compose

    results = simulate(compose(RUNS[run]))
    p, ev, res, summary = results.patients, results.events, results.resources, results.summary
    out = {}
    out.update(table_quantities(f"{run}.patients", p))
    out.update(table_quantities(f"{run}.events", ev))
    out.update(table_quantities(f"{run}.resources", res))
    for column in ("os_days", "efs_days", "diagnosis_day", "surgery_day", "relapse_day", "death_day"):
        out[f"{run}.patients.sum.{column}"] = _number(p[column].sum())
    for column in ("met_status", "relapse_site", "death_cause"):
        for value, count in p[column].astype(str).value_counts().sort_index().items():
            out[f"{run}.patients.count.{column}={value}"] = int(count)
    for column in ("os_event", "efs_event", "good_response", "cr2", "csr"):
        out[f"{run}.patients.count.{column}"] = int(p[column].fillna(False).astype(bool).sum())
    if not ev.empty:
        kinds = ev["event"].astype(str) + "/" + ev["stage"].astype(str) + "/" + ev["resource"].astype(str)
        for kind, count in kinds.value_counts().sort_index().items():
            out[f"{run}.events.count.{kind}"] = int(count)
    for row in summary["survival"]:
        if row["years"] in (3, 5):
            key = f"{run}.km.{row['arm']}.{row['group']}.{row['endpoint']}{row['years']}y"
            out[key] = _number(row["estimate"])
            out[f"{key}.n"] = int(row["n"])
    for row in summary["waits"]:
        out[f"{run}.wait_median_days.{row['stage']}"] = _number(row["median_days"])
    for row in summary["utilisation"]:
        out[f"{run}.utilisation_pct.{row['resource']}"] = _number(row.get("utilisation_pct"))
    return json.loads(json.dumps(out))   # exactly what a JSON round trip gives (floats are exact in JSON)


def load_expected() -> dict:
    return json.loads(EXPECTED.read_text())


def differences(expected: dict, actual: dict) -> list[str]:
    """One line per quantity that moved, appeared or disappeared."""
    lines = []
    for key in sorted(expected.keys() | actual.keys()):
        if key not in actual:
            lines.append(f"{key}: stored {expected[key]!r}, no longer produced")
        elif key not in expected:
            lines.append(f"{key}: new, {actual[key]!r} (not stored)")
        elif expected[key] != actual[key]:
            lines.append(f"{key}: stored {expected[key]!r}, now {actual[key]!r}")
    return lines


def main(argv: list[str]) -> int:
    if argv not in ([], ["--update"]):
        print(f"usage: {Path(__file__).name} [--update]", file=sys.stderr)
        return 2
    actual = {run: quantities(run) for run in RUNS}
    if argv == ["--update"]:
        EXPECTED.write_text(json.dumps(actual, indent=1, sort_keys=True) + "\n")
        print(f"wrote {EXPECTED} ({sum(len(v) for v in actual.values())} quantities)")
        return 0
    expected = load_expected()
    moved = [line for run in RUNS for line in differences(expected.get(run, {}), actual[run])]
    print("\n".join(moved) if moved else "back-test: every stored quantity reproduced")
    return 1 if moved else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
