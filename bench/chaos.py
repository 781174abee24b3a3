"""The fault-injection run: sustained mixed load on real processes, random faults, invariants.

    .venv/bin/python bench/chaos.py [--backend both|sqlite|postgres] [--short] [--seed N]
        [--server-kills 20] [--worker-kills 10] [--pg-terminations 5] [--replica-kills 3]
        [--disk-full 3] [--worker-run-kills 5] [--duration S] [--ttl 3] [--only SCENARIO …]

Everything runs on loopback: ``workyard serve`` processes (three replicas for ``replica_kill``),
scripted workers, ``workyard worker run`` (for ``worker_run_kill``), and client threads
(sessions, metadata patches, event appends, SSE streams; the workers long-poll). PostgreSQL is
WORKYARD_BENCH_POSTGRES_URL (a fresh schema per scenario). One line per scenario; the exit status
is non-zero on any lost write, impossible state, double owner, duplicated or reordered event,
pagination fault, orphan never redelivered, or command that outlived its worker. ``disk_full``
needs root (a size-limited tmpfs mounted in a private mount namespace, via ``unshare``).
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from chaos_faults import disk_full, pg_terminate, replica_kill, server_kill, worker_kill
from chaos_run import Inject, Plan, Result, run_scenario
from chaos_worker_run import worker_run_kill

# scenario -> (injector, count flag, replicas, backends)
SCENARIOS: dict[str, tuple[Inject, str, int, tuple[str, ...]]] = {
    "server_kill": (server_kill, "server_kills", 1, ("sqlite", "postgres")),
    "worker_kill": (worker_kill, "worker_kills", 1, ("sqlite", "postgres")),
    "worker_run_kill": (worker_run_kill, "worker_run_kills", 1, ("sqlite", "postgres")),
    "pg_terminate": (pg_terminate, "pg_terminations", 1, ("postgres",)),
    "replica_kill": (replica_kill, "replica_kills", 3, ("postgres",)),
    "disk_full": (disk_full, "disk_full", 1, ("sqlite",)),
}
FULL = {"server_kills": 20, "worker_kills": 10, "pg_terminations": 5, "replica_kills": 3}
FULL |= {"disk_full": 3, "worker_run_kills": 5}
SHORT = {"server_kills": 2, "worker_kills": 5, "pg_terminations": 2, "replica_kills": 1}
SHORT |= {"disk_full": 1, "worker_run_kills": 1}


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["both", "sqlite", "postgres"], default="both")
    parser.add_argument("--short", action="store_true", help="a few faults per scenario")
    parser.add_argument("--seed", type=int, default=None)
    for flag in FULL:
        parser.add_argument(f"--{flag.replace('_', '-')}", type=int, default=None)
    parser.add_argument("--duration", type=float, default=0.0, help="seconds of load per scenario")
    parser.add_argument("--ttl", type=int, default=3, help="lease TTL of the servers (s)")
    parser.add_argument("--only", action="append", choices=sorted(SCENARIOS))
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument(
        "--jobs", type=int, default=None, help="scenarios run side by side (default 1; --short 3)"
    )
    parser.add_argument("--in-namespace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    defaults = SHORT if args.short else FULL
    for flag, value in defaults.items():
        if getattr(args, flag) is None:
            setattr(args, flag, value)
    if args.seed is None:
        args.seed = int(time.time())
    return args


_PRINTING = threading.Lock()


def _print(result: Result) -> None:
    with _PRINTING:  # scenarios may run side by side (``--jobs``): keep each one's lines together
        print(result.line())
        for note in result.tally.notes:
            print(f"    {note}")
        sys.stdout.flush()


def _disk_full_elsewhere(args: argparse.Namespace) -> bool:
    """Run disk_full in a private mount namespace (its tmpfs goes with it); True if it passed."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        print("disk_full     backend=sqlite   skipped: needs root and unshare(1) for a tmpfs")
        return True
    cmd = ["unshare", "--mount", "--propagation", "private", sys.executable, __file__]
    cmd += ["--in-namespace", "--backend", "sqlite", "--only", "disk_full", "--jobs", "1"]
    cmd += ["--seed", str(args.seed)]
    cmd += ["--disk-full", str(args.disk_full), "--ttl", str(args.ttl)]
    cmd += ["--duration", str(args.duration)] + (["--short"] if args.short else [])
    if args.workdir:
        cmd += ["--workdir", str(args.workdir)]
    return subprocess.run(cmd, check=False).returncode == 0


def _disk_full_here(args: argparse.Namespace, plan: Plan) -> bool:
    mount = Path(tempfile.mkdtemp(prefix="chaos-tmpfs-", dir=plan.workdir))
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "chaos", str(mount)], check=True)
    try:
        plan.data_root = mount
        result = run_scenario("disk_full", plan, disk_full, args.disk_full, 1)
        _print(result)
        return result.passed
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
        mount.rmdir()


def _jobs(args: argparse.Namespace, workdir: Path) -> list[Callable[[], bool]]:
    """One callable per scenario and backend to run; each prints its line and says if it passed."""
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    jobs: list[Callable[[], bool]] = []
    for backend in backends:
        for name, (inject, flag, replicas, where) in SCENARIOS.items():
            count = getattr(args, flag)
            if backend not in where or (args.only and name not in args.only) or count <= 0:
                continue
            plan = Plan(backend, args.seed, ttl=args.ttl, duration=args.duration, workdir=workdir)
            if args.short:  # lighter: the short run shares a small machine with other tests
                plan.gap, plan.pace, plan.workers, plan.key_sample = 0.3, 0.2, 2, 25
            if name == "disk_full" and args.in_namespace:
                jobs.append(functools.partial(_disk_full_here, args, plan))
            elif name == "disk_full":
                jobs.append(functools.partial(_disk_full_elsewhere, args))
            else:
                jobs.append(functools.partial(_scenario, name, plan, inject, count, replicas))
    return jobs


def _scenario(name: str, plan: Plan, inject: Inject, count: int, replicas: int) -> bool:
    result = run_scenario(name, plan, inject, count, replicas)
    _print(result)
    return result.passed


def main() -> int:
    args = parse()
    workdir = args.workdir or Path(tempfile.gettempdir())
    if not args.in_namespace:
        load = " ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"chaos: seed={args.seed} ttl={args.ttl}s backend={args.backend} load={load}")
        sys.stdout.flush()
    os.environ.setdefault("WORKYARD_SSE_KEEPALIVE_SECONDS", "1")
    started = time.monotonic()
    jobs = _jobs(args, workdir)
    with ThreadPoolExecutor(args.jobs or (3 if args.short else 1)) as pool:
        passed = all(list(pool.map(lambda job: job(), jobs)))
    if not args.in_namespace:
        verdict = "PASS" if passed else "FAIL"
        load = " ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"chaos: {verdict} in {time.monotonic() - started:.0f} s; load={load}", flush=True)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
