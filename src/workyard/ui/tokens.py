"""The dashboard's tokens page (admin only): list, create (the secret shown once) and revoke."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from workyard.api.inputs import path_id
from workyard.domain.limits import MAX_NAME_LENGTH
from workyard.domain.models import TokenKind, TokenRecord
from workyard.errors import InvalidRequestError
from workyard.ids import is_id
from workyard.service.auth import Principal, parse_duration
from workyard.service.container import Services
from workyard.ui.actions import (
    Confirm,
    Done,
    Forms,
    confirm_page,
    form_text,
    run_action,
    stale,
)
from workyard.ui.routes import _page, _render, router

__all__ = ["TokensPage"]

_BACK = "/ui/tokens"


@dataclass(frozen=True, slots=True)
class TokensPage:
    tokens: list[TokenRecord]
    kinds: list[str]


async def _tokens(svc: Services, principal: Principal) -> TokensPage:
    principal.require_admin()
    records = await svc.tokens.list_tokens()
    return TokensPage(
        sorted(records, key=lambda r: r.id, reverse=True), [k.value for k in TokenKind]
    )


@router.get("/tokens")
async def tokens_page(request: Request) -> Response:
    return await _page(request, "tokens.html", _tokens)


def _environments(raw: str) -> tuple[str, ...]:
    ids = tuple(part for part in raw.replace(",", " ").split() if part)
    for env_id in ids:
        if not is_id("env", env_id):
            raise InvalidRequestError(f"{env_id[:100]!r} is not an environment id.", param="env")
    return ids


def _kind(raw: str) -> TokenKind:
    try:
        return TokenKind(raw)
    except ValueError:
        raise InvalidRequestError(
            "The kind must be admin, member or worker.", param="kind"
        ) from None


@router.post("/tokens")
async def create_token(request: Request) -> Response:
    async def do(svc: Services, principal: Principal, form: dict[str, str]) -> Response:
        principal.require_admin()
        name = form_text(form, "name", "A name", MAX_NAME_LENGTH, True)
        kind = _kind(form.get("kind", "member"))
        envs = _environments(form.get("environments", ""))
        expires = form.get("expires_in", "").strip()
        try:
            seconds = parse_duration(expires) if expires else None
            record, secret = await svc.tokens.create(name, kind, envs, seconds)
        except ValueError as exc:
            raise InvalidRequestError(f"{str(exc).capitalize()} (nothing was created).") from None
        page = {"record": record, "secret": secret}
        # Not refreshed (its URL is the POST's) and never cached: the secret is shown only here.
        return _render(request, "token_created.html", 201, logged_in=False, page=page)

    return await run_action(request, lambda: (None, do, _BACK))


def _revoke_forms(token_id: str) -> Forms:
    tid = path_id("tok", token_id, "Token")
    url = f"{_BACK}/{tid}/revoke"

    async def live(svc: Services, principal: Principal) -> TokenRecord:
        principal.require_admin()
        record = await svc.tokens.get(tid)
        if record.revoked_at is not None:
            raise stale(f"Token {tid} is already revoked")
        return record

    async def ask(svc: Services, principal: Principal, form: dict[str, str]) -> Confirm:
        record = await live(svc, principal)
        question = (
            f"Revoke {record.kind.value} token “{record.name}” ({tid})? Every request with it is "
            "refused from now on, on every server, and its dashboard sessions end."
        )
        return Confirm("Revoke a token", question, url, "Revoke", _BACK)

    async def do(svc: Services, principal: Principal, form: dict[str, str]) -> Done:
        record = await live(svc, principal)
        await svc.tokens.revoke(tid)
        return Done(f"Token “{record.name}” revoked.", _BACK)

    return ask, do, _BACK


@router.get("/tokens/{token_id}/revoke")
async def revoke_token_form(request: Request, token_id: str) -> Response:
    return await confirm_page(request, lambda: _revoke_forms(token_id))


@router.post("/tokens/{token_id}/revoke")
async def revoke_token(request: Request, token_id: str) -> Response:
    return await run_action(request, lambda: _revoke_forms(token_id))
