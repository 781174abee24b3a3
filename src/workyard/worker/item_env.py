"""What surrounds one command: its environment, work directory and hooks, in order.

For each item: (with ``--workdir``) a fresh work directory → the pre-run hook (a failure stops
the item, its status in the metadata, and the command does not run) → the command → the
post-run hook, whatever happened (exit, crash, stop, lease loss, shutdown), told the exit code
and why the item ended → the work directory removed. Only a forced exit (a second signal) skips
the post-run hook; with ``--workdir`` the next worker runs it (:func:`recover_orphans`).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from workyard.client import WorkItem
from workyard.client._base import API_PREFIX
from workyard.worker.context import WorkContext
from workyard.worker.environ import EnvPolicy, ItemIds
from workyard.worker.hooks import Hook
from workyard.worker.logs import StatusLog
from workyard.worker.workdir import WorkDirs

__all__ = ["End", "ItemEnv", "Surroundings", "item_secret", "recover_orphans"]


def item_secret(item: WorkItem) -> str | None:
    """The item's own credential (the ack's ``secret``), if the server gave one."""
    secret = item.secret
    return secret if isinstance(secret, str) and secret else None


@dataclass
class End:
    """How an item ended, for the post-run hook."""

    code: int | None = None
    reason: str = "exited"


class Surroundings:
    """What every item of one command runner shares."""

    def __init__(
        self,
        policy: EnvPolicy,
        environ: Mapping[str, str] | None,
        workdirs: WorkDirs | None,
        pre_run: Hook | None,
        post_run: Hook | None,
    ) -> None:
        self.policy = policy
        self.environ = environ
        self.workdirs = workdirs
        self.pre_run = pre_run
        self.post_run = post_run
        self._warned = False

    def environment(
        self, ctx: WorkContext, *, events: bool, workdir: Path | None = None
    ) -> dict[str, str]:
        config = ctx.client.config
        ids = ItemIds(
            url=config.base_url.removesuffix(API_PREFIX),
            environment_id=ctx.environment_id,
            work_id=ctx.work_id,
            session_id=ctx.session.id,
            worker_id=ctx.worker_id,
        )
        extra = [("WORKYARD_EVENTS", "1" if events else "0")]
        if workdir is not None:
            extra.append(("WORKYARD_WORKDIR", str(workdir)))
        env = self.policy.build(
            os.environ if self.environ is None else self.environ,
            ids,
            worker_token=config.token,
            session_token=item_secret(ctx.item),
            extra=extra,
        )
        if events:
            env.setdefault("PYTHONUNBUFFERED", "1")
        return env

    def warn_without_secret(self, ctx: WorkContext) -> None:
        """Once per worker: the server gave no item credential (an older server)."""
        if not self._warned and item_secret(ctx.item) is None and ctx.client.config.token:
            self._warned = True
            ctx.log.no_item_credential(ctx.work_id)


Command = Callable[[WorkContext, "ItemEnv", End], Awaitable[int]]


class ItemEnv:
    """One item's surroundings: ``env`` and ``workdir`` (once :meth:`run` made them)."""

    def __init__(self, surroundings: Surroundings, ctx: WorkContext, *, events: bool) -> None:
        self.s = surroundings
        self.ctx = ctx
        self.events = events
        self.workdir: Path | None = None
        self.env: dict[str, str] = {}

    async def run(self, command: Command) -> int | None:
        s, ctx = self.s, self.ctx
        s.warn_without_secret(ctx)
        if s.workdirs is not None:
            self.workdir = s.workdirs.create(
                ctx.work_id, ctx.session.id, ctx.environment_id, ctx.worker_id
            )
        self.env = s.environment(ctx, events=self.events, workdir=self.workdir)
        end, forced = End(), False
        try:
            if not await self._pre_run(end):
                return None
            code = await command(ctx, self, end)
            end.reason = _reason(ctx)
            return code
        except asyncio.CancelledError:
            forced = not ctx.lease_lost.is_set()
            end.reason = "lease_lost"
            raise
        except Exception:
            end.reason = "error"
            raise
        finally:
            if not forced:  # a forced exit leaves the marker: the next start runs the hook
                await self._after(end)

    async def _pre_run(self, end: End) -> bool:
        """Run the pre-run hook; False when the command must not run."""
        hook, ctx = self.s.pre_run, self.ctx
        if hook is not None:
            result = await hook.run(
                env=self.env, cwd=self.workdir, log=ctx.log, work_id=ctx.work_id
            )
            if not result.ok:
                if result.exit_code is not None:
                    ctx.add_metadata("pre_run_exit_code", str(result.exit_code))
                ctx.add_metadata("error", result.describe(hook.name, hook.timeout))
                end.reason = "pre_run_failed"
                return False
        if ctx.stopping.is_set():
            end.reason = _reason(ctx)
            return False
        return True

    async def _after(self, end: End) -> None:
        hook, ctx = self.s.post_run, self.ctx
        if hook is not None:
            env = {
                **self.env,
                "WORKYARD_EXIT_CODE": "" if end.code is None else str(end.code),
                "WORKYARD_END_REASON": end.reason,
            }
            await hook.run(env=env, cwd=self.workdir, log=ctx.log, work_id=ctx.work_id)
        if self.s.workdirs is not None:
            self.s.workdirs.finish(ctx.work_id)


def _reason(ctx: WorkContext) -> str:
    if ctx.stopping.is_set():
        return "shutdown" if ctx.stop_reason == "shutdown" else "stopped"
    return "shutdown" if ctx.input_closed.is_set() else "exited"


async def recover_orphans(
    workdirs: WorkDirs,
    post_run: Hook | None,
    policy: EnvPolicy,
    *,
    url: str,
    worker_token: str | None,
    log: StatusLog,
) -> int:
    """Run the post-run hook for each work directory a dead worker left; how many there were."""
    orphans = workdirs.orphans()
    for marker in orphans:
        log.orphan_found(marker.work_id, marker.path)
        path = Path(marker.path)
        if post_run is not None:
            ids = ItemIds(
                url, marker.environment_id, marker.work_id, marker.session_id, marker.worker_id
            )
            env = policy.build(
                os.environ,
                ids,
                worker_token=worker_token,
                session_token=None,
                fallback=False,
                extra=[
                    ("WORKYARD_WORKDIR", str(path)),
                    ("WORKYARD_EXIT_CODE", ""),
                    ("WORKYARD_END_REASON", "worker_killed"),
                ],
            )
            cwd = workdirs.existing(marker.work_id)
            await post_run.run(env=env, cwd=cwd, log=log, work_id=marker.work_id)
        workdirs.finish(marker.work_id)
    return len(orphans)
