"""The resource layer against queueing theory and against what a FIFO rostered queue must do.

An M/M/c resource gives the Erlang C mean wait. With our patients (SimPy processes) and background
demand (simulated by the resource itself, between our patients' visits) in one queue: nobody
starts above capacity, nobody waits while a server is free, service is first come first served,
and a rise in capacity starts every waiting use it can.
"""
import itertools
import math

import numpy as np
import pandas as pd
import simpy
from hypothesis import example, given, settings, strategies as st

from osteosim.config.schema import ResourceConfig
from osteosim.engines.des.log import BACKGROUND_PATIENT, EventLog, ResourceLog
from osteosim.engines.des.resources import Background, RosteredResource, use
from osteosim.engines.des.servers import S
from osteosim.model.appointments import visit_day
from osteosim.model.codes import EVENTS
from osteosim.model.protocol import VISIT


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


def patient(env, res, events, pid, at, days):
    """One of ours: asks at `at` and holds `days`; a death interrupts the wait or the use."""
    try:
        yield env.timeout(at)
        yield from use(env, res, days, patient=pid, stage=0, events=events)
    except simpy.Interrupt:
        return


def death(env, process, at):
    yield env.timeout(at)
    if process.is_alive:
        process.interrupt()


def test_a_death_frees_its_server_in_the_resource_log_at_the_death():
    """One of ours holds the only server from day 1 for 4 days but dies on day 2, another waits from day 1.5:
    the waiting one starts at the death, and the resource log has that change then (utilisation counts the
    server free from the death, not busy until the next request)."""
    env = simpy.Environment()
    log, events = ResourceLog(), EventLog()
    res = RosteredResource(env, "r", [1] * 7, log)

    env.process(death(env, env.process(patient(env, res, events, 0, 1.0, 4.0)), 2.0))
    env.process(patient(env, res, events, 1, 1.5, 0.5))
    env.run(until=10.0)
    rows = log.frame(0, "x")[["day", "in_use", "queue_length"]].to_numpy().tolist()
    assert [2.0, 1, 0] in rows and [2.5, 0, 0] in rows      # the death handed the server on; its end freed it
    starts = events.frame(0, "x").query("event == 'start'")
    assert starts.day.tolist() == [1.0, 2.0]


DAYS = 70.0


def series_resource(env, roster, per_week, hold, seed, series, death_due, log, events):
    """A resource with background demand that serves these series of visits (start, after, count, interval, days,
    dies: row k of its visits is series k's, None for a patient without one), keeping their rows."""
    visits = np.zeros((len(series), len(VISIT)))
    for row, (_, after, count, interval, length, _) in enumerate(series):
        if count is not None:
            visits[row, [VISIT.count, VISIT.interval, VISIT.start_after, VISIT.days]] = count, interval, after, length
    spec = ResourceConfig(roster=list(roster), background_per_week=per_week, background_service_days=hold)
    return RosteredResource(env, "server", list(roster), log, Background(spec, 1, seed, DAYS), events, visits,
                            death_due, DAYS, True)


def test_one_of_ours_started_before_the_queue_grows_in_the_same_catch_up_still_starts():
    """Ours waits first in line on a resource open on Sundays only, behind which background demand queues for two
    weeks; caught up in one call (as at the horizon, or after a long quiet spell), the queue outgrows its buffer
    after the Sunday that started ours: ours is still told it started (its token was once dropped with the
    buffer's growth)."""
    env = simpy.Environment()
    spec = ResourceConfig(roster=[0, 0, 0, 0, 0, 0, 1], background_per_week=100.0, background_service_days=0.5)
    res = RosteredResource(env, "r", [0, 0, 0, 0, 0, 0, 1], ResourceLog(), Background(spec, 1, 5, 30.0))
    res.release(res.request())      # token 0 asks and leaves: ours is token 1
    request = res.request()
    res.advance(13.5)
    assert request.triggered and int(res.st[S.q_len]) > 64


@settings(max_examples=40, deadline=None)
# a case the search found: a wake-up SimPy fired a hair before the day it was asked for, after which none was
# asked for again (ours then started only when something else touched the resource)
@example(roster=[2, 0, 0, 0, 0, 0, 0], per_week=8.0, hold=1.0, seed=0, series=[],
         ours=[(0.0, 1.0, 1.0), (1.0, 1.0, 9.0), (2.0, 1.0, 8.0), (0.2, 1.0, 1.0)])
@given(roster=st.lists(st.integers(0, 3), min_size=7, max_size=7).filter(any),
       per_week=st.floats(0.0, 20.0), hold=st.floats(0.05, 2.0), seed=st.integers(0, 2**31 - 1),
       ours=st.lists(st.tuples(st.floats(0.0, 60.0), st.floats(0.01, 3.0), st.floats(0.0, 80.0)),
                     max_size=25),
       series=st.lists(st.tuples(st.floats(0.0, 30.0), st.floats(0.0, 10.0), st.integers(1, 6), st.floats(0.5, 9.0),
                                 st.floats(0.05, 3.0), st.floats(0.0, 80.0)), max_size=8))
def test_our_patients_visits_and_background_share_one_fifo_queue(roster, per_week, hold, seed, ours, series):
    """Each of ours asks at `at`, holds for `days`, and dies at `dies` (interrupting a wait or a use); series of
    visits (served by the resource: `start`, first visit `after` days later, `count` of them `interval` days
    apart, each held `days`) end at their patient's death (`dies`)."""
    death_due = np.array([dies for *_, dies in ours] + [dies for *_, dies in series], dtype=float)
    env = simpy.Environment()
    events, log = EventLog(), ResourceLog()
    res = series_resource(env, roster, per_week, hold, seed, [(None,) * 6] * len(ours) + series, death_due, log,
                          events)

    def series_of(pid, row, start, dies):      # as the run does: started by the pathway, cancelled at the death
        if start >= dies:
            return
        yield env.timeout(start)
        j = res.add_series(pid, pid, start, 0, False, row)
        if dies < DAYS:
            yield env.timeout(dies - env.now)
            res.cancel([j])

    for pid, (at, length, dies) in enumerate(ours):
        env.process(death(env, env.process(patient(env, res, events, pid, at, length)), dies))
    for row, (start, *_) in enumerate(series):
        env.process(series_of(len(ours) + row, row, start, death_due[len(ours) + row]))
    env.run(until=DAYS)
    res.advance(DAYS)

    states = log.frame(0, "x")
    grew = states.in_use.diff().fillna(states.in_use) > 0
    assert (states.in_use[grew] <= states.capacity[grew]).all()                      # never above capacity
    assert ((states.queue_length == 0) | (states.in_use >= states.capacity)).all()   # no wait beside a free server
    logged, visited = events.frame(0, "x"), res.visit_rows()
    rows = pd.DataFrame({"patient_id": np.concatenate([logged.patient_id.to_numpy(), visited[:, 1].astype(np.int64)]),
                         "day": np.concatenate([logged.day.to_numpy(), visited[:, 0]]),
                         "event": logged.event.astype(str).tolist() + [EVENTS[int(e)] for e in visited[:, 2]]})
    rows = rows.sort_values("day", kind="stable")
    # first come, first served: a use that asked strictly before another started no later (uses that ask or start
    # at one instant, e.g. at a rise in capacity, in any order). A patient's k-th start is their k-th request's
    # (a series asks again only after its visit ended; a death waiting ends it); background uses, by their turn.
    uses = []
    for pid, own in rows.groupby("patient_id", sort=False):
        asked = own.day[own.event == "request"].to_numpy()
        began = own.day[own.event == "start"].to_numpy()
        uses += list(zip(asked[:len(began)], began))
    uses.sort()
    latest = -np.inf
    for day, group in itertools.groupby(uses, key=lambda use: use[0]):
        starts = [start for _, start in group]
        assert min(starts) >= latest, (day, starts, latest)
        latest = max(latest, max(starts))


# Ties: visits due at one instant are served in SimPy's order (by when each was scheduled), and a resource takes
# all of an instant's background first, as the processes did; those ties are drawn (hypothesis favours round days).
# At a death's instant SimPy went by when each event was scheduled, which a resource cannot see: deaths are kept
# off round days here (in a run, days are continuous draws), and apart from each other.
DEATH_DAYS = st.integers(0, 90).map(lambda day: day + 0.3716)


def reference_series(env, res, events, pid, visits, row, anchor, horizon, death_due):
    """A series of visits as the SimPy process it was before series moved into the resources (the engines' own
    rule: a visit due on or after the patient's death is not held; the death interrupts a wait or a use)."""
    try:
        for i in range(int(visits[row, VISIT.count])):
            day = visit_day(visits, row, anchor, i)
            if day >= horizon:
                return
            yield env.timeout(max(0.0, day - env.now))
            if env.now >= death_due[pid]:
                return
            yield from use(env, res, visits[row, VISIT.days], patient=pid, stage=0, events=events)
    except simpy.Interrupt:
        return


@settings(max_examples=40, deadline=None)
# cases the search found: a queued visit's hold starts when its process would have resumed (two ends at day 17
# then tie); an ending visit frees its server before its series schedules the next (ends at day 7 tie); a visit
# a roster opens at the horizon has no start
@example(roster=[0, 0, 0, 0, 0, 2, 2], per_week=0.0, hold=1.0, seed=0,
         series=[(0.0, 0.0, 3, 1.0, 1.0, 12.3716), (0.0, 0.0, 2, 1.0, 1.0, 12.3716), (0.0, 0.0, 2, 1.0, 1.0, 12.3716)])
@example(roster=[0, 3, 3, 2, 0, 0, 1], per_week=1.75, hold=1.0, seed=195,
         series=[(0.0, 0.0, 3, 6.0, 1.0, 16.3716), (0.0, 5.0, 5, 1.0, 1.0, 17.3716),
                 (0.0, 7.0, 4, 1.0, 1.0, 17.3716), (0.0, 10.0, 2, 1.0, 1.0, 16.3716)])
@example(roster=[1, 0, 0, 0, 0, 0, 0], per_week=0.0, hold=1.0, seed=0,
         series=[(1.0, 0.0, 6, 1.2472419865327078, 2.5526580585773804, 82.3716),
                 (3.9e-294, 3.0892611860665387, 5, 4.990779319648946, 1.9, 83.3716)])
@given(roster=st.lists(st.integers(0, 3), min_size=7, max_size=7).filter(any),
       per_week=st.floats(0.0, 15.0), hold=st.floats(0.05, 2.0), seed=st.integers(0, 2**31 - 1),
       series=st.lists(st.tuples(st.floats(0.0, 30.0), st.floats(-5.0, 10.0), st.integers(1, 6), st.floats(0.5, 9.0),
                                 st.floats(0.05, 3.0), DEATH_DAYS), max_size=12))
def test_series_of_visits_served_by_the_resource_are_the_simpy_processes_they_replaced(roster, per_week, hold, seed,
                                                                                       series):
    """Series as in the test above, beside background demand: the resource's series give the same resource log,
    exactly, and the same visits as SimPy processes of each series did."""
    death_due = np.array([dies for *_, dies in series]) + 1e-3 * np.arange(len(series))   # nor two deaths at once
    tables = []
    for served_by_resource in (False, True):
        env = simpy.Environment()
        events, log = EventLog(), ResourceLog()
        res = series_resource(env, roster, per_week, hold, seed, series, death_due, log, None)
        added = {}

        def start_series(pid, start):
            try:
                yield env.timeout(start)
            except simpy.Interrupt:
                return      # died before the series began
            if not served_by_resource:
                yield from reference_series(env, res, events, pid, res.visits, pid, start, DAYS, death_due)
            elif env.now < death_due[pid]:     # (a process would have been interrupted by then)
                added[pid] = res.add_series(pid, pid, start, 0, False, pid)

        def death(pid, process, at):
            yield env.timeout(at)
            if served_by_resource and pid in added:     # as the run's record_death cancels them
                res.cancel([added[pid]])
            elif not served_by_resource and process.is_alive:
                process.interrupt()

        for pid, (start, *_) in enumerate(series):
            env.process(death(pid, env.process(start_series(pid, start)), death_due[pid]))
        env.run(until=DAYS)
        res.advance(DAYS)
        rows = events.frame(0, "x")[["patient_id", "day", "event"]].astype(str).values.tolist()
        rows += [[str(int(p)), str(d), EVENTS[int(e)]] for d, p, e, *_ in res.visit_rows().tolist()]
        tables.append((log.frame(0, "x"), sorted(rows)))
    (log_processes, rows_processes), (log_resource, rows_resource) = tables
    pd.testing.assert_frame_equal(log_processes, log_resource)
    assert rows_processes == rows_resource
