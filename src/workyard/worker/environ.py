"""The environment a command (and a hook) gets: little, and never the worker's token.

By default a command does **not** inherit the worker's environment: it gets a minimal base
(:data:`BASE_VARIABLES`, those of them the worker has), the variables named with ``--pass-env``,
and the item's ``WORKYARD_*`` variables. The credential it gets is the item's own
(``WORKYARD_SESSION_TOKEN``, the ack's ``secret``), valid for that one item. Any variable whose
value is the worker's token is dropped, whatever its name. Only against a server that hands out
no item credential does the command get the worker's token as ``WORKYARD_TOKEN``, as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["BASE_VARIABLES", "EnvPolicy", "ItemIds"]

BASE_VARIABLES = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LANGUAGE",
    "TERM",
    "TZ",
    "TMPDIR",
)


@dataclass(frozen=True)
class ItemIds:
    """The ids a command learns about its item."""

    url: str
    environment_id: str
    work_id: str
    session_id: str
    worker_id: str


@dataclass(frozen=True)
class EnvPolicy:
    """Which of the worker's variables a command gets (``inherit``: all of them, as before)."""

    pass_env: tuple[str, ...] = ()
    inherit: bool = False

    def base(self, source: Mapping[str, str], worker_token: str | None) -> dict[str, str]:
        """The variables taken from the worker's environment ``source``."""
        if self.inherit:
            picked = dict(source)
        else:
            names = [*BASE_VARIABLES, *self.pass_env]
            picked = {name: source[name] for name in names if name in source}
            picked.update({k: v for k, v in source.items() if k.startswith("LC_")})
        for name in [k for k in picked if k.startswith("WORKYARD_") or k == "QODER_PAT"]:
            if name not in self.pass_env:
                del picked[name]  # the worker's own settings are not the command's
        return {k: v for k, v in picked.items() if not worker_token or worker_token not in v}

    def build(
        self,
        source: Mapping[str, str],
        ids: ItemIds,
        *,
        worker_token: str | None,
        session_token: str | None,
        extra: Iterable[tuple[str, str]] = (),
        fallback: bool = True,
    ) -> dict[str, str]:
        """The full environment for one item (``fallback``: without ``session_token``, pass
        ``worker_token`` as ``WORKYARD_TOKEN``, the behaviour against an older server)."""
        env = self.base(source, worker_token)
        env["WORKYARD_URL"] = ids.url
        env["WORKYARD_ENVIRONMENT_ID"] = ids.environment_id
        env["WORKYARD_WORK_ID"] = ids.work_id
        env["WORKYARD_SESSION_ID"] = ids.session_id
        env["WORKYARD_WORKER_ID"] = ids.worker_id
        if session_token:
            env["WORKYARD_SESSION_TOKEN"] = session_token
        elif worker_token and fallback:
            env["WORKYARD_TOKEN"] = worker_token  # an older server: no item credential
        env.update(extra)
        return env

    def leaks(self, source: Mapping[str, str], worker_token: str | None) -> list[str]:
        """The ``--pass-env`` names that carry the worker's token (and are therefore dropped)."""
        if not worker_token:
            return []
        return [n for n in self.pass_env if worker_token in source.get(n, "")]
