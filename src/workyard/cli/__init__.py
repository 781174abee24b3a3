"""The ``workyard`` command line."""

__all__: list[str] = []
