"""Flat, columnar records of what happened: the event log and resource changes.

Appending to Python lists and building a DataFrame once at the end keeps the per-event cost
to a few list appends (DESIGN §5 columns). One list per column, not one tuple per record: the
tuple version measured 1.75x slower on the default service run (cause not pinned down).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

EVENT_COLUMNS = ("replication", "arm", "patient_id", "day", "event", "stage", "resource", "detail")
RESOURCE_COLUMNS = ("replication", "arm", "resource", "day", "in_use", "capacity", "queue_length")
BACKGROUND_PATIENT = -1


def constant_category(value: str, n: int) -> pd.Categorical:
    """A categorical column holding one value n times, built without a Python list of n strings."""
    return pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), [value])

# The vocabulary of events.parquet: both engines write these codes (fixed categories).
EVENTS = ("referral", "request", "start", "end", "diagnosis", "toxicity_delay", "resection", "histologic_response",
          "metastases_not_visible", "metastases_unresectable", "local_control", "end_of_treatment", "progression",
          "relapse", "symptoms", "second_remission", "death")
STAGES = ("diagnosis", "neoadjuvant", "surgery", "metastasectomy", "adjuvant", "radiotherapy", "followup", "relapse",
          "death", "background", "arm")
RESOURCES = ("", "imaging", "biopsy", "pathology", "chemo_bed", "theatre_ortho", "theatre_thoracic", "radiotherapy",
             "followup_clinic", "day_case")
DETAILS = ("", "none", "lung", "extrapulmonary", "multisystem", "amputation", "limb_salvage", "good", "poor", "local",
           "multiple", "bone", "progression", "osteosarcoma", "treatment", "other")


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
            "arm": constant_category(arm, n),
            "patient_id": np.asarray(self.patient, dtype=np.int64),
            "day": np.asarray(self.day, dtype=np.float64),
            "event": pd.Categorical(self.event, categories=list(EVENTS)),
            "stage": pd.Categorical(self.stage, categories=list(STAGES)),
            "resource": pd.Categorical(self.resource, categories=list(RESOURCES)),
            "detail": pd.Categorical(self.detail, categories=list(DETAILS)),
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
            "arm": constant_category(arm, n),
            "resource": pd.Categorical(self.resource, categories=list(RESOURCES[1:])),
            "day": np.asarray(self.day, dtype=np.float64),
            "in_use": np.asarray(self.in_use, dtype=np.int32),
            "capacity": np.asarray(self.capacity, dtype=np.float64),
            "queue_length": np.asarray(self.queue, dtype=np.int32),
        }, columns=list(RESOURCE_COLUMNS))


def coded_events_frame(patient: np.ndarray, day: np.ndarray, code: np.ndarray, replication: int,
                       arm: str) -> pd.DataFrame:
    """events.parquet rows from packed codes: event | stage << 8 | resource << 16 | detail << 24."""
    n = day.shape[0]
    return pd.DataFrame({
        "replication": np.full(n, replication, dtype=np.int32),
        "arm": constant_category(arm, n),
        "patient_id": patient.astype(np.int64),
        "day": day,
        "event": pd.Categorical.from_codes(code & 0xFF, list(EVENTS)),
        "stage": pd.Categorical.from_codes((code >> 8) & 0xFF, list(STAGES)),
        "resource": pd.Categorical.from_codes((code >> 16) & 0xFF, list(RESOURCES)),
        "detail": pd.Categorical.from_codes((code >> 24) & 0xFF, list(DETAILS)),
    }, columns=list(EVENT_COLUMNS))
