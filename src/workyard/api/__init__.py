"""The HTTP API: the app factory, its ASGI entry, the router and the routes."""

from workyard.api.app import create_app

__all__ = ["create_app"]
