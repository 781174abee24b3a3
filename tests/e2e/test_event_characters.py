"""Every character a user can type survives every event path, end to end.

U+2028, U+2029 and U+0085 are line breaks to ``str.splitlines`` (and so to httpx's ``iter_lines``)
but not to JSON or to the SSE standard; NUL, a lone combining mark, emoji, CR/LF inside a text and
1 MiB texts must come through unchanged too. The paths: our SDK's stream (sync and async), the
official SDK's stream, ``workyard session watch --json`` and a worker's stdin feed to its command
and back.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from qca.managed import Managed

from tests.e2e.conftest import ServerProcess, workyard_command
from tests.worker.harness import (
    api,
    self_hosted,
    start_worker,
    wait_until,
    worker_env,
    workers,
)
from workyard.client import AsyncClient, Client, user_message

pytestmark = pytest.mark.e2e

_MIB = 1024 * 1024


def _big() -> str:
    """About 1 MiB of UTF-8 made of the troublesome characters and ordinary text."""
    unit = "line\u2028para\u2029next\x85nul\x00mark\u0301emoji😀\r\n"
    return (unit * (_MIB // len(unit.encode())))[: _MIB // 2]


TEXTS = {
    "line separator": "before\u2028after",
    "paragraph separator": "before\u2029after",
    "next line": "before\x85after",
    "nul": "before\x00after",
    "lone combining mark": "\u0301",
    "emoji": "👩🏽‍💻 family 👨‍👩‍👧 flag 🇯🇵",
    "cr and lf": "a\rb\nc\r\nd",
    "only separators": "\u2028\u2029\x85",
    "1 MiB": _big(),
}


@pytest.fixture
def session_id(server: ServerProcess) -> Iterator[str]:
    """A session whose log holds one ``user.message`` per text, in TEXTS order."""
    with Client(server.url, server.token) as client:
        env = client.environments.create(name="chars", config={"type": "self_hosted"})
        session = client.sessions.create(env.id)
        for text in TEXTS.values():
            client.sessions.events.send(session.id, [user_message(text)])
        yield session.id


def test_our_sync_stream_delivers_every_character(server: ServerProcess, session_id: str) -> None:
    with Client(server.url, server.token) as client:
        stream = client.sessions.events.stream(session_id)
        received = [next(stream).text for _ in TEXTS]
        stream.close()
    assert received == list(TEXTS.values())


async def test_our_async_stream_delivers_every_character(
    server: ServerProcess, session_id: str
) -> None:
    async with AsyncClient(server.url, server.token) as client:
        stream = client.sessions.events.stream(session_id)
        received = [(await anext(stream)).text for _ in TEXTS]
        await stream.aclose()
    assert received == list(TEXTS.values())


def test_the_official_sdk_stream_delivers_every_character(
    server: ServerProcess, session_id: str
) -> None:
    sdk = Managed(pat=server.token, base_url=f"{server.api}/", max_retries=0, timeout=30)
    try:
        with sdk.sessions.events.stream(session_id) as stream:
            events = [next(stream) for _ in TEXTS]
    finally:
        sdk.close()
    received = []
    for event in events:
        assert event.type == "user.message"
        assert event.content is not None
        received.append("".join(block.text or "" for block in event.content))
    assert received == list(TEXTS.values())


def test_session_watch_json_prints_every_character(
    server: ServerProcess, session_id: str, tmp_path: Path
) -> None:
    out = tmp_path / "watch.jsonl"
    argv = [*workyard_command(), "session", "watch", session_id, "--json"]
    argv += ["--url", server.url, "--token", server.token]
    with out.open("wb") as sink:
        watch = subprocess.Popen(argv, stdout=sink, stderr=subprocess.PIPE, env=worker_env())
    try:
        # JSON Lines: a line ends at LF alone, and each line is one event.
        def lines() -> list[str]:
            return out.read_text(encoding="utf-8").split("\n")[:-1]

        wait_until(lambda: len(lines()) >= len(TEXTS), "watch to print every event")
    finally:
        watch.kill()
        watch.wait()
    printed = [json.loads(line) for line in lines()]
    received = ["".join(b["text"] for b in event["content"]) for event in printed]
    assert received == list(TEXTS.values())
    assert all(len(line.splitlines()) == 1 for line in lines())


# Answers each message with its text, or the text's SHA-256 when it is too long for one stdout
# line (the worker cuts stdout lines at 64 KiB).
ECHO = r"""
import hashlib, json, sys
json.loads(sys.stdin.readline())  # the session
for line in sys.stdin:
    assert len(line.splitlines()) == 1, "a feed line a line splitter would cut"
    event = json.loads(line)
    if event["type"] == "user.message":
        text = "".join(block.get("text", "") for block in event["content"])
        if len(text) > 10000:
            text = "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        print(json.dumps({"type": "agent.message", "content": [{"type": "text", "text": text}]}))
        sys.stdout.flush()
"""


def _answer(text: str) -> str:
    if len(text) > 10000:
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    return text


def test_a_worker_feeds_every_character_to_its_command_and_back(
    server: ServerProcess, tmp_path: Path
) -> None:
    with api(server) as client, workers() as started:
        env = self_hosted(client)
        session = client.sessions.create(env.id)
        for text in TEXTS.values():
            client.sessions.events.send(session.id, [user_message(text)])
        started.append(
            start_worker(
                server, tmp_path, "w1", [sys.executable, "-c", ECHO], environment_id=env.id
            )
        )

        def answers() -> list[str]:
            events = client.sessions.events.list_all(session.id, types=["agent.message"])
            return [e.text for e in events]

        wait_until(lambda: len(answers()) >= len(TEXTS), "the command to answer every message")
        assert answers() == [_answer(text) for text in TEXTS.values()]
        assert client.sessions.retrieve(session.id).status == "running"
