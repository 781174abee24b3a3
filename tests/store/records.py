"""Record builders for the store conformance suite (deterministic, ordered ids)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from workyard.clock import Instant, parse_ts
from workyard.domain.models import Environment, Session, TokenKind, TokenRecord, WorkItem, WorkState
from workyard.domain.pagination import PageRequest
from workyard.store.base import Insert, Record, Store

T0: Instant = parse_ts("2026-07-01T08:00:00.000000Z")
SECOND = 1_000_000


def ident(prefix: str, n: int) -> str:
    """A valid id whose order follows ``n`` (``env_000…001`` < ``env_000…002``)."""
    return f"{prefix}_{n:032x}"


def env(n: int, **fields: Any) -> Environment:
    base = Environment(
        id=ident("env", n),
        name=f"environment {n}",
        description="",
        config={"type": "self_hosted"},
        metadata={},
        archived_at=None,
        created_at=T0 + n * SECOND,
        updated_at=T0 + n * SECOND,
    )
    return replace(base, **fields)


def session(n: int, environment_id: str, **fields: Any) -> Session:
    base = Session(
        id=ident("sess", n),
        environment_id=environment_id,
        agent=None,
        title=None,
        metadata={},
        work_id=None,
        archived_at=None,
        created_at=T0 + n * SECOND,
        updated_at=T0 + n * SECOND,
    )
    return replace(base, **fields)


def work(n: int, environment_id: str, **fields: Any) -> WorkItem:
    base = WorkItem(
        id=ident("work", n),
        environment_id=environment_id,
        session_id=ident("sess", n),
        state=WorkState.QUEUED,
        created_at=T0 + n * SECOND,
    )
    return replace(base, **fields)


def token(n: int, **fields: Any) -> TokenRecord:
    base = TokenRecord(
        id=ident("tok", n),
        name=f"token {n}",
        kind=TokenKind.MEMBER,
        token_hash=f"hash-{n:04d}",
        environment_ids=(),
        created_at=T0 + n * SECOND,
    )
    return replace(base, **fields)


async def insert(store: Store, *records: Record) -> None:
    assert await store.commit([Insert(r) for r in records])


def expected_window(ordered: list[str], page: PageRequest, descending: bool) -> list[str]:
    """What a store must return: up to ``limit + 1`` ids in list order (probe row first for
    ``before``), computed by brute force from the full list in list order."""

    def follows(x: str, anchor: str) -> bool:  # x comes after anchor in list order
        return x < anchor if descending else x > anchor

    if page.anchor is None:
        return ordered[: page.limit + 1]
    anchor = page.anchor
    if page.direction == "after":
        return [x for x in ordered if follows(x, anchor)][: page.limit + 1]
    return [x for x in ordered if follows(anchor, x)][-(page.limit + 1) :]


def page_shapes(ids: list[str]) -> list[PageRequest]:
    """Every interesting request over ``ids`` (sorted ascending): no anchor, each anchor (present
    and absent) in both directions, limits from 1 to beyond the total."""
    anchors = [ids[0], ids[len(ids) // 2], ids[-1], ids[0][:-1] + "0", "~", ""]
    shapes: list[PageRequest] = []
    for limit in (1, 2, 3, len(ids), len(ids) + 5):
        shapes.append(PageRequest(limit))
        for anchor in anchors:
            shapes.append(PageRequest(limit, anchor, "after"))
            shapes.append(PageRequest(limit, anchor, "before"))
    return shapes
