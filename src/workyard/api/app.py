"""The application factory and its ASGI entry: every request is handled in one pass.

:class:`WorkyardApp` reads the headers once (request id, body length), finds the route in the
:class:`~workyard.api.router.RouteTable`, applies the body limit and the draining rule, calls the
handler, renders every error as the envelope, echoes ``x-request-id`` and ends in :meth:`_finish`
with the status, the duration and the route template (``scope["route_template"]``) known.
"""

from __future__ import annotations

from collections.abc import Callable
from time import perf_counter
from typing import Any

from starlette.datastructures import State
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from workyard.api.budget import SMALL_BODY, BodyBudget, BudgetedReceive
from workyard.api.docs import docs_routes
from workyard.api.draining import draining_error, refused_while_draining
from workyard.api.errors import error_for, render_error
from workyard.api.idempotency import IdempotencyMiddleware, is_keyed
from workyard.api.inputs import BodyTooLargeError
from workyard.api.metrics import Metrics
from workyard.api.middleware import read_request_headers
from workyard.api.openapi import build_openapi
from workyard.api.queue_metrics import fencing_rejected
from workyard.api.router import Handler, Match, RouteTable
from workyard.api.routes import environments, events, ops, sessions, work
from workyard.errors import MethodNotAllowedError, NotFoundError, WorkyardError
from workyard.logs import access
from workyard.logs import begin as begin_request_log
from workyard.service.container import Services
from workyard.ui import router as ui_router

__all__ = ["API_PREFIX", "UNMATCHED", "WorkyardApp", "create_app"]

API_PREFIX = "/api/v1/cloud"
UNMATCHED = "unmatched"
TITLE, VERSION = "workyard", "0.1.0"
SUMMARY = "Self-hosted work queue, wire-compatible with the Qoder Cloud Agents API."
# Long polls and event streams (metrics labels): counted, but kept out of the latency histogram.
UNTIMED_ROUTES = frozenset(
    {"/environments/{environment_id}/work/poll", "/sessions/{session_id}/events/stream"}
)
_PLAIN_CALL = Response.__call__
_MATCH = "workyard.match"  # scope key: the request's route, matched once


def create_app(services: Services, *, manage_lifecycle: bool = True) -> WorkyardApp:
    """An app serving ``services``; with ``manage_lifecycle`` it opens and closes them itself."""
    table = RouteTable()
    table.include(ops.router)
    for routes in (environments, sessions, events, work):
        table.include(routes.router, prefix=API_PREFIX)
    table.include(ui_router)
    document = build_openapi(TITLE, VERSION, SUMMARY)
    table.include(docs_routes(document))
    return WorkyardApp(services, table, document, manage_lifecycle=manage_lifecycle)


class WorkyardApp:
    """The ASGI application (``app.state.services``, ``app.routes`` and ``app.openapi()``)."""

    def __init__(
        self,
        services: Services,
        table: RouteTable,
        document: dict[str, Any],
        *,
        manage_lifecycle: bool,
    ) -> None:
        self.state = State()
        self.state.services = services
        self.state.metrics = self.metrics = Metrics(services.queue, UNTIMED_ROUTES)
        self.routes = table.routes
        self._table = table
        self._document = document
        self._services = services
        self._manage = manage_lifecycle
        self._draining = services.queue.draining
        self._max_body = services.settings.max_body_bytes
        self.body_budget = BodyBudget(services.settings.max_body_buffer_bytes)
        self._idempotency = IdempotencyMiddleware(self._dispatch, services)

    def openapi(self) -> dict[str, Any]:
        return self._document

    def route(self, method: str, path: str) -> Callable[[Handler], Handler]:
        """Register one more route (after creation; tests add routes this way)."""

        def register(endpoint: Handler) -> Handler:
            self._table.add(method, path, endpoint)
            return endpoint

        return register

    def get(self, path: str) -> Callable[[Handler], Handler]:
        return self.route("GET", path)

    def post(self, path: str) -> Callable[[Handler], Handler]:
        return self.route("POST", path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        else:
            await send({"type": "websocket.close", "code": 1000})

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = perf_counter()
        scope["app"] = self
        rid, length, count_body = read_request_headers(scope)
        begin_request_log(scope)
        match = self._table.match(scope["method"], scope["path"])
        if match is None:
            scope["route_template"] = scope["route_label"] = UNMATCHED
        else:
            scope["route_template"], scope["route_label"] = match[0].path, match[0].label
        scope[_MATCH] = match
        status = [500]
        budgeted = None
        if count_body or length > SMALL_BODY:  # counted against its limit and the budget
            limit = self._max_body if count_body else None
            receive = budgeted = BudgetedReceive(receive, self.body_budget, limit)
        try:
            if length > self._max_body:
                await self._send(scope, receive, send, _too_large(rid), status)
            elif scope["method"] == "POST" and is_keyed(scope):
                # Idempotency-Key: replayed or recorded around the route (api/idempotency.py)
                await self._idempotency(scope, receive, _Echo(send, rid, status))
            else:
                response = await self._respond(scope, receive, rid, match)
                await self._send(scope, receive, send, response, status)
        finally:
            if budgeted is not None:
                budgeted.release()
            self._finish(scope, status[0], started)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The route as an ASGI app, for the idempotency wrapper (its body is already counted;
        its route was matched in :meth:`_http`)."""
        match: Match | None = scope[_MATCH]
        response = await self._respond(scope, receive, scope["state"]["request_id"], match)
        await self._send(scope, receive, send, response, None)

    @staticmethod
    async def _send(
        scope: Scope, receive: Receive, send: Send, response: Response, status: list[int] | None
    ) -> None:
        if status is not None:
            status[0] = response.status_code
        response.raw_headers.append((b"x-request-id", scope["state"]["request_id"].encode()))
        if type(response).__call__ is _PLAIN_CALL and response.background is None:
            headers = response.raw_headers
            start = {"type": "http.response.start", "status": response.status_code}
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": response.body})
        else:
            await response(scope, receive, send)

    async def _respond(
        self, scope: Scope, receive: Receive, rid: str, match: Match | None
    ) -> Response:
        path = scope["path"]
        if self._draining.is_set() and refused_while_draining(path):
            return render_error(rid, draining_error())
        if match is None:
            return render_error(rid, self._unmatched(scope["method"], path))
        route, params = match
        scope["path_params"] = params
        request = None
        if route.takes_request:
            request = Request(scope, receive)
        try:
            return await route.call(request, params)
        except ClientDisconnect:
            # The client left (or a receive timeout cut it off) mid-body: nobody reads an answer,
            # and it is not a server fault. 499 is nginx's "client closed request" (metrics, logs).
            return Response(status_code=499)
        except Exception as exc:
            error = error_for(exc, scope["method"], path)
            if error.status in (409, 412):
                fencing_rejected(self.metrics.queue, path, error)
            return render_error(rid, error)

    def _unmatched(self, method: str, path: str) -> WorkyardError:
        if self._table.allows_other_method(method, path):
            return MethodNotAllowedError()
        return NotFoundError("No such route.")

    def _finish(self, scope: Scope, status: int, started: float) -> None:
        """Every HTTP request ends here once: its status, duration and route template are known."""
        elapsed = perf_counter() - started
        self.metrics.observe(scope["method"], scope["route_label"], status, elapsed)
        access(scope, scope["route_template"], status, elapsed)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    if self._manage:
                        await self._services.start()
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                try:
                    if self._manage:
                        await self._services.stop()
                except Exception as exc:
                    await send({"type": "lifespan.shutdown.failed", "message": repr(exc)})
                    return
                await send({"type": "lifespan.shutdown.complete"})
                return


def _too_large(rid: str) -> Response:
    """A declared body over the limit: refused before reading it, and the connection closed."""
    response = render_error(rid, BodyTooLargeError())
    response.raw_headers.append((b"connection", b"close"))
    return response


class _Echo:
    """The ``send`` of a keyed request: every response (a replay too) echoes ``x-request-id``."""

    __slots__ = ("_rid", "_send", "_status")

    def __init__(self, send: Send, rid: str, status: list[int]) -> None:
        self._send, self._rid, self._status = send, rid.encode(), status

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self._status[0] = message["status"]
            headers = [h for h in message.get("headers", []) if h[0] != b"x-request-id"]
            message = {**message, "headers": [*headers, (b"x-request-id", self._rid)]}
        await self._send(message)
