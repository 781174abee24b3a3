"""``python -m workyard``: the ``workyard`` command."""

from workyard.cli.main import main

__all__: list[str] = []

if __name__ == "__main__":
    main()
