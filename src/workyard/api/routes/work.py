"""``/environments/{id}/work…`` (spec/work.md §5). Fixed routes come before ``{work_id}``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from workyard.api import wire
from workyard.api.inputs import (
    body_bool,
    path_id,
    query_int,
    query_str,
    read_body,
    worker_id_header,
)
from workyard.api.protocol import DISCONNECT
from workyard.api.router import Routes
from workyard.api.routes.common import authenticate, json_response, pagination, services
from workyard.clock import Instant, format_ts, parse_ts
from workyard.domain import work as wm
from workyard.domain.metadata import validate_patch
from workyard.domain.models import WorkItem, WorkState
from workyard.errors import InvalidRequestError
from workyard.service.auth import Principal
from workyard.service.credentials import mint_item_secret

__all__ = ["router"]

router = Routes()
_BASE = "/environments/{environment_id}/work"


def _states(request: Request) -> tuple[WorkState, ...] | None:
    raw = query_str(request, "state")
    if raw is None:
        return None
    try:
        return tuple(WorkState(part) for part in raw.split(","))
    except ValueError:
        allowed = ", ".join(s.value for s in WorkState)
        raise InvalidRequestError(
            f"state must be one or more of {allowed}", param="state"
        ) from None


@router.get(_BASE)
async def list_work(request: Request, environment_id: str) -> Response:
    principal = await authenticate(request)
    page = pagination(request, "work")
    states = _states(request)
    env_id = path_id("env", environment_id, "Environment")
    result = await services(request).queue.list(principal, env_id, states, page)
    return json_response(wire.page(result, wire.work, lambda w: w.id))


@router.get(_BASE + "/poll")
async def poll_work(request: Request, environment_id: str) -> Response:
    principal = await authenticate(request)
    block_ms = query_int(request, "block_ms", minimum=1, maximum=999)
    reclaim = query_int(request, "reclaim_older_than_ms", minimum=0)
    worker_id = worker_id_header(request)
    env_id = path_id("env", environment_id, "Environment")
    reclaim_ms = wm.DEFAULT_RECLAIM_MS if reclaim is None else min(reclaim, wm.MAX_RECLAIM_MS)
    queue = services(request).queue
    gone: asyncio.Future[Any] | None = request.scope.get("extensions", {}).get(DISCONNECT)
    in_flight = request.app.state.metrics.queue.polls
    if block_ms is None:  # nothing to wait for: no abandon future, no credential watch
        polling = queue.poll(principal, env_id, worker_id, None, reclaim_ms)
    else:
        polling = _blocked_poll(request, principal, env_id, worker_id, block_ms, reclaim_ms, gone)
    item = await in_flight.around(polling)
    if item is None:
        return json_response(None)
    return _Delivery(bytes(json_response(wire.work(item)).body), gone, lambda: queue.release(item))


async def _blocked_poll(
    request: Request,
    principal: Principal,
    env_id: str,
    worker_id: str | None,
    block_ms: int,
    reclaim_ms: int,
    gone: asyncio.Future[Any] | None,
) -> WorkItem | None:
    """A poll that may wait: it gives up, claiming nothing, when its client goes away or its
    credential dies."""
    svc = services(request)
    abandon: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    watcher = None
    if gone is not None:
        gone.add_done_callback(_chain(abandon))
    else:  # no server hook (in-process ASGI): watch receive() for the disconnect
        watcher = asyncio.create_task(_await_disconnect(request.receive, abandon))
    with svc.tokens.watch(principal) as dead:  # a poll of a token that dies answers null
        chained = _chain(abandon)
        dead.add_done_callback(chained)
        try:
            return await svc.queue.poll(principal, env_id, worker_id, block_ms, reclaim_ms, abandon)
        finally:
            dead.remove_done_callback(chained)
            if watcher is not None:
                watcher.cancel()


def _complete(abandon: asyncio.Future[Any]) -> None:
    if not abandon.done():
        abandon.set_result(None)


async def _await_disconnect(receive: Receive, abandon: asyncio.Future[Any]) -> None:
    """After the request body, ``receive()`` blocks until the client disconnects (ASGI)."""
    message = await receive()
    while message["type"] == "http.request" and message.get("more_body", False):
        message = await receive()
    if message["type"] != "http.disconnect":
        message = await receive()
    if message["type"] == "http.disconnect":
        _complete(abandon)


class _Delivery(Response):
    """A claimed item's response: if the client is gone by the time it is sent, the delivery is
    undone at once (the item goes back to undelivered) instead of blocking a delivery window."""

    def __init__(
        self,
        body: bytes,
        gone: asyncio.Future[Any] | None,
        undo: Callable[[], Awaitable[None]],
    ) -> None:
        super().__init__(body, media_type="application/json")
        self._gone, self._undo = gone, undo

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._gone is not None and self._gone.done():
            await self._undo()
        await super().__call__(scope, receive, send)


def _chain(target: asyncio.Future[None]) -> Callable[[asyncio.Future[None]], None]:
    """A done-callback that completes ``target`` when its future ends (not when cancelled)."""

    def complete(source: asyncio.Future[None]) -> None:
        if not source.cancelled() and not target.done():
            target.set_result(None)

    return complete


@router.get(_BASE + "/stats")
async def work_stats(request: Request, environment_id: str) -> Response:
    principal = await authenticate(request)
    env_id = path_id("env", environment_id, "Environment")
    return json_response(wire.stats(await services(request).queue.stats(principal, env_id)))


@router.get(_BASE + "/{work_id}")
async def get_work(request: Request, environment_id: str, work_id: str) -> Response:
    principal = await authenticate(request)
    env_id = path_id("env", environment_id, "Environment")
    item = await services(request).queue.get(principal, env_id, _work_id(work_id, env_id))
    return json_response(wire.work(item))


def _work_id(work_id: str, env_id: str) -> str:
    return path_id("work", work_id, f"Work item (in environment {env_id})")


@router.post(_BASE + "/{work_id}")
async def update_work(request: Request, environment_id: str, work_id: str) -> Response:
    principal = await authenticate(request)
    body = await read_body(request)
    patch = body.get("metadata")
    if patch is not None:
        validate_patch(patch)  # 400 before 404 (spec/work.md §3); the key count needs the item
    env_id = path_id("env", environment_id, "Environment")
    queue = services(request).queue
    wid = _work_id(work_id, env_id)
    if patch is None:
        item = await queue.get(principal, env_id, wid, own_item=True)
    else:
        item = await queue.mutate(
            principal, env_id, wid, lambda w, _: wm.update_metadata(w, patch), own_item=True
        )
    return json_response(wire.work(item))


@router.post(_BASE + "/{work_id}/ack")
async def ack_work(request: Request, environment_id: str, work_id: str) -> Response:
    principal = await authenticate(request)
    await read_body(request)
    worker_id = worker_id_header(request)
    env_id = path_id("env", environment_id, "Environment")
    queue = services(request).queue
    ttl = queue.default_ttl
    wid = _work_id(work_id, env_id)
    secret, secret_hash = mint_item_secret(wid)  # every ack mints; it replaces the previous one
    item = await queue.mutate(
        principal, env_id, wid, lambda w, now: wm.grant(wm.ack(w, worker_id, now, ttl), secret_hash)
    )
    return json_response(wire.work(item, secret=secret))


def _expected(request: Request) -> str | Instant | None:
    raw = query_str(request, "expected_last_heartbeat")
    if raw is None or raw == wm.NO_HEARTBEAT:
        return raw
    try:
        return parse_ts(raw)
    except ValueError:
        raise InvalidRequestError(
            "expected_last_heartbeat must be NO_HEARTBEAT or an RFC 3339 timestamp",
            param="expected_last_heartbeat",
        ) from None


@router.post(_BASE + "/{work_id}/heartbeat")
async def heartbeat_work(request: Request, environment_id: str, work_id: str) -> Response:
    principal = await authenticate(request)
    expected = _expected(request)
    desired = query_int(
        request,
        "desired_ttl_seconds",
        minimum=1,
        message="desired_ttl_seconds must be a positive integer",
    )
    env_id = path_id("env", environment_id, "Environment")
    queue = services(request).queue
    ttl_box: list[int] = []

    def beat(item: WorkItem, now: Instant) -> WorkItem:
        result = wm.heartbeat(item, expected, desired, now, queue.default_ttl)
        ttl_box.append(result.ttl_seconds)
        return result.item

    item = await queue.mutate(principal, env_id, _work_id(work_id, env_id), beat, own_item=True)
    assert item.latest_heartbeat_at is not None
    return json_response(
        {
            "type": "work_heartbeat",
            "last_heartbeat": format_ts(item.latest_heartbeat_at),
            "lease_extended": True,
            "state": item.state.value,
            "ttl_seconds": ttl_box[-1],
        }
    )


@router.post(_BASE + "/{work_id}/stop")
async def stop_work(request: Request, environment_id: str, work_id: str) -> Response:
    principal = await authenticate(request)
    body = await read_body(request)
    force = body_bool(body, "force", False)
    env_id = path_id("env", environment_id, "Environment")
    item = await services(request).queue.mutate(
        principal,
        env_id,
        _work_id(work_id, env_id),
        lambda w, now: wm.stop(w, force, now),
        own_item=True,
    )
    return json_response(wire.work(item))
