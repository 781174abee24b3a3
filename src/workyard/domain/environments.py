"""Environment config validation (spec/environments.md). Pure."""

from __future__ import annotations

from typing import Any

from workyard.domain.limits import (
    MAX_HOST_LENGTH,
    MAX_HOSTS,
    MAX_NAME_LENGTH,
    MAX_PACKAGE_LENGTH,
    MAX_PACKAGES,
    MAX_SETUP_SCRIPT_BYTES,
)
from workyard.errors import InvalidRequestError

__all__ = ["MAX_NAME_LENGTH", "MAX_SETUP_SCRIPT_BYTES", "validate_config"]

_NETWORK_TYPES = ("unrestricted", "limited", "allowed_hosts")
_PACKAGE_MANAGERS = ("apt", "pip", "npm")
_CLOUD_FIELDS = ("networking", "packages", "setup_script")


def _bad(message: str, param: str) -> InvalidRequestError:
    return InvalidRequestError(message, param=param)


def validate_config(raw: Any) -> dict[str, Any]:
    """Normalize a ``config`` object; ``managed`` becomes ``cloud``."""
    if not isinstance(raw, dict) or not raw:
        raise _bad("config must be an object with a type of self_hosted or cloud", "config")
    kind = raw.get("type")
    if kind == "managed":
        kind = "cloud"
    if kind == "self_hosted":
        for name in _CLOUD_FIELDS:
            if name in raw:
                raise _bad(f"{name} is not allowed for self_hosted environments", f"config.{name}")
        return {"type": "self_hosted"}
    if kind != "cloud":
        raise _bad("config.type must be one of self_hosted, cloud", "config.type")
    config: dict[str, Any] = {"type": "cloud"}
    if raw.get("networking") is not None:
        config["networking"] = _networking(raw["networking"])
    if raw.get("packages") is not None:
        config["packages"] = _packages(raw["packages"])
    if raw.get("setup_script") is not None:
        config["setup_script"] = _setup_script(raw["setup_script"])
    return config


def _networking(raw: Any) -> dict[str, Any]:
    param = "config.networking"
    if not isinstance(raw, dict):
        raise _bad("networking must be an object with a type", param)
    kind = raw.get("type")
    if kind not in _NETWORK_TYPES:
        raise _bad(f"networking.type must be one of {', '.join(_NETWORK_TYPES)}", f"{param}.type")
    result: dict[str, Any] = {"type": kind}
    hosts = raw.get("allowed_hosts")
    if hosts is not None:
        result["allowed_hosts"] = _hosts(hosts, f"{param}.allowed_hosts")
    if kind == "allowed_hosts" and not hosts:
        raise _bad(
            "allowed_hosts is required and must be non-empty for networking.type allowed_hosts",
            f"{param}.allowed_hosts",
        )
    for flag in ("allow_package_managers", "allow_mcp_servers"):
        if flag in raw and raw[flag] is not None:
            if not isinstance(raw[flag], bool):
                raise _bad(f"{flag} must be a boolean", f"{param}.{flag}")
            result[flag] = raw[flag]
    return result


def _packages(raw: Any) -> dict[str, list[str]]:
    param = "config.packages"
    if not isinstance(raw, dict):
        raise _bad("packages must be an object with apt, pip or npm arrays", param)
    result: dict[str, list[str]] = {}
    for manager, names in raw.items():
        if manager == "type" and names == "packages":  # the official SDK's discriminator
            continue
        if manager not in _PACKAGE_MANAGERS:
            raise _bad(f"packages may only contain {', '.join(_PACKAGE_MANAGERS)}", param)
        result[manager] = _strings(
            names, f"{param}.{manager}", MAX_PACKAGES, MAX_PACKAGE_LENGTH, f"packages.{manager}"
        )
    return result


def _hosts(raw: Any, param: str) -> list[str]:
    hosts = _strings(raw, param, MAX_HOSTS, MAX_HOST_LENGTH, "allowed_hosts")
    if not all(hosts):
        raise _bad("allowed_hosts must be an array of host names", param)
    return hosts


def _strings(raw: Any, param: str, max_items: int, max_length: int, what: str) -> list[str]:
    """An array of at most ``max_items`` strings of at most ``max_length`` characters each."""
    if not isinstance(raw, list):
        raise _bad(f"{what} must be an array of strings", param)
    if len(raw) > max_items:  # first: the count alone decides, however long the array
        raise _bad(f"{what} may hold at most {max_items} entries, got {len(raw)}", param)
    if not all(isinstance(s, str) for s in raw):
        raise _bad(f"{what} must be an array of strings", param)
    for n, entry in enumerate(raw):
        if len(entry) > max_length:
            raise _bad(f"{what}[{n}] must be at most {max_length} characters long", f"{param}[{n}]")
    return raw


def _setup_script(raw: Any) -> str:
    if not isinstance(raw, str):
        raise _bad("setup_script must be a string", "config.setup_script")
    # a character is 1 to 4 UTF-8 bytes: the length alone decides most cases without encoding
    if len(raw) > MAX_SETUP_SCRIPT_BYTES or (
        4 * len(raw) > MAX_SETUP_SCRIPT_BYTES and len(raw.encode()) > MAX_SETUP_SCRIPT_BYTES
    ):
        raise _bad("setup_script must be at most 64 KiB", "config.setup_script")
    return raw
