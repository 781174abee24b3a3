"""Every operation of ``/openapi.json``, driven with generated requests against a real server.

Valid and invalid parameters, bodies and headers (schemathesis, from our own OpenAPI document):
no request may produce a 5xx, every answer must use a documented status and content type, and every
body must match its documented schema (the error envelope included). Generation is derandomized so
that a failure reproduces on every run.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.conftest import ServerProcess, serving
from workyard.api.app import create_app
from workyard.api.openapi import build_openapi
from workyard.config import Settings
from workyard.service.container import build_services

_WELL_FORMED = re.compile(r"(env|sess|work)_[0-9a-f]{32}")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _document() -> dict[str, Any]:
    document = build_openapi("workyard", "test", "")
    # The live stream never ends on its own; its frames are covered by the SSE tests.
    del document["paths"]["/api/v1/cloud/sessions/{session_id}/events/stream"]
    return document


SCHEMA = schemathesis.openapi.from_dict(_document())
SCHEMA.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """A real server on each backend."""
    with serving(request.param, tmp_path_factory.mktemp("fuzz") / "data") as server:
        yield server


@pytest.fixture(scope="module")
def http(live: ServerProcess) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {live.token}"
        yield session


def _new_environment(live: ServerProcess, http: requests.Session) -> str:
    body: dict[str, Any] = {"name": "fuzz", "config": {"type": "self_hosted"}}
    response = http.post(f"{live.api}/environments", json=body, timeout=10)
    response.raise_for_status()
    env_id: str = response.json()["id"]
    return env_id


@pytest.fixture(scope="module")
def current(live: ServerProcess, http: requests.Session) -> dict[str, str]:
    """The environment the generated cases work in (replaced when a case archives it)."""
    return {"environment_id": _new_environment(live, http)}


def _real_ids(
    live: ServerProcess, http: requests.Session, current: dict[str, str]
) -> dict[str, str]:
    """Ids of an environment, a session and its work item that exist (generated ids never do).

    Generated cases may delete the session or archive the environment; a new one is made then.
    """
    env_id = current["environment_id"]
    listed = http.get(f"{live.api}/sessions", params={"environment_id": env_id}, timeout=10)
    sessions = listed.json()["data"]
    if not sessions:
        env = http.get(f"{live.api}/environments/{env_id}", timeout=10).json()
        if env["archived_at"] is not None:
            env_id = current["environment_id"] = _new_environment(live, http)
        made = http.post(f"{live.api}/sessions", json={"environment_id": env_id}, timeout=10)
        sessions = [made.json()]
    session = sessions[0]
    return {
        "environment_id": session["environment_id"],
        "session_id": session["id"],
        "work_id": session["work_id"],
    }


@SCHEMA.parametrize()
@settings(
    max_examples=100,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_operation_keeps_its_contract(
    case: schemathesis.Case[Any],
    live: ServerProcess,
    http: requests.Session,
    current: dict[str, str],
) -> None:
    if case.path_parameters:
        # Well-formed generated ids point at real objects, so that the operation itself runs.
        real = _real_ids(live, http, current)
        for name, value in case.path_parameters.items():
            if name in real and isinstance(value, str) and _WELL_FORMED.fullmatch(value):
                case.path_parameters[name] = real[name]
    case.call_and_validate(base_url=live.url, session=http, checks=CHECKS, timeout=10)


def test_the_document_lists_every_api_route(tmp_path: Path) -> None:
    app = create_app(build_services(Settings(data_dir=tmp_path)))
    documented = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    served = {(route.method, route.path) for route in app.routes if route.path.startswith("/api/")}
    assert ("GET", "/api/v1/cloud/environments/{environment_id}/work/poll") in served
    assert served == documented
