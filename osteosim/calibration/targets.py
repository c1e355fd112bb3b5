"""The published figures the default model must reproduce (experiments/calibrate/targets.csv).

Each has a role: `fit` (the calibration fits parameters to it), `derived` (a parameter was set
from it directly, so it holds by construction) or `validate` (held out: nothing was fitted to it).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

TARGETS_CSV = Path(__file__).resolve().parents[2] / "experiments" / "calibrate" / "targets.csv"
ROLES = ("fit", "derived", "validate")
SURVIVAL_FLOOR_POINTS = 3.0   # issue 4: survival within max(published 95% CI half-width, 3 points)


@dataclass(frozen=True)
class Target:
    id: str
    role: str
    endpoint: str
    years: float | None
    value: float
    ci_low: float | None
    ci_high: float | None
    n: int | None
    source: str

    @property
    def is_percent(self) -> bool:
        return self.endpoint.endswith("_pct")

    def tolerance(self) -> tuple[float, float]:
        """The interval the model must fall in (issue 4's acceptance rule)."""
        if self.is_percent:
            half = self._half_width()
            half = max(half, SURVIVAL_FLOOR_POINTS)
            return self.value - half, self.value + half
        if self.ci_low is not None:
            return self.ci_low, self.ci_high
        return self.value - self._half_width(), self.value + self._half_width()

    def _half_width(self) -> float:
        """Published CI half-width; without one, a binomial 95% half-width from n (derived)."""
        if self.ci_low is not None:
            return (self.ci_high - self.ci_low) / 2.0
        if self.is_percent and self.n:
            p = self.value / 100.0
            return 196.0 * math.sqrt(max(p * (1 - p), 0.0) / self.n)
        if self.endpoint.startswith("MedianTime") and self.n:
            # distribution-free: the median's 95% CI spans ranks n/2 +- 1.96 sqrt(n)/2, i.e. the
            # 0.5 +- 0.98/sqrt(n) quantiles; ~ +-0.1 y for n = 576 with relapses spread over ~2 y (derived)
            return 0.98 / math.sqrt(self.n) * 2.5
        return 0.0

    def weight_scale(self) -> float:
        """The scale a miss is measured in for the calibration loss (half the tolerance width)."""
        lo, hi = self.tolerance()
        return max((hi - lo) / 2.0, 1e-9)


def _opt(x) -> float | None:
    return None if pd.isna(x) else float(x)


def load(path: Path = TARGETS_CSV) -> dict[str, Target]:
    if not path.exists():
        raise FileNotFoundError(f"calibration targets not found at {path} (it ships with the repository)")
    table = pd.read_csv(path)
    unknown = sorted(set(table["role"]) - set(ROLES))
    if unknown:
        raise ValueError(f"{path}: role {unknown} is not one of {', '.join(ROLES)}")
    return {row.id: Target(row.id, row.role, row.endpoint, _opt(row.timepoint_years), float(row.value), _opt(row.ci_low),
                           _opt(row.ci_high), None if pd.isna(row.n) else int(row.n), str(row.source))
            for row in table.itertuples()}
