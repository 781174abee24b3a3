"""While the server drains for shutdown, new requests get 503 ``overloaded_error`` [decided].

A draining server (``workyard serve`` got SIGTERM or SIGINT) ends its long polls and event streams
and finishes requests already running; anything new under ``/api/`` — and ``/readyz``, so that a
load balancer takes the replica out — is answered 503 with ``Retry-After: 1``, to be retried on
another replica. ``/healthz`` and ``/metrics`` keep answering.
"""

from __future__ import annotations

from workyard.errors import OverloadedError

__all__ = ["draining_error", "refused_while_draining"]

_GUARDED = ("/api/", "/readyz")


def refused_while_draining(path: str) -> bool:
    """Whether a new request for ``path`` is refused while the server drains."""
    return path.startswith(_GUARDED)


def draining_error() -> OverloadedError:
    return OverloadedError("The server is shutting down; retry (another replica).")
