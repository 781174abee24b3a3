"""The short chaos run: ``bench/chaos.py --short``, a few faults of every kind per backend.

The same code as the full benchmark, on real processes (servers killed with ``kill -9`` and
restarted, workers killed in every phase, ``workyard worker run`` killed while its command runs,
PostgreSQL connections terminated, a replica killed, SQLite's file system filled up). Only
invariants are judged — no write acknowledged with a 2xx is lost, no impossible state, never two
owners, events neither lost, duplicated nor reordered, pagination exact, every orphan redelivered,
no command outliving its worker — never timings: recovery times are printed, not asserted.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import workyard
from tests.pg import PG_URL, require_postgres

BENCH = Path(__file__).resolve().parents[2] / "bench" / "chaos.py"
SCENARIOS = {
    "sqlite": {"server_kill": 2, "worker_kill": 5, "worker_run_kill": 1, "disk_full": 1},
    "postgres": {
        "server_kill": 2,
        "worker_kill": 5,
        "worker_run_kill": 1,
        "pg_terminate": 2,
        "replica_kill": 1,
    },
}
ZERO = ["lost", "impossible", "double_owner", "duplicated", "reordered", "paging", "stranded"]
ZERO += ["outlived", "bad_envelope", "stale_accepted"]


def _fields(line: str) -> dict[str, str]:
    return dict(re.findall(r"(\w+)=(\S+)", line))


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_short_chaos_run_loses_nothing(backend: str, tmp_path: Path) -> None:
    if backend == "postgres":
        require_postgres()
    src = str(Path(workyard.__file__).resolve().parents[1])
    env = {**os.environ, "WORKYARD_BENCH_POSTGRES_URL": PG_URL}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    cmd = [sys.executable, str(BENCH), "--short", "--backend", backend, "--seed", "13"]
    cmd += ["--workdir", str(tmp_path)]
    run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900, check=False)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    lines = {line.split()[0]: line for line in run.stdout.splitlines() if "backend=" in line}
    for scenario, wanted in SCENARIOS[backend].items():
        line = lines.get(scenario)
        assert line is not None, output
        if scenario == "disk_full" and "skipped" in line:
            assert os.geteuid() != 0, line  # root can mount a size-limited file system
            continue
        fields = _fields(line)
        assert int(fields["faults"]) >= wanted, line
        assert int(fields["acked_writes"]) > 0, line
        for name in ZERO:
            assert fields.get(name, "0") == "0", line
    worker = _fields(lines["worker_kill"])
    assert int(worker["orphans"]) >= 4, lines["worker_kill"]  # polled, acked, running, stopping
    assert worker["stale_fenced"] == "1", lines["worker_kill"]  # the stalled holder was refused
    assert lines["worker_run_kill"].count("commands_killed=1"), lines["worker_run_kill"]


def test_the_checks_catch_what_they_look_for() -> None:
    """The judges of the chaos run are not vacuous: overlapping leases, impossible items."""
    if str(BENCH.parent) not in sys.path:
        sys.path.append(str(BENCH.parent))  # the run's modules live in bench/
    from chaos_checks import double_owners, item_shape_faults
    from chaos_ledger import LeaseOp

    def ts(second: int) -> str:
        return f"2026-01-01T00:00:{second:02d}.000000Z"

    ok = [LeaseOp("work_1", "a", ts(1), ts(1)), LeaseOp("work_1", "a", ts(1), ts(3))]
    ok += [LeaseOp("work_1", "b", ts(9), ts(9)), LeaseOp("work_1", "a", ts(20), ts(20))]
    assert double_owners(ok) == []
    stale = [*ok, LeaseOp("work_1", "a", ts(1), ts(10))]  # a heartbeat after b's ack
    assert len(double_owners(stale)) == 1
    item = {
        "id": "work_1",
        "state": "active",
        "created_at": ts(0),
        "acknowledged_at": ts(1),
        "started_at": ts(2),
        "latest_heartbeat_at": ts(3),
        "stop_requested_at": None,
        "stopped_at": None,
        "data": {"type": "session", "id": "sess_1"},
        "secret": None,
    }
    assert item_shape_faults(item) == []
    assert item_shape_faults({**item, "started_at": None}) != []
    assert item_shape_faults({**item, "state": "queued"}) != []
    assert item_shape_faults({**item, "acknowledged_at": ts(5)}) != []
