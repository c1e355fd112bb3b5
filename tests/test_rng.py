"""The keyed generator: pure functions of the key, uniform, independent across keys."""
import numpy as np
import pytest
from scipy import stats

from osteosim.model import rng
def test_same_key_same_number_and_any_component_changes_it():
    base = rng.uniform(7, 11, rng.PURPOSE.age, 3)
    assert rng.uniform(7, 11, rng.PURPOSE.age, 3) == base
    others = [rng.uniform(8, 11, rng.PURPOSE.age, 3), rng.uniform(7, 12, rng.PURPOSE.age, 3),
              rng.uniform(7, 11, rng.PURPOSE.sex, 3), rng.uniform(7, 11, rng.PURPOSE.age, 4)]
    assert all(o != base for o in others)


def test_uniform_is_uniform_on_open_interval():
    u = rng.uniform_array(1, np.arange(200_000), rng.PURPOSE.age, 0)
    assert u.min() > 0.0 and u.max() < 1.0
    assert stats.kstest(u, "uniform").pvalue > 0.001
    # mean within 4 standard errors of 1/2 (SE = sqrt(1/12 / n))
    assert abs(u.mean() - 0.5) < 4 * np.sqrt(1 / 12 / u.size)


def test_neighbouring_keys_are_uncorrelated():
    ids = np.arange(100_000)
    a = rng.uniform_array(3, ids, rng.PURPOSE.growth, 0)
    b = rng.uniform_array(3, ids + 1, rng.PURPOSE.growth, 0)
    c = rng.uniform_array(3, ids, rng.PURPOSE.growth, 1)
    for x, y in ((a, b), (a, c)):
        r = np.corrcoef(x, y)[0, 1]
        assert abs(r) < 4 / np.sqrt(ids.size)  # 4 SE of a null correlation


def test_normal_moments():
    z = rng.normal_array(5, np.arange(200_000), rng.PURPOSE.micro_burden, 0)
    n = z.size
    assert abs(z.mean()) < 4 / np.sqrt(n)
    assert abs(z.var() - 1.0) < 4 * np.sqrt(2 / n)
    assert stats.kstest(z, "norm").pvalue > 0.001


@pytest.mark.parametrize("lam", [0.3, 4.0, 200.0])
def test_poisson_mean_and_variance(lam):
    n = 40_000
    k = np.array([rng.poisson(9, i, rng.PURPOSE.clonogens, 0, lam) for i in range(n)])
    assert abs(k.mean() - lam) < 4 * np.sqrt(lam / n)
    assert abs(k.var() / lam - 1.0) < 4 * np.sqrt(2 / n) + 0.01


def test_replication_seeds_differ():
    seeds = {int(rng.replication_seed(0, r)) for r in range(1000)}
    assert len(seeds) == 1000


def test_no_other_source_of_randomness_in_the_package():
    """Only osteosim.model.rng draws numbers: no numpy/stdlib generators anywhere else."""
    import pathlib
    import re

    package = pathlib.Path(rng.__file__).parents[1]
    pattern = re.compile(r"np\.random|numpy\.random|^\s*import random|from random import|default_rng|secrets\.", re.M)
    offenders = [str(p) for p in package.rglob("*.py") if pattern.search(p.read_text())]
    assert offenders == []


def test_purpose_codes_are_their_names_positions_and_never_move():
    """A draw's purpose is a name; its code is its position. The codes results were computed with are
    pinned here, so reordering or removing a name (which would change every result) fails."""
    historical = ("arrival", "age", "sex", "site", "met_true", "met_pattern", "nodules", "bilateral", "micro_burden",
                  "growth", "chemosens", "response_noise", "staging_lung", "staging_bone", "symptom_delay",
                  "service_time", "toxicity_delay", "dose_reduction", "mtx_clearance", "treatment_death",
                  "other_death", "surgery_type", "resectable", "rt_control", "clonogens", "relapse_site", "cr2",
                  "post_relapse", "background", "replication", "admission_length", "second_malignancy",
                  "randomisation", "operation_death", "second_line_death")
    assert rng.PURPOSES[:len(historical)] == historical
    assert [getattr(rng.PURPOSE, name) for name in historical] == list(range(1, len(historical) + 1))
    assert len(set(rng.PURPOSES)) == len(rng.PURPOSES)
