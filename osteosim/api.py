"""The Python API: ``simulate(cfg) -> Results``, the same tables the CLI writes, as DataFrames."""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
from omegaconf import DictConfig

from osteosim.config import Config, to_config
from osteosim.engines.replications import Progress, chunks, concat
from osteosim.engines.des.log import EVENT_COLUMNS, RESOURCE_COLUMNS


@dataclass
class Results:
    """Everything a run produced (DESIGN §5); summaries and dashboards are computed from these."""
    config: Config
    patients: pd.DataFrame
    events: pd.DataFrame
    resources: pd.DataFrame
    summary: dict = field(default_factory=dict)
    economics: pd.DataFrame = field(default_factory=pd.DataFrame)   # economics.parquet (osteosim.economics)


def _stack(frames: list[pd.DataFrame | None], columns) -> pd.DataFrame:
    frames = [f for f in frames if f is not None]
    return concat(frames) if frames else pd.DataFrame(columns=list(columns))


def simulate(cfg: DictConfig | Config, progress: Progress | None = None, summary: bool = True) -> Results:
    """Run every replication of the configured arm and collect the tables in memory.

    summary=False skips summary.json's statistics (calibration loops need only the tables).
    """
    from osteosim.analysis.summary import summarise_patients

    from osteosim.economics.tables import Pricer
    from osteosim.engines.replications import arm_variants, reference_arm

    config = to_config(cfg)
    parts = list(chunks(config, progress))
    results = Results(config, concat([c.patients for c in parts]), _stack([c.events for c in parts], EVENT_COLUMNS),
                      _stack([c.resources for c in parts], RESOURCE_COLUMNS))
    pricer = Pricer(config, {variant.arm.name: variant.arm for variant in arm_variants(config)})
    results.economics = pricer(results.patients)     # one call for the whole table: per-chunk calls cost ~15 ms each
    if summary:
        from osteosim.results.run_folder import warmup_day

        results.summary = summarise_patients(results.patients, results.events, results.resources,
                                             reference_arm(config), warmup_day(config))
        results.summary["economics"] = pricer.summary(reference_arm(config))
    return results
