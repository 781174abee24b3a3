"""The Work API operations (see :mod:`workyard.client._endpoints` for how they are used)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Unpack

from workyard.client._base import (
    Call,
    RequestOptions,
    RequestSpec,
    call,
    object_decoder,
    optional_decoder,
    page_decoder,
    path,
)
from workyard.client._models import HeartbeatResult, Page, QueueStats, WorkItem
from workyard.client._parts import page_params, params, worker_headers

__all__ = [
    "ack",
    "ack_work",
    "heartbeat",
    "heartbeat_work",
    "list_work",
    "poll_work",
    "retrieve",
    "retrieve_work",
    "stop",
    "stop_work",
    "update",
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
    **options: Unpack[RequestOptions],
) -> Call[Page[WorkItem]]:
    """One page of an environment's work items, oldest first; ``state`` filters (e.g. "queued")."""
    states = state if state is None or isinstance(state, str) else ",".join(state)
    query = (*params(("state", states)), *page_params(limit, page, after_id, before_id))
    request = RequestSpec("GET", path("/environments/{}/work", environment_id), query)
    return call(request, page_decoder(WorkItem.from_dict), options)


def retrieve_work(
    environment_id: str, work_id: str, **options: Unpack[RequestOptions]
) -> Call[WorkItem]:
    """Get one work item as it is now (lease expiry applied)."""
    request = RequestSpec("GET", path("/environments/{}/work/{}", environment_id, work_id))
    return call(request, _work, options)


def update_work(
    environment_id: str, work_id: str, metadata: MetadataPatch, **options: Unpack[RequestOptions]
) -> Call[WorkItem]:
    """Merge-patch a work item's metadata (a ``None`` value deletes the key); any state."""
    request = RequestSpec(
        "POST",
        path("/environments/{}/work/{}", environment_id, work_id),
        body={"metadata": dict(metadata)},
    )
    return call(request, _work, options)


def poll_work(
    environment_id: str,
    *,
    block_ms: int | None = None,
    reclaim_older_than_ms: int | None = None,
    worker_id: str | None = None,
    **options: Unpack[RequestOptions],
) -> Call[WorkItem | None]:
    """Receive the next deliverable work item, or ``None``; ``block_ms`` (1-999) waits for one."""
    query = params(("block_ms", block_ms), ("reclaim_older_than_ms", reclaim_older_than_ms))
    request = RequestSpec(
        "GET",
        path("/environments/{}/work/poll", environment_id),
        params=query,
        headers=worker_headers(worker_id),
    )
    return call(request, optional_decoder(WorkItem.from_dict), options)


def ack_work(
    environment_id: str,
    work_id: str,
    *,
    worker_id: str | None = None,
    **options: Unpack[RequestOptions],
) -> Call[WorkItem]:
    """Claim a delivered work item (``queued`` -> ``starting``); pass the polling ``worker_id``."""
    request = RequestSpec(
        "POST",
        path("/environments/{}/work/{}/ack", environment_id, work_id),
        headers=worker_headers(worker_id),
    )
    return call(request, _work, options)


def heartbeat_work(
    environment_id: str,
    work_id: str,
    *,
    expected_last_heartbeat: str | None = None,
    desired_ttl_seconds: int | None = None,
    **options: Unpack[RequestOptions],
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
    )
    return call(request, object_decoder(HeartbeatResult.from_dict), options)


def stop_work(
    environment_id: str, work_id: str, *, force: bool = False, **options: Unpack[RequestOptions]
) -> Call[WorkItem]:
    """Stop a work item: gracefully (active -> stopping -> stopped) or, with ``force``, at once."""
    request = RequestSpec(
        "POST",
        path("/environments/{}/work/{}/stop", environment_id, work_id),
        body={"force": force},
    )
    return call(request, _work, options)


def work_stats(environment_id: str, **options: Unpack[RequestOptions]) -> Call[QueueStats]:
    """Counters of an environment's work queue."""
    request = RequestSpec("GET", path("/environments/{}/work/stats", environment_id))
    return call(request, object_decoder(QueueStats.from_dict), options)


# The same operations with ``qca-sdk``'s signatures (``client.environments.work``): the work id
# first, the environment as a keyword.


def retrieve(
    work_id: str, *, environment_id: str, **options: Unpack[RequestOptions]
) -> Call[WorkItem]:
    """Get one work item as it is now (lease expiry applied)."""
    return retrieve_work(environment_id, work_id, **options)


def update(
    work_id: str,
    *,
    environment_id: str,
    metadata: MetadataPatch,
    **options: Unpack[RequestOptions],
) -> Call[WorkItem]:
    """Merge-patch a work item's metadata (a ``None`` value deletes the key); any state."""
    return update_work(environment_id, work_id, metadata, **options)


def ack(
    work_id: str,
    *,
    environment_id: str,
    worker_id: str | None = None,
    **options: Unpack[RequestOptions],
) -> Call[WorkItem]:
    """Claim a delivered work item (``queued`` -> ``starting``); pass the polling ``worker_id``."""
    return ack_work(environment_id, work_id, worker_id=worker_id, **options)


def heartbeat(
    work_id: str,
    *,
    environment_id: str,
    expected_last_heartbeat: str | None = None,
    desired_ttl_seconds: int | None = None,
    **options: Unpack[RequestOptions],
) -> Call[HeartbeatResult]:
    """Extend the lease; ``expected_last_heartbeat``: ``"NO_HEARTBEAT"`` or the last one seen."""
    return heartbeat_work(
        environment_id,
        work_id,
        expected_last_heartbeat=expected_last_heartbeat,
        desired_ttl_seconds=desired_ttl_seconds,
        **options,
    )


def stop(
    work_id: str,
    *,
    environment_id: str,
    force: bool = False,
    **options: Unpack[RequestOptions],
) -> Call[WorkItem]:
    """Stop a work item: gracefully (active -> stopping -> stopped) or, with ``force``, at once."""
    return stop_work(environment_id, work_id, force=force, **options)
