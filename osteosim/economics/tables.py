"""economics.parquet of a run: each chunk of patients priced as it is written, and the totals the
summary needs (so neither the patients nor the economics table is read back)."""
from __future__ import annotations

import pandas as pd

from osteosim.config.schema import ArmConfig, Config
from osteosim.economics import comparison
from osteosim.economics.accounting import lifetime_note, patient_economics


class Pricer:
    """Prices chunks of a run's patients table and keeps their per-replication totals."""

    def __init__(self, config: Config, arms: dict[str, ArmConfig]):
        self.config, self.arms = config, arms
        self.totals = comparison.EconomicTotals()

    def __call__(self, patients: pd.DataFrame) -> pd.DataFrame:
        frame = patient_economics(patients, self.config, self.arms)
        self.totals.add(frame)
        return frame

    def summary(self, reference: str | None) -> dict:
        out = comparison.summarise(self.totals.sums(), self.config.economics, reference)
        note = lifetime_note(self.config)
        if note is not None:
            out["note"] = note
        return out
