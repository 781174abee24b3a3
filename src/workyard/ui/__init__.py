"""The dashboard: server-rendered pages under ``/ui``."""

from workyard.ui.routes import router

__all__ = ["router"]
