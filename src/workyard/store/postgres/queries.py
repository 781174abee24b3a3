"""The PostgreSQL named queries, compiled to ``$n`` placeholders once at import."""

from __future__ import annotations

from workyard.store.named import Compiled, compile_named
from workyard.store.sql import load_queries

__all__ = ["Q"]

Q: dict[str, Compiled] = {
    name: compile_named(sql) for name, sql in load_queries("workyard.store.postgres").items()
}
