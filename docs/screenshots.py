"""Refresh the dashboard screenshots in docs/img/ (``python docs/screenshots.py``).

Starts ``workyard serve --manual-clock`` on a free loopback port with a throw-away data directory,
fills it with sample data over the REST API (moving the server's clock, so the charts have an hour
of history), then drives a headless Chromium through Playwright and writes one PNG per page.
Needs the ``dev`` extras (Playwright) and a Chromium: ``--chromium PATH``, else ``chromium`` on
``PATH``, else Playwright's own.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

OUT = Path(__file__).resolve().parent / "img"
WIDE = {"width": 1100, "height": 900}
NARROW = {"width": 420, "height": 820}


class Server:
    def __init__(self, data_dir: Path) -> None:
        self.log = data_dir / "serve.log"
        command = [sys.executable, "-m", "workyard", "serve", "--port", "0", "--manual-clock",
                   "--data-dir", str(data_dir / "data")]  # fmt: skip
        with self.log.open("w") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        self.url = self._wait_listening()
        self.token = (data_dir / "data" / "admin.token").read_text().strip()
        self.http = httpx.Client(
            base_url=f"{self.url}/api/v1/cloud",
            headers={"authorization": f"Bearer {self.token}"},
            timeout=30,
        )

    def _wait_listening(self) -> str:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = re.search(r"listening on (http://\S+)", self.log.read_text())
            if found:
                return found.group(1)
            time.sleep(0.1)
        raise SystemExit("workyard serve did not start:\n" + self.log.read_text())

    def post(self, path: str, body: dict[str, Any] | None = None, worker: str = "") -> Any:
        headers = {"worker-id": worker} if worker else {}
        response = self.http.post(path, json=body, headers=headers)
        response.raise_for_status()
        return response.json()

    def poll(self, env: str, worker: str) -> Any:
        response = self.http.get(f"/environments/{env}/work/poll", headers={"worker-id": worker})
        response.raise_for_status()
        return response.json()

    def advance(self, seconds: float) -> None:
        httpx.post(
            f"{self.url}/_emulator/clock",
            json={"advance_seconds": seconds},
            headers={"authorization": f"Bearer {self.token}"},
        ).raise_for_status()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def _run_one(server: Server, env: str, worker: str, wait: float, run: float) -> None:
    """One item through its life: queued for ``wait`` s, running for ``run`` s, then stopped."""
    session = server.post("/sessions", {"environment_id": env})
    server.advance(wait)
    item = server.poll(env, worker)
    base = f"/environments/{env}/work/{item['id']}"
    server.post(f"{base}/ack", worker=worker)
    server.post(f"{base}/heartbeat")
    server.advance(run)
    server.post(f"{base}/stop", {"force": True})
    server.post(f"/sessions/{session['id']}/archive")


def sample_data(server: Server) -> dict[str, str]:
    """Two environments, an hour of finished work, live items, a conversation."""
    farm = {"name": "build farm", "config": {"type": "self_hosted"}, "description": "CI agents"}
    build = server.post("/environments", farm)["id"]
    server.post("/environments", {"name": "research", "config": {"type": "self_hosted"}})
    server.post("/environments", {"name": "hosted", "config": {"type": "cloud"}})
    for minute in range(60):
        for n in range((minute * 7) % 4 + (1 if minute > 40 else 0)):
            _run_one(server, build, f"runner-{n % 3 + 1}", 2 + (minute + n) % 9, 3)
        server.advance(60)
    chat = server.post("/sessions", {"environment_id": build, "title": "Fix the flaky login test",
                                     "metadata": {"team": "web", "ticket": "WEB-142"}})  # fmt: skip
    for title in ("Upgrade the linter", "Write release notes", "Bisect the slow build"):
        server.post("/sessions", {"environment_id": build, "title": title,
                                  "metadata": {"team": "infra"}})  # fmt: skip
    server.advance(20)
    item = server.poll(build, "runner-1")
    server.post(f"/environments/{build}/work/{item['id']}/ack", worker="runner-1")
    server.post(f"/environments/{build}/work/{item['id']}/heartbeat")
    server.post(
        f"/sessions/{chat['id']}/events",
        {
            "events": [
                {
                    "type": "user.message",
                    "content": "The login test fails about one run in ten. Why?",
                }
            ]
        },
    )
    server.post(f"/sessions/{chat['id']}/events", {"events": [
        {"type": "agent.message", "content": [{"type": "text", "text":
         "It waits 500 ms for the session cookie; under load the cookie lands later."}]},
        {"type": "agent.tool_use", "name": "edit", "input": {"path": "tests/login.spec.ts"}},
        {"type": "agent.message", "content": [{"type": "text", "text":
         "I replaced the fixed wait with a wait for the cookie itself. 200 runs, no failure."}]},
    ]}, worker="runner-1")  # fmt: skip
    server.advance(12)
    server.poll(build, "runner-2")
    return {"env": build, "session": chat["id"], "work": item["id"]}


async def shoot(server: Server, ids: dict[str, str], chromium: str | None) -> list[Path]:
    from playwright.async_api import async_playwright

    shots = {
        "overview": ("/ui", WIDE, "light"),
        "environment": (f"/ui/environments/{ids['env']}", WIDE, "light"),
        "session": (f"/ui/sessions/{ids['session']}", WIDE, "light"),
        "work-item": (f"/ui/environments/{ids['env']}/work/{ids['work']}", WIDE, "light"),
        "workers": (f"/ui/environments/{ids['env']}/workers", WIDE, "light"),
        "environment-dark": (f"/ui/environments/{ids['env']}", WIDE, "dark"),
        "session-narrow": (f"/ui/sessions/{ids['session']}", NARROW, "light"),
    }
    written = []
    async with async_playwright() as playwright:
        launch: dict[str, Any] = {"headless": True, "args": ["--no-sandbox"]}
        if chromium:
            launch["executable_path"] = chromium
        browser = await playwright.chromium.launch(**launch)
        for name, (path, viewport, scheme) in shots.items():
            context = await browser.new_context(viewport=viewport, color_scheme=scheme)  # type: ignore[arg-type]
            page = await context.new_page()
            await page.goto(f"{server.url}/ui/login")
            await page.fill("form#login input[name='token']", server.token)
            await page.click("form#login button[type='submit']")
            await page.wait_for_url(f"{server.url}/ui")
            await page.goto(f"{server.url}{path}")
            target = OUT / f"{name}.png"
            await page.screenshot(path=str(target))
            written.append(target)
            await context.close()
        await browser.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chromium", help="the Chromium executable (default: chromium on PATH)")
    args = parser.parse_args()
    chromium = args.chromium or shutil.which("chromium")
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        server = Server(Path(scratch))
        try:
            ids = sample_data(server)
            for path in asyncio.run(shoot(server, ids, chromium)):
                print(f"{path.relative_to(OUT.parent.parent)}  {path.stat().st_size // 1024} KiB")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
