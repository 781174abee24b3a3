"""Orchestration: auth, environments, sessions and the work queue over a ``Store``."""

__all__: list[str] = []
