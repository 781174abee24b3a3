"""A small router: routes indexed by method and segment count, path parameters taken by position.

Matching never walks the whole table. A path without parameters is one dict lookup; any other path
is checked only against the routes of its method with the same number of segments (at most a few),
each by comparing its literal segments at fixed positions. The route with fewer parameters wins
(``/work/poll`` before ``/work/{work_id}``, whatever the order they were registered in), then the
first registered. A parameter matches one non-empty segment, as Starlette's ``{name}`` does.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

__all__ = ["Handler", "Match", "Route", "RouteTable", "Routes"]

Handler = Callable[..., Awaitable[Any]]  # answers a Response


@dataclass(frozen=True, slots=True)
class Route:
    """One registered operation: ``path`` is its template, ``label`` its metrics label."""

    method: str
    path: str
    label: str
    endpoint: Handler
    param_names: tuple[str, ...]
    takes_request: bool
    literals: Callable[[list[str]], Any]
    literal_values: Any
    params: Callable[[list[str]], Any] | None

    @property
    def methods(self) -> frozenset[str]:
        return frozenset((self.method,))

    async def call(self, request: Request | None, path_params: dict[str, str]) -> Response:
        """Call the handler (``request`` may be ``None`` when it takes none)."""
        if self.takes_request:
            response: Response = await self.endpoint(request, **path_params)
        else:
            response = await self.endpoint(**path_params)
        return response


Match = tuple[Route, dict[str, str]]
_NO_PARAMS: dict[str, str] = {}


def _getter(positions: list[int]) -> tuple[Callable[[list[str]], Any], bool]:
    """An ``itemgetter`` over ``positions``; the flag says whether it returns a bare item."""
    return itemgetter(*positions), len(positions) == 1


def _build(method: str, path: str, endpoint: Handler, label: str) -> Route:
    if not path.startswith("/") or not inspect.iscoroutinefunction(endpoint):
        raise ValueError(f"{method} {path}: an absolute path and an async handler are required")
    segments = path.split("/")
    literal_at = [i for i, s in enumerate(segments) if not s.startswith("{")]
    param_at = [i for i, s in enumerate(segments) if s.startswith("{")]
    names = tuple(segments[i][1:-1] for i in param_at)
    parameters = list(inspect.signature(endpoint).parameters)
    takes_request = bool(parameters) and parameters[0] == "request"
    if sorted(parameters[1:] if takes_request else parameters) != sorted(names):
        raise ValueError(f"{method} {path}: the handler must take exactly its path parameters")
    literals, single = _getter(literal_at)
    values = segments[literal_at[0]] if single else tuple(segments[i] for i in literal_at)
    params = itemgetter(*param_at) if param_at else None
    return Route(method, path, label, endpoint, names, takes_request, literals, values, params)


class RouteTable:
    """Every route of the app, indexed for matching."""

    def __init__(self) -> None:
        self.routes: list[Route] = []
        self._static: dict[tuple[str, str], Route] = {}
        self._dynamic: dict[tuple[str, int], list[Route]] = {}

    def add(self, method: str, path: str, endpoint: Handler, label: str | None = None) -> Route:
        """Add a route; its metrics ``label`` defaults to ``path``."""
        route = _build(method, path, endpoint, path if label is None else label)
        key = (method, path)
        if not route.param_names:
            if key in self._static:
                raise ValueError(f"{method} {path} is registered twice")
            self._static[key] = route
        else:
            bucket = self._dynamic.setdefault((method, path.count("/")), [])
            bucket.append(route)
            bucket.sort(key=lambda r: len(r.param_names))  # stable: then in registration order
        self.routes.append(route)
        return route

    def include(self, routes: Routes, prefix: str = "") -> None:
        """Add ``routes`` under ``prefix`` (which their metrics labels leave out)."""
        for method, path, endpoint in routes.entries:
            full = routes.prefix + path
            self.add(method, prefix + full, endpoint, full)

    def match(self, method: str, path: str) -> Match | None:
        route = self._static.get((method, path))
        if route is not None:
            return route, _NO_PARAMS
        candidates = self._dynamic.get((method, path.count("/")))
        if candidates is None:
            return None
        segments = path.split("/")
        for route in candidates:
            if route.literals(segments) != route.literal_values:
                continue
            assert route.params is not None
            values = route.params(segments)
            if len(route.param_names) == 1:
                if values:
                    return route, {route.param_names[0]: values}
            elif "" not in values:
                return route, dict(zip(route.param_names, values, strict=True))
        return None

    def allows_other_method(self, method: str, path: str) -> bool:
        """Whether ``path`` exists for some other method (a 405 rather than a 404)."""
        methods = {m for m, _ in self._static} | {m for m, _ in self._dynamic}
        return any(self.match(other, path) for other in methods - {method})


class Routes:
    """A group of routes declared with decorators, included into a table under a prefix."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.entries: list[tuple[str, str, Handler]] = []

    def route(self, method: str, path: str) -> Callable[[Handler], Handler]:
        def register(endpoint: Handler) -> Handler:
            self.entries.append((method, path, endpoint))
            return endpoint

        return register

    def get(self, path: str) -> Callable[[Handler], Handler]:
        return self.route("GET", path)

    def post(self, path: str) -> Callable[[Handler], Handler]:
        return self.route("POST", path)

    def delete(self, path: str) -> Callable[[Handler], Handler]:
        return self.route("DELETE", path)
