"""spec/work.md §3–§4: every cell of the state × operation table (poll, ack, heartbeat).

Stop and metadata update are in ``test_work_table_2.py``.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import assert_error, create_environment, create_session
from workyard.clock import ManualClock, format_ts

STATES = ["queued", "starting", "active", "stopping", "stopped"]
WORKER = "worker-alpha-7f3a9c"
OTHER = "worker-bravo-91be42"
OLD_TS = "2020-01-01T00:00:00.000000Z"


def work_path(env_id: str, work_id: str = "", suffix: str = "") -> str:
    """``…/work``, ``…/work/{work_id}{suffix}`` or, with no id, ``…/work{suffix}``."""
    base = f"/environments/{env_id}/work"
    return f"{base}/{work_id}{suffix}" if work_id else base + suffix


def acked(response: httpx.Response) -> dict[str, Any]:
    """A successful ack's item, with the credential it minted (checked, then set aside)."""
    assert response.status_code == 200, response.text
    item: dict[str, Any] = response.json()
    assert item["secret"].startswith(f"wis-{item['id']}.")
    return item | {"secret": None}


async def get_item(client: httpx.AsyncClient, env_id: str, work_id: str) -> dict[str, Any]:
    response = await client.get(work_path(env_id, work_id))
    assert response.status_code == 200, response.text
    item: dict[str, Any] = response.json()
    return item


async def build_item(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str, state: str
) -> dict[str, Any]:
    """An item brought to ``state`` through the API, one clock second per step."""
    session = await create_session(client, env_id, metadata={"k": "v"})
    work_id: str = session["work_id"]
    steps: list[tuple[str, str, dict[str, Any]]] = [
        ("starting", "/ack", {"headers": {"Worker-ID": WORKER}}),
        ("active", "/heartbeat", {"params": {"expected_last_heartbeat": "NO_HEARTBEAT"}}),
        ("stopping", "/stop", {}),
        ("stopped", "/stop", {}),
    ]
    if state != "queued":
        clock.advance(1)
        polled = await client.get(work_path(env_id, "", "/poll"), headers={"Worker-ID": WORKER})
        assert polled.json()["id"] == work_id
    for reached, suffix, kwargs in steps:
        if STATES.index(state) < STATES.index(reached):
            break
        clock.advance(1)
        response = await client.post(work_path(env_id, work_id, suffix), **kwargs)
        assert response.status_code == 200, response.text
    item = await get_item(client, env_id, work_id)
    assert item["state"] == state
    return item


def assert_only_changed(before: dict[str, Any], after: dict[str, Any], **changed: Any) -> None:
    """``after`` equals ``before`` except for the fields named, which have the values given."""
    assert set(after) == set(before)
    for key, value in before.items():
        expected = changed.get(key, value)
        assert after[key] == expected, (key, after[key], expected)


@pytest.fixture
async def env_id(client: httpx.AsyncClient) -> str:
    env = await create_environment(client)
    result: str = env["id"]
    return result


# poll ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", STATES)
async def test_poll_by_state(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str, state: str
) -> None:
    before = await build_item(client, clock, env_id, state)
    clock.advance(1)
    # reclaim 0: any queued item is deliverable whatever its delivery record, so only state decides
    response = await client.get(work_path(env_id, "", "/poll"), params={"reclaim_older_than_ms": 0})
    assert response.status_code == 200
    if state == "queued":
        assert response.json() == before
    else:
        assert response.text.strip() == "null"
        assert response.json() is None
    assert await get_item(client, env_id, before["id"]) == before


# ack -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("worker", ["same", "absent"])
@pytest.mark.parametrize("state", STATES)
async def test_ack_same_or_absent_worker(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str, state: str, worker: str
) -> None:
    before = await build_item(client, clock, env_id, state)
    if state == "queued":
        polled = await client.get(work_path(env_id, "", "/poll"), headers={"Worker-ID": WORKER})
        assert polled.json()["id"] == before["id"]
    clock.advance(1)
    now = format_ts(clock.now())
    headers = {"Worker-ID": WORKER} if worker == "same" else {}
    response = await client.post(work_path(env_id, before["id"], "/ack"), headers=headers)
    after = await get_item(client, env_id, before["id"])
    if state == "queued":
        assert_only_changed(before, acked(response), state="starting", acknowledged_at=now)
        assert after == acked(response)
    elif state in ("starting", "active"):
        # a safe retry: nothing moves, not even acknowledged_at (only a fresh credential)
        assert acked(response) == before
        assert after == before
    else:
        body = assert_error(response, 409, "invalid_request_error")
        assert state in body["error"]["message"]
        assert after == before


@pytest.mark.parametrize("state", STATES)
async def test_ack_by_different_worker_conflicts(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str, state: str
) -> None:
    before = await build_item(client, clock, env_id, state)
    if state == "queued":
        polled = await client.get(work_path(env_id, "", "/poll"), headers={"Worker-ID": WORKER})
        assert polled.json()["id"] == before["id"]
        before = await get_item(client, env_id, before["id"])
    clock.advance(1)
    response = await client.post(
        work_path(env_id, before["id"], "/ack"), headers={"Worker-ID": OTHER}
    )
    assert_error(response, 409, "invalid_request_error")
    assert await get_item(client, env_id, before["id"]) == before


async def test_ack_of_never_delivered_item_is_allowed_and_records_the_worker(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str
) -> None:
    before = await build_item(client, clock, env_id, "queued")
    clock.advance(1)
    now = format_ts(clock.now())
    response = await client.post(
        work_path(env_id, before["id"], "/ack"), headers={"Worker-ID": WORKER}
    )
    assert_only_changed(before, acked(response), state="starting", acknowledged_at=now)
    # the ack's Worker-ID is now the lease holder's identity
    other = await client.post(work_path(env_id, before["id"], "/ack"), headers={"Worker-ID": OTHER})
    assert_error(other, 409, "invalid_request_error")
    retry = await client.post(
        work_path(env_id, before["id"], "/ack"), headers={"Worker-ID": WORKER}
    )
    assert acked(retry) == acked(response)
    assert retry.json()["secret"] != response.json()["secret"]  # each ack mints a fresh one


async def test_ack_of_never_delivered_item_without_worker_id(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str
) -> None:
    before = await build_item(client, clock, env_id, "queued")
    clock.advance(1)
    now = format_ts(clock.now())
    response = await client.post(work_path(env_id, before["id"], "/ack"))
    assert_only_changed(before, acked(response), state="starting", acknowledged_at=now)


async def test_ack_retries_keep_the_first_acknowledged_at(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str
) -> None:
    item = await build_item(client, clock, env_id, "queued")
    first = await client.post(work_path(env_id, item["id"], "/ack"), headers={"Worker-ID": WORKER})
    for _ in range(3):
        clock.advance(2)
        again = await client.post(
            work_path(env_id, item["id"], "/ack"), headers={"Worker-ID": WORKER}
        )
        assert acked(again) == acked(first)
    assert (await get_item(client, env_id, item["id"]))["acknowledged_at"] == format_ts(
        clock.now() - 6_000_000
    )


# heartbeat -------------------------------------------------------------------------------------


def _precondition(item: dict[str, Any], kind: str) -> dict[str, str]:
    latest = item["latest_heartbeat_at"]
    if kind == "omitted":
        return {}
    if kind == "holds":
        return {"expected_last_heartbeat": "NO_HEARTBEAT" if latest is None else latest}
    return {"expected_last_heartbeat": OLD_TS if latest is None else "NO_HEARTBEAT"}


@pytest.mark.parametrize("precondition", ["holds", "omitted"])
@pytest.mark.parametrize("state", STATES)
async def test_heartbeat_precondition_holds(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str, state: str, precondition: str
) -> None:
    before = await build_item(client, clock, env_id, state)
    clock.advance(1)
    now = format_ts(clock.now())
    response = await client.post(
        work_path(env_id, before["id"], "/heartbeat"), params=_precondition(before, precondition)
    )
    after = await get_item(client, env_id, before["id"])
    if state in ("queued", "stopped"):
        body = assert_error(response, 409, "invalid_request_error")
        assert state in body["error"]["message"]
        assert after == before
        return
    assert response.status_code == 200, response.text
    assert response.json() == {
        "type": "work_heartbeat",
        "last_heartbeat": now,
        "lease_extended": True,
        "state": "active" if state in ("starting", "active") else "stopping",
        "ttl_seconds": 60,
    }
    if state == "starting":
        assert_only_changed(before, after, state="active", started_at=now, latest_heartbeat_at=now)
    else:
        assert_only_changed(before, after, latest_heartbeat_at=now)
    # the lease now runs 60 s from this heartbeat (the previous one would end 1 s earlier)
    clock.advance(59.999999)
    assert (await get_item(client, env_id, before["id"]))["state"] == after["state"]


@pytest.mark.parametrize("state", STATES)
async def test_heartbeat_precondition_fails(
    client: httpx.AsyncClient, clock: ManualClock, env_id: str, state: str
) -> None:
    before = await build_item(client, clock, env_id, state)
    clock.advance(1)
    response = await client.post(
        work_path(env_id, before["id"], "/heartbeat"), params=_precondition(before, "fails")
    )
    if state in ("queued", "stopped"):
        body = assert_error(response, 409, "invalid_request_error")
        assert state in body["error"]["message"]
    else:
        assert_error(response, 412, "precondition_failed_error")
        assert WORKER not in response.text  # the holder's identity does not leak
    assert await get_item(client, env_id, before["id"]) == before
