"""The worker tests reuse the end-to-end ``server`` fixture (``workyard serve --manual-clock``)."""

from __future__ import annotations

from tests.e2e.conftest import server as server

__all__ = ["server"]
