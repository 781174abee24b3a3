"""Row ⇄ record conversion shared by the SQL backends (JSON columns, enums)."""

from __future__ import annotations

import json
from typing import Any, Protocol

from workyard.domain.models import (
    Environment,
    Event,
    Session,
    TokenKind,
    TokenRecord,
    WorkItem,
    WorkState,
)

__all__ = [
    "Row",
    "environment_from_row",
    "environment_params",
    "event_from_row",
    "event_params",
    "session_from_row",
    "session_params",
    "token_from_row",
    "token_params",
    "work_from_row",
    "work_params",
]


class Row(Protocol):
    """A result row addressable by column name (sqlite3.Row, asyncpg.Record, dict)."""

    def __getitem__(self, key: str, /) -> Any: ...


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def token_from_row(row: Row) -> TokenRecord:
    return TokenRecord(
        id=row["id"],
        name=row["name"],
        kind=TokenKind(row["kind"]),
        token_hash=row["token_hash"],
        environment_ids=tuple(json.loads(row["environment_ids"])),
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
    )


def token_params(t: TokenRecord) -> dict[str, Any]:
    return {
        "id": t.id,
        "name": t.name,
        "kind": t.kind.value,
        "token_hash": t.token_hash,
        "environment_ids": _dumps(list(t.environment_ids)),
        "created_at": t.created_at,
        "expires_at": t.expires_at,
        "revoked_at": t.revoked_at,
    }


def environment_from_row(row: Row) -> Environment:
    return Environment(
        id=row["id"],
        name=row["name"],
        description=row["description"],
        config=json.loads(row["config"]),
        metadata=json.loads(row["metadata"]),
        archived_at=row["archived_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        version=row["version"],
    )


def environment_params(e: Environment) -> dict[str, Any]:
    return {
        "id": e.id,
        "name": e.name,
        "description": e.description,
        "config": _dumps(e.config),
        "metadata": _dumps(e.metadata),
        "archived_at": e.archived_at,
        "created_at": e.created_at,
        "updated_at": e.updated_at,
        "version": e.version,
    }


def session_from_row(row: Row) -> Session:
    state = row["work_state"]
    return Session(
        id=row["id"],
        environment_id=row["environment_id"],
        agent=json.loads(row["agent"]),
        title=row["title"],
        metadata=json.loads(row["metadata"]),
        work_id=row["work_id"],
        archived_at=row["archived_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        deleted_at=row["deleted_at"],
        version=row["version"],
        work_state=WorkState(state) if state is not None else None,
        last_event_id=row["last_event_id"],
    )


def session_params(s: Session) -> dict[str, Any]:
    return {
        "id": s.id,
        "environment_id": s.environment_id,
        "agent": _dumps(s.agent),
        "title": s.title,
        "metadata": _dumps(s.metadata),
        "work_id": s.work_id,
        "archived_at": s.archived_at,
        "created_at": s.created_at,
        "updated_at": s.updated_at,
        "deleted_at": s.deleted_at,
        "version": s.version,
        "last_event_id": s.last_event_id,
    }


def event_from_row(row: Row) -> Event:
    return Event(
        id=row["id"],
        session_id=row["session_id"],
        type=row["type"],
        processed_at=row["processed_at"],
        fields=json.loads(row["body"]),
    )


def event_params(e: Event) -> dict[str, Any]:
    return {
        "id": e.id,
        "session_id": e.session_id,
        "type": e.type,
        "processed_at": e.processed_at,
        "body": _dumps(e.fields),
    }


_WORK_INSTANTS = (
    "created_at",
    "acknowledged_at",
    "started_at",
    "latest_heartbeat_at",
    "stop_requested_at",
    "stopped_at",
    "delivered_at",
    "lease_expires_at",
)


def work_from_row(row: Row) -> WorkItem:
    return WorkItem(
        id=row["id"],
        environment_id=row["environment_id"],
        session_id=row["session_id"],
        state=WorkState(row["state"]),
        metadata=json.loads(row["metadata"]),
        delivered_to=row["delivered_to"],
        holder=row["holder"],
        version=row["version"],
        secret_hash=row["secret_hash"],
        **{name: row[name] for name in _WORK_INSTANTS},
    )


def work_params(w: WorkItem) -> dict[str, Any]:
    params: dict[str, Any] = {name: getattr(w, name) for name in _WORK_INSTANTS}
    params.update(
        id=w.id,
        environment_id=w.environment_id,
        session_id=w.session_id,
        state=w.state.value,
        metadata=_dumps(w.metadata),
        delivered_to=w.delivered_to,
        holder=w.holder,
        version=w.version,
        secret_hash=w.secret_hash,
    )
    return params
