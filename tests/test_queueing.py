"""The resource layer against queueing theory and against what a FIFO rostered queue must do.

An M/M/c resource gives the Erlang C mean wait. With our patients (SimPy processes) and background
demand (simulated by the resource itself, between our patients' visits) in one queue: nobody
starts above capacity, nobody waits while a server is free, service is first come first served,
and a rise in capacity starts every waiting use it can.
"""
import math

import numpy as np
import simpy
from hypothesis import given, settings, strategies as st

from osteosim.config.schema import ResourceConfig
from osteosim.engines.des.log import BACKGROUND_PATIENT, EventLog, ResourceLog
from osteosim.engines.des.resources import Background, RosteredResource, use


def erlang_c_mean_wait(lam: float, mu: float, c: int) -> float:
    """Mean time in queue of M/M/c (Erlang C formula)."""
    a = lam / mu
    rho = a / c
    top = a**c / math.factorial(c) / (1 - rho)
    p_wait = top / (sum(a**k / math.factorial(k) for k in range(c)) + top)
    return p_wait / (c * mu - lam)


def rostered(env, roster, per_week, hold, days, seed, stream=1):
    """A resource with logged background demand (events, resource log)."""
    events, log = EventLog(), ResourceLog()
    spec = ResourceConfig(roster=list(roster), background_per_week=per_week, background_service_days=hold)
    res = RosteredResource(env, "server", list(roster), log, Background(spec, stream, seed, days), events)
    return res, events, log


def simulate_mmc(lam: float, mu: float, c: int, days: float, seed: int):
    env = simpy.Environment()
    res, events, log = rostered(env, [c] * 7, 7 * lam, 1 / mu, days, seed)
    res.advance(days)       # nobody of ours: the resource runs its background alone
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
    res, events, log = rostered(env, roster, 8.0, 0.4, 700.0, seed=1, stream=2)
    res.advance(700.0)
    frame = log.frame(0, "x")
    grew = frame.in_use.diff().fillna(frame.in_use) > 0
    assert (frame.in_use[grew] <= frame.capacity[grew]).all()
    starts = events.frame(0, "x").query("event == 'start'").day.to_numpy()
    weekdays = np.floor(starts).astype(int) % 7
    assert not np.isin(weekdays, [1, 4]).any()  # nobody starts on a day with no servers


def test_a_rise_in_capacity_starts_every_waiting_use_and_a_midnight_request_sees_that_days_servers():
    """Three of ours queue over a closed weekend (roster 0 on days 5-6, 3 on Monday): all three start
    at Monday's midnight; one who asks at Saturday's midnight waits for Monday too."""
    env = simpy.Environment()
    res = RosteredResource(env, "r", [3, 3, 3, 3, 3, 0, 0], ResourceLog())
    log, starts = EventLog(), {}

    def patient(pid, at):
        yield env.timeout(at)
        request = res.request()
        yield request
        starts[pid] = env.now
        yield env.timeout(0.5)
        res.release(request)

    for pid, at in enumerate([5.0, 5.5, 6.2]):
        env.process(patient(pid, at))
    env.run(until=10.0)
    assert starts == {0: 7.0, 1: 7.0, 2: 7.0}


def test_a_death_frees_its_server_in_the_resource_log_at_the_death():
    """One of ours holds the only server from day 1 for 4 days but dies on day 2, another waits from day 1.5:
    the waiting one starts at the death, and the resource log has that change then (utilisation counts the
    server free from the death, not busy until the next request)."""
    env = simpy.Environment()
    log, events = ResourceLog(), EventLog()
    res = RosteredResource(env, "r", [1] * 7, log)

    def patient(pid, at, days):
        try:
            yield env.timeout(at)
            yield from use(env, res, days, patient=pid, stage=0, events=events)
        except simpy.Interrupt:
            return

    def death(process, at):
        yield env.timeout(at)
        process.interrupt()

    env.process(death(env.process(patient(0, 1.0, 4.0)), 2.0))
    env.process(patient(1, 1.5, 0.5))
    env.run(until=10.0)
    rows = log.frame(0, "x")[["day", "in_use", "queue_length"]].to_numpy().tolist()
    assert [2.0, 1, 0] in rows and [2.5, 0, 0] in rows      # the death handed the server on; its end freed it
    starts = events.frame(0, "x").query("event == 'start'")
    assert starts.day.tolist() == [1.0, 2.0]


@settings(max_examples=40, deadline=None)
@given(roster=st.lists(st.integers(0, 3), min_size=7, max_size=7).filter(any),
       per_week=st.floats(0.0, 20.0), hold=st.floats(0.05, 2.0), seed=st.integers(0, 2**31 - 1),
       ours=st.lists(st.tuples(st.floats(0.0, 60.0), st.floats(0.01, 3.0), st.floats(0.0, 80.0)),
                     max_size=25))
def test_our_patients_and_background_share_one_fifo_queue(roster, per_week, hold, seed, ours):
    """Each of ours asks at `at`, holds for `days`, and dies at `dies` (interrupting a wait or a use)."""
    days = 70.0
    env = simpy.Environment()
    res, events, log = rostered(env, roster, per_week, hold, days, seed)

    def patient(pid, at, length):
        try:
            yield env.timeout(at)
            yield from use(env, res, length, patient=pid, stage=0, events=events)
        except simpy.Interrupt:
            return

    def death(process, at):
        yield env.timeout(at)
        if process.is_alive:
            process.interrupt()

    for pid, (at, length, dies) in enumerate(ours):
        env.process(death(env.process(patient(pid, at, length)), dies))
    env.run(until=days)
    res.advance(days)

    states = log.frame(0, "x")
    grew = states.in_use.diff().fillna(states.in_use) > 0
    assert (states.in_use[grew] <= states.capacity[grew]).all()                      # never above capacity
    assert ((states.queue_length == 0) | (states.in_use >= states.capacity)).all()   # no wait beside a free server
    frame = events.frame(0, "x").sort_values("day", kind="stable")   # background rows are logged as it catches up
    # first come, first served: starts, in time order, serve the uses in the order they asked (uses that
    # start at the same instant, e.g. at a rise in capacity, in any order). Ours are known by patient;
    # background uses by their turn among background uses. Ours who died waiting never started.
    began = set(frame.patient_id[frame.event == "start"]) - {BACKGROUND_PATIENT}
    asked = frame[(frame.event == "request") & frame.patient_id.isin(began | {BACKGROUND_PATIENT})]
    turn = dict(zip(asked.patient_id[asked.patient_id >= 0], np.flatnonzero(asked.patient_id >= 0)))
    background_turns = iter(np.flatnonzero(asked.patient_id == BACKGROUND_PATIENT))
    starts = frame[frame.event == "start"]
    served = sorted((day, turn[pid] if pid >= 0 else next(background_turns))
                    for day, pid in zip(starts.day, starts.patient_id))
    assert [t for _, t in served] == sorted(t for _, t in served)
