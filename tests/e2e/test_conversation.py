"""A conversation end to end: the CLI, a real server, a real worker and its command.

The command is a small Python program speaking the worker's event protocol: it reads the session
and then user messages on stdin, and answers each on stdout.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import ServerProcess, start_server, workyard_command
from tests.worker.harness import (
    DEADLINE,
    api,
    self_hosted,
    start_worker,
    wait_until,
    worker_env,
    workers,
)
from workyard.client import Client, Event, Session, user_message

pytestmark = pytest.mark.e2e

ECHO = r"""
import json, os, sys
session = json.loads(sys.stdin.readline())
print(json.dumps({"type": "system.message", "content": "started " + session["id"]}))
for line in sys.stdin:
    event = json.loads(line)
    if event["type"] != "user.message":
        continue
    text = "".join(block.get("text", "") for block in event["content"])
    print("echo: " + text)
    if text == os.environ.get("STOP_AT", "bye"):
        print("leaving with status 3", file=sys.stderr)
        sys.exit(3)
"""

INTERRUPTIBLE = r"""
import json, sys
sys.stdin.readline()
try:
    for line in sys.stdin:
        if json.loads(line)["type"] == "user.message":
            print("ready")
except KeyboardInterrupt:
    print("got SIGINT")
    sys.exit(130)
"""


def cli(server: ServerProcess, *args: str) -> str:
    """Run ``workyard ARGS --url … --token …``; its stdout (it must exit 0)."""
    argv = [*workyard_command(), *args, "--url", server.url, "--token", server.token]
    done = subprocess.run(
        argv, capture_output=True, text=True, env=worker_env(), timeout=DEADLINE, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@dataclass
class Watcher:
    process: subprocess.Popen[bytes]
    out: Path

    def lines(self) -> list[str]:
        return self.out.read_text(encoding="utf-8").splitlines()

    def wait_for(self, line: str) -> None:
        wait_until(lambda: line in self.lines(), f"watch to print {line!r}")


@contextmanager
def watching(server: ServerProcess, tmp_path: Path, *args: str) -> Iterator[Watcher]:
    """``workyard session watch ARGS`` in the background, its stdout in a file."""
    out = tmp_path / f"watch-{len(list(tmp_path.glob('watch-*')))}.out"
    argv = [*workyard_command(), "session", "watch", *args]
    argv += ["--url", server.url, "--token", server.token]
    with out.open("wb") as sink:
        process = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT, env=worker_env())
    try:
        yield Watcher(process, out)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def texts(client: Client, session_id: str, kind: str) -> list[str]:
    return [e.text for e in client.sessions.events.list_all(session_id, types=[kind])]


def answered(client: Client, session_id: str, text: str) -> bool:
    return text in texts(client, session_id, "agent.message")


def asking(client: Client, text: str) -> Session:
    """A session of a new self-hosted environment, sent one user message."""
    session = client.sessions.create(self_hosted(client).id)
    client.sessions.events.send(session.id, [user_message(text)])
    return session


def test_a_conversation_with_a_second_message_mid_run(
    server: ServerProcess, tmp_path: Path
) -> None:
    with api(server) as client, workers() as started:
        env = self_hosted(client)
        worker = start_worker(
            server, tmp_path, "w1", [sys.executable, "-c", ECHO], "--once", environment_id=env.id
        )
        started.append(worker)
        created = cli(server, "session", "create", "-e", env.id, "--message", "hello", "--json")
        session_id = json.loads(created)["id"]
        with watching(server, tmp_path, session_id, "--until-idle") as watch:
            wait_until(lambda: answered(client, session_id, "echo: hello"), "the first answer")
            assert cli(server, "session", "send", session_id, "bye").startswith("Sent evt_")
            assert watch.process.wait(timeout=DEADLINE) == 0, watch.lines()
            shown = watch.lines()
        assert worker.wait() == 0, worker.log()

        conversation = [line for line in shown if not line.startswith("system:")]
        assert conversation[:4] == [
            "you: hello",
            "agent: echo: hello",
            "you: bye",
            "agent: echo: bye",
        ]
        assert conversation[4].startswith("error: the command exited with status 3;")
        assert f"system: started {session_id}" in shown
        assert "       leaving with status 3" in shown  # the error's stderr tail, indented

        events = list(client.sessions.events.list_all(session_id))
        assert [e.type for e in events if e.type != "system.message"] == [
            "user.message",
            "agent.message",
            "user.message",
            "agent.message",
            "session.error",
        ]
        assert [e.id for e in events] == sorted(e.id for e in events)
        error = events[-1].error
        assert error is not None
        assert (error["exit_code"], error["stderr"]) == (3, ["leaving with status 3"])
        session = client.sessions.retrieve(session_id)
        assert session.status == "idle"
        assert session.work_id is not None
        item = client.work.retrieve(env.id, session.work_id)
        assert item.metadata["exit_code"] == "3"

        listed = json.loads(cli(server, "session", "events", session_id, "--json"))
        assert [e["id"] for e in listed] == [e.id for e in events]
        rendered = cli(server, "session", "events", session_id).splitlines()
        assert [line for line in rendered if not line.startswith("system:")][:4] == (
            conversation[:4]
        )


def test_a_message_to_an_idle_session_runs_it_again(server: ServerProcess, tmp_path: Path) -> None:
    with api(server) as client, workers() as started:
        session = asking(client, "one")
        env_id = session.environment_id
        script = [sys.executable, "-c", ECHO]
        first = start_worker(
            server, tmp_path, "w1", script, "--once", environment_id=env_id, env={"STOP_AT": "one"}
        )
        started.append(first)
        assert first.wait() == 0, first.log()
        assert client.sessions.retrieve(session.id).status == "idle"

        client.sessions.events.send(session.id, [user_message("two")])
        requeued = client.sessions.retrieve(session.id)
        assert requeued.status == "rescheduling"
        assert requeued.work_id != session.work_id
        second = start_worker(
            server, tmp_path, "w2", script, "--once", environment_id=env_id, env={"STOP_AT": "two"}
        )
        started.append(second)
        assert second.wait() == 0, second.log()
        # The second run reads the user side of the whole conversation, oldest first.
        answers = texts(client, session.id, "agent.message")
        assert answers == ["echo: one", "echo: one", "echo: two"]


def test_a_user_interrupt_reaches_the_command_as_sigint(
    server: ServerProcess, tmp_path: Path
) -> None:
    with api(server) as client, workers() as started:
        session = asking(client, "wait")
        worker = start_worker(
            server,
            tmp_path,
            "w1",
            [sys.executable, "-c", INTERRUPTIBLE],
            "--once",
            environment_id=session.environment_id,
        )
        started.append(worker)
        wait_until(lambda: answered(client, session.id, "ready"), "the command to be ready")

        url = f"{server.api}/sessions/{session.id}/cancel"
        headers = {"authorization": f"Bearer {server.token}"}
        response = httpx.post(url, headers=headers)
        assert response.status_code == 202
        assert response.json() == {"id": session.id, "type": "session", "status": "canceling"}
        assert worker.wait() == 0, worker.log()

        assert texts(client, session.id, "agent.message") == ["ready", "got SIGINT"]
        errors = [e.error_message for e in client.sessions.events.list_all(session.id)]
        assert "the command exited with status 130 (SIGINT)" in errors
        assert texts(client, session.id, "user.interrupt") == [""]
        assert "sent SIGINT" in worker.log()
        # Idle now: a second cancel changes nothing.
        again = httpx.post(url, headers=headers)
        assert again.status_code == 200
        assert again.json()["status"] == "canceling"


def test_watch_resumes_after_the_server_restarts(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    port = int(server.url.rsplit(":", 1)[1])
    try:
        with api(server) as client:
            session = asking(client, "before")
        with watching(server, tmp_path, session.id) as watch:
            watch.wait_for("you: before")
            server.process.kill()  # a crash: the watcher's connection is reset
            server.process.wait()
            server = start_server(tmp_path / "data", port=port)
            with api(server) as client:
                client.sessions.events.send(session.id, [user_message("after")])
            watch.wait_for("you: after")
            assert watch.process.poll() is None  # still following
            lines = watch.lines()
        assert [line for line in lines if line.startswith("you:")] == ["you: before", "you: after"]
        assert any("reconnecting in" in line for line in lines)
    finally:
        server.stop()


def test_watch_ends_when_the_session_is_deleted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKYARD_SSE_KEEPALIVE_SECONDS", "3600")  # no tick ends it by chance
    server = start_server(tmp_path / "data", "--manual-clock")
    try:
        with api(server) as client:
            session = asking(client, "hi")
            with watching(server, tmp_path, session.id) as watch:
                watch.wait_for("you: hi")
                client.sessions.delete(session.id)
                assert watch.process.wait(timeout=DEADLINE) == 0
                lines = watch.lines()
        assert lines[0] == "you: hi"
        assert lines[-1] == "the session was deleted"
    finally:
        server.stop()


def test_events_are_typed_in_the_sdk_stream(server: ServerProcess) -> None:
    with api(server) as client:
        env = self_hosted(client)
        session = client.sessions.create(env.id)
        sent = client.sessions.events.send(
            session.id,
            [
                user_message("hi"),
                {"type": "agent.tool_use", "name": "bash", "input": {"cmd": "ls"}},
                {
                    "type": "agent.tool_result",
                    "tool_use_id": "t1",
                    "content": "x",
                    "is_error": True,
                },
            ],
        )
        stream = client.sessions.events.stream(session.id)
        received: list[Event] = [next(stream) for _ in sent]
        resumed = client.sessions.events.stream(session.id, sent[0].id)
        second = next(resumed)
        stream.close()
        resumed.close()
    assert [e.id for e in received] == [e.id for e in sent]
    assert (received[1].name, received[1].input) == ("bash", {"cmd": "ls"})
    assert (received[2].is_error, received[2].text) == (True, "x")
    assert second.id == sent[1].id
