"""Credentials: API tokens and work-item secrets; exact caches, watches and permission checks.

Lookups are cached, and the cache is exact, never merely short-lived: it is dropped whenever a
credential may have changed. Changes made by this server drop it at once; SQLite writes by another
process (the ``workyard token`` CLI) are seen through ``Store.data_version`` (``PRAGMA
data_version``, asked once per request); PostgreSQL changes by any replica or the CLI arrive
through the change feed (a trigger notifies on every token change; work-item changes are on the
feed already), and while the feed is down (``data_version`` is ``None``) the cache is not used at
all. Work items are cached once: a store whose ``get_work`` answers exactly from memory (SQLite)
is simply asked; only for a replicated store does this service keep its own item cache, dropped
item by item from the feed. Token expiry follows the wall clock (``wall``), never the emulator
clock; work-item leases follow the queue's clock like every other lease rule.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Generic, TypeVar

from workyard.clock import Clock, Instant, SystemClock
from workyard.domain import work as wm
from workyard.domain.limits import quote
from workyard.domain.models import TokenKind, TokenRecord, WorkItem
from workyard.errors import AuthenticationError, NotFoundError, PermissionDeniedError
from workyard.ids import new_id
from workyard.service.credentials import (
    ITEM_SECRET_PREFIX,
    Watches,
    hash_secret,
    parse_item_secret,
)
from workyard.service.keeper import IndexKeeper
from workyard.store import Insert, Replace, Store, WorkChange
from workyard.store.base import ALL_TOKENS

__all__ = [
    "ItemScope",
    "Principal",
    "TokenService",
    "hash_token",
    "is_token_format",
    "new_token_secret",
    "parse_duration",
]

_TOKEN_RE = re.compile(r"^pt-[A-Za-z0-9_-]{32,200}\Z")
_DURATION_RE = re.compile(r"^(\d+)([smhdw])\Z")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_CACHE_LIMIT = 10_000
V = TypeVar("V")

hash_token = hash_secret


def new_token_secret() -> str:
    """A new random token (its clear text)."""
    return "pt-" + secrets.token_urlsafe(32)


def is_token_format(token: str) -> bool:
    """Whether ``token`` looks like a token this server generates (``pt-`` and 32+ characters)."""
    return _TOKEN_RE.match(token) is not None


def parse_duration(text: str) -> int:
    """Seconds in ``30d``, ``12h``, ``90m``, ``45s`` or ``2w``."""
    m = _DURATION_RE.match(text.strip())
    if m is None or int(m.group(1)) == 0:
        raise ValueError(
            f"invalid duration {quote(text)}: use a positive number and s, m, h, d or w"
        )
    return int(m.group(1)) * _UNIT_SECONDS[m.group(2)]


@dataclass(frozen=True, slots=True)
class ItemScope:
    """What a work-item credential may touch: its item, its session, nothing else."""

    work_id: str
    session_id: str
    environment_id: str
    secret_hash: str


_ITEM_ONLY = "A work item credential may only use its own session and work item."


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a token's kind and, for worker tokens, its environments (empty = all).

    A work-item credential is a principal with ``item`` set (kind ``worker``, confined to the
    item's environment): every check rejects it except ``require_session``/``require_work`` on its
    own session and item. ``token_id`` is then the work item's id.
    """

    token_id: str
    kind: TokenKind
    environment_ids: tuple[str, ...] = ()
    item: ItemScope | None = None
    expires_at: Instant | None = field(default=None, compare=False)  # wall clock
    checked: int = field(default=0, compare=False)  # the credential generation it was looked up at

    @property
    def restricted(self) -> bool:
        """A worker token limited to some environments."""
        return self.kind is TokenKind.WORKER and bool(self.environment_ids)

    def require_token(self) -> None:
        """An API token (lists, poll, ack, stats, environments…): never an item credential."""
        if self.item is not None:
            raise PermissionDeniedError(_ITEM_ONLY)

    def require_member(self) -> None:
        """Admin or member (everything but environment delete and tokens)."""
        self.require_token()
        if self.kind is TokenKind.WORKER:
            raise PermissionDeniedError("Worker tokens may not perform this operation.")

    def require_admin(self) -> None:
        self.require_token()
        if self.kind is not TokenKind.ADMIN:
            raise PermissionDeniedError("Only admin tokens may perform this operation.")

    def require_environment(self, environment_id: str) -> None:
        """Work access: any admin/member; a worker only inside its environments."""
        self.require_token()
        if self.restricted and environment_id not in self.environment_ids:
            raise PermissionDeniedError("This token is not allowed in this environment.")

    def require_session(self, session_id: str, environment_id: str) -> None:
        """Reading a session and its events, sending events: an item credential for its own."""
        if self.item is None:
            self.require_environment(environment_id)
        elif session_id != self.item.session_id:
            raise PermissionDeniedError(_ITEM_ONLY)

    def require_work(self, environment_id: str, work_id: str) -> None:
        """Heartbeat, stop, metadata of one item: an item credential for its own item only."""
        if self.item is None:
            self.require_environment(environment_id)
        elif (environment_id, work_id) != (self.item.environment_id, self.item.work_id):
            raise PermissionDeniedError(_ITEM_ONLY)


class _Cache(Generic[V]):
    """Lookups by key, each reused until dropped (or ``max_age`` seconds, a safety net)."""

    def __init__(self, max_age: float) -> None:
        self.max_age = max_age
        self.entries: dict[str, tuple[float, V]] = {}

    def get(self, key: str) -> tuple[bool, V | None]:
        hit = self.entries.get(key)
        if hit is None or time.monotonic() - hit[0] >= self.max_age:
            return False, None
        return True, hit[1]

    def put(self, key: str, value: V) -> bool:
        """Store; ``True`` when the cache had to be emptied first (it is bounded)."""
        emptied = len(self.entries) >= _CACHE_LIMIT
        if emptied:
            self.entries.clear()
        self.entries[key] = (time.monotonic(), value)
        return emptied


class TokenService:
    """Authenticates both kinds of credential and tells open streams when theirs dies.

    ``clock`` is the server's (emulator) clock: work-item leases. ``wall`` is real time: token
    creation, revocation and expiry. ``keeper`` connects the service to work and token changes
    (without one, e.g. in the CLI, a replicated store is never cached).
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        cache_seconds: float = 60.0,
        *,
        wall: Clock | None = None,
        keeper: IndexKeeper | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self.wall: Clock = wall if wall is not None else SystemClock()
        self._tokens: _Cache[TokenRecord | None] = _Cache(cache_seconds)
        self._items: _Cache[WorkItem] = _Cache(cache_seconds)
        self._token_gen = 0
        self._item_gen = 0
        self._changed = asyncio.Event()
        self._own_items = not store.caches_work  # else the store's get_work is the cache
        self._seen_version: int | None = None
        # external writes to a single-node store are only seen by asking: ask while watching
        poll = None if store.replicated else self._notice
        self.watches = Watches(self._alive, self.wall, poll)
        if keeper is not None:
            keeper.on_tokens = self._tokens_changed
            keeper.on_work = self._work_changed
            keeper.on_resync = self._resync

    # tokens: create and revoke -------------------------------------------------------------
    async def create(
        self,
        name: str,
        kind: TokenKind,
        environment_ids: tuple[str, ...] = (),
        expires_in_seconds: int | None = None,
        clear: str | None = None,
    ) -> tuple[TokenRecord, str]:
        """Create a token (``clear``, else a new secret); return the record and the clear text."""
        if environment_ids and kind is not TokenKind.WORKER:
            raise ValueError("only worker tokens can be restricted to environments")
        if not name.strip():
            raise ValueError("a token needs a name")
        if clear is not None and not is_token_format(clear):
            raise ValueError("a token is pt- followed by 32 to 200 of A-Z a-z 0-9 _ -")
        clear = clear or new_token_secret()
        now = self.wall.now()
        expires: Instant | None = None
        if expires_in_seconds is not None:
            expires = now + expires_in_seconds * 1_000_000
        record = TokenRecord(
            id=new_id("tok"),
            name=name,
            kind=kind,
            token_hash=hash_token(clear),
            environment_ids=environment_ids,
            created_at=now,
            expires_at=expires,
        )
        await self._store.commit([Insert(record)])
        self._tokens_changed([record.id])
        return record, clear

    async def revoke(self, token_id: str) -> TokenRecord:
        record = await self._store.get_token(token_id)
        if record is None:
            raise NotFoundError(f"No token {token_id}.")
        if record.revoked_at is not None:
            return record
        revoked = replace(record, revoked_at=self.wall.now())
        await self._store.commit([Replace(revoked, 0)])
        self._tokens_changed([token_id])
        self.watches.kill(token_id)
        return revoked

    async def list_tokens(self) -> list[TokenRecord]:
        return await self._store.list_tokens()

    async def get(self, token_id: str) -> TokenRecord:
        record = await self._store.get_token(token_id)
        if record is None:
            raise NotFoundError(f"No token {token_id}.")
        return record

    # authentication ------------------------------------------------------------------------
    async def authenticate(self, authorization: str | None) -> Principal:
        """The principal for an ``Authorization`` header value, or 401."""
        if authorization is None:
            raise AuthenticationError()
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer":
            raise AuthenticationError()
        if token.startswith(ITEM_SECRET_PREFIX):
            return await self._item_principal(token)
        if not _TOKEN_RE.match(token):
            raise AuthenticationError()
        digest = hash_token(token)
        trusted = self._fresh()
        gen = self._token_gen
        hit, record = self._tokens.get(digest) if trusted else (False, None)
        if not hit:
            record = await self._store.token_by_hash(digest)
            if trusted and self._tokens.put(digest, record):
                self._token_gen += 1
        return self._usable(record, gen)

    async def principal_for(self, token_id: str) -> Principal:
        """The principal of token ``token_id`` while it is usable, else 401 (dashboard sessions).

        Always read from the store, never the cache: a revocation by any server or the CLI, or the
        token's expiry, counts at the very next request.
        """
        gen = self._token_gen
        record = await self._store.get_token(token_id)
        return self._usable(record, gen)

    def _usable(self, record: TokenRecord | None, gen: int) -> Principal:
        """The principal of a usable token record, else 401 (revoked, expired or unknown)."""
        if record is None or not record.usable(self.wall.now()):
            raise AuthenticationError()
        return Principal(
            record.id, record.kind, record.environment_ids, expires_at=record.expires_at,
            checked=gen,
        )  # fmt: skip

    async def _item_principal(self, token: str) -> Principal:
        parsed = parse_item_secret(token)
        if parsed is None:
            raise AuthenticationError()
        work_id, digest = parsed
        trusted = self._fresh() and self._own_items
        gen = self._item_gen
        _, item = self._items.get(work_id) if trusted else (False, None)
        now = self._clock.now()
        if not wm.credential_valid(item, digest, now):  # not cached, or changed since: ask
            item = await self._store.get_work(work_id)
            if not wm.credential_valid(item, digest, now):
                raise AuthenticationError()
            assert item is not None
            if trusted and self._items.put(work_id, item):
                self._item_gen += 1
        assert item is not None
        scope = ItemScope(work_id, item.session_id, item.environment_id, digest)
        return Principal(work_id, TokenKind.WORKER, (item.environment_id,), item=scope, checked=gen)

    def _fresh(self) -> bool:
        """Whether cached lookups may answer now; notices changes made behind this server's back
        (another process wrote to SQLite; the change feed resynced)."""
        version = self._store.data_version()
        if version is None:
            return False
        if version != self._seen_version:
            if self._seen_version is not None:
                self._external_change()
            self._seen_version = version
        return True

    def _notice(self) -> None:
        self._fresh()

    # change signals ------------------------------------------------------------------------
    def _tokens_changed(self, token_ids: Sequence[str]) -> None:
        self._tokens.entries.clear()  # negative entries have no id: token changes are rare
        self._token_gen += 1
        self._signal()
        if ALL_TOKENS in token_ids:  # TRUNCATE tokens: every watched token may be gone
            if len(self.watches):
                self.watches.recheck(None)
        elif any(self.watches.watched(t) for t in token_ids):
            self.watches.recheck(token_ids)

    def _work_changed(self, changes: Sequence[WorkChange]) -> None:
        hit = [c.id for c in changes if self._items.entries.pop(c.id, None) is not None]
        watched = [c.id for c in changes if self.watches.watched(c.id)]
        if hit or watched or (changes and not self._own_items):
            # (without an item cache of our own, any change may concern a credential just used)
            self._item_gen += 1
        if hit or watched:
            self._signal()
        if watched:
            self.watches.recheck(watched)

    def _external_change(self) -> None:
        """Something may have changed anywhere (another process wrote; the feed resynced)."""
        self._tokens.entries.clear()
        self._items.entries.clear()
        self._token_gen += 1
        self._item_gen += 1
        self._signal()
        if len(self.watches):
            self.watches.recheck(None)

    def _resync(self) -> None:
        """The feed (re)started: anything may have changed meanwhile; the generation moved."""
        self._seen_version = self._store.data_version()
        self._external_change()

    def _signal(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def changed(self) -> asyncio.Event:
        """Set at the next credential change this server notices (take it before acting)."""
        return self._changed

    # watches -------------------------------------------------------------------------------
    @contextmanager
    def watch(self, principal: Principal) -> Iterator[asyncio.Future[None]]:
        """A future that completes when ``principal``'s credential dies, while the block runs.

        Shared by everyone watching the same credential; never cancel or await-cancel it.
        """
        self._fresh()
        item = principal.item
        if item is None:
            stale = principal.checked != self._token_gen
            key = group = principal.token_id
            expires = principal.expires_at
        else:
            stale = principal.checked != self._item_gen
            key, group, expires = f"{item.work_id}:{item.secret_hash}", item.work_id, None
        with self.watches.watch(key, group, expires, stale) as dead:
            yield dead

    async def _alive(self, key: str) -> bool:
        work_id, _, digest = key.partition(":")
        if digest:
            item = await self._store.get_work(work_id)
            return wm.credential_valid(item, digest, self._clock.now())
        record = await self._store.get_token(key)
        return record is not None and record.usable(self.wall.now())

    async def close(self) -> None:
        await self.watches.close()
