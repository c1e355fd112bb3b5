"""Value of information and decisions under uncertainty: EVPPI by the GAM metamodel against a nested
Monte-Carlo estimate and a closed form, EVPPI <= EVPI, the efficiency frontier, and the CEAC's
smoothness under common random numbers."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from osteosim.economics import decisions, voi

N = 2000   # PSA samples of the synthetic model


def incremental(theta1, theta2):
    """The second arm's incremental net benefit: linear in theta1, quadratic in theta2."""
    return 2.0 * (theta1 - 0.2) + theta2 ** 2 - 1.0


def synthetic_net_benefit(theta1: np.ndarray, theta2: np.ndarray) -> np.ndarray:
    """Two arms, the first the reference (net benefit 0)."""
    inb = incremental(theta1, theta2)
    return np.column_stack([np.zeros_like(inb), inb])


@pytest.fixture(scope="module")
def sample():
    rng = np.random.default_rng(20261201)
    theta1, theta2 = rng.standard_normal(N), rng.standard_normal(N)
    return theta1, theta2, synthetic_net_benefit(theta1, theta2)


def nested_evppi(of_theta2: bool, outer: int, inner: int, seed: int) -> tuple[float, float]:
    """EVPPI by brute force: for each outer draw of the group, the inner mean of net benefit over the rest;
    its standard error from the outer spread."""
    rng = np.random.default_rng(seed)
    known = rng.standard_normal(outer)[:, None]
    rest = rng.standard_normal((outer, inner))
    inner_mean = (incremental(rest, known) if of_theta2 else incremental(known, rest)).mean(axis=1)
    best = np.maximum(inner_mean, 0.0)
    overall = incremental(rest, rest[:, ::-1]).mean()   # E(INB) over both parameters
    return float(best.mean() - max(overall, 0.0)), float(best.std(ddof=1) / math.sqrt(outer))


@pytest.mark.parametrize("group", ["theta1", "theta2"])
def test_evppi_agrees_with_a_nested_monte_carlo_estimate(sample, group):
    theta1, theta2, nb = sample
    x = theta2 if group == "theta2" else theta1
    estimate, se = voi.evppi(nb, x)
    nested, nested_se = nested_evppi(group == "theta2", outer=4000, inner=400, seed=7)
    # the nested estimate is biased upwards by its inner noise (sd 2/sqrt(400) = 0.1 on a kinked max): at most
    # E|noise| * density at the kink, bounded here by 0.1 * 0.4 = 0.04 / 2; allowed for on top of 3 SEs
    tolerance = 3.0 * math.hypot(se, nested_se) + 0.02
    assert abs(estimate - nested) < tolerance, (estimate, nested, tolerance)


def test_evppi_of_the_linear_parameter_matches_its_closed_form(sample):
    theta1, _, nb = sample
    estimate, se = voi.evppi(nb, theta1)
    mu, sigma = -0.4, 2.0     # E(INB | theta1) = 2 theta1 - 0.4, normal; EVPPI = E max(0, .) - max(0, mu)
    exact = mu * stats.norm.cdf(mu / sigma) + sigma * stats.norm.pdf(mu / sigma)
    assert abs(estimate - exact) < 3.0 * se + 0.01


def test_evppi_is_at_most_evpi_for_every_group(sample):
    theta1, theta2, nb = sample
    full = voi.evpi(nb)
    partial = [voi.evppi(nb, x)[0] for x in (theta1, theta2)]
    assert all(0.0 <= value < full for value in partial), (partial, full)


def test_the_efficiency_frontier_finds_dominance_and_extended_dominance():
    table = decisions.efficiency_frontier([0, 100, 150, 400, 500], [1.0, 2.0, 1.5, 2.5, 3.5], list("ABCDE"))
    status = dict(zip(table.arm, table.status))
    assert status == {"A": "frontier", "B": "frontier", "C": "dominated", "D": "extendedly dominated", "E": "frontier"}
    icers = dict(zip(table.arm, table.icer))
    assert icers["B"] == pytest.approx(100.0) and icers["E"] == pytest.approx(400.0 / 1.5)


def test_ceac_probabilities_sum_to_one_and_mark_one_frontier_arm():
    rng = np.random.default_rng(1)
    costs, qalys = rng.normal([0, 10, 20], 5, (500, 3)), rng.normal([0, 0.001, 0.0015], 0.001, (500, 3))
    table = decisions.ceac(costs, qalys, ["a", "b", "c"], [0, 5_000, 20_000])
    assert np.allclose(table.groupby("threshold").probability.sum(), 1.0)
    assert (table.groupby("threshold").frontier.sum() == 1).all()
