"""String-only metadata maps and their merge patch (RFC 7396 on a flat map)."""

from __future__ import annotations

from typing import Any

from workyard.domain.limits import (
    MAX_METADATA_KEY_LENGTH,
    MAX_METADATA_KEYS,
    MAX_METADATA_VALUE_LENGTH,
    quote,
)
from workyard.errors import InvalidRequestError

__all__ = [
    "MAX_KEYS",
    "MAX_KEY_LENGTH",
    "MAX_VALUE_LENGTH",
    "apply_patch",
    "check_limits",
    "validate_metadata",
    "validate_patch",
]

MAX_KEYS = MAX_METADATA_KEYS
MAX_KEY_LENGTH = MAX_METADATA_KEY_LENGTH
MAX_VALUE_LENGTH = MAX_METADATA_VALUE_LENGTH


def _error(message: str) -> InvalidRequestError:
    return InvalidRequestError(message, param="metadata")


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _check_entry(key: str, value: str) -> None:
    if not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise _error(f"metadata key {quote(key)} must be 1 to {MAX_KEY_LENGTH} characters long")
    if len(value) > MAX_VALUE_LENGTH:
        raise _error(
            f"metadata value for key {quote(key)} must be at most {MAX_VALUE_LENGTH} characters"
        )


def check_limits(metadata: dict[str, str]) -> None:
    """Raise unless the map respects the key count and key/value length limits."""
    for key, value in metadata.items():
        _check_entry(key, value)
    if len(metadata) > MAX_KEYS:
        raise _error(f"metadata may have at most {MAX_KEYS} keys, got {len(metadata)}")


def validate_metadata(raw: Any) -> dict[str, str]:
    """A full metadata map (on create): an object whose values are all strings."""
    if not isinstance(raw, dict):
        raise _error("metadata must be an object mapping string keys to string values")
    if len(raw) > MAX_KEYS:  # checked first: the count alone decides, however large the map
        raise _error(f"metadata may have at most {MAX_KEYS} keys, got {len(raw)}")
    for key, value in raw.items():
        if not isinstance(value, str):
            raise _error(
                f"metadata value for key {quote(key)} must be a string, not {_type_name(value)}"
            )
    result: dict[str, str] = dict(raw)
    check_limits(result)
    return result


def validate_patch(patch: Any) -> dict[str, str | None]:
    """A merge patch on its own: an object of strings (within the limits) or ``null``.

    Checked before the patched record is loaded (spec/work.md §3: 400 before 404); the key count
    limit applies to the result and is checked by :func:`apply_patch`.
    """
    if not isinstance(patch, dict):
        raise _error("metadata must be an object mapping keys to strings or null")
    for key, value in patch.items():
        if value is None:
            continue
        if not isinstance(value, str):
            raise _error(
                f"metadata value for key {quote(key)} must be a string or null, "
                f"not {_type_name(value)}"
            )
        _check_entry(key, value)
    return patch


def apply_patch(current: dict[str, str], patch: Any) -> dict[str, str]:
    """Merge ``patch`` into ``current``: strings upsert, ``null`` deletes; limits apply after."""
    result = dict(current)
    for key, value in validate_patch(patch).items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    check_limits(result)
    return result
