"""The options of ``workyard worker run`` that confine and bound its commands."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = [
    "CancelSignalOption",
    "HealthAddrOption",
    "HookTimeoutOption",
    "InheritEnvOption",
    "KeepWorkdirOption",
    "MaxIdleOption",
    "MaxItemsOption",
    "PassEnvOption",
    "PostRunOption",
    "PreRunOption",
    "Sandbox",
    "SandboxNetwork",
    "SandboxNetworkOption",
    "SandboxOption",
    "WorkdirOption",
    "opt",
]


def opt(*names: str, env: str, help: str, **kwargs: Any) -> Any:
    """An option read from ``--flag`` or, when absent, from the environment variable ``env``."""
    return typer.Option(*names, envvar=env, show_envvar=True, help=help, **kwargs)


class Sandbox(StrEnum):
    none = "none"
    bwrap = "bwrap"


class SandboxNetwork(StrEnum):
    on = "on"
    off = "off"


PassEnvOption = Annotated[
    list[str] | None,
    opt(
        "--pass-env",
        env="WORKYARD_WORKER_PASS_ENV",
        help="Pass this variable of the worker's environment to the command (repeatable; the "
        "variable: names separated by spaces). Otherwise the command gets only PATH, HOME, USER, "
        "LOGNAME, SHELL, LANG, LANGUAGE, LC_*, TERM, TZ, TMPDIR and its WORKYARD_* variables.",
        show_default=False,
    ),
]
InheritEnvOption = Annotated[
    bool,
    opt(
        "--inherit-env",
        env="WORKYARD_WORKER_INHERIT_ENV",
        help="Give the command the worker's whole environment (but the worker's token).",
    ),
]
WorkdirOption = Annotated[
    Path | None,
    opt(
        "--workdir",
        env="WORKYARD_WORKER_WORKDIR",
        help="Run each item in a fresh DIR/<work_id> (the command's working directory), removed "
        "when the item ends.",
        show_default=False,
    ),
]
KeepWorkdirOption = Annotated[
    bool,
    opt(
        "--keep-workdir",
        env="WORKYARD_WORKER_KEEP_WORKDIR",
        help="Keep each item's work directory when it ends.",
    ),
]
PreRunOption = Annotated[
    str | None,
    opt(
        "--pre-run",
        env="WORKYARD_WORKER_PRE_RUN",
        help="Run this before each command (split like a shell, run without one); a non-zero "
        "exit stops the item (pre_run_exit_code in its metadata) and the command does not run.",
        show_default=False,
    ),
]
PostRunOption = Annotated[
    str | None,
    opt(
        "--post-run",
        env="WORKYARD_WORKER_POST_RUN",
        help="Run this after each item, whatever happened, with WORKYARD_EXIT_CODE and "
        "WORKYARD_END_REASON in its environment.",
        show_default=False,
    ),
]
HookTimeoutOption = Annotated[
    float,
    opt(
        "--hook-timeout",
        env="WORKYARD_WORKER_HOOK_TIMEOUT",
        help="Seconds a hook may run before it is killed.",
        min=0.001,
    ),
]
SandboxOption = Annotated[
    Sandbox,
    opt(
        "--sandbox",
        env="WORKYARD_WORKER_SANDBOX",
        help="bwrap: run each command under bubblewrap: read-only system, only its work "
        "directory writable, private /tmp, empty $HOME, its own PID namespace.",
        case_sensitive=False,
    ),
]
SandboxNetworkOption = Annotated[
    SandboxNetwork,
    opt(
        "--sandbox-network",
        env="WORKYARD_WORKER_SANDBOX_NETWORK",
        help="off: the sandboxed command gets no network at all (only its own loopback).",
        case_sensitive=False,
    ),
]
MaxIdleOption = Annotated[
    float | None,
    opt(
        "--max-idle",
        env="WORKYARD_WORKER_MAX_IDLE",
        help="Exit after this many seconds with no work.",
        min=0.001,
        show_default=False,
    ),
]
MaxItemsOption = Annotated[
    int | None,
    opt(
        "--max-items",
        env="WORKYARD_WORKER_MAX_ITEMS",
        help="Exit after handling N items.",
        min=1,
        show_default=False,
    ),
]
CancelSignalOption = Annotated[
    str,
    opt(
        "--cancel-signal",
        env="WORKYARD_WORKER_CANCEL_SIGNAL",
        help="The signal a command's process group gets on a stop request or shutdown "
        "(SIGKILL follows after --grace).",
    ),
]
HealthAddrOption = Annotated[
    str | None,
    opt(
        "--health-addr",
        env="WORKYARD_WORKER_HEALTH_ADDR",
        help="Serve /healthz and Prometheus /metrics on HOST:PORT.",
        show_default=False,
    ),
]
