"""POST/GET/DELETE /subscriptions, a subscription's delivery log and replay."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.http.auth import service_of, workspace_of
from api.http.body import parse_model, read_body
from api.http.errors import ApiError, not_found
from api.http.subscription_schemas import (
    ReplayIn,
    SubscriptionIn,
    delivery_out,
    subscription_out,
)
from service_layer.subscriptions import (
    BadSubscriptionError,
    RefusedURLError,
    SubscriptionNotFoundError,
)

T = TypeVar("T")
LOG_LIMIT = 200


async def create_subscription(request: Request) -> Response:
    workspace, service = workspace_of(request), service_of(request)
    given = parse_model(await read_body(request, 64 * 1024), SubscriptionIn)
    lead_id = None if given.lead_id is None else str(given.lead_id)
    made = await _call(
        service.subscriptions.create, workspace, given.url, given.types, lead_id, given.after
    )
    return JSONResponse(subscription_out(made.subscription, made.secret))


async def list_subscriptions(request: Request) -> Response:
    workspace, service = workspace_of(request), service_of(request)
    subs = await _call(service.subscriptions.of_workspace, workspace)
    return JSONResponse({"subscriptions": [subscription_out(s) for s in subs]})


async def get_subscription(request: Request) -> Response:
    workspace, service = workspace_of(request), service_of(request)
    sub = await _call(service.subscriptions.get, workspace, _id(request))
    return JSONResponse(subscription_out(sub))


async def delete_subscription(request: Request) -> Response:
    workspace, service = workspace_of(request), service_of(request)
    sub_id = _id(request)
    await _call(service.subscriptions.delete, workspace, sub_id)
    return JSONResponse({"deleted": sub_id})


async def subscription_deliveries(request: Request) -> Response:
    workspace, service = workspace_of(request), service_of(request)
    sub_id = _id(request)
    rows = await _call(service.subscriptions.deliveries, workspace, sub_id, LOG_LIMIT)
    return JSONResponse({"subscription_id": sub_id, "deliveries": [delivery_out(r) for r in rows]})


async def replay_subscription(request: Request) -> Response:
    workspace, service = workspace_of(request), service_of(request)
    given = parse_model(await read_body(request, 4 * 1024), ReplayIn)
    sub = await _call(service.subscriptions.replay, workspace, _id(request), given.after)
    return JSONResponse(subscription_out(sub))


def _id(request: Request) -> str:
    return str(request.path_params["subscription_id"])


async def _call(method: Callable[..., T], *args: object) -> T:
    try:
        return await run_in_threadpool(method, *args)
    except SubscriptionNotFoundError:
        raise not_found("subscription") from None
    except RefusedURLError as exc:
        raise ApiError(422, "url_refused", str(exc), "url") from None
    except BadSubscriptionError as exc:
        raise ApiError(422, "validation_error", str(exc)) from None
