"""The faults the chaos run injects, one call per fault; each records when it struck and when the
system had recovered (the first 2xx write after it, or the orphan's redelivery)."""

from __future__ import annotations

import errno
import os
import threading
import time
from pathlib import Path

from chaos_ledger import Fault
from chaos_procs import WorkerProcess, terminate_backends
from chaos_run import Ctx, Orphan

__all__ = [
    "WORKER_PHASES",
    "disk_full",
    "pg_terminate",
    "replica_kill",
    "server_kill",
    "worker_kill",
]

WORKER_PHASES = ("polled", "acked", "running", "stopping", "stalled")


def _record(ctx: Ctx, fault: Fault) -> Fault:
    with ctx.ledger.lock:
        ctx.ledger.faults.append(fault)
    return fault


def server_kill(ctx: Ctx, _: int) -> None:
    """``kill -9`` the (only) server mid-traffic, restart it on the same port."""
    server = ctx.cluster.servers[0]
    fault = _record(ctx, Fault("server_kill", time.monotonic()))
    server.kill9()
    time.sleep(ctx.rng.uniform(0, 0.3))  # down for a moment, as a crashed process would be
    spawned = time.monotonic()
    server.start()
    ctx.samples.setdefault("start", []).append(time.monotonic() - spawned)
    fault.recovered_at = ctx.wait_recovered(fault.at)


def replica_kill(ctx: Ctx, _: int) -> None:
    """``kill -9`` one replica; the others keep serving; the dead one comes back later."""
    server = ctx.rng.choice(ctx.cluster.servers)
    fault = _record(ctx, Fault("replica_kill", time.monotonic(), detail=server.url))
    server.kill9()
    fault.recovered_at = ctx.wait_recovered(fault.at)
    time.sleep(ctx.rng.uniform(0.5, 1.5))  # the survivors serve alone for a while
    server.start()


def pg_terminate(ctx: Ctx, _: int) -> None:
    """``pg_terminate_backend`` every PostgreSQL connection of every replica at once."""
    fault = _record(ctx, Fault("pg_terminate", time.monotonic()))
    terminated = terminate_backends(ctx.cluster.schema)
    ctx.extra["connections_terminated"] = ctx.extra.get("connections_terminated", 0) + terminated
    fault.recovered_at = ctx.wait_recovered(fault.at)


def worker_kill(ctx: Ctx, i: int) -> None:
    """A worker dies (``kill -9``) in one phase of an item, or stalls there and wakes up late.

    Returns once the fault struck; the orphan's redelivery is measured from the workers' log.
    """
    phase = WORKER_PHASES[i % len(WORKER_PHASES)]
    victim = ctx.fleet.spawn(halt_at="running" if phase == "stalled" else phase)
    if not victim.halted.wait(60):
        victim.kill9()
        return  # never reached the phase: the fault is not counted
    work_id = str(victim.halt_line["work_id"])
    fault = _record(ctx, Fault(f"worker_kill:{phase}", time.monotonic(), detail=work_id))
    if phase == "stalled":
        thread = threading.Thread(target=_stall, args=(ctx, victim, work_id, fault), daemon=True)
        thread.start()
        ctx.background.append(thread)
        return
    victim.kill9()
    orphan = Orphan(work_id, phase, time.monotonic(), time.time(), fault, ctx.plan.ttl)
    ctx.orphans.append(orphan)


def _taken_over(ctx: Ctx, victim: str, work_id: str, since: float) -> float | None:
    """When another worker first heartbeated ``work_id`` after ``since`` (the victim's stall):
    that worker holds the lease now. (Earlier heartbeats are from holders before the victim.)"""
    with ctx.ledger.lock:
        for line in ctx.ledger.worker_log:
            if (
                line.get("op") == "heartbeat"
                and line["status"] == 200
                and line["work_id"] == work_id
                and line["worker"] != victim
                and line["t"] > since
            ):
                return float(line["t"])
    return None


def _stall(ctx: Ctx, victim: WorkerProcess, work_id: str, fault: Fault) -> None:
    """The stalled holder wakes after another worker took the item over: it must be fenced."""
    deadline = time.monotonic() + ctx.plan.ttl * 3 + 30
    stalled = float(victim.halt_line["t"])
    taken_at = _taken_over(ctx, victim.worker_id, work_id, stalled)
    while time.monotonic() < deadline and taken_at is None:
        time.sleep(0.05)  # waiting for the takeover (lease expiry + redelivery)
        taken_at = _taken_over(ctx, victim.worker_id, work_id, stalled)
    if taken_at is None:
        victim.kill9()
        return
    fault.recovered_at = taken_at
    victim.release()
    until = time.monotonic() + ctx.plan.ttl * 2 + 10
    while time.monotonic() < until:
        with ctx.ledger.lock:
            fenced = [
                line
                for line in ctx.ledger.worker_log
                if line.get("op") in ("ack", "heartbeat")
                and line["worker"] == victim.worker_id
                and line["t"] > taken_at
                and line["work_id"] == work_id
            ]
        if fenced:
            status = int(fenced[0]["status"])
            if status in (409, 412):
                ctx.stale_rejected += 1
            elif status == 200:
                ctx.stale_accepted += 1
            else:  # no verdict (the server did not answer): reported, not judged
                ctx.extra[f"stale_unjudged_{status}"] = (
                    ctx.extra.get(f"stale_unjudged_{status}", 0) + 1
                )
            break
        time.sleep(0.05)  # waiting for the stale holder's next heartbeat
    victim.kill9()


def _fill(path: Path) -> int:
    """Write ``path`` until the file system is full; the bytes written."""
    chunk = b"\0" * (256 * 1024)
    written = 0
    with path.open("wb", buffering=0) as out:
        while True:
            try:
                written += out.write(chunk) or 0
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                if len(chunk) <= 4096:
                    break
                chunk = chunk[: len(chunk) // 2]
        os.fsync(out.fileno())
    return written


def disk_full(ctx: Ctx, _: int) -> None:
    """SQLite's file system fills up under load; writes must fail (never a 2xx for a write not
    kept), then succeed again once space returns; then a ``kill -9`` proves what was kept."""
    server = ctx.cluster.servers[0]
    filler = server.data_dir / "filler"
    with ctx.ledger.lock:
        before = dict(ctx.ledger.refused_writes)
        acked_before = ctx.ledger.acked_writes
    _fill(filler)
    time.sleep(ctx.rng.uniform(1.0, 2.0))  # load runs against the full disk
    with ctx.ledger.lock:
        after = dict(ctx.ledger.refused_writes)
        acked_full = ctx.ledger.acked_writes - acked_before
    refused = {s: n - before.get(s, 0) for s, n in after.items() if n > before.get(s, 0)}
    for status, n in refused.items():
        key = f"refused_while_full_{status}"
        ctx.extra[key] = ctx.extra.get(key, 0) + n
    ctx.extra["acked_while_full"] = ctx.extra.get("acked_while_full", 0) + acked_full
    fault = _record(ctx, Fault("disk_full", time.monotonic()))
    filler.unlink()
    fault.recovered_at = ctx.wait_recovered(fault.at)
    server.kill9()  # then prove that what was acknowledged (full disk or not) was kept
    server.start()
    ctx.wait_recovered(time.monotonic())
