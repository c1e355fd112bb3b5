"""Flat, columnar records of what happened: the event log and resource changes.

Appending to Python lists and building a DataFrame once at the end keeps the per-event cost
to a few list appends (DESIGN §5 columns).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

EVENT_COLUMNS = ("replication", "arm", "patient_id", "day", "event", "stage", "resource", "detail")
RESOURCE_COLUMNS = ("replication", "arm", "resource", "day", "in_use", "capacity", "queue_length")
BACKGROUND_PATIENT = -1


class EventLog:
    """Events of one replication × arm."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.patient: list[int] = []
        self.day: list[float] = []
        self.event: list[str] = []
        self.stage: list[str] = []
        self.resource: list[str] = []
        self.detail: list[str] = []

    def add(self, patient: int, day: float, event: str, stage: str, resource: str = "", detail: str = "") -> None:
        if not self.enabled:
            return
        self.patient.append(patient)
        self.day.append(day)
        self.event.append(event)
        self.stage.append(stage)
        self.resource.append(resource)
        self.detail.append(detail)

    def frame(self, replication: int, arm: str) -> pd.DataFrame:
        n = len(self.day)
        return pd.DataFrame({
            "replication": np.full(n, replication, dtype=np.int32),
            "arm": pd.Categorical([arm] * n),
            "patient_id": np.asarray(self.patient, dtype=np.int64),
            "day": np.asarray(self.day, dtype=np.float64),
            "event": pd.Categorical(self.event),
            "stage": pd.Categorical(self.stage),
            "resource": pd.Categorical(self.resource),
            "detail": np.asarray(self.detail, dtype=object),
        }, columns=list(EVENT_COLUMNS))


class ResourceLog:
    """Every change of a resource's in-use count, capacity or queue length."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.resource: list[str] = []
        self.day: list[float] = []
        self.in_use: list[int] = []
        self.capacity: list[float] = []
        self.queue: list[int] = []

    def add(self, resource: str, day: float, in_use: int, capacity: float, queue: int) -> None:
        if not self.enabled:
            return
        self.resource.append(resource)
        self.day.append(day)
        self.in_use.append(in_use)
        self.capacity.append(capacity)
        self.queue.append(queue)

    def frame(self, replication: int, arm: str) -> pd.DataFrame:
        n = len(self.day)
        return pd.DataFrame({
            "replication": np.full(n, replication, dtype=np.int32),
            "arm": pd.Categorical([arm] * n),
            "resource": pd.Categorical(self.resource),
            "day": np.asarray(self.day, dtype=np.float64),
            "in_use": np.asarray(self.in_use, dtype=np.int32),
            "capacity": np.asarray(self.capacity, dtype=np.float64),
            "queue_length": np.asarray(self.queue, dtype=np.int32),
        }, columns=list(RESOURCE_COLUMNS))
