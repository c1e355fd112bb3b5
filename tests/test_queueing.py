"""The resource layer against queueing theory: an M/M/c resource gives the Erlang C mean wait."""
import math

import numpy as np
import simpy

from osteosim.config.schema import ResourceConfig
from osteosim.engines.des.log import EventLog, ResourceLog
from osteosim.engines.des.resources import RosteredResource, background_demand


def erlang_c_mean_wait(lam: float, mu: float, c: int) -> float:
    """Mean time in queue of M/M/c (Erlang C formula)."""
    a = lam / mu
    rho = a / c
    top = a**c / math.factorial(c) / (1 - rho)
    p_wait = top / (sum(a**k / math.factorial(k) for k in range(c)) + top)
    return p_wait / (c * mu - lam)


def simulate_mmc(lam: float, mu: float, c: int, days: float, seed: int):
    env = simpy.Environment()
    events, log = EventLog(), ResourceLog()
    res = RosteredResource(env, "server", [c] * 7, log)
    spec = ResourceConfig(roster=[c] * 7, background_per_week=7 * lam, background_service_days=1 / mu)
    env.process(background_demand(env, res, spec, stream=1, seed=seed, events=events, until=days))
    env.run(until=days)
    frame = events.frame(0, "x")
    req = frame[frame.event == "request"].day.to_numpy()
    start = frame[frame.event == "start"].day.to_numpy()
    n = len(start)  # FIFO: the k-th start serves the k-th request
    return req[:n], start - req[:n], log.frame(0, "x")


def test_mmc_mean_wait_matches_erlang_c_within_standard_error():
    lam, mu, c = 2.1, 1.0, 3          # rho = 0.7
    days, warmup, batches = 40_000.0, 1_000.0, 30
    arrivals, waits, _ = simulate_mmc(lam, mu, c, days, seed=12345)
    keep = arrivals > warmup
    arrivals, waits = arrivals[keep], waits[keep]
    # batch means over time: waits are autocorrelated, batches of ~1300 days are nearly independent
    edges = np.linspace(warmup, arrivals.max(), batches + 1)
    idx = np.clip(np.searchsorted(edges, arrivals, side="right") - 1, 0, batches - 1)
    means = np.array([waits[idx == b].mean() for b in range(batches)])
    se = means.std(ddof=1) / np.sqrt(batches)
    expected = erlang_c_mean_wait(lam, mu, c)
    assert abs(waits.mean() - expected) < 3 * se, (waits.mean(), expected, se)


def test_rostered_resource_never_starts_service_above_capacity():
    roster = [2, 0, 1, 3, 0, 1, 2]
    env = simpy.Environment()
    events, log = EventLog(), ResourceLog()
    res = RosteredResource(env, "r", roster, log)
    spec = ResourceConfig(roster=roster, background_per_week=8.0, background_service_days=0.4)
    env.process(background_demand(env, res, spec, stream=2, seed=1, events=events, until=700.0))
    env.run(until=700.0)
    frame = log.frame(0, "x")
    grew = frame.in_use.diff().fillna(frame.in_use) > 0
    assert (frame.in_use[grew] <= frame.capacity[grew]).all()
    starts = events.frame(0, "x").query("event == 'start'").day.to_numpy()
    weekdays = np.floor(starts).astype(int) % 7
    assert not np.isin(weekdays, [1, 4]).any()  # nobody starts on a day with no servers
