"""One declaration per endpoint: Starlette routes and the OpenAPI document come from it.

A bearer endpoint declares the permission it needs; its route checks it before the handler
runs (api/http/auth.py), and the OpenAPI operation shows it (`x-permission`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.http.auth import authorize
from domain.principal import ROLE_PERMISSIONS, Permission, Role

Handler = Callable[[Request], Awaitable[Response]]
Auth = Literal["bearer", "kapso_signature", "meta_signature", "none"]


@dataclass(frozen=True)
class Param:
    name: str
    where: Literal["query", "path", "header"]
    description: str
    required: bool = False
    schema: dict[str, object] = field(default_factory=lambda: {"type": "string"})


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    auth: Auth
    request: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    response_media: str = "application/json"
    errors: tuple[int, ...] = ()
    params: tuple[Param, ...] = ()
    description: str = ""
    accepted: str = ""  # set: a 202 answers with the same body (this says when)
    permission: Permission | None = None  # what a bearer key's role must allow

    def __post_init__(self) -> None:
        if (self.auth == "bearer") != (self.permission is not None):
            raise ValueError(f"{self.method} {self.path}: a bearer route declares a permission")

    def roles(self) -> list[Role]:
        """The roles whose keys may call it (none: no key is taken here)."""
        return [r for r in Role if self.permission in ROLE_PERMISSIONS[r]]


def to_routes(endpoints: list[Endpoint]) -> list[Route]:
    by_path: dict[str, dict[str, Handler]] = {}
    for endpoint in endpoints:
        by_path.setdefault(endpoint.path, {})[endpoint.method] = _guarded(endpoint)
    return [
        Route(path, _dispatch(handlers), methods=list(handlers))
        for path, handlers in by_path.items()
    ]


def _guarded(endpoint: Endpoint) -> Handler:
    """The handler, behind its permission check (a bearer route) or as it is."""
    permission, handler = endpoint.permission, endpoint.handler
    if permission is None:
        return handler

    async def guarded(request: Request) -> Response:
        await authorize(request, permission)
        return await handler(request)

    guarded.__name__ = handler.__name__  # route templates and logs name the handler
    return guarded


def _dispatch(handlers: dict[str, Handler]) -> Handler:
    if len(handlers) == 1:
        return next(iter(handlers.values()))

    async def dispatch(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await handlers[method](request)

    return dispatch
