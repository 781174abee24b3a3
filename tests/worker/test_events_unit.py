"""The command's event protocol: stdout classification, the outbox and the stdin feed.

The outbox and the feed talk to canned answers (``httpx.MockTransport``); the feed writes to a
real ``cat`` process, whose output is what the command would have read.
"""

from __future__ import annotations

import asyncio
import io
import json
import sys
from collections.abc import Callable
from typing import Any

import httpx

from workyard.client import AsyncClient, BadRequestError, RetryPolicy, Session, WorkItem
from workyard.client._errors import status_error
from workyard.worker import StatusLog, WorkContext
from workyard.worker.context import ItemSignals
from workyard.worker.events import (
    MAX_BATCH,
    InputFeed,
    Outbox,
    exit_error_event,
    rejected_index,
    stdout_event,
)

SESS = "sess_0190a1b2c3d4e5f60718293a4b5c6d7e"
NOW = "2026-07-01T08:00:00.000000Z"
BASE = f"/api/v1/cloud/sessions/{SESS}"

Handler = Callable[[httpx.Request], httpx.Response]


def test_plain_lines_become_agent_messages() -> None:
    assert stdout_event("hello") == {
        "type": "agent.message",
        "content": [{"type": "text", "text": "hello"}],
    }
    assert stdout_event("   ") is None
    assert stdout_event("") is None
    assert stdout_event('{"type": "user.message", "content": "x"}') == {
        "type": "agent.message",
        "content": [{"type": "text", "text": '{"type": "user.message", "content": "x"}'}],
    }
    assert stdout_event("{not json")["content"][0]["text"] == "{not json"  # type: ignore[index]
    assert stdout_event("[1, 2]")["type"] == "agent.message"  # type: ignore[index]


def test_json_lines_with_a_worker_type_are_posted_as_written() -> None:
    for line in [
        '{"type": "agent.tool_use", "name": "bash", "input": {"cmd": "ls"}}',
        ' {"type": "agent.tool_result", "tool_use_id": "t1", "content": "ok"}',
        '{"type": "session.error", "error": {"message": "boom"}}',
        '{"type": "system.message", "content": "note"}',
        '{"type": "agent.message", "content": [{"type": "text", "text": "hi"}]}',
    ]:
        assert stdout_event(line) == json.loads(line)


def test_the_exit_error_names_the_status_and_quotes_stderr() -> None:
    event = exit_error_event(3, ["first", "last"])
    assert event["type"] == "session.error"
    assert event["error"]["exit_code"] == 3
    assert event["error"]["stderr"] == ["first", "last"]
    assert event["error"]["message"] == (
        "the command exited with status 3; last stderr lines:\nfirst\nlast"
    )
    assert exit_error_event(143, [])["error"]["message"] == (
        "the command exited with status 143 (SIGTERM)"
    )


def test_rejected_index_reads_the_param() -> None:
    def bad(param: str | None) -> BadRequestError:
        error = status_error(400, {"error": {"message": "bad", "param": param}})
        assert isinstance(error, BadRequestError)
        return error

    assert rejected_index(bad("events[2].content"), 3) == 2
    assert rejected_index(bad("events[0]"), 1) == 0
    assert rejected_index(bad("events[3].type"), 3) is None
    assert rejected_index(bad("events"), 3) is None
    assert rejected_index(bad(None), 3) is None


class Server:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)

    def context(self, log: io.StringIO) -> WorkContext:
        http = httpx.AsyncClient(transport=httpx.MockTransport(self))
        client = AsyncClient("http://t", "pt-x", http_client=http, retry_policy=RetryPolicy(0))
        item = WorkItem.from_dict({"id": "work_1", "state": "active", "environment_id": "env_1"})
        session = Session.from_dict({"id": SESS, "title": "t", "status": "running"})
        return WorkContext(
            client=client,
            item=item,
            session=session,
            worker_id="w1",
            signals=ItemSignals(),
            log=StatusLog("json", log),
        )

    def posted(self) -> list[list[dict[str, Any]]]:
        return [json.loads(r.content)["events"] for r in self.requests if r.method == "POST"]


def created(request: httpx.Request) -> httpx.Response:
    sent = json.loads(request.content)["events"]
    return httpx.Response(
        200, json={"data": [{**e, "id": "evt_x", "session_id": SESS} for e in sent]}
    )


async def test_the_outbox_posts_in_order_in_batches_of_at_most_100() -> None:
    server = Server(created)
    outbox = Outbox(server.context(io.StringIO()), interval=0.0)
    outbox.start()
    events = [{"type": "agent.message", "content": f"line {n}"} for n in range(250)]
    for event in events:
        outbox.put(event)
    await outbox.close(30)
    batches = server.posted()
    assert all(1 <= len(batch) <= MAX_BATCH for batch in batches)
    assert [e for batch in batches for e in batch] == events
    assert (outbox.posted, outbox.dropped) == (250, 0)


async def test_an_event_the_server_refuses_is_dropped_and_the_rest_posted() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        sent = json.loads(request.content)["events"]
        for n, event in enumerate(sent):
            if event["type"] == "agent.tool_use" and "name" not in event:
                error = {"type": "invalid_request_error", "message": "no", "param": f"events[{n}]"}
                return httpx.Response(400, json={"error": error})
        return created(request)

    server = Server(handler)
    log = io.StringIO()
    outbox = Outbox(server.context(log), interval=0.0)
    good = {"type": "agent.message", "content": "a"}
    bad = {"type": "agent.tool_use"}
    for event in (good, bad, good):
        outbox.put(event)
    outbox.start()
    await outbox.close(30)
    assert server.posted()[-1] == [good, good]
    assert (outbox.posted, outbox.dropped) == (2, 1)
    assert "posting event agent.tool_use failed (400" in log.getvalue()


async def test_a_transient_failure_is_retried() -> None:
    answers = iter([httpx.Response(503, json={"error": {"type": "overloaded_error"}})])
    server = Server(lambda request: next(answers, None) or created(request))
    log = io.StringIO()
    outbox = Outbox(server.context(log), interval=0.0)
    outbox.put({"type": "agent.message", "content": "a"})
    outbox.start()
    await outbox.close(30)
    assert len(server.posted()) == 2
    assert outbox.posted == 1
    assert '"event":"retrying"' in log.getvalue()


def _event(n: int, kind: str, text: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {"id": f"evt_{n:04d}", "type": kind, "session_id": SESS}
    event["processed_at"] = NOW
    if text is not None:
        event["content"] = [{"type": "text", "text": text}]
    return event


def _sse(*events: dict[str, Any]) -> bytes:
    return b"".join(
        f"id: {e['id']}\nevent: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events
    )


async def test_the_feed_writes_history_then_live_events_and_signals_live_interrupts() -> None:
    history = [
        _event(1, "user.message", "old"),
        _event(2, "user.interrupt"),
        _event(4, "user.message", "older answer pending"),
    ]
    live = [
        _event(5, "agent.message", "not for stdin"),
        _event(6, "user.message", "new"),
        _event(7, "user.interrupt"),
    ]
    streams = iter([httpx.Response(200, content=_sse(*live)), httpx.Response(404, json={})])

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == f"{BASE}/events":
            return httpx.Response(200, json={"data": history, "has_more": False})
        assert request.url.path == f"{BASE}/events/stream"
        return next(streams)

    server = Server(handler)
    ctx = server.context(io.StringIO())
    interrupts: list[int] = []
    cat = await asyncio.create_subprocess_exec(
        "cat", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    assert cat.stdin is not None and cat.stdout is not None
    feed = InputFeed(cat.stdin, ctx, lambda: interrupts.append(len(interrupts)))
    feed_task = asyncio.create_task(feed.run())
    output = await cat.stdout.read()  # cat ends when the feed closes its stdin
    await feed_task
    await cat.wait()

    lines = [json.loads(line) for line in output.decode().splitlines()]
    assert lines[0]["id"] == SESS
    assert [line["id"] for line in lines[1:]] == [
        "evt_0001",
        "evt_0002",
        "evt_0004",
        "evt_0006",
        "evt_0007",
    ]
    assert interrupts == [0]  # the live interrupt only, not the one in the history
    listed, first_stream, second_stream = server.requests
    assert listed.url.params.get_list("types[]") == ["user.interrupt", "user.message"]
    assert first_stream.headers["last-event-id"] == "evt_0004"
    assert second_stream.headers["last-event-id"] == "evt_0007"


async def test_the_feed_degrades_to_the_session_line_when_events_are_unavailable() -> None:
    server = Server(lambda _: httpx.Response(404, json={"error": {"message": "no route"}}))
    log = io.StringIO()
    ctx = server.context(log)
    cat = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import sys; print(len(sys.stdin.readlines()))",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert cat.stdin is not None and cat.stdout is not None
    await InputFeed(cat.stdin, ctx, lambda: None).run()
    assert (await cat.stdout.read()).strip() == b"1"
    await cat.wait()
    assert "reading session events failed (404" in log.getvalue()
