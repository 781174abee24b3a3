"""Pure domain logic: no I/O, no clocks, no globals."""

__all__: list[str] = []
