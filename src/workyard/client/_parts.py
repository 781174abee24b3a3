"""Small builders for the parts of a request: query parameters, JSON bodies, headers."""

from __future__ import annotations

from typing import Any

from workyard.client._base import NotGiven

__all__ = ["body", "page_params", "params", "worker_headers"]


def _text(value: bool | int | str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def params(*pairs: tuple[str, bool | int | str | None]) -> tuple[tuple[str, str], ...]:
    """Query parameters, dropping the ones whose value is ``None``."""
    return tuple((key, _text(value)) for key, value in pairs if value is not None)


def page_params(
    limit: int | None, page: str | None, after_id: str | None, before_id: str | None
) -> tuple[tuple[str, str], ...]:
    return params(
        ("limit", limit), ("page", page), ("after_id", after_id), ("before_id", before_id)
    )


def body(**fields: Any) -> dict[str, Any]:
    """A JSON body of the fields that were given (``None``/``NOT_GIVEN`` are left out)."""
    return {k: v for k, v in fields.items() if v is not None and not isinstance(v, NotGiven)}


def worker_headers(worker_id: str | None) -> tuple[tuple[str, str], ...]:
    return (("Worker-ID", worker_id),) if worker_id is not None else ()
