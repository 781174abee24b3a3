"""The persistence seam: a typed ``Store`` protocol and its backends."""

from workyard.store.base import (
    Delete,
    EnvironmentFilter,
    Insert,
    Record,
    Replace,
    SessionFilter,
    Store,
    StoreUnavailableError,
    Write,
)
from workyard.store.factory import open_store

__all__ = [
    "Delete",
    "EnvironmentFilter",
    "Insert",
    "Record",
    "Replace",
    "SessionFilter",
    "Store",
    "StoreUnavailableError",
    "Write",
    "open_store",
]
