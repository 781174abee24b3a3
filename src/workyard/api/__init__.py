"""The HTTP API: FastAPI app factory, middleware, routes."""

from workyard.api.app import create_app

__all__ = ["create_app"]
