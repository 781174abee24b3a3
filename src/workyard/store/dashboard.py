"""Dashboard sessions in the stores (migration 0006): one row per login to ``/ui``.

The row is found by the SHA-256 of the session's random id (the cookie holds the id; the database
never does) and points at the API token it was opened with, which is checked on every request.
"""

from __future__ import annotations

from dataclasses import dataclass

from workyard.clock import Instant

__all__ = ["DashboardSession"]


@dataclass(frozen=True, slots=True)
class DashboardSession:
    """A dashboard login: ``expires_at`` and ``created_at`` are wall-clock times."""

    id_hash: str
    token_id: str
    created_at: Instant
    expires_at: Instant
