"""Aggregated Kaplan–Meier (counts with weights) equals lifelines on the raw patients."""
import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter

from osteosim.analysis.summary import survival_table
from osteosim.analysis.survival import merge_counts, survival_counts


def raw_patients(n: int, seed: int) -> pd.DataFrame:
    generator = np.random.default_rng(seed)   # test data only; the package draws from osteosim.model.rng
    os_days = generator.exponential(3000, n)
    efs_days = os_days * generator.uniform(0.3, 1.0, n)
    return pd.DataFrame({
        "replication": 0, "arm": "a", "met_status": pd.Categorical(generator.choice(["none", "lung"], n, p=[0.8, 0.2])),
        "os_days": np.minimum(os_days, 4000.0), "os_event": os_days < 4000.0,
        "efs_days": np.minimum(efs_days, 4000.0), "efs_event": efs_days < 4000.0})


def test_counts_give_the_raw_kaplan_meier_and_confidence_interval():
    p = raw_patients(5000, 1)
    rows = {(r["group"], r["endpoint"], r["years"]): r for r in survival_table(survival_counts(p))}
    for group, sub in (("all", p), ("localized", p[p.met_status == "none"]), ("metastatic", p[p.met_status != "none"])):
        for endpoint in ("OS", "EFS"):
            days, event = sub[f"{endpoint.lower()}_days"], sub[f"{endpoint.lower()}_event"]
            kmf = KaplanMeierFitter().fit(days / 365.25, event)
            ci = kmf.confidence_interval_survival_function_
            # rounding times to 0.1 day can move only events within 0.05 day of the time point,
            # each worth at most one patient's step (1 / number at risk)
            tolerance = 2.0 / len(sub)
            for years in (1, 3, 5):
                row = rows[(group, endpoint, years)]
                assert abs(row["estimate"] - kmf.survival_function_at_times(years).iloc[0]) < tolerance
                assert abs(row["ci_low"] - ci[ci.index <= years].iloc[-1, 0]) < tolerance
                assert row["n"] == len(sub)


def test_counts_are_additive_over_batches():
    p = raw_patients(3000, 2)
    whole = survival_counts(p)
    batched = merge_counts([survival_counts(p.iloc[:1000]), survival_counts(p.iloc[1000:])])
    assert survival_table(whole) == survival_table(batched)
