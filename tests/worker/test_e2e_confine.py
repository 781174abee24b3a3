"""Work directories, the command's environment, hooks, and no command outliving its worker."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from tests.e2e.conftest import ServerProcess
from tests.worker.harness import (
    api,
    process_dead,
    read_env,
    self_hosted,
    sh,
    start_worker,
    wait_until,
    workers,
)

pytestmark = pytest.mark.e2e

POST_RUN = "sh -c 'env -0 > \"$OUT/post-$WORKYARD_END_REASON\"'"


def test_a_command_runs_in_a_fresh_work_directory_with_little_environment_between_hooks(
    server: ServerProcess, tmp_path: Path
) -> None:
    out, root = tmp_path / "out", tmp_path / "work"
    out.mkdir()
    script = (
        'env -0 > "$OUT/cmd.env"; pwd > "$OUT/cmd.pwd"; cat seed > "$OUT/seed"; '
        "echo made > result.txt; echo hello; exit 3"
    )
    pre = "sh -c 'pwd > \"$OUT/pre.pwd\"; echo from-pre > seed'"
    post = 'sh -c \'env -0 > "$OUT/post.env"; ls > "$OUT/post.ls"\''
    with api(server) as client, workers() as started:
        env = self_hosted(client)
        session = client.sessions.create(env.id)
        work_id = session.work_id
        assert work_id is not None
        worker = start_worker(
            server, tmp_path, "confined", sh(script),
            "--once", "--workdir", str(root), "--pre-run", pre, "--post-run", post,
            "--pass-env", "MY_TOKEN", "--log-format", "json", environment_id=env.id,
            env={"OUT": str(out), "SECRET_X": "not-for-commands", "MY_TOKEN": server.token},
            pass_env=["OUT"],
        )  # fmt: skip
        started.append(worker)
        assert worker.wait() == 0, worker.log()

        workdir = root / work_id
        assert (out / "pre.pwd").read_text().strip() == str(workdir)
        assert (out / "cmd.pwd").read_text().strip() == str(workdir)
        assert (out / "seed").read_text().strip() == "from-pre"  # the pre-run hook's file
        variables = read_env(out / "cmd.env")
        assert variables["OUT"] == str(out)  # --pass-env
        assert "SECRET_X" not in variables and "MY_TOKEN" not in variables
        assert "PATH" in variables
        assert variables["WORKYARD_WORK_ID"] == work_id
        assert variables["WORKYARD_SESSION_ID"] == session.id
        assert variables["WORKYARD_WORKDIR"] == str(workdir)
        carrying = {name for name, value in variables.items() if server.token in value}
        assert carrying <= {"WORKYARD_TOKEN"}  # only the fallback of a server without secrets
        assert ("WORKYARD_TOKEN" in variables) != ("WORKYARD_SESSION_TOKEN" in variables)

        post_env = read_env(out / "post.env")
        assert post_env["WORKYARD_EXIT_CODE"] == "3"
        assert post_env["WORKYARD_END_REASON"] == "exited"
        assert post_env["WORKYARD_WORK_ID"] == work_id
        assert post_env["WORKYARD_SESSION_ID"] == session.id
        assert (out / "post.ls").read_text().split() == ["result.txt", "seed"]
        wait_until(lambda: not workdir.exists(), "the work directory to be removed")
        assert list(root.iterdir()) == []  # nor any marker left

        item = client.work.retrieve(env.id, work_id)
        assert item.metadata == {"exit_code": "3", "worker_id": "confined"}
        refused = worker.events("pass_env_refused")
        assert [e["name"] for e in refused] == ["MY_TOKEN"]
        hooks = [(e["hook"], e["exit_code"]) for e in worker.events("hook")]
        assert hooks == [("pre-run", 0), ("post-run", 0)]
        events = json.dumps([e.raw for e in client.sessions.events.list_all(session.id)])
        assert "hello" in events
        assert server.token not in events
        assert server.token not in worker.log()


def test_sigkill_of_the_worker_kills_the_command_tree_and_the_next_worker_runs_post_run(
    server: ServerProcess, tmp_path: Path
) -> None:
    out, root = tmp_path / "out", tmp_path / "work"
    out.mkdir()
    # A leader, its child, and a grandchild in a subshell; each records its pid.
    script = (
        'sleep 600 & echo $! > "$OUT/child"; '
        '(sleep 600 & echo $! > "$OUT/grandchild"; wait) & '
        'echo $$ > "$OUT/leader"; wait'
    )
    with api(server) as client, workers() as started:
        env = self_hosted(client)
        session = client.sessions.create(env.id)
        work_id = session.work_id
        assert work_id is not None
        options = ("--workdir", str(root), "--post-run", POST_RUN, "--log-format", "json")
        victim = start_worker(
            server, tmp_path, "victim", sh(script), *options,
            environment_id=env.id, env={"OUT": str(out)},
        )  # fmt: skip
        started.append(victim)
        names = ("leader", "child", "grandchild")
        wait_until(lambda: all(_read(out / n) for n in names), "the command tree to start")
        pids = [int(_read(out / n) or 0) for n in names]
        assert not any(process_dead(pid) for pid in pids)

        victim.signal(signal.SIGKILL)
        victim.wait()
        wait_until(lambda: all(process_dead(pid) for pid in pids), "the tree to die with it")
        assert (root / work_id).is_dir()  # nothing ran its post-run hook: the worker is dead
        assert not (out / "post-worker_killed").exists()

        heir = start_worker(
            server, tmp_path, "heir", ["true"], *options, "--max-idle", "1",
            environment_id=env.id, env={"OUT": str(out)},
        )  # fmt: skip
        started.append(heir)
        assert heir.wait() == 0, heir.log()
        post_env = read_env(out / "post-worker_killed")
        assert post_env["WORKYARD_WORK_ID"] == work_id
        assert post_env["WORKYARD_SESSION_ID"] == session.id
        assert post_env["WORKYARD_EXIT_CODE"] == ""
        assert [e["work_id"] for e in heir.events("orphan_found")] == [work_id]
        assert list(root.iterdir()) == []
        assert heir.events("worker_idle")
        assert heir.events("worker_stopped")[0]["handled"] == 0  # the item's lease still holds
        assert not heir.events("poll_recovered")


def test_post_run_follows_a_lost_lease_and_a_stop_sent_with_the_cancel_signal(
    server: ServerProcess, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    # First run blocks (until its lease is lost); the second waits for SIGUSR1 and exits 5.
    script = (
        'if [ -e "$OUT/first" ]; then trap \'exit 5\' USR1; touch "$OUT/second"; '
        "while :; do sleep 0.05; done; fi; "
        'touch "$OUT/first"; exec sleep 600'
    )
    with api(server) as client, workers() as started:
        env = self_hosted(client)
        session = client.sessions.create(env.id)
        work_id = session.work_id
        assert work_id is not None
        worker = start_worker(
            server, tmp_path, "hooked", sh(script), "--ttl", "10", "--post-run", POST_RUN,
            "--cancel-signal", "USR1", "--log-format", "json",
            environment_id=env.id, env={"OUT": str(out)},
        )  # fmt: skip
        started.append(worker)
        wait_until(lambda: (out / "first").exists(), "the first run")
        worker.wait_event("active", work_id)
        server.advance(11)  # the lease runs out: the item goes back to the queue
        worker.wait_event("lease_lost", work_id)
        lost = read_env(wait_until(lambda: _exists(out / "post-lease_lost"), "post-run (lost)"))
        assert lost["WORKYARD_EXIT_CODE"] == "137"
        assert lost["WORKYARD_WORK_ID"] == work_id

        wait_until(lambda: (out / "second").exists(), "the item to run again")
        client.work.stop(env.id, work_id)
        stopped = read_env(wait_until(lambda: _exists(out / "post-stopped"), "post-run (stop)"))
        assert stopped["WORKYARD_EXIT_CODE"] == "5"  # SIGUSR1 reached the trap
        worker.wait_event("stopped", work_id)
        assert client.work.retrieve(env.id, work_id).metadata["exit_code"] == "5"
        worker.signal(signal.SIGTERM)
        assert worker.wait() == 0, worker.log()
        assert worker.events("worker_stopped")[0]["handled"] == 2
        assert not worker.events("killed")


def test_hooks_that_fail_or_hang_stop_the_item_with_a_reason(
    server: ServerProcess, tmp_path: Path
) -> None:
    out, root = tmp_path / "out", tmp_path / "work"
    out.mkdir()
    # The first call exits 4; the second hangs until the hook timeout kills it.
    pre = 'sh -c \'if [ -e "$OUT/once" ]; then exec sleep 600; fi; touch "$OUT/once"; exit 4\''
    with api(server) as client, workers() as started:
        env = self_hosted(client)
        first = client.sessions.create(env.id)
        second = client.sessions.create(env.id)
        worker = start_worker(
            server, tmp_path, "prerun", sh('touch "$OUT/ran"'),
            "--max-items", "2", "--pre-run", pre, "--hook-timeout", "1", "--workdir", str(root),
            "--keep-workdir", "--post-run", POST_RUN, "--log-format", "json",
            environment_id=env.id, env={"OUT": str(out)},
        )  # fmt: skip
        started.append(worker)
        assert worker.wait() == 0, worker.log()
        metadata = [client.work.retrieve(env.id, s.work_id or "").metadata for s in (first, second)]
        assert {"worker_id": "prerun", "pre_run_exit_code": "4",
                "error": "pre-run hook exited with status 4"} in metadata  # fmt: skip
        assert {"worker_id": "prerun", "error": "pre-run hook timed out after 1s"} in metadata
        assert not (out / "ran").exists()  # the command never ran
        assert read_env(out / "post-pre_run_failed")["WORKYARD_EXIT_CODE"] == ""
        assert sorted(p.name for p in root.iterdir()) == sorted(
            [str(first.work_id), str(second.work_id)]
        )
        assert worker.events("worker_max_items")[0]["handled"] == 2
        assert [e["timed_out"] for e in worker.events("hook") if e["hook"] == "pre-run"] == [
            False,
            True,
        ]


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except FileNotFoundError:
        return None


def _exists(path: Path) -> Path | None:
    return path if path.exists() and path.stat().st_size else None
