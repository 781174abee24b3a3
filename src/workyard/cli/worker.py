"""``workyard worker run``: run a command for each session of a self-hosted environment.

Exit status: 0 after a clean end (``--once``, ``--until-empty``, or a drained shutdown on the first
SIGTERM/SIGINT); 1 when the server refuses the worker (bad token, unknown environment…) or an option
is wrong; 128 + N when a second signal N forced it to kill its commands and exit at once.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

import typer

from workyard.cli.common import (
    CliError,
    DataDirOption,
    TokenOption,
    UrlOption,
    fail,
    resolve_data_dir,
    resolve_token,
    resolve_url,
)
from workyard.cli.worker_options import (
    CancelSignalOption,
    HealthAddrOption,
    HookTimeoutOption,
    InheritEnvOption,
    KeepWorkdirOption,
    MaxIdleOption,
    MaxItemsOption,
    PassEnvOption,
    PostRunOption,
    PreRunOption,
    Sandbox,
    SandboxNetwork,
    SandboxNetworkOption,
    SandboxOption,
    WorkdirOption,
    opt,
)
from workyard.client import APIError, AsyncClient
from workyard.client._base import API_PREFIX
from workyard.worker import StatusLog, Worker
from workyard.worker.health import HealthServer, parse_addr
from workyard.worker.item_env import recover_orphans
from workyard.worker.runtime import CLIENT_TIMEOUT
from workyard.worker.setup import Prepared, RunnerOptions, SetupError, prepare

__all__ = ["LogFormat", "app", "run"]

app = typer.Typer(no_args_is_help=True, add_completion=False)


class LogFormat(StrEnum):
    text = "text"
    json = "json"


@dataclass(frozen=True)
class _Options:
    url: str
    token: str
    environment_id: str
    runner: RunnerOptions
    concurrency: int
    worker_id: str | None
    ttl: int
    grace: float
    stop_check: float
    once: bool
    until_empty: bool
    log_format: LogFormat
    max_items: int | None = None
    max_idle: float | None = None
    health_addr: tuple[str, int] | None = None


_opt = opt


@app.command("run", context_settings={"allow_interspersed_args": False, "max_content_width": 100})
def run(
    command: Annotated[
        list[str],
        typer.Argument(
            metavar="COMMAND",
            help="The program to run for each session (after `--`). It gets the session's JSON as "
            "the first line of stdin (see --events) and WORKYARD_URL, WORKYARD_SESSION_TOKEN (its "
            "item's credential; the worker's token, as WORKYARD_TOKEN, only from a server that "
            "gives none), WORKYARD_ENVIRONMENT_ID, WORKYARD_WORK_ID, WORKYARD_SESSION_ID, "
            "WORKYARD_WORKER_ID and WORKYARD_EVENTS in its environment; its exit code is recorded "
            "as the item's exit_code metadata.",
            show_default=False,
        ),
    ],
    environment: Annotated[
        str,
        _opt(
            "--environment",
            "-e",
            env="WORKYARD_ENVIRONMENT_ID",
            help="The self-hosted environment to take work from (env_…).",
            show_default=False,
        ),
    ],
    concurrency: Annotated[
        int,
        _opt(
            "--concurrency",
            "-c",
            env="WORKYARD_WORKER_CONCURRENCY",
            help="Run up to N items at once (never polls for more).",
            min=1,
        ),
    ] = 1,
    worker_id: Annotated[
        str | None,
        _opt(
            "--worker-id",
            env="WORKYARD_WORKER_ID",
            help="Worker-ID sent with polls and acks [default: <hostname>-<random>].",
            show_default=False,
        ),
    ] = None,
    ttl: Annotated[
        int,
        _opt(
            "--ttl",
            env="WORKYARD_WORKER_TTL",
            help="Lease asked for in each heartbeat, seconds; heartbeats go every TTL/3.",
            min=10,
            max=600,
        ),
    ] = 60,
    grace: Annotated[
        float,
        _opt(
            "--grace",
            env="WORKYARD_WORKER_GRACE",
            help="Seconds between SIGTERM and SIGKILL on a stop request; on shutdown, how long "
            "running commands may finish before they are stopped.",
            min=0.0,
        ),
    ] = 30.0,
    stop_check: Annotated[
        float,
        _opt(
            "--stop-check",
            env="WORKYARD_WORKER_STOP_CHECK",
            help="Seconds between reads of each running item, so that a stop request (session "
            "archived, work stopped) reaches the command this fast instead of at the next "
            "heartbeat; 0 turns the reads off.",
            min=0.0,
        ),
    ] = 5.0,
    once: Annotated[
        bool,
        _opt("--once", env="WORKYARD_WORKER_ONCE", help="Handle one item, then exit."),
    ] = False,
    until_empty: Annotated[
        bool,
        _opt(
            "--until-empty",
            env="WORKYARD_WORKER_UNTIL_EMPTY",
            help="Exit when a poll finds nothing and no item is running.",
        ),
    ] = False,
    events: Annotated[
        bool,
        _opt(
            "--events/--no-events",
            env="WORKYARD_WORKER_EVENTS",
            help="Speak session events: stdin gets the session, then its user messages and "
            "interrupts (live); stdout lines are posted as events; a user.interrupt sends SIGINT. "
            "--no-events: stdin is the session JSON then end of file; output is only logged.",
        ),
    ] = True,
    log_format: Annotated[
        LogFormat,
        _opt(
            "--log-format",
            env="WORKYARD_WORKER_LOG_FORMAT",
            help="Status lines on stderr: text, or one JSON object per line.",
            case_sensitive=False,
        ),
    ] = LogFormat.text,
    pass_env: PassEnvOption = None,
    inherit_env: InheritEnvOption = False,
    workdir: WorkdirOption = None,
    keep_workdir: KeepWorkdirOption = False,
    pre_run: PreRunOption = None,
    post_run: PostRunOption = None,
    hook_timeout: HookTimeoutOption = 300.0,
    sandbox: SandboxOption = Sandbox.none,
    sandbox_network: SandboxNetworkOption = SandboxNetwork.on,
    max_idle: MaxIdleOption = None,
    max_items: MaxItemsOption = None,
    cancel_signal: CancelSignalOption = "SIGTERM",
    health_addr: HealthAddrOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Run a worker: poll ENV's queue and run COMMAND for each session, until stopped.

    Usage: workyard worker run -e ENV [OPTIONS] -- COMMAND [ARGS]...

    The API token is --token, else WORKYARD_TOKEN, else the data dir's admin.token, else
    QODER_PAT. SIGTERM or Ctrl-C stops polling and lets running commands finish for up to
    --grace seconds (then stops them); a second signal kills them and exits at once.
    """
    if once and until_empty:
        raise typer.BadParameter("--once and --until-empty exclude each other")
    if once and max_items is not None:
        raise typer.BadParameter("--once and --max-items exclude each other")
    resolved_dir = resolve_data_dir(data_dir)
    try:
        resolved_token = resolve_token(token, resolved_dir)
        address = None if health_addr is None else parse_addr(health_addr)
    except (CliError, ValueError) as exc:
        fail(str(exc))
    runner = RunnerOptions(
        list(command),
        grace=grace,
        events=events,
        pass_env=tuple(pass_env or ()),
        inherit_env=inherit_env,
        workdir=workdir,
        keep_workdir=keep_workdir,
        pre_run=pre_run,
        post_run=post_run,
        hook_timeout=hook_timeout,
        sandbox=sandbox.value,
        sandbox_network=sandbox_network == SandboxNetwork.on,
        cancel_signal=cancel_signal,
        data_dir=resolved_dir,
    )
    options = _Options(
        resolve_url(url),
        resolved_token,
        environment,
        runner,
        concurrency,
        worker_id,
        ttl,
        grace,
        stop_check,
        once,
        until_empty,
        log_format,
        max_items,
        max_idle,
        address,
    )
    try:
        prepared = prepare(runner)
    except SetupError as exc:
        fail(str(exc))
    try:
        code = asyncio.run(_run(options, prepared))
    finally:
        prepared.cleanup()
    raise typer.Exit(code)


class _Signals:
    """First SIGTERM/SIGINT: drain. Second: force. Remembers the last signal for the status."""

    def __init__(self, worker: Worker, signals: Sequence[signal.Signals]) -> None:
        self.worker = worker
        self.received: signal.Signals | None = None
        self._signals = signals
        loop = asyncio.get_running_loop()
        for sig in signals:
            loop.add_signal_handler(sig, self._on_signal, sig)

    def _on_signal(self, sig: signal.Signals) -> None:
        self.received = sig
        self.worker.request_shutdown()

    def remove(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in self._signals:
            loop.remove_signal_handler(sig)


async def _run(options: _Options, prepared: Prepared) -> int:
    try:
        client = AsyncClient(options.url, options.token, timeout=CLIENT_TIMEOUT)
    except ValueError as exc:  # a malformed URL
        fail(str(exc))
    log = StatusLog(options.log_format.value)
    for name in prepared.policy.leaks(os.environ, options.token):
        log.emit("pass_env_refused", f"--pass-env {name}: it carries the worker's token — not "
                 "passed", level="warning", name=name)  # fmt: skip
    if prepared.workdirs is not None:
        await recover_orphans(
            prepared.workdirs,
            prepared.post_run,
            prepared.policy,
            url=client.config.base_url.removesuffix(API_PREFIX),
            worker_token=options.token,
            log=log,
        )
    async with client:
        try:
            worker = Worker(
                client,
                options.environment_id,
                prepared.handler,
                concurrency=options.concurrency,
                ttl=options.ttl,
                worker_id=options.worker_id,
                grace=options.grace,
                stop_check=options.stop_check,
                once=options.once,
                until_empty=options.until_empty,
                log=log,
                max_items=options.max_items,
                max_idle=options.max_idle,
            )
        except ValueError as exc:
            fail(str(exc))
        health = await _health(worker, options.health_addr)
        handlers = _Signals(worker, (signal.SIGTERM, signal.SIGINT))
        try:
            await worker.run()
        except APIError:
            return 1  # already logged as worker_fatal
        finally:
            handlers.remove()
            if health is not None:
                await health.close()
    if worker.forced:
        return 128 + (handlers.received or signal.SIGTERM)
    return 0


async def _health(worker: Worker, address: tuple[str, int] | None) -> HealthServer | None:
    """Start the health server (a one-line error when the address cannot be bound)."""
    if address is None:
        return None
    server = HealthServer(worker, *address)
    try:
        await server.start()
    except OSError as exc:
        fail(f"--health-addr {address[0]}:{address[1]}: {exc.strerror or exc}")
    worker.log.emit(
        "health_listening",
        f"health and metrics on http://{address[0]}:{server.port}/healthz and /metrics",
        host=address[0],
        port=server.port,
    )
    return server
