"""Client-side commands declared once: the server options and ``--json`` come with each of them.

A command is written as a *plan*: a function of its own arguments that checks them (before any
token is looked for or request sent) and returns what to do with the server, which returns the
:class:`~workyard.cli.printing.Output` to print::

    @client_command(app, "get")
    def get(environment_id: IdArgument) -> Request:
        \"\"\"Show one environment.\"\"\"
        return lambda client: Card(client.environments.retrieve(environment_id))

The registered command takes the plan's arguments plus ``--url``, ``--token``, ``--data-dir`` and
``--json`` (resolved as :mod:`workyard.cli.common` says), connects, runs the request and shows its
result; API errors exit with one line on stderr.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer

from workyard.cli.common import DataDirOption, JsonOption, Target, TokenOption, UrlOption
from workyard.cli.printing import Output
from workyard.client import Client

__all__ = ["Request", "Run", "client_command", "server_command"]

Request = Callable[[Client], Output]
"""What a plan asks of the server through an open client."""
Run = Callable[[Target], Output]
"""What a plan does with the server itself (for commands that open their own clients)."""

P = TypeVar("P", bound=Callable[..., Any])

_KW = inspect.Parameter.KEYWORD_ONLY
_SERVER_OPTIONS = (
    inspect.Parameter("url", _KW, default=None, annotation=UrlOption),
    inspect.Parameter("token", _KW, default=None, annotation=TokenOption),
    inspect.Parameter("data_dir", _KW, default=None, annotation=DataDirOption),
    inspect.Parameter("as_json", _KW, default=False, annotation=JsonOption),
)


def server_command(app: typer.Typer, name: str) -> Callable[[P], P]:
    """Register a plan that returns a :data:`Run` as the command ``name`` of ``app``."""

    def register(plan: P) -> P:
        _register(app, name, plan, plan)
        return plan

    return register


def client_command(app: typer.Typer, name: str) -> Callable[[P], P]:
    """Register a plan that returns a :data:`Request` as the command ``name`` of ``app``."""

    def register(plan: P) -> P:
        def run_in_client(**arguments: Any) -> Run:
            request: Request = plan(**arguments)
            return lambda target: _fetch(target, request)

        _register(app, name, plan, run_in_client)
        return plan

    return register


def _fetch(target: Target, request: Request) -> Output:
    with target.client() as client:
        return request(client)


def _register(
    app: typer.Typer, name: str, plan: Callable[..., Any], run: Callable[..., Run]
) -> None:
    """Add ``plan``'s parameters and the server options to a command that runs ``run``."""
    own = list(inspect.signature(plan, eval_str=True).parameters.values())
    parameters = [*own, *_SERVER_OPTIONS]

    def command(
        url: str | None, token: str | None, data_dir: Path | None, as_json: bool, **arguments: Any
    ) -> None:
        planned = run(**arguments)
        planned(Target.resolve(url, token, data_dir)).show(as_json)

    command.__signature__ = inspect.Signature(parameters, return_annotation=None)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in parameters}
    command.__doc__ = plan.__doc__
    command.__name__ = command.__qualname__ = plan.__name__
    command.__module__ = plan.__module__
    app.command(name)(command)
