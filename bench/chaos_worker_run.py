"""``kill -9`` of the product's own worker, ``workyard worker run``, while its command runs.

Two promises: the item comes back (another worker acks it within the worker's heartbeat lease), and
no command outlives its worker (the supervisor kills the command's process group).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from chaos_ledger import Fault
from chaos_run import Ctx, Orphan

__all__ = ["LEASE", "worker_run_kill"]

LEASE = 10  # the worker's --ttl: the shortest heartbeat lease a worker may ask for
_CLI = [sys.executable, "-c", "from workyard.cli.main import main; main()"]


def _command_pid(pids: Path) -> tuple[str, int] | None:
    """(work id, pid) of the command the worker is running, once it wrote its pid."""
    for path in pids.iterdir():
        if path.suffix != ".tmp":  # written whole, then renamed: never half a pid
            return path.name, int(path.read_text())
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie no one reaped yet is dead too
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def worker_run_kill(ctx: Ctx, i: int) -> None:
    cluster = ctx.cluster
    pids = cluster.root / f"pids-{i}"
    pids.mkdir()
    script = f'echo $$ > "{pids}/$WORKYARD_WORK_ID.tmp" && mv "{pids}/$WORKYARD_WORK_ID.tmp" '
    script += f'"{pids}/$WORKYARD_WORK_ID"; exec sleep 60'
    cmd = [*_CLI, "worker", "run", "--url", cluster.urls[i % len(cluster.urls)]]
    cmd += ["--token", cluster.token, "--environment", cluster.env, "--ttl", str(LEASE)]
    cmd += ["--worker-id", f"worker-run-{i}", "--no-events", "--", "sh", "-c", script]
    log = (cluster.root / f"worker-run-{i}.log").open("ab")
    worker = subprocess.Popen(cmd, stdout=log, stderr=log, start_new_session=True)
    deadline = time.monotonic() + 60
    running = None
    while running is None and time.monotonic() < deadline and worker.poll() is None:
        time.sleep(0.05)  # waiting for the worker to take an item and start its command
        running = _command_pid(pids)
    if running is None:
        worker.kill()
        worker.wait()
        return  # never got an item: the fault is not counted
    work_id, pid = running
    worker.send_signal(signal.SIGKILL)
    killed_at, killed_wall = time.monotonic(), time.time()
    worker.wait()
    fault = Fault("worker_run_kill", killed_at, detail=work_id)
    with ctx.ledger.lock:
        ctx.ledger.faults.append(fault)
    ctx.orphans.append(Orphan(work_id, "worker_run", killed_at, killed_wall, fault, LEASE))
    until = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < until:
        time.sleep(0.05)  # the supervisor kills the command's group when the worker dies
    if _alive(pid):
        ctx.extra["outlived"] = ctx.extra.get("outlived", 0) + 1
        os.kill(pid, signal.SIGKILL)
    else:
        ctx.extra["commands_killed"] = ctx.extra.get("commands_killed", 0) + 1
