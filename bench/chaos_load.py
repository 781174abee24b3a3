"""Mixed client load for the chaos run, every answer written to the ledger.

Threads: a session creator, a metadata patcher (session and work metadata), one event appender and
one SSE reader per event session. The workers (long polls, acks, heartbeats, stops) are processes
of their own. Every request goes to the next replica in turn, so a dead replica costs one failed
request per client, not an outage.
"""

from __future__ import annotations

import functools
import itertools
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
from chaos_ledger import Ledger

__all__ = ["Api", "Load"]


class Api:
    """A thread-safe HTTP client over the replicas, one attempt per call."""

    def __init__(self, urls: list[str], token: str, timeout: float = 5) -> None:
        self.urls = [f"{u}/api/v1/cloud" for u in urls]
        self.token = token
        self.headers = {"authorization": f"Bearer {token}"}
        self.timeout = timeout
        self._local = threading.local()
        self._turn = 0
        self._lock = threading.Lock()
        self.bad_envelopes: list[str] = []  # error answers not in the API's error envelope

    def client(self) -> httpx.Client:
        http: httpx.Client | None = getattr(self._local, "http", None)
        if http is None:
            http = httpx.Client(headers=self.headers, timeout=self.timeout)
            self._local.http = http
        return http

    def next_url(self) -> str:
        self._turn += 1
        return self.urls[self._turn % len(self.urls)]

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response | None:
        try:
            response = self.client().request(method, self.next_url() + path, **kwargs)
        except httpx.TransportError:
            return None
        if response.status_code >= 400 and not _is_envelope(response):
            with self._lock:
                self.bad_envelopes.append(f"{method} {path}: {response.status_code}")
        return response

    def must(self, method: str, path: str, deadline: float = 60, **kwargs: Any) -> Any:
        """A read (or a setup write) retried until it succeeds; its JSON body."""
        until = time.monotonic() + deadline
        while True:
            response = self.call(method, path, **kwargs)
            if response is not None and response.status_code < 300:
                return response.json()
            if response is not None and response.status_code < 500:
                raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
            if time.monotonic() > until:
                raise RuntimeError(f"{method} {path}: no answer for {deadline} s")
            time.sleep(0.1)  # a server is down or restarting


def _is_envelope(response: httpx.Response) -> bool:
    """``{"type": "error", "request_id": …, "error": {"type": …, "message": …}}``?"""
    try:
        body = response.json()
    except ValueError:
        return False
    error = body.get("error") if isinstance(body, dict) else None
    return (
        body.get("type") == "error"
        and isinstance(body.get("request_id"), str)
        and isinstance(error, dict)
        and isinstance(error.get("type"), str)
        and isinstance(error.get("message"), str)
    )


def _status(response: httpx.Response | None) -> int:
    return 0 if response is None else response.status_code


class Load:
    def __init__(
        self, api: Api, ledger: Ledger, env: str, seed: int, event_sessions: int, pace: float
    ) -> None:
        self.api, self.ledger, self.env, self.pace = api, ledger, env, pace
        self.rng = random.Random(seed)
        self.stop_flag = threading.Event()  # writers stop
        self.readers_stop = threading.Event()  # readers stop (after the final stream check)
        self.threads: list[threading.Thread] = []
        self.readers: list[threading.Thread] = []
        self.event_sessions: list[str] = []
        for n in range(event_sessions):
            body = {"environment_id": env, "metadata": {"n": f"events-{n}"}}
            created = api.must("POST", "/sessions", json=body)
            ledger.session_created(created["id"], created["work_id"], f"events-{n}")
            self.event_sessions.append(created["id"])
        self._count = itertools.count(1)  # next() is atomic: tags and values stay unique

    def start(self) -> None:
        writers: list[Callable[[], None]] = [self._creator, self._patcher]
        writers += [functools.partial(self._appender, sid) for sid in self.event_sessions]
        readers = [functools.partial(self._reader, sid) for sid in self.event_sessions]
        for targets, flag, threads in (
            (writers, self.stop_flag, self.threads),
            (readers, self.readers_stop, self.readers),
        ):
            for target in targets:
                thread = threading.Thread(target=self._guard(target, flag), daemon=True)
                thread.start()
                threads.append(thread)

    def stop_writers(self) -> None:
        self.stop_flag.set()
        for thread in self.threads:
            thread.join(15)

    def stop(self) -> None:
        self.stop_writers()
        self.readers_stop.set()
        for thread in self.readers:
            thread.join(15)

    def _guard(self, target: Any, flag: threading.Event) -> Any:
        def run() -> None:
            while not flag.is_set():
                target()
                flag.wait(self.rng.uniform(0.3, 1.7) * self.pace)  # pacing, not synchronisation

        return run

    def _next(self) -> str:
        return str(next(self._count))

    def _creator(self) -> None:
        n = self._next()
        body = {"environment_id": self.env, "metadata": {"n": n}}
        sent = time.monotonic()
        response = self.api.call("POST", "/sessions", json=body)
        if response is not None and response.status_code == 201:
            created = response.json()
            self.ledger.session_created(created["id"], created["work_id"], n, sent)
        else:
            with self.ledger.lock:
                self.ledger.refused(_status(response))

    def _patcher(self) -> None:
        sessions = self.ledger.snapshot_sessions()
        if not sessions:
            return
        sid = self.rng.choice(sorted(sessions))
        value = self._next()
        if self.rng.random() < 0.5:
            path = f"/sessions/{sid}"
        else:
            path = f"/environments/{self.env}/work/{sessions[sid]}"
        index = self.ledger.key_sending(path, "k", value)
        sent = time.monotonic()
        response = self.api.call("POST", path, json={"metadata": {"k": value}})
        self.ledger.key_sent(path, "k", index, _status(response), sent)

    def _appender(self, sid: str) -> None:
        tags = [f"t{self._next()}" for _ in range(self.rng.randint(1, 3))]
        kind = self.rng.choice(["system.message", "agent.message", "user.message"])
        events = [{"type": kind, "content": [{"type": "text", "text": t}]} for t in tags]
        sent = time.monotonic()
        response = self.api.call("POST", f"/sessions/{sid}/events", json={"events": events})
        ids = None
        if response is not None and response.status_code == 200:
            ids = [e["id"] for e in response.json()["data"]]
        self.ledger.events_sent(sid, tags, ids, _status(response), sent)

    def _reader(self, sid: str) -> None:
        """Follow the session's SSE stream, resuming after the last id seen whenever it breaks."""
        with self.ledger.lock:
            seen = self.ledger.sse.get(sid, [])
            headers = {"last-event-id": seen[-1]} if seen else {}
        url = f"{self.api.next_url()}/sessions/{sid}/events/stream"
        timeout = httpx.Timeout(5, read=20)
        try:
            with self.api.client().stream("GET", url, headers=headers, timeout=timeout) as stream:
                if stream.status_code != 200:
                    return
                for line in stream.iter_lines():
                    if line.startswith("id: "):
                        self.ledger.streamed(sid, line[4:])
                    if self.readers_stop.is_set():
                        return
        except httpx.TransportError:
            return
