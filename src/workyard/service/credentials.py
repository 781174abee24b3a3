"""What every credential shares: hashing, the work-item secret format, and watches.

A *watch* is one future per live credential, shared by every open stream and blocked poll that
authenticated with it, resolved when the credential dies (revoked, expired, its item stopped, its
lease lost or taken over). Deaths are noticed by ``recheck`` (called on every change signal: a local
write, a change-feed notification, an external SQLite commit) and, for deadlines on the wall clock,
by one timer per watched credential. While any watch is open on a store whose external writes can
only be seen by asking (SQLite's ``PRAGMA data_version``), one background loop asks every 250 ms.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import secrets
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field

from workyard.clock import Clock, Instant

__all__ = [
    "ITEM_SECRET_PREFIX",
    "Watches",
    "hash_secret",
    "mint_item_secret",
    "parse_item_secret",
]

ITEM_SECRET_PREFIX = "wis-"
_ITEM_SECRET_RE = re.compile(r"^wis-(work_[0-9a-f]{32})\.[A-Za-z0-9_-]{43,200}\Z")
_POLL_SECONDS = 0.25
_RETRY_SECONDS = 0.5


def hash_secret(clear: str) -> str:
    """SHA-256 (hex) of a token or item secret: both are high-entropy, so no salt is needed."""
    return hashlib.sha256(clear.encode()).hexdigest()


def mint_item_secret(work_id: str) -> tuple[str, str]:
    """A fresh credential for one work item: ``(clear text, hash)``; the text names the item."""
    clear = f"{ITEM_SECRET_PREFIX}{work_id}.{secrets.token_urlsafe(32)}"
    return clear, hash_secret(clear)


def parse_item_secret(clear: str) -> tuple[str, str] | None:
    """``(work_id, hash)`` of a well-formed item secret, else ``None``."""
    m = _ITEM_SECRET_RE.match(clear)
    return None if m is None else (m.group(1), hash_secret(clear))


@dataclass(slots=True)
class _Entry:
    key: str
    group: str
    future: asyncio.Future[None]
    expires_at: Instant | None
    users: int = 0
    timer: asyncio.TimerHandle | None = field(default=None)

    def kill(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if not self.future.done():
            self.future.set_result(None)


class Watches:
    """Shared death futures, keyed by credential; ``group`` is what change signals name.

    ``alive(key)`` asks the store whether a credential still works. ``poll`` (optional) is run
    every 250 ms while any watch is open, to notice writes only visible by asking.
    """

    def __init__(
        self,
        alive: Callable[[str], Awaitable[bool]],
        wall: Clock,
        poll: Callable[[], None] | None = None,
    ) -> None:
        self._alive = alive
        self._wall = wall
        self._poll = poll
        self._entries: dict[str, _Entry] = {}
        self._groups: dict[str, set[str]] = {}
        self._suspects: set[str] = set()
        self._checker: asyncio.Task[None] | None = None
        self._poller: asyncio.Task[None] | None = None
        wall.on_advance(self._on_wall_advance)

    def __len__(self) -> int:
        return len(self._entries)

    def watched(self, group: str) -> bool:
        return group in self._groups

    @contextlib.contextmanager
    def watch(
        self, key: str, group: str, expires_at: Instant | None, stale: bool
    ) -> Iterator[asyncio.Future[None]]:
        """The credential's shared future while the block runs; ``stale``: check it once now."""
        entry = self._entries.get(key)
        if entry is None:
            entry = self._add(key, group, expires_at)
        entry.users += 1
        if stale:
            self.recheck([group])
        self._start_poller()
        try:
            yield entry.future
        finally:
            entry.users -= 1
            if entry.users == 0 and self._entries.get(key) is entry:
                self._remove(entry)

    def _add(self, key: str, group: str, expires_at: Instant | None) -> _Entry:
        loop = asyncio.get_running_loop()
        entry = _Entry(key, group, loop.create_future(), expires_at)
        self._entries[key] = entry
        self._groups.setdefault(group, set()).add(key)
        if expires_at is not None:
            delay = self._wall.real_delay(expires_at)
            if delay is not None:  # a manual wall clock ends it in _on_wall_advance instead
                entry.timer = loop.call_later(delay, entry.kill)
        return entry

    def _remove(self, entry: _Entry) -> None:
        del self._entries[entry.key]
        keys = self._groups.get(entry.group)
        if keys is not None:
            keys.discard(entry.key)
            if not keys:
                del self._groups[entry.group]
        if entry.timer is not None:
            entry.timer.cancel()
        if not entry.future.done():
            entry.future.cancel()  # nobody waits on it any more

    def kill(self, group: str) -> None:
        """These credentials are dead for certain (e.g. revoked here): end their watchers now."""
        for key in list(self._groups.get(group, ())):
            self._entries[key].kill()

    def recheck(self, groups: Iterable[str] | None = None) -> None:
        """Ask the store soon whether these groups' credentials (``None``: all) still work."""
        if groups is None:
            self._suspects.update(self._entries)
        else:
            for group in groups:
                self._suspects.update(self._groups.get(group, ()))
        if self._suspects and (self._checker is None or self._checker.done()):
            self._checker = asyncio.get_running_loop().create_task(
                self._check_loop(), name="workyard-credential-check"
            )

    async def _check_loop(self) -> None:
        while self._suspects:
            key = self._suspects.pop()
            entry = self._entries.get(key)
            if entry is None or entry.future.done():
                continue
            try:
                alive = await self._alive(key)
            except Exception:  # the store is away: ask again shortly
                self._suspects.add(key)
                await asyncio.sleep(_RETRY_SECONDS)
                continue
            if not alive:
                entry.kill()

    def _on_wall_advance(self) -> None:
        now = self._wall.now()
        for entry in list(self._entries.values()):
            if entry.expires_at is not None and entry.expires_at <= now:
                entry.kill()

    def _start_poller(self) -> None:
        if self._poll is None or (self._poller is not None and not self._poller.done()):
            return
        self._poller = asyncio.get_running_loop().create_task(
            self._poll_loop(), name="workyard-credential-poll"
        )

    async def _poll_loop(self) -> None:
        assert self._poll is not None
        while self._entries:
            await asyncio.sleep(_POLL_SECONDS)
            with contextlib.suppress(Exception):  # the store is away: the next round asks again
                self._poll()

    async def close(self) -> None:
        for task in (self._checker, self._poller):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._checker = self._poller = None
