"""The dashboard: server-rendered pages under ``/ui``, and the actions operators take there."""

from workyard.ui import actions, tokens  # noqa: F401 - they add their routes to ``router``
from workyard.ui.routes import router

__all__ = ["router"]
