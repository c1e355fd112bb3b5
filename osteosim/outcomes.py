"""Summaries computed from the result tables: survival with confidence intervals, waits, utilisation."""
from __future__ import annotations


def summarise(results) -> dict:
    return {}
