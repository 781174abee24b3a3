"""From ``workyard worker run``'s options to a ready command runner, checking everything first.

Every check that can fail does so here, before the first poll, with a one-line
:class:`SetupError`: an unknown sandbox, a missing ``bwrap``, an unwritable work directory, a hook
that is not an executable file, an unknown cancel signal, a malformed health address.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from workyard.worker.command import CommandHandler
from workyard.worker.environ import EnvPolicy
from workyard.worker.hooks import Hook, HookError, parse_hook
from workyard.worker.sandbox import SANDBOXES, Bwrap, SandboxError, find_bwrap
from workyard.worker.workdir import WorkDirError, WorkDirs

__all__ = ["Prepared", "RunnerOptions", "SetupError", "parse_signal", "prepare"]


class SetupError(Exception):
    """An option that cannot work; the message is one line for the user."""


def parse_signal(value: str) -> signal.Signals:
    """``SIGTERM``, ``TERM``, ``term`` or ``15`` → ``signal.SIGTERM``."""
    text = value.strip().upper()
    try:
        if text.isdigit():
            return signal.Signals(int(text))
        return signal.Signals[text if text.startswith("SIG") else f"SIG{text}"]
    except (KeyError, ValueError):
        raise SetupError(f"--cancel-signal {value!r}: not a signal name or number") from None


@dataclass(frozen=True)
class RunnerOptions:
    """What shapes the command runner (the CLI's options, already typed)."""

    argv: Sequence[str]
    grace: float = 30.0
    events: bool = True
    pass_env: Sequence[str] = ()
    inherit_env: bool = False
    workdir: Path | None = None
    keep_workdir: bool = False
    pre_run: str | None = None
    post_run: str | None = None
    hook_timeout: float = 300.0
    sandbox: str = "none"
    sandbox_network: bool = True
    cancel_signal: str = "SIGTERM"
    data_dir: Path | None = None  # hidden from a sandboxed command
    masked: Sequence[Path] = field(default_factory=tuple)


@dataclass
class Prepared:
    """A checked runner, and what the worker must clean up at exit."""

    handler: CommandHandler
    workdirs: WorkDirs | None
    post_run: Hook | None
    policy: EnvPolicy
    temporary_root: Path | None = None

    def cleanup(self) -> None:
        if self.temporary_root is not None:
            shutil.rmtree(self.temporary_root, ignore_errors=True)


def prepare(options: RunnerOptions) -> Prepared:
    """Check the options and build the runner; :class:`SetupError` with one line otherwise."""
    if options.sandbox not in SANDBOXES:
        raise SetupError(
            f"--sandbox {options.sandbox!r}: unknown sandbox (choose {', '.join(SANDBOXES)})"
        )
    cancel = parse_signal(options.cancel_signal)
    try:
        pre = _hook("pre-run", options.pre_run, options.hook_timeout)
        post = _hook("post-run", options.post_run, options.hook_timeout)
        sandbox = _sandbox(options)
    except (HookError, SandboxError) as exc:
        raise SetupError(str(exc)) from None
    root, temporary = options.workdir, None
    if root is None and sandbox is not None:
        root = temporary = Path(tempfile.mkdtemp(prefix="workyard-work-"))  # removed at exit
    workdirs = None if root is None else WorkDirs(root, keep=options.keep_workdir)
    if workdirs is not None:
        try:
            workdirs.check()
        except WorkDirError as exc:
            raise SetupError(str(exc)) from None
    policy = EnvPolicy(tuple(options.pass_env), options.inherit_env)
    handler = CommandHandler(
        options.argv,
        grace=options.grace,
        events=options.events,
        pass_env=options.pass_env,
        inherit_env=options.inherit_env,
        workdirs=workdirs,
        pre_run=pre,
        post_run=post,
        sandbox=sandbox,
        cancel_signal=cancel,
    )
    return Prepared(handler, workdirs, post, policy, temporary)


def _hook(name: str, command: str | None, timeout: float) -> Hook | None:
    return None if command is None else parse_hook(name, command, timeout)


def _sandbox(options: RunnerOptions) -> Bwrap | None:
    if options.sandbox != "bwrap":
        if not options.sandbox_network:
            raise SandboxError("--sandbox-network off needs --sandbox bwrap")
        return None
    masked = [*options.masked]
    home = os.environ.get("HOME")
    if home:
        masked.append(Path(home))
    if options.data_dir is not None:
        masked.append(options.data_dir.absolute())
    return Bwrap(find_bwrap(), network=options.sandbox_network, masked=tuple(masked))
