"""Every figure of the hot-path goals in one command, each benchmark run in turn.

    .venv/bin/python bench/all.py [--baseline-src DIR] [--quick]

1. ``hotpath.py``: a bare Starlette no-op app and ``workyard serve`` (and, with ``--baseline-src``,
   another source tree) started in the same run: empty-poll rps ÷ bare rps, CPU per request,
   lifecycle items/s and server CPU per lifecycle (SQLite).
2. ``idle_fleet.py``: 2,000 idle long polls (server CPU, ``/healthz`` p50/p99 meanwhile) and
   pickup latency.
3. ``pg_lifecycle.py``: PostgreSQL lifecycles/s and database round trips per lifecycle.
4. ``replicas.py``: cross-replica poll wake-up and event delivery latency (PostgreSQL).

Each prints its own table; nothing here asserts anything.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent


def _steps(args: argparse.Namespace) -> list[list[str]]:
    baseline = [] if args.baseline_src is None else [str(args.baseline_src)]
    quick = args.quick
    hot = ["hotpath.py", "--rounds", "1" if quick else "3"]
    fleet = ["idle_fleet.py", "--polls", "500" if quick else "2000", "--rounds", "1"]
    pg = ["pg_lifecycle.py", "--rounds", "1" if quick else "3"]
    if baseline:
        hot += ["--baseline-src", *baseline]
        fleet += ["--baseline", str(Path(baseline[0]) / "src")]
        pg += ["--baseline", str(Path(baseline[0]) / "src")]
    return [hot, fleet, pg, ["replicas.py", "--rounds", "30" if quick else "100"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-src", type=Path, help="another source tree (its root)")
    parser.add_argument("--quick", action="store_true", help="fewer rounds and polls")
    args = parser.parse_args()
    failed = 0
    for step in _steps(args):
        print(f"\n== bench/{' '.join(step)}", flush=True)
        done = subprocess.run([sys.executable, str(_HERE / step[0]), *step[1:]], check=False)
        failed += done.returncode != 0
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
