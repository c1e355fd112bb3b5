"""A stand-in for concurrent.futures.ProcessPoolExecutor, for tests of how replications are handed to worker
processes without starting any: each submitted replication's future is settled at once by `settle(replication)`,
a result or an exception to raise, and `asked` lists the replications asked for, in order."""
from __future__ import annotations

import concurrent.futures
from typing import Callable


class StandInPool:
    def __init__(self, settle: Callable[[int], object]):
        self.settle, self.asked = settle, []

    def __call__(self, *args, **kwargs) -> "StandInPool":     # made as ProcessPoolExecutor(processes, ...) is
        return self

    def __enter__(self) -> "StandInPool":
        return self

    def __exit__(self, *args) -> bool:
        return False

    def submit(self, function, config, replication: int) -> concurrent.futures.Future:
        self.asked.append(replication)
        future, outcome = concurrent.futures.Future(), self.settle(replication)
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
        return future


def installed(monkeypatch, settle: Callable[[int], object]) -> StandInPool:
    """The stand-in, in place of ProcessPoolExecutor for the rest of the test."""
    pool = StandInPool(settle)
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", pool)
    return pool
