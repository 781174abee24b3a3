"""The router: literal routes before parametrised ones, parameters by position, 404 versus 405."""

from __future__ import annotations

import pytest
from starlette.requests import Request
from starlette.responses import Response

from workyard.api.router import Routes, RouteTable


async def _ok(request: Request) -> Response:
    return Response(b"")


async def _poll(request: Request, environment_id: str) -> Response:
    return Response(b"")


async def _one(request: Request, work_id: str) -> Response:
    return Response(work_id.encode())


async def _two(request: Request, environment_id: str, work_id: str) -> Response:
    return Response(b"")


async def _bare(name: str) -> Response:
    return Response(name.encode())


def _table() -> RouteTable:
    routes = Routes(prefix="/e")
    routes.get("/{environment_id}/work/{work_id}")(_two)
    routes.get("/{environment_id}/work/poll")(_poll)
    routes.post("/{environment_id}/work/{work_id}/ack")(_two)
    table = RouteTable()
    table.include(routes, prefix="/api")
    table.add("GET", "/w/{work_id}", _one)
    table.add("GET", "/static/{name}", _bare)
    return table


def test_a_literal_segment_wins_over_a_parameter_registered_before_it() -> None:
    match = _table().match("GET", "/api/e/env_1/work/poll")
    assert match is not None
    assert match[0].endpoint is _poll
    assert match[1] == {"environment_id": "env_1"}


def test_parameters_are_taken_by_position() -> None:
    match = _table().match("POST", "/api/e/env_1/work/work_2/ack")
    assert match is not None
    assert match[0].path == "/api/e/{environment_id}/work/{work_id}/ack"
    assert match[0].label == "/e/{environment_id}/work/{work_id}/ack"
    assert match[1] == {"environment_id": "env_1", "work_id": "work_2"}
    one = _table().match("GET", "/w/x")
    assert one is not None
    assert one[1] == {"work_id": "x"}


@pytest.mark.parametrize(
    "path",
    [
        "/api/e/env_1/work/",
        "/api/e//work/w",
        "/w/",
        "/api/e/env_1/work/w/",
        "/api/x/env_1/work/w",
        "/api/e/env_1/work",
    ],
)
def test_a_parameter_needs_a_whole_non_empty_segment(path: str) -> None:
    assert _table().match("GET", path) is None


def test_another_method_on_a_known_path_is_405_not_404() -> None:
    table = _table()
    assert table.match("POST", "/api/e/env_1/work/w") is None
    assert table.allows_other_method("POST", "/api/e/env_1/work/w")
    assert not table.allows_other_method("POST", "/api/e/env_1/nothing/w")


async def test_a_handler_without_a_request_gets_only_its_parameters() -> None:
    match = _table().match("GET", "/static/ui.js")
    assert match is not None
    route, params = match
    assert not route.takes_request
    request = Request({"type": "http", "method": "GET", "path": "/static/ui.js", "headers": []})
    response = await route.call(request, params)
    assert response.body == b"ui.js"


def test_a_handler_must_take_exactly_its_path_parameters() -> None:
    table = RouteTable()
    with pytest.raises(ValueError, match="path parameters"):
        table.add("GET", "/w/{other}", _one)
    table.add("GET", "/w", _ok)
    with pytest.raises(ValueError, match="twice"):
        table.add("GET", "/w", _ok)
