"""Environments: create, read, update (merge patch), archive, delete."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from workyard.domain.metadata import apply_patch
from workyard.domain.models import Environment
from workyard.domain.pagination import Page, PageRequest, make_page
from workyard.errors import ConflictError, InvalidRequestError, NotFoundError, OverloadedError
from workyard.ids import new_id
from workyard.service.auth import Principal
from workyard.service.queue import WorkQueue
from workyard.store import Delete, EnvironmentFilter, Insert, Replace

__all__ = ["EnvironmentChanges", "EnvironmentService"]

_CAS_ATTEMPTS = 20


@dataclass(frozen=True, slots=True)
class EnvironmentChanges:
    """An update: ``None`` means "not sent"; ``metadata`` is a raw merge patch."""

    name: str | None = None
    description: str | None = None
    config: dict[str, Any] | None = None
    metadata: Any = None


class EnvironmentService:
    def __init__(self, queue: WorkQueue) -> None:
        self._queue = queue
        self._store = queue.store
        self._clock = queue.clock

    async def _load(self, environment_id: str) -> Environment:
        env = await self._store.get_environment(environment_id)
        if env is None:
            raise NotFoundError(f"Environment {environment_id} not found.")
        return env

    async def create(
        self,
        principal: Principal,
        name: str,
        description: str,
        config: dict[str, Any],
        metadata: dict[str, str],
    ) -> Environment:
        principal.require_member()
        now = self._clock.now()
        env = Environment(new_id("env"), name, description, config, metadata, None, now, now)
        await self._store.commit([Insert(env)])
        return env

    async def get(self, principal: Principal, environment_id: str) -> Environment:
        env = await self._load(environment_id)
        principal.require_member()
        return env

    async def list(
        self, principal: Principal, flt: EnvironmentFilter, page: PageRequest
    ) -> Page[Environment]:
        principal.require_member()
        rows = await self._store.list_environments(flt, page)
        return make_page(rows, page, lambda env: env.id)

    async def update(
        self, principal: Principal, environment_id: str, changes: EnvironmentChanges
    ) -> Environment:
        for _ in range(_CAS_ATTEMPTS):
            env = await self._load(environment_id)
            principal.require_member()
            new = self._apply(env, changes)
            if await self._store.commit([Replace(new, env.version)]):
                self._queue.forget_environment(environment_id)
                return new
        raise OverloadedError("The environment is changing too fast; retry.")

    def _apply(self, env: Environment, changes: EnvironmentChanges) -> Environment:
        if changes.config is not None and changes.config["type"] != env.config_type:
            raise InvalidRequestError(
                f"config.type cannot change (it is {env.config_type}); create a new environment",
                param="config.type",
            )
        metadata = env.metadata
        if changes.metadata is not None:
            metadata = apply_patch(env.metadata, changes.metadata)
        return replace(
            env,
            name=changes.name if changes.name is not None else env.name,
            description=changes.description if changes.description is not None else env.description,
            config=changes.config if changes.config is not None else env.config,
            metadata=metadata,
            updated_at=max(self._clock.now(), env.updated_at),
            version=env.version + 1,
        )

    async def archive(self, principal: Principal, environment_id: str) -> Environment:
        for _ in range(_CAS_ATTEMPTS):
            env = await self._load(environment_id)
            principal.require_member()
            if env.archived_at is not None:
                return env
            now = max(self._clock.now(), env.updated_at)
            new = replace(env, archived_at=now, updated_at=now, version=env.version + 1)
            if await self._store.commit([Replace(new, env.version)]):
                self._queue.forget_environment(environment_id)
                return new
        raise OverloadedError("The environment is changing too fast; retry.")

    async def delete(self, principal: Principal, environment_id: str) -> None:
        await self._load(environment_id)
        principal.require_admin()
        referenced = ConflictError(
            "Environment is referenced by sessions and cannot be deleted; archive it instead."
        )
        if await self._store.environment_referenced(environment_id):
            raise referenced
        if not await self._store.commit([Delete(Environment, environment_id)]):
            await self._load(environment_id)  # deleted meanwhile → 404
            raise referenced
        self._queue.forget_environment(environment_id)
