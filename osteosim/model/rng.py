"""Counter-based, keyed random numbers: the only source of randomness in osteosim.

Every draw is a pure function of ``(seed, stream, purpose, index)``: ``stream`` is a
patient id (or a background-demand stream), ``purpose`` names what the number is for
(one of the constants below) and ``index`` counts draws of that purpose. Because no
state is carried between draws, adding an arm, a patient or a worker never shifts
anybody else's numbers: common random numbers across arms and scenarios come for free
and results do not depend on how work is split.

The mixer is SplitMix64's finaliser applied to each key component in turn (a strong
64-bit avalanche; the same construction as Java's SplittableRandom and Numba-friendly).
"""
from __future__ import annotations

from collections import namedtuple

import numba as nb
import numpy as np

# Purposes: the name of every kind of draw; its code is its position (from 1). Two purposes can
# never share a code, and an index counts draws within one purpose only. Never reorder or remove a
# name (it would change every result); append new ones at the end.
PURPOSES = ("arrival", "age", "sex", "site", "met_true", "met_pattern", "nodules", "bilateral", "micro_burden",
            "growth", "chemosens", "response_noise", "staging_lung", "staging_bone", "symptom_delay", "service_time",
            "toxicity_delay", "dose_reduction", "mtx_clearance", "treatment_death", "other_death", "surgery_type",
            "resectable", "rt_control", "clonogens", "relapse_site", "cr2", "post_relapse", "background",
            "replication", "admission_length", "second_malignancy",
            "randomisation",        # allocation of simulated trial patients (analysis.trials)
            "operation_death",      # death after an operation (index: which operation)
            "second_line_death",    # death during a second-line course (index: the course)
            "late_effect",          # late effects after the pathway (model.late_effects; index: which effect)
            "nodule_side",          # which lung a lung nodule is in (index: the nodule)
            "relapse_progression",  # progression on a line of treatment after a relapse (index: the line)
            "further_line",         # whether another line follows a progression (index: the line)
            "complete_response",    # the arm's relapse therapy clears unresectable disease (index: the relapse)
            "relapse_clonogens",    # occult clonogens surviving a later remission (index: the relapse)
            "resistance",           # chemoresistant clonogens at staging (model.disease.seed_resistance)
            "resistant_survivors",  # resistant clonogens left when a treatment ends (index: 0 first line, k+1 relapse k)
            "psa_parameter",        # a PSA sample's parameter values (economics.psa; stream: the sample)
            "palliative_referral",  # a referral to specialist palliative care (model.pathway; index 0)
            "end_of_life",          # an admission in the last days before a death from the disease (index 0)
            "place_of_death",       # where a patient dies of the disease (model.supportive, after the pathway)
            "family_tier")          # the family's psychosocial risk tier at diagnosis (model.supportive)
PURPOSE = namedtuple("Purpose", PURPOSES)(*range(1, len(PURPOSES) + 1))

BACKGROUND_STREAM_BASE = 1 << 40  # streams for background demand never collide with patients

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MUL1 = np.uint64(0xBF58476D1CE4E5B9)
_MUL2 = np.uint64(0x94D049BB133111EB)
_TWO_POW_MINUS_53 = 1.0 / 9007199254740992.0


@nb.njit(cache=True, inline="always")
def _mix(z):
    z = (z ^ (z >> np.uint64(30))) * _MUL1
    z = (z ^ (z >> np.uint64(27))) * _MUL2
    return z ^ (z >> np.uint64(31))


@nb.njit(cache=True, inline="always")
def bits(seed, stream, purpose, index):
    """64 random bits for one key."""
    h = _mix(np.uint64(seed) + _GOLDEN)
    h = _mix(h ^ (np.uint64(stream) * _GOLDEN + _GOLDEN))
    h = _mix(h ^ (np.uint64(purpose) * _MUL1 + _GOLDEN))
    return _mix(h ^ (np.uint64(index) * _MUL2 + _GOLDEN))


@nb.njit(cache=True)
def uniform(seed, stream, purpose, index):
    """Uniform on the open interval (0, 1)."""
    return ((bits(seed, stream, purpose, index) >> np.uint64(11)) + 0.5) * _TWO_POW_MINUS_53


@nb.njit(cache=True)
def normal(seed, stream, purpose, index):
    """Standard normal by Box–Muller over two sub-draws of the same key."""
    u1 = uniform(seed, stream, purpose, 2 * index)
    u2 = uniform(seed, stream, purpose, 2 * index + 1)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


@nb.njit(cache=True)
def exponential(seed, stream, purpose, index, mean):
    return -mean * np.log(uniform(seed, stream, purpose, index))


@nb.njit(cache=True)
def lognormal(seed, stream, purpose, index, median, sigma):
    """Log-normal given its median and the SD of its natural log."""
    return median * np.exp(sigma * normal(seed, stream, purpose, index))


@nb.njit(cache=True)
def bernoulli(seed, stream, purpose, index, p):
    return uniform(seed, stream, purpose, index) < p


@nb.njit(cache=True)
def categorical(seed, stream, purpose, index, cumulative):
    """Index of the category drawn from cumulative probabilities (last entry 1)."""
    u = uniform(seed, stream, purpose, index)
    for k in range(len(cumulative) - 1):
        if u < cumulative[k]:
            return k
    return len(cumulative) - 1


@nb.njit(cache=True)
def poisson(seed, stream, purpose, index, lam):
    """Poisson count: inversion for small means, a rounded normal approximation above 50."""
    if lam <= 0.0:
        return 0.0
    if lam > 50.0:
        k = np.floor(lam + np.sqrt(lam) * normal(seed, stream, purpose, index) + 0.5)
        return max(k, 0.0)
    u = uniform(seed, stream, purpose, index)
    p = np.exp(-lam)
    cdf = p
    k = 0.0
    while u > cdf and k < 1000.0:
        k += 1.0
        p *= lam / k
        cdf += p
    return k


@nb.njit(cache=True)
def replication_seed(seed, replication):
    """The seed of one replication: distinct streams, same arm pairing within it."""
    return np.int64(bits(seed, 0, PURPOSE.replication, replication) >> np.uint64(2))


@nb.njit(cache=True)
def uniform_array(seed, streams, purpose, index):
    out = np.empty(streams.shape[0])
    for i in range(streams.shape[0]):
        out[i] = uniform(seed, streams[i], purpose, index)
    return out


@nb.njit(cache=True)
def normal_array(seed, streams, purpose, index):
    out = np.empty(streams.shape[0])
    for i in range(streams.shape[0]):
        out[i] = normal(seed, streams[i], purpose, index)
    return out


@nb.njit(cache=True)
def stream_uniforms(seed, stream, purpose, n):
    """The first n uniforms of one (stream, purpose): indices 0..n-1."""
    out = np.empty(n)
    for k in range(n):
        out[k] = uniform(seed, stream, purpose, k)
    return out
