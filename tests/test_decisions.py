"""The pathway's keyed decisions (osteosim.model.decisions) draw what the configuration says.

Each decision is called directly, over many patient ids with a fixed seed, and the frequency of
each outcome is compared with the configured probability p. The tolerance is 4 binomial standard
errors, 4 * sqrt(p * (1 - p) / n), computed from n and p (never tuned): a correct decision fails a
given check with probability about 6e-5. Outcomes of probability 0 or 1 must be exact.

The protocol vector T comes from the public path, `pack(compose([...overrides])).scalars`, so a
changed probability is a configuration override (e.g. ``treatment.toxicity_delay=0.3``) and the
test does not depend on where a number sits in the vector. Pattern codes are positions in
`codes.MET_PATTERNS`, relapse-site codes positions in `codes.RELAPSE_SITES` /
`codes.SITES`, the same names the patients table uses.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from osteosim.config import compose
from osteosim.model import decisions as dec
from osteosim.model.codes import MET_PATTERNS, RELAPSE_SITES as RELAPSE_SITE_NAMES, SITES as SITE_CODES
from osteosim.model.protocol import pack

SEED = 20_261_201
N = 20_000
PIDS = np.arange(N, dtype=np.int64)
NONE, LUNG, EXTRAPULMONARY, MULTISYSTEM = (MET_PATTERNS.index(name)
                                          for name in ("none", "lung", "extrapulmonary", "multisystem"))


@functools.lru_cache(maxsize=None)
def protocol(*overrides: str):
    """(config, packed protocol) composed from conf/ with the overrides (composed once per set)."""
    config = compose(list(overrides))
    return config, pack(config)


def assert_frequency(hits, p: float, what: str) -> None:
    """The share of True in `hits` is p within 4 binomial standard errors (exactly, if p is 0 or 1)."""
    hits = np.asarray(hits, dtype=bool)
    n, observed = hits.size, hits.mean()
    if p in (0.0, 1.0):
        assert observed == p, (what, observed, p)
        return
    se = math.sqrt(p * (1 - p) / n)
    assert abs(observed - p) < 4 * se, f"{what}: {observed:.5f} vs p={p:.5f} (n={n}, 4 SE={4 * se:.5f})"


# --- chemotherapy courses ---------------------------------------------------------------------

@pytest.mark.parametrize("overrides", [[], ["treatment.toxicity_delay=0.3", "treatment.dose_reduction=0.25",
                                            "treatment.mtx_delayed_clearance=0.1"]])
def test_course_plan_delays_reduces_and_extends_at_the_configured_rates(overrides):
    """Over (patient, course) keys: delay ~ toxicity_delay, reduced dose ~ dose_reduction, and a
    longer stay ~ mtx_delayed_clearance for methotrexate courses only; the amounts are the configured ones."""
    config, prot = protocol(*overrides)
    t, T = config.treatment, prot.scalars
    stay = 3.5
    keys = [(int(pid), index) for pid in range(N // 4) for index in range(4)]   # 20,000 (patient, course) keys
    mtx = np.array([dec.course_plan(SEED, pid, index, stay, True, T) for pid, index in keys])
    other = np.array([dec.course_plan(SEED, pid, index, stay, False, T) for pid, index in keys])
    delay, intensity, new_stay = mtx.T
    assert set(np.unique(delay)) <= {0.0, t.toxicity_delay_days}
    assert set(np.unique(intensity)) <= {1.0, t.reduced_dose_intensity}
    assert set(np.unique(new_stay)) <= {stay, stay + t.mtx_delayed_clearance_extra_days}
    assert_frequency(delay > 0, t.toxicity_delay, "toxicity delay")
    assert_frequency(intensity < 1, t.dose_reduction, "dose reduction")
    assert_frequency(new_stay > stay, t.mtx_delayed_clearance, "MTX delayed clearance (MTX courses)")
    assert_frequency(other[:, 2] > stay, 0.0, "delayed clearance of a course without methotrexate")
    # delay and dose do not depend on the drug: the same keys give the same delay and dose
    np.testing.assert_array_equal(other[:, :2], mtx[:, :2])


def test_course_delay_and_dose_reduction_are_independent():
    """Both together at the product of their rates (4 binomial SEs), so one is not the other's draw."""
    config, prot = protocol("treatment.toxicity_delay=0.5", "treatment.dose_reduction=0.5")
    plans = np.array([dec.course_plan(SEED, int(pid), 0, 3.0, False, prot.scalars) for pid in PIDS])
    assert_frequency((plans[:, 0] > 0) & (plans[:, 1] < 1), 0.25, "delayed and reduced")


@pytest.mark.parametrize("overrides", [[], ["disease.treatment_death_per_course=0.05"]])
def test_dies_of_course_at_the_configured_rate(overrides):
    """The default rate (0.05% a course) gives few deaths in 20,000 draws; the 5% override is the sharp check."""
    config, prot = protocol(*overrides)
    deaths = [dec.dies_of_course(SEED, int(pid), index, prot.scalars) for pid in range(N // 2) for index in (0, 7)]
    assert_frequency(deaths, config.disease.treatment_death_per_course, "death of a course")


# --- staging -------------------------------------------------------------------------------------

@pytest.mark.parametrize("nodules", [1, 5])
def test_staging_sees_each_lung_nodule_with_ct_sensitivity(nodules):
    """Nodules seen ~ Binomial(true nodules, CT sensitivity): each count's frequency within 4 SEs of
    the binomial probability; lung-only disease is never staged with bone disease."""
    from scipy import stats

    config, prot = protocol()
    sensitivity = config.disease.ct_nodule_sensitivity
    staged, seen, _ = zip(*(dec.staging(SEED, int(pid), LUNG, nodules, prot.scalars) for pid in PIDS))
    seen, staged = np.array(seen), np.array(staged)
    for count in range(nodules + 1):
        assert_frequency(seen == count, stats.binom.pmf(count, nodules, sensitivity), f"{count} of {nodules} seen")
    np.testing.assert_array_equal(staged, np.where(seen > 0, LUNG, NONE))


def test_staging_sees_bone_disease_with_pet_sensitivity():
    config, prot = protocol()
    pet = config.disease.pet_bone_sensitivity
    extrapulmonary = np.array([dec.staging(SEED, int(pid), EXTRAPULMONARY, 0, prot.scalars)[0] for pid in PIDS])
    assert set(np.unique(extrapulmonary)) <= {NONE, EXTRAPULMONARY}
    assert_frequency(extrapulmonary == EXTRAPULMONARY, pet, "extrapulmonary disease seen on PET")
    # multisystem disease: staged multisystem only when both the bone and a nodule are seen
    ct = config.disease.ct_nodule_sensitivity
    multi = [dec.staging(SEED, int(pid), MULTISYSTEM, 1, prot.scalars)[0] for pid in PIDS]
    for pattern, p in ((MULTISYSTEM, pet * ct), (LUNG, (1 - pet) * ct), (EXTRAPULMONARY, pet * (1 - ct)),
                       (NONE, (1 - pet) * (1 - ct))):
        assert_frequency(np.array(multi) == pattern, p, f"multisystem staged as {MET_PATTERNS[pattern]}")
    # nobody without metastases is staged with any
    assert all(dec.staging(SEED, int(pid), NONE, 0, prot.scalars)[0] == NONE for pid in PIDS[:2000])


def test_nodules_lie_in_either_lung_so_more_nodules_are_more_often_bilateral():
    """Each nodule seen lies in either lung with even chances: P(bilateral | k seen) = 1 - 2 * 0.5^k."""
    _, prot = protocol()
    results = [dec.staging(SEED, int(pid), LUNG, 4, prot.scalars) for pid in PIDS]
    seen = np.array([r[1] for r in results])
    bilateral = np.array([r[2] for r in results])
    assert not bilateral[seen < 2].any()
    for k in (2, 3, 4):
        assert_frequency(bilateral[seen == k], 1.0 - 2.0 * 0.5 ** k, f"bilateral, {k} nodules seen")


# --- surgery ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("pattern", ["extrapulmonary", "multisystem"])
def test_bone_metastases_resectable_by_staged_pattern(pattern):
    config, prot = protocol()
    resectable = [dec.metastases_resectable(SEED, int(pid), MET_PATTERNS.index(pattern), 0, False, prot.scalars)
                  for pid in PIDS]
    assert_frequency(resectable, config.disease.csr_probability[pattern], f"complete resection, {pattern}")


@pytest.mark.parametrize("nodules, bilateral", [(1, False), (3, False), (3, True), (8, True)])
def test_lung_metastases_resectable_when_every_nodule_is(nodules, bilateral):
    """Complete resection of lung disease: each nodule with the per-nodule chance, times the bilateral factor."""
    config, prot = protocol()
    d = config.disease
    resectable = [dec.metastases_resectable(SEED, int(pid), LUNG, nodules, bilateral, prot.scalars) for pid in PIDS]
    expected = d.csr_probability["lung"] ** nodules * (d.csr_bilateral_factor if bilateral else 1.0)
    assert_frequency(resectable, expected, f"complete resection, {nodules} nodules, bilateral={bilateral}")


@pytest.mark.parametrize("overrides", [[], ["disease.axial_primary_resectable=0.8"]])
def test_primary_resectable_always_off_the_axial_skeleton_else_at_the_axial_rate(overrides):
    config, prot = protocol(*overrides)
    assert_frequency([dec.primary_resectable(SEED, int(pid), False, prot.scalars) for pid in PIDS[:5000]], 1.0,
                     "limb primary resectable")
    assert_frequency([dec.primary_resectable(SEED, int(pid), True, prot.scalars) for pid in PIDS],
                     config.disease.axial_primary_resectable, "axial primary resectable")


@pytest.mark.parametrize("overrides", [[], ["treatment.limb_salvage=0.5"]])
def test_amputation_at_one_minus_the_limb_salvage_rate(overrides):
    config, prot = protocol(*overrides)
    assert_frequency([dec.amputation(SEED, int(pid), prot.scalars) for pid in PIDS],
                     1.0 - config.treatment.limb_salvage, "amputation")


# --- relapse -------------------------------------------------------------------------------------

def test_relapse_site_frequencies_follow_the_configured_probabilities():
    config, prot = protocol()
    sites = np.array([dec.relapse_site(SEED, int(pid), 0, prot.relapse_site_cdf) for pid in PIDS])
    assert set(np.unique(sites)) <= set(range(len(RELAPSE_SITE_NAMES)))
    for code, name in enumerate(RELAPSE_SITE_NAMES):
        assert_frequency(sites == code, config.disease.relapse_site_probabilities[name], f"relapse site {name}")


@pytest.mark.parametrize("site", SITE_CODES)
def test_second_remission_by_site_metastatic_status_and_burden(site):
    """CR2 ~ cr2_probability[site]; times cr2_factor_metastatic_at_diagnosis if staged metastatic; times
    cr2_factor_per_log10_past_detection ** (log10 grown past detection) (here 0.5 per log10, 1 log10)."""
    config, prot = protocol("disease.cr2_factor_per_log10_past_detection=0.5")
    d, T, code = config.disease, prot.scalars, SITE_CODES.index(site)
    p = d.cr2_probability[site]
    for staged, grown, expected in ((NONE, 0.0, p), (LUNG, 0.0, p * d.cr2_factor_metastatic_at_diagnosis),
                                    (NONE, 1.0, 0.5 * p)):
        cr2 = [dec.second_remission(SEED, int(pid), 0, code, staged, grown, T, prot.cr2_by_site) for pid in PIDS]
        assert_frequency(cr2, expected, f"CR2 after {site} relapse, staged {MET_PATTERNS[staged]}, {grown} log10 past")


# --- keyed: a decision is a function of its key ----------------------------------------------------

keys = st.lists(st.tuples(st.integers(0, 10**9), st.integers(0, 40)), min_size=1, max_size=25, unique=True)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**40), keys=keys, order=st.randoms(use_true_random=False),
       noise=st.lists(st.tuples(st.integers(0, 10**9), st.integers(0, 40)), max_size=25))
def test_decisions_are_keyed_not_sequential(seed, keys, order, noise):
    """The same (seed, pid, index) gives the same decision whatever was drawn before and in what order:
    a second pass over the keys in another order, with unrelated draws in between, agrees key by key."""
    _, prot = protocol()
    T = prot.scalars

    def decide(pid, index):
        return (dec.course_plan(seed, pid, index, 3.5, True, T), dec.dies_of_course(seed, pid, index, T),
                dec.staging(seed, pid, MULTISYSTEM, index % 6, T), dec.metastases_resectable(seed, pid, LUNG, 3, False, T),
                dec.relapse_site(seed, pid, index, prot.relapse_site_cdf), dec.amputation(seed, pid, T))

    first = {key: decide(*key) for key in keys}
    shuffled = list(keys)
    order.shuffle(shuffled)
    for i, key in enumerate(shuffled):
        if i < len(noise):
            decide(*noise[i])                    # other patients' and courses' draws in between
        assert decide(*key) == first[key], key
