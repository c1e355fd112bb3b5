"""The Python API: ``simulate(cfg) -> Results``, the same tables the CLI writes, as DataFrames."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import pandas as pd
from omegaconf import DictConfig

from osteosim import cohort as cohort_mod
from osteosim import rng
from osteosim.config import Config, to_config
from osteosim.pathway.run import Run
from osteosim.tables import patients_frame


@dataclass
class Results:
    """Everything a run produced (DESIGN §5); summaries and dashboards are computed from these."""
    config: Config
    patients: pd.DataFrame
    events: pd.DataFrame
    resources: pd.DataFrame
    summary: dict = field(default_factory=dict)


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    from pandas.api.types import union_categoricals  # noqa: F401  (categories are unified by concat below)

    if len(frames) == 1:
        return frames[0]
    out = pd.concat(frames, ignore_index=True)
    for col in frames[0].columns:
        if isinstance(frames[0][col].dtype, pd.CategoricalDtype) and not isinstance(out[col].dtype, pd.CategoricalDtype):
            out[col] = out[col].astype("category")
    return out


def simulate(cfg: DictConfig | Config, progress: Callable[[float], None] | None = None) -> Results:
    """Run every replication of the configured arm on the SimPy engine and collect the tables."""
    from osteosim.outcomes import summarise

    config = to_config(cfg)
    arm = config.arm.name
    patients, events, resources = [], [], []
    for replication in range(config.replications):
        seed = int(rng.replication_seed(config.seed, replication))
        cohort = cohort_mod.sample(config.cohort, config.disease, seed)
        run = Run(config, cohort, seed)
        run.simulate(progress)
        patients.append(patients_frame(cohort, run.rec, replication, arm))
        events.append(run.events.frame(replication, arm))
        resources.append(run.resource_log.frame(replication, arm))
    results = Results(config, _concat(patients), _concat(events), _concat(resources))
    results.summary = summarise(results)
    return results


def horizon_days(config: Config) -> float:
    """Simulated days per replication (for progress bars)."""
    cohort = cohort_mod.sample(config.cohort, config.disease, int(rng.replication_seed(config.seed, 0)))
    return cohort.horizon_day
