"""A scripted worker for the chaos run: poll → ack → heartbeats → stop → stop, over HTTP.

    python bench/chaos_worker.py --urls URL[,URL…] --token T --env ENV --worker-id W
        [--halt-at polled|acked|running|stopping] [--ttl S] [--reclaim-ms MS]

It speaks the protocol the way docs/work-queue.md tells a worker to, and prints one JSON line per
operation (what it sent, the status, the server's timestamps, ``time.monotonic()``), which the chaos
run reads as its worker-side ledger. With ``--halt-at`` it stops dead at that phase of its first
item, prints ``{"ev": "halt", …}`` and waits for a line on stdin: the run either kills it there
(``kill -9`` in that phase) or lets it go on (a stalled lease holder waking up after a takeover).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from typing import Any

import httpx

PHASES = ("polled", "acked", "running", "stopping")


class Worker:
    def __init__(self, args: argparse.Namespace) -> None:
        self.urls = [f"{u}/api/v1/cloud" for u in args.urls.split(",")]
        self.env = args.env
        self.me = args.worker_id
        self.halt_at: str | None = args.halt_at
        self.ttl = args.ttl
        self.reclaim = args.reclaim_ms
        self.rng = random.Random(args.worker_id)
        headers = {"authorization": f"Bearer {args.token}", "worker-id": self.me}
        self.http = httpx.Client(headers=headers, timeout=5)
        self.turn = 0
        self.sent = 0.0  # when the latest request went out

    def emit(self, **fields: Any) -> None:
        line = {"worker": self.me, "t": time.monotonic(), "sent": self.sent, **fields}
        print(json.dumps(line), flush=True)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response | None:
        """One attempt on the next replica; ``None`` when the server could not be reached."""
        self.turn += 1
        url = self.urls[self.turn % len(self.urls)] + f"/environments/{self.env}/work{path}"
        self.sent = time.monotonic()
        try:
            return self.http.request(method, url, **kwargs)
        except httpx.TransportError:
            return None

    def retried(self, method: str, path: str, until: float, **kwargs: Any) -> httpx.Response | None:
        """Retry while the server is unreachable or unavailable (5xx), up to ``until``."""
        while True:
            response = self.request(method, path, **kwargs)
            if response is not None and response.status_code < 500:
                return response
            if time.monotonic() >= until:
                return response
            time.sleep(0.1)  # the server is down or restarting: try again shortly

    def halt(self, phase: str, work_id: str) -> None:
        if self.halt_at != phase:
            return
        self.halt_at = None
        self.emit(ev="halt", phase=phase, work_id=work_id)
        sys.stdin.readline()  # killed here, or released to carry on as a stale holder
        self.emit(ev="resumed", phase=phase, work_id=work_id)

    def poll(self) -> dict[str, Any] | None:
        params = {"block_ms": 999, "reclaim_older_than_ms": self.reclaim}
        response = self.request("GET", "/poll", params=params)
        if response is None or response.status_code != 200:
            time.sleep(0.1)  # the server is down or restarting
            return None
        item: dict[str, Any] | None = response.json()
        return item

    def run_item(self, item: dict[str, Any]) -> None:
        wid = item["id"]
        self.emit(ev="op", op="poll", work_id=wid, status=200)
        self.halt("polled", wid)
        response = self.retried("POST", f"/{wid}/ack", time.monotonic() + self.ttl)
        status = response.status_code if response is not None else 0
        if response is None or status != 200:
            self.emit(ev="op", op="ack", work_id=wid, status=status)
            return
        lease = response.json()["acknowledged_at"]
        self.emit(ev="op", op="ack", work_id=wid, status=200, lease=lease, ts=lease)
        self.halt("acked", wid)
        last = self.heartbeat(wid, lease, "NO_HEARTBEAT")
        if last is None:
            return
        self.halt("running", wid)
        hold_until = time.monotonic() + self.rng.uniform(0.2, 0.8)
        while time.monotonic() < hold_until:
            time.sleep(min(self.ttl / 3, max(0.0, hold_until - time.monotonic())))
            last = self.heartbeat(wid, lease, last)
            if last is None:
                return
        self.finish(wid, lease, last)

    def heartbeat(self, wid: str, lease: str, expected: str) -> str | None:
        """A conditional heartbeat: the new ``last_heartbeat``; ``None`` once the lease is lost."""
        until = time.monotonic() + self.ttl
        params = {"expected_last_heartbeat": expected}
        response = self.retried("POST", f"/{wid}/heartbeat", until, params=params)
        status = response.status_code if response is not None else 0
        if response is None or status != 200:
            self.emit(ev="op", op="heartbeat", work_id=wid, status=status, lease=lease)
            return None
        body = response.json()
        last: str = body["last_heartbeat"]
        self.emit(ev="op", op="heartbeat", work_id=wid, status=200, lease=lease, ts=last)
        if body["state"] == "stopping":  # someone asked for a graceful stop: drain and confirm
            self.finish(wid, lease, last)
            return None
        return last

    def finish(self, wid: str, lease: str, last: str) -> None:
        """Graceful stop (active → stopping), then the confirming stop (→ stopped)."""
        until = time.monotonic() + self.ttl
        response = self.retried("POST", f"/{wid}/stop", until)
        if response is None or response.status_code != 200:
            return
        state = response.json()["state"]
        self.emit(ev="op", op="stop", work_id=wid, status=200, state=state, lease=lease)
        if state == "stopping":
            self.halt("stopping", wid)
            response = self.retried("POST", f"/{wid}/stop", time.monotonic() + self.ttl)
            if response is None or response.status_code != 200:
                return
            state = response.json()["state"]
            self.emit(ev="op", op="stop", work_id=wid, status=200, state=state, lease=lease)

    def loop(self) -> None:
        self.emit(ev="started")
        while True:
            item = self.poll()
            if item is not None:
                self.run_item(item)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--urls", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--env", required=True)
    parser.add_argument("--worker-id", required=True)
    parser.add_argument("--halt-at", choices=PHASES)
    parser.add_argument("--ttl", type=float, default=3.0)
    parser.add_argument("--reclaim-ms", type=int, default=3000)
    Worker(parser.parse_args()).loop()


if __name__ == "__main__":
    main()
