"""A session's ``agent``: stored as given and never interpreted, but bounded in size. Pure."""

from __future__ import annotations

from typing import Any

from workyard.domain.limits import MAX_AGENT_BYTES, MAX_AGENT_ID_LENGTH, json_size_within
from workyard.errors import InvalidRequestError

__all__ = ["validate_agent"]


def validate_agent(raw: Any) -> Any:
    """An agent id string, an agent object, or ``None``; anything else or too large → 400."""
    if raw is None:
        return None
    if isinstance(raw, str):
        if len(raw) > MAX_AGENT_ID_LENGTH:
            raise InvalidRequestError(
                f"agent must be at most {MAX_AGENT_ID_LENGTH} characters long", param="agent"
            )
        return raw
    if not isinstance(raw, dict):
        raise InvalidRequestError("agent must be an agent id string or an object", param="agent")
    if json_size_within(raw, MAX_AGENT_BYTES) is None:
        raise InvalidRequestError(
            f"agent must be at most {MAX_AGENT_BYTES // 1024} KiB as JSON", param="agent"
        )
    return raw
