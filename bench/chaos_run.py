"""The chaos scenario runner: a cluster, load, workers, faults, and the checks after each fault."""

from __future__ import annotations

import math
import random
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from pathlib import Path

from chaos_checks import Tally, check_all
from chaos_ledger import Fault, Ledger
from chaos_load import Api, Load
from chaos_procs import Server, WorkerProcess, create_schema, drop_schema, schema_url

from workyard.clock import parse_ts

__all__ = ["Cluster", "Ctx", "Orphan", "Plan", "Result", "percentile", "run_scenario"]


@dataclass
class Plan:
    backend: str
    seed: int
    ttl: int = 3  # lease TTL (s): how long an orphaned item may stay invisible
    workers: int = 3
    event_sessions: int = 2
    duration: float = 0.0  # seconds of load per scenario (0: ``gap`` between faults)
    gap: float = 0.75  # mean seconds of load between two faults (uniform, 0.4-1.6 times this)
    pace: float = 0.07  # mean seconds between two requests of one client thread
    key_sample: int | None = None  # metadata keys read back after each fault (None: all)
    workdir: Path = field(default_factory=lambda: Path(tempfile.gettempdir()))
    data_root: Path | None = None  # where SQLite lives (a size-limited file system for disk_full)


@dataclass
class Orphan:
    """An item whose worker died holding it: redelivered (or, from stopping, stopped) when?"""

    work_id: str
    phase: str
    killed_at: float  # time.monotonic()
    killed_wall: float  # time.time(), to compare with the server's stopped_at
    fault: Fault
    window: float  # the lease window it must come back within (seconds)
    resolved_at: float | None = None


class Cluster:
    """``replicas`` servers on one database (SQLite allows one), with an environment."""

    def __init__(self, plan: Plan, replicas: int, name: str) -> None:
        self.plan = plan
        self.root = Path(tempfile.mkdtemp(prefix=f"chaos-{name}-", dir=plan.workdir))
        self.schema = create_schema() if plan.backend == "postgres" else ""
        url = schema_url(self.schema) if self.schema else None
        data = plan.data_root or self.root
        self.servers = [
            Server(data / f"r{i}", self.root / f"serve-r{i}.log", url, plan.ttl)
            for i in range(replicas)
        ]
        self.servers[0].start()  # the first one creates the schema and the admin token
        with ThreadPoolExecutor(4) as pool:  # the others at once (a start raises if it fails)
            list(pool.map(Server.start, self.servers[1:]))
        self.token = self.servers[0].token
        self.urls = [s.url for s in self.servers]
        self.api = Api(self.urls, self.token)
        body = {"name": name, "config": {"type": "self_hosted"}}
        self.env: str = self.api.must("POST", "/environments", json=body)["id"]

    def close(self) -> None:
        for server in self.servers:
            server.stop()
        if self.schema:
            drop_schema(self.schema)
        shutil.rmtree(self.root, ignore_errors=True)


class Fleet:
    """The worker processes: ``size`` ordinary ones, plus victims spawned to be faulted."""

    def __init__(self, cluster: Cluster, ledger: Ledger, size: int) -> None:
        self.cluster, self.ledger = cluster, ledger
        self.procs: list[WorkerProcess] = []
        self.spawned = 0
        for _ in range(size):
            self.spawn()

    def spawn(self, halt_at: str | None = None) -> WorkerProcess:
        self.spawned += 1
        name = f"{'victim' if halt_at else 'worker'}-{self.spawned}"
        proc = WorkerProcess(
            self.cluster.urls,
            self.cluster.token,
            self.cluster.env,
            name,
            self.ledger.worker_line,
            ttl=self.cluster.plan.ttl,
            halt_at=halt_at,
        )
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for proc in self.procs:
            proc.stop()


@dataclass
class Ctx:
    plan: Plan
    cluster: Cluster
    ledger: Ledger
    fleet: Fleet
    rng: random.Random
    orphans: list[Orphan] = field(default_factory=list)
    background: list[threading.Thread] = field(default_factory=list)
    stale_rejected: int = 0
    stale_accepted: int = 0
    extra: dict[str, int] = field(default_factory=dict)
    samples: dict[str, list[float]] = field(default_factory=dict)  # seconds, printed as p50

    def wait_recovered(self, since: float, limit: float = 120) -> float | None:
        """When the first write after ``since`` was acknowledged (``None``: not within limit)."""
        until = time.monotonic() + limit
        while time.monotonic() < until:
            ok = self.ledger.first_ok_after(since)
            if ok is not None:
                return ok
            time.sleep(0.02)  # measuring recovery: how soon a 2xx comes back
        return None


Inject = Callable[[Ctx, int], None]


@dataclass
class Result:
    scenario: str
    backend: str
    faults: int
    wanted: int
    tally: Tally
    ledger: Ledger
    recoveries: list[float]
    ctx: Ctx
    elapsed: float

    @property
    def passed(self) -> bool:
        stranded = sum(1 for o in self.ctx.orphans if o.resolved_at is None)
        return (
            self.tally.failures == 0
            and stranded == 0
            and self.faults >= self.wanted
            and self.ctx.stale_accepted == 0
            and self.ctx.extra.get("outlived", 0) == 0
            and not self.ctx.cluster.api.bad_envelopes
        )

    def line(self) -> str:
        t = self.tally
        p99 = percentile(self.recoveries, 0.99)
        parts = [
            f"{self.scenario:<13} backend={self.backend:<8} faults={self.faults}",
            f"acked_writes={self.ledger.acked_writes} lost={t.lost} impossible={t.impossible}",
            f"double_owner={t.double_owner} duplicated={t.duplicated} reordered={t.reordered}",
            f"paging={t.paging} recovery_p99={p99:.2f}s"
            f" recovery_p50={percentile(self.recoveries, 0.5):.2f}s",
            f"unanswered={self.ledger.refused_writes.get(0, 0)} refused={self._refused()}"
            f" bad_envelope={len(self.ctx.cluster.api.bad_envelopes)}",
        ]
        if self.ctx.orphans:
            late = sum(
                1
                for o in self.ctx.orphans
                if o.resolved_at is None or o.resolved_at - o.killed_at > o.window + 1
            )
            stranded = sum(1 for o in self.ctx.orphans if o.resolved_at is None)
            parts.append(f"orphans={len(self.ctx.orphans)} stranded={stranded} late={late}")
            windows = sorted({f"{o.window:g}" for o in self.ctx.orphans})
            parts.append(f"lease_window={','.join(windows)}s")
        if self.ctx.stale_rejected or self.ctx.stale_accepted:
            parts.append(f"stale_fenced={self.ctx.stale_rejected}")
            parts.append(f"stale_accepted={self.ctx.stale_accepted}")
        parts += [f"{k}={v}" for k, v in sorted(self.ctx.extra.items())]
        parts += [f"{k}_p50={percentile(v, 0.5):.2f}s" for k, v in self.ctx.samples.items()]
        parts.append(f"elapsed={self.elapsed:.0f}s")
        return " ".join(parts)

    def _refused(self) -> str:
        """Write answers other than 2xx, by status (0: no answer), e.g. ``503:12,0:3``."""
        counts = sorted(self.ledger.refused_writes.items(), key=lambda kv: -kv[1])
        return ",".join(f"{status}:{n}" for status, n in counts) or "0"


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _merge(into: Tally, other: Tally) -> None:
    for f in fields(Tally):
        if f.name != "notes":
            setattr(into, f.name, getattr(into, f.name) + getattr(other, f.name))
    into.notes += other.notes[: max(0, 20 - len(into.notes))]


def _settle_orphans(ctx: Ctx, limit: float) -> None:
    """Wait (bounded) until every orphaned item was redelivered (or, from stopping, stopped)."""
    until = time.monotonic() + limit
    for thread in ctx.background:
        thread.join(max(0.0, until - time.monotonic()))
    while time.monotonic() < until and any(o.resolved_at is None for o in ctx.orphans):
        resolve_orphans(ctx)
        time.sleep(0.1)  # orphans resolve on the server's lease clock; bounded by ``limit``
    resolve_orphans(ctx)


def resolve_orphans(ctx: Ctx) -> None:
    with ctx.ledger.lock:
        log = list(ctx.ledger.worker_log)
    for orphan in ctx.orphans:
        if orphan.resolved_at is not None:
            continue
        if orphan.phase == "worker_run":  # acked by anyone after the kill (or even finished)
            path = f"/environments/{ctx.cluster.env}/work/{orphan.work_id}"
            item = ctx.cluster.api.must("GET", path)
            for name in ("acknowledged_at", "stopped_at"):
                at = None if item[name] is None else parse_ts(item[name]) / 1e6
                if at is not None and at > orphan.killed_wall:
                    orphan.resolved_at = orphan.killed_at + (at - orphan.killed_wall)
                    orphan.fault.recovered_at = orphan.resolved_at
                    break
            continue
        if orphan.phase == "stopping":
            item = ctx.cluster.api.must(
                "GET", f"/environments/{ctx.cluster.env}/work/{orphan.work_id}"
            )
            if item["state"] == "stopped":
                took = parse_ts(item["stopped_at"]) / 1e6 - orphan.killed_wall
                orphan.resolved_at = orphan.killed_at + max(0.0, took)
                orphan.fault.recovered_at = orphan.resolved_at
            continue
        for line in log:
            if (
                line.get("op") == "ack"
                and line["status"] == 200
                and line["work_id"] == orphan.work_id
                and line["t"] > orphan.killed_at
            ):
                orphan.resolved_at = orphan.fault.recovered_at = float(line["t"])
                break


def run_scenario(name: str, plan: Plan, inject: Inject, count: int, replicas: int) -> Result:
    rng = random.Random(f"{plan.seed}:{name}:{plan.backend}")
    started = time.monotonic()
    cluster = Cluster(plan, replicas, name)
    try:
        ledger = Ledger()
        fleet = Fleet(cluster, ledger, plan.workers)
        ctx = Ctx(plan, cluster, ledger, fleet, rng)
        seed = rng.randrange(2**32)
        load = Load(cluster.api, ledger, cluster.env, seed, plan.event_sessions, plan.pace)
        try:
            load.start()
            ctx.wait_recovered(0)
            tally = Tally()
            gap = plan.duration / count if plan.duration else plan.gap
            for i in range(count):
                time.sleep(rng.uniform(0.4 * gap, 1.6 * gap))  # load runs between faults
                inject(ctx, i)
                resolve_orphans(ctx)
                mid = check_all(cluster.api, ledger, cluster.env, [], False, plan.key_sample)
                _merge(tally, mid)
            _settle_orphans(ctx, plan.ttl * 3 + 30)
            load.stop_writers()
            fleet.stop()
            sids = load.event_sessions
            _merge(tally, check_all(cluster.api, ledger, cluster.env, sids, final=True))
        finally:
            load.stop()
            fleet.stop()
    finally:
        cluster.close()
    recoveries = [f.recovery for f in ledger.faults if f.recovery is not None]
    faults = sum(1 for f in ledger.faults if f.recovery is not None)
    elapsed = time.monotonic() - started
    return Result(name, plan.backend, faults, count, tally, ledger, recoveries, ctx, elapsed)
