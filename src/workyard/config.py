"""One frozen Settings object, from ``WORKYARD_*`` environment variables and CLI flags."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from workyard.domain.limits import quote

__all__ = ["SECRET_SETTINGS", "Settings", "load_settings"]

# Settings that may hold secrets: each also reads ``WORKYARD_<NAME>_FILE`` (a mounted secret).
SECRET_SETTINGS = ("admin_token", "database_url")


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path(".workyard")
    database_url: str | None = None
    default_ttl_seconds: int = 60
    max_body_bytes: int = 32 * 1024 * 1024
    max_body_buffer_bytes: int = 128 * 1024 * 1024  # large bodies held at once, all requests
    sqlite_synchronous: str = "NORMAL"
    pg_pool_size: int = 8
    manual_clock: bool = False
    allow_manual_clock_anywhere: bool = False
    token_cache_seconds: float = 60.0  # a safety net: changes drop cached lookups at once
    sse_keepalive_seconds: float = 15.0
    log_level: str = "info"
    log_format: str = "text"
    access_log: bool = True
    max_header_bytes: int = 64 * 1024
    header_timeout_seconds: float = 10.0
    body_timeout_seconds: float = 30.0
    keep_alive_seconds: int = 5
    max_connections: int = 10_000
    admin_token: str | None = field(default=None, repr=False)  # a secret: never in a repr
    retention_days: int = 30
    ui_session_ttl_seconds: int = 12 * 3600  # a dashboard login lasts this long (wall clock)

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to ``<data dir>/workyard.db``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'workyard.db'}"

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with the non-``None`` overrides applied."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


_BOOL_TRUE = {"1", "true", "yes", "on"}
_BOOL_FALSE = {"0", "false", "no", "off", ""}


def _convert(name: str, raw: str, default: Any) -> Any:
    if isinstance(default, bool):
        low = raw.strip().lower()
        if low in _BOOL_TRUE:
            return True
        if low in _BOOL_FALSE:
            return False
        raise ValueError(f"WORKYARD_{name.upper()} must be true or false, not {quote(raw)}")
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            raise ValueError(
                f"WORKYARD_{name.upper()} must be an integer, not {quote(raw)}"
            ) from None
    if isinstance(default, float):
        try:
            return float(raw)
        except ValueError:
            raise ValueError(
                f"WORKYARD_{name.upper()} must be a number, not {quote(raw)}"
            ) from None
    if isinstance(default, Path):
        return Path(raw)
    return raw


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings from defaults, then ``WORKYARD_<FIELD>`` variables, then explicit overrides."""
    env = os.environ if environ is None else environ
    base = Settings()
    values: dict[str, Any] = {}
    for f in fields(Settings):
        raw = _raw_value(env, f.name)
        if raw is not None:
            values[f.name] = _convert(f.name, raw, getattr(base, f.name))
    settings = replace(base, **values).with_overrides(**overrides)
    if settings.max_body_buffer_bytes < settings.max_body_bytes:
        raise ValueError("WORKYARD_MAX_BODY_BUFFER_BYTES must be at least WORKYARD_MAX_BODY_BYTES")
    if settings.retention_days < 0:
        raise ValueError("WORKYARD_RETENTION_DAYS must be 0 (keep everything) or more days")
    if settings.ui_session_ttl_seconds <= 0:
        raise ValueError("WORKYARD_UI_SESSION_TTL_SECONDS must be a positive number of seconds")
    return settings


def _raw_value(env: Mapping[str, str], name: str) -> str | None:
    """``WORKYARD_<NAME>``, or for secrets the contents of the file ``WORKYARD_<NAME>_FILE``."""
    key = f"WORKYARD_{name.upper()}"
    if name not in SECRET_SETTINGS or f"{key}_FILE" not in env:
        return env.get(key)
    if key in env:
        raise ValueError(f"set {key} or {key}_FILE, not both")
    path = Path(env[f"{key}_FILE"])
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"{key}_FILE: cannot read {path}: {exc.strerror or exc}") from None
    return text.removesuffix("\n").removesuffix("\r")
