"""Copy one store's whole content into another (``workyard db copy``), ids and timestamps kept."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from workyard.domain.models import Environment, Event, Session, TokenRecord, WorkItem
from workyard.store.base import Insert, Record, Store

__all__ = ["CopyError", "copy_store"]

_BATCH = 500
_ORDER: tuple[tuple[str, type[Record]], ...] = (
    ("tokens", TokenRecord),
    ("environments", Environment),
    ("sessions", Session),
    ("work_items", WorkItem),
    ("events", Event),
)


class CopyError(Exception):
    """The copy cannot start or did not verify."""


async def copy_store(
    source: Store,
    target: Store,
    *,
    force: bool = False,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, int]:
    """Copy every record from ``source`` to ``target``; return the verified per-table counts."""
    existing = await target.table_counts()
    if any(existing.values()):
        if not force:
            raise CopyError(
                f"the target database is not empty ({_describe(existing)}); use --force"
            )
        await target.clear_all()
    for table, kind in _ORDER:
        copied = 0
        after = ""
        while batch := await source.export(kind, after, _BATCH):
            records = [_plain(r) for r in batch]
            if not await target.commit([Insert(r) for r in records]):
                raise CopyError(f"could not write a batch of {table}")
            copied += len(records)
            after = records[-1].id
            if progress is not None:
                progress(table, copied)
    await _copy_keys(source, target, progress)
    expected, got = await source.table_counts(), await target.table_counts()
    if expected != got:
        raise CopyError(f"counts differ after copying: source {expected}, target {got}")
    return got


async def _copy_keys(
    source: Store, target: Store, progress: Callable[[str, int], None] | None
) -> None:
    """Idempotency keys too: a client retrying after the move still gets its first response."""
    copied = 0
    after = ("", "")
    while batch := await source.export_idempotency(after, _BATCH):
        await target.import_idempotency(batch)
        copied += len(batch)
        after = (batch[-1].token_id, batch[-1].key)
        if progress is not None:
            progress("idempotency_keys", copied)


def _plain(record: Record) -> Record:
    """Drop read-only joined fields before inserting."""
    return replace(record, work_state=None) if isinstance(record, Session) else record


def _describe(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {table}" for table, n in counts.items() if n)
