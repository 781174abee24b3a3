"""SIGTERM ends open event streams and blocked polls first, so the server stops cleanly."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import httpx

from tests.e2e.conftest import start_server


def test_sigterm_ends_streams_and_polls_cleanly(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", "--manual-clock")
    headers = {"authorization": f"Bearer {server.token}"}
    with httpx.Client(base_url=server.api, headers=headers, timeout=30) as http:
        env_id = http.post(
            "/environments", json={"name": "s", "config": {"type": "self_hosted"}}
        ).json()["id"]
        session = http.post("/sessions", json={"environment_id": env_id}).json()
        http.get(f"/environments/{env_id}/work/poll").raise_for_status()  # nothing left to poll
        ended: list[str] = []

        def follow() -> None:
            with http.stream("GET", f"/sessions/{session['id']}/events/stream") as response:
                for _ in response.iter_lines():
                    pass
            ended.append("stream")

        thread = threading.Thread(target=follow)
        thread.start()
        stream_open = server.advance(0)  # a round trip: the stream request is in by now
        assert stream_open
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=30) in (0, -signal.SIGTERM)  # uvicorn re-raises it
        thread.join(timeout=30)
    assert ended == ["stream"]  # the server closed it properly, no connection error
    assert "graceful shutdown exceeded" not in server.log()
