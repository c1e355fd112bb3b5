"""Flat, columnar records of what happened: the event log and resource changes.

Appending to Python lists and building a DataFrame once at the end keeps the per-event cost
to a few list appends (DESIGN §5 columns). One list per column, not one tuple per record: the
tuple version measured 1.75x slower on the default service run (cause not pinned down).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from osteosim.model.codes import DETAILS, EVENTS, RESOURCES, STAGES

EVENT_COLUMNS = ("replication", "arm", "patient_id", "day", "event", "stage", "resource", "detail")
RESOURCE_COLUMNS = ("replication", "arm", "resource", "day", "in_use", "capacity", "queue_length")
BACKGROUND_PATIENT = -1


def constant_category(value: str, n: int) -> pd.Categorical:
    """A categorical column holding one value n times, built without a Python list of n strings."""
    return pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), [value])

class EventLog:
    """Events of one replication × arm."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.patient: list[int] = []
        self.day: list[float] = []
        self.event: list[int] = []
        self.stage: list[int] = []
        self.resource: list[int] = []
        self.detail: list[int] = []

    def add(self, patient: int, day: float, event: int, stage: int, resource: int = 0, detail: int = 0) -> None:
        """One row, as codes of the `model.codes` vocabularies (strings only when the table is built)."""
        if not self.enabled:
            return
        self.patient.append(patient)
        self.day.append(day)
        self.event.append(event)
        self.stage.append(stage)
        self.resource.append(resource)
        self.detail.append(detail)

    def extend(self, patient: int, days: np.ndarray, events: np.ndarray, stage: int, resource: int) -> None:
        """Many rows of one patient (background demand) at one stage and resource."""
        if not self.enabled:
            return
        n = len(days)
        self.patient.extend([patient] * n)
        self.day.extend(days.tolist())
        self.event.extend(events.tolist())
        self.stage.extend([stage] * n)
        self.resource.extend([resource] * n)
        self.detail.extend([0] * n)

    def frame(self, replication: int, arm: str) -> pd.DataFrame:
        return events_frame(np.asarray(self.patient, dtype=np.int64), np.asarray(self.day, dtype=np.float64),
                            self.event, self.stage, self.resource, self.detail, replication, arm)


class ResourceLog:
    """Every change of a resource's in-use count, capacity or queue length. Each resource keeps its own rows
    (engines.des.resources, in compiled buffers); the table gathers them, in time order."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.resources: list = []

    def register(self, resource) -> None:
        self.resources.append(resource)

    def clear(self) -> None:
        """Let go of every resource's rows (their frame is built)."""
        for resource in self.resources:
            resource.forget_log()

    def frame(self, replication: int, arm: str) -> pd.DataFrame:
        rows, codes = by_resource([(r.code, r.frame_rows()) for r in self.resources] if self.enabled else [], 4)
        order = np.argsort(rows[:, 0], kind="stable")
        n = len(order)
        return pd.DataFrame({
            "replication": np.full(n, replication, dtype=np.int32),
            "arm": constant_category(arm, n),
            "resource": pd.Categorical.from_codes(codes[order] - 1, categories=list(RESOURCES[1:])),
            "day": rows[order, 0],
            "in_use": rows[order, 1].astype(np.int32),
            "capacity": rows[order, 2],
            "queue_length": rows[order, 3].astype(np.int32),
        }, columns=list(RESOURCE_COLUMNS))


def by_resource(parts: list[tuple[int, np.ndarray]], width: int) -> tuple[np.ndarray, np.ndarray]:
    """Each resource's rows (its code, rows of `width` columns), stacked, and the code of each row's resource."""
    if not parts:
        return np.zeros((0, width)), np.zeros(0, dtype=np.int64)
    return (np.concatenate([rows for _, rows in parts]),
            np.concatenate([np.full(len(rows), code, dtype=np.int64) for code, rows in parts]))


def coded_events_frame(patient: np.ndarray, day: np.ndarray, code: np.ndarray, replication: int,
                       arm: str) -> pd.DataFrame:
    """events.parquet rows from packed codes: event | stage << 8 | resource << 16 | detail << 24."""
    return events_frame(patient, day, code & 0xFF, (code >> 8) & 0xFF, (code >> 16) & 0xFF, (code >> 24) & 0xFF,
                        replication, arm)


def events_frame(patient, day, event, stage, resource, detail, replication: int, arm: str) -> pd.DataFrame:
    """events.parquet rows from the codes of each column (`model.codes` vocabularies), for both engines."""
    n = len(day)
    return pd.DataFrame({
        "replication": np.full(n, replication, dtype=np.int32),
        "arm": constant_category(arm, n),
        "patient_id": np.asarray(patient).astype(np.int64),
        "day": np.asarray(day, dtype=np.float64),
        "event": pd.Categorical.from_codes(np.asarray(event, dtype=np.int8), list(EVENTS)),
        "stage": pd.Categorical.from_codes(np.asarray(stage, dtype=np.int8), list(STAGES)),
        "resource": pd.Categorical.from_codes(np.asarray(resource, dtype=np.int8), list(RESOURCES)),
        "detail": pd.Categorical.from_codes(np.asarray(detail, dtype=np.int8), list(DETAILS)),
    }, columns=list(EVENT_COLUMNS))
