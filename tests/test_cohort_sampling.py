"""Cohort sampling: truncated distributions are exact (no clipping pile-up at the bound)."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from osteosim.model import rng
from osteosim.model.population import _truncated_normal

IDS = np.arange(50_000, dtype=np.int64)


@pytest.mark.parametrize("mean, sd, lo, hi", [
    (11.5, 1.3, -np.inf, 8.5),    # metastatic occult burden: mean far above the detection threshold
    (2.4, 1.3, -np.inf, 8.5),     # localized occult burden: the bound barely bites
    (14.0, 3.4, 5.0, 40.0),       # age
    (0.0, 1.0, 3.0, 5.0),         # an interval wholly above the mean (mirrored)
])
def test_truncated_normal_follows_scipys_truncnorm(mean, sd, lo, hi):
    x = _truncated_normal(7, IDS, rng.PURPOSE.micro_burden, mean, sd, lo, hi)
    assert ((x >= lo) & (x <= hi)).all()
    reference = stats.truncnorm((lo - mean) / sd, (hi - mean) / sd, loc=mean, scale=sd)
    assert stats.kstest(x, reference.cdf).pvalue > 0.001
    assert (x == hi).mean() < 1e-3   # no mass piled up on the bound
