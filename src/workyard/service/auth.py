"""Tokens: creation, hashing, verification (with a short cache) and permission checks."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass

from workyard.clock import Clock, Instant
from workyard.domain.models import TokenKind, TokenRecord
from workyard.errors import AuthenticationError, NotFoundError, PermissionDeniedError
from workyard.ids import new_id
from workyard.store import Insert, Replace, Store

__all__ = [
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


def new_token_secret() -> str:
    """A new random token (its clear text)."""
    return "pt-" + secrets.token_urlsafe(32)


def is_token_format(token: str) -> bool:
    """Whether ``token`` looks like a token this server generates (``pt-`` and 32+ characters)."""
    return _TOKEN_RE.match(token) is not None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_duration(text: str) -> int:
    """Seconds in ``30d``, ``12h``, ``90m``, ``45s`` or ``2w``."""
    m = _DURATION_RE.match(text.strip())
    if m is None or int(m.group(1)) == 0:
        raise ValueError(f"invalid duration {text!r}: use a positive number and s, m, h, d or w")
    return int(m.group(1)) * _UNIT_SECONDS[m.group(2)]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a token's kind and, for worker tokens, its environments (empty = all)."""

    token_id: str
    kind: TokenKind
    environment_ids: tuple[str, ...] = ()

    @property
    def restricted(self) -> bool:
        """A worker token limited to some environments."""
        return self.kind is TokenKind.WORKER and bool(self.environment_ids)

    def require_member(self) -> None:
        """Admin or member (everything but environment delete and tokens)."""
        if self.kind is TokenKind.WORKER:
            raise PermissionDeniedError("Worker tokens may not perform this operation.")

    def require_admin(self) -> None:
        if self.kind is not TokenKind.ADMIN:
            raise PermissionDeniedError("Only admin tokens may perform this operation.")

    def require_environment(self, environment_id: str) -> None:
        """Work access: any admin/member; a worker only inside its environments."""
        if self.restricted and environment_id not in self.environment_ids:
            raise PermissionDeniedError("This token is not allowed in this environment.")


class TokenService:
    def __init__(self, store: Store, clock: Clock, cache_seconds: float = 5.0) -> None:
        self._store = store
        self._clock = clock
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, TokenRecord | None]] = {}

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
        now = self._clock.now()
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
        return record, clear

    async def revoke(self, token_id: str) -> TokenRecord:
        record = await self._store.get_token(token_id)
        if record is None:
            raise NotFoundError(f"No token {token_id}.")
        if record.revoked_at is not None:
            return record
        from dataclasses import replace

        revoked = replace(record, revoked_at=self._clock.now())
        await self._store.commit([Replace(revoked, 0)])
        self._cache.clear()
        return revoked

    async def authenticate(self, authorization: str | None) -> Principal:
        """The principal for an ``Authorization`` header value, or 401."""
        if authorization is None:
            raise AuthenticationError()
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not _TOKEN_RE.match(token):
            raise AuthenticationError()
        record = await self._lookup(hash_token(token))
        if record is None or not record.usable(self._clock.now()):
            raise AuthenticationError()
        return Principal(record.id, record.kind, record.environment_ids)

    async def _lookup(self, token_hash: str) -> TokenRecord | None:
        cached = self._cache.get(token_hash)
        mono = time.monotonic()
        if cached is not None and mono - cached[0] < self._cache_seconds:
            return cached[1]
        record = await self._store.token_by_hash(token_hash)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[token_hash] = (mono, record)
        return record
