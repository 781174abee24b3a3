"""The persistence seam: a typed ``Store`` protocol and its backends."""

from workyard.store.base import (
    Delete,
    EnvironmentFilter,
    EventFilter,
    Insert,
    ItemSummary,
    PurgeEvents,
    ReadinessSnapshot,
    Record,
    Replace,
    SessionFilter,
    SessionSearch,
    Store,
    StoreUnavailableError,
    WorkChange,
    Write,
)
from workyard.store.factory import open_store

__all__ = [
    "Delete",
    "EnvironmentFilter",
    "EventFilter",
    "Insert",
    "ItemSummary",
    "PurgeEvents",
    "ReadinessSnapshot",
    "Record",
    "Replace",
    "SessionFilter",
    "SessionSearch",
    "Store",
    "StoreUnavailableError",
    "WorkChange",
    "Write",
    "open_store",
]
