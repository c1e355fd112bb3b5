"""Discounting in continuous time, exactly: no cycles, hence no half-cycle correction.

A rate r a year discounts an amount at time t (years from the patient's diagnosis) by (1 + r)^-t,
so the continuous force is delta = ln(1 + r). A lump at t is worth (1+r)^-t; a flow of 1 a year over
[a, b] is worth the integral of exp(-delta s), (exp(-delta a) - exp(-delta b)) / delta, or b - a
when r = 0. Every function takes NumPy arrays and ignores nothing silently: NaN times give NaN.
"""
from __future__ import annotations

import numpy as np


def force(rate: float) -> float:
    """The continuous force of interest delta of an annual rate r: (1 + r)^-t = exp(-delta t)."""
    return float(np.log1p(rate))


def at(t, rate: float) -> np.ndarray:
    """The discount factor of a lump at time t (years): (1 + r)^-t."""
    return np.exp(-force(rate) * np.asarray(t, dtype=float))


def over(a, b, rate: float) -> np.ndarray:
    """Present value of a flow of 1 a year from a to b (years; nothing where b <= a)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    width = np.maximum(b - a, 0.0)
    delta = force(rate)
    if delta < 1e-12:   # r = 0, or so small that (1 - exp(-delta w)) / delta loses its digits: error < delta w^2
        return width * np.exp(-delta * a)
    # exp(-delta a) * (1 - exp(-delta width)) / delta, with expm1 for short spans
    return np.exp(-delta * a) * -np.expm1(-delta * width) / delta


def mean_factor(a, b, rate: float) -> np.ndarray:
    """The average discount factor over [a, b]: what a cost spread evenly over it is worth per unit;
    the lump factor at a when the span is empty."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    width = b - a
    with np.errstate(invalid="ignore", divide="ignore"):
        spread = over(a, b, rate) / width
    return np.where(width > 0, spread, at(a, rate))
