"""Request ids: the client's when sane, otherwise generated UUIDs unique per process and request."""

from __future__ import annotations

import os
import uuid

import httpx

from workyard.api.middleware import new_request_id


def test_generated_ids_are_distinct_version_8_uuids() -> None:
    ids = [new_request_id() for _ in range(1000)]
    assert len(set(ids)) == len(ids)
    for rid in ids[:10]:
        parsed = uuid.UUID(rid)
        assert str(parsed) == rid
        assert parsed.version == 8
        assert parsed.variant == uuid.RFC_4122


def test_a_forked_process_draws_a_new_prefix() -> None:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report one id and leave at once
        os.write(write, new_request_id().encode())
        os._exit(0)
    os.close(write)
    child_id = os.read(read, 100).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert child_id[:19] != new_request_id()[:19]


async def test_every_response_echoes_one_request_id(client: httpx.AsyncClient) -> None:
    mine = await client.get("/environments", headers={"x-request-id": "trace-1"})
    assert mine.headers.get_list("x-request-id") == ["trace-1"]
    insane = await client.get("/environments", headers={"x-request-id": "bad id!"})
    generated = insane.headers.get_list("x-request-id")
    assert len(generated) == 1
    assert uuid.UUID(generated[0]).version == 8
    missing = await client.get("/nope")
    assert missing.headers["x-request-id"] == missing.json()["request_id"]
