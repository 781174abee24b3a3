"""The Work API operations (see :mod:`workyard.client._endpoints` for how they are used)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from workyard.client._base import (
    Call,
    RequestSpec,
    object_decoder,
    optional_decoder,
    page_decoder,
    path,
)
from workyard.client._models import HeartbeatResult, Page, QueueStats, WorkItem
from workyard.client._parts import page_params, params, worker_headers

__all__ = [
    "ack_work",
    "heartbeat_work",
    "list_work",
    "poll_work",
    "retrieve_work",
    "stop_work",
    "update_work",
    "work_stats",
]

MetadataPatch = Mapping[str, str | None]

_work = object_decoder(WorkItem.from_dict)


def list_work(
    environment_id: str,
    *,
    state: str | Iterable[str] | None = None,
    limit: int | None = None,
    page: str | None = None,
    after_id: str | None = None,
    before_id: str | None = None,
) -> Call[Page[WorkItem]]:
    """One page of an environment's work items, oldest first; ``state`` filters (e.g. "queued")."""
    states = state if state is None or isinstance(state, str) else ",".join(state)
    query = (*params(("state", states)), *page_params(limit, page, after_id, before_id))
    request = RequestSpec(
        "GET", path("/environments/{}/work", environment_id), query, idempotent=True
    )
    return Call(request, page_decoder(WorkItem.from_dict))


def retrieve_work(environment_id: str, work_id: str) -> Call[WorkItem]:
    """Get one work item as it is now (lease expiry applied)."""
    request = RequestSpec(
        "GET", path("/environments/{}/work/{}", environment_id, work_id), idempotent=True
    )
    return Call(request, _work)


def update_work(environment_id: str, work_id: str, metadata: MetadataPatch) -> Call[WorkItem]:
    """Merge-patch a work item's metadata (a ``None`` value deletes the key); any state."""
    request = RequestSpec(
        "POST",
        path("/environments/{}/work/{}", environment_id, work_id),
        body={"metadata": dict(metadata)},
        idempotent=True,
    )
    return Call(request, _work)


def poll_work(
    environment_id: str,
    *,
    block_ms: int | None = None,
    reclaim_older_than_ms: int | None = None,
    worker_id: str | None = None,
) -> Call[WorkItem | None]:
    """Receive the next deliverable work item, or ``None``; ``block_ms`` (1-999) waits for one."""
    query = params(("block_ms", block_ms), ("reclaim_older_than_ms", reclaim_older_than_ms))
    request = RequestSpec(
        "GET",
        path("/environments/{}/work/poll", environment_id),
        params=query,
        headers=worker_headers(worker_id),
        idempotent=True,
    )
    return Call(request, optional_decoder(WorkItem.from_dict))


def ack_work(environment_id: str, work_id: str, *, worker_id: str | None = None) -> Call[WorkItem]:
    """Claim a delivered work item (``queued`` -> ``starting``); pass the polling ``worker_id``."""
    request = RequestSpec(
        "POST",
        path("/environments/{}/work/{}/ack", environment_id, work_id),
        headers=worker_headers(worker_id),
    )
    return Call(request, _work)


def heartbeat_work(
    environment_id: str,
    work_id: str,
    *,
    expected_last_heartbeat: str | None = None,
    desired_ttl_seconds: int | None = None,
) -> Call[HeartbeatResult]:
    """Extend the lease; ``expected_last_heartbeat``: ``"NO_HEARTBEAT"`` or the last one seen."""
    query = params(
        ("expected_last_heartbeat", expected_last_heartbeat),
        ("desired_ttl_seconds", desired_ttl_seconds),
    )
    request = RequestSpec(
        "POST",
        path("/environments/{}/work/{}/heartbeat", environment_id, work_id),
        params=query,
        idempotent=True,
    )
    return Call(request, object_decoder(HeartbeatResult.from_dict))


def stop_work(environment_id: str, work_id: str, *, force: bool = False) -> Call[WorkItem]:
    """Stop a work item: gracefully (active -> stopping -> stopped) or, with ``force``, at once."""
    request = RequestSpec(
        "POST",
        path("/environments/{}/work/{}/stop", environment_id, work_id),
        body={"force": force},
        idempotent=True,
    )
    return Call(request, _work)


def work_stats(environment_id: str) -> Call[QueueStats]:
    """Counters of an environment's work queue."""
    request = RequestSpec(
        "GET", path("/environments/{}/work/stats", environment_id), idempotent=True
    )
    return Call(request, object_decoder(QueueStats.from_dict))
