"""The dashboard's routes: a Starlette app of its own under /ui (its session middleware
touches no API request), /docs (Swagger UI over /openapi.json) and / (to the dashboard)."""

from __future__ import annotations

import secrets
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from api.http.dashboard import actions, lead_page, leads_list, live_stream, operations, sign_in
from api.http.dashboard.forms import RefusedError
from api.http.dashboard.session import Sessions
from api.http.dashboard.templating import env
from api.http.errors import EXCEPTION_HANDLERS
from service_layer.service import LeadLedgerService

STATIC = Path(__file__).with_name("static")


def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RefusedError)
    return exc.response


def page_routes() -> list[BaseRoute]:
    """The dashboard's routes under /ui (docs/security.md lists each with who may use it)."""
    lead = "/leads/{lead_id}"
    return [
        Route("/signin", sign_in.sign_in_form, methods=["GET"]),
        Route("/signin", sign_in.sign_in_post, methods=["POST"]),
        Route("/signout", sign_in.sign_out_post, methods=["POST"]),
        Route("/leads", leads_list.leads_page, methods=["GET"]),
        Route("/leads/filter", leads_list.set_filters, methods=["POST"]),
        Route("/leads/changed", leads_list.changed_rows, methods=["GET"]),
        Route("/changes/stream", live_stream.session_stream, methods=["GET"]),
        Route(lead, lead_page.lead_page, methods=["GET"]),
        Route(lead + "/live", lead_page.lead_live, methods=["GET"]),
        Route(lead + "/events", lead_page.raw_events, methods=["GET"]),
        Route(lead + "/status", actions.set_status, methods=["POST"]),
        Route(lead + "/release", actions.release_hold, methods=["POST"]),
        Route(lead + "/notes", actions.add_note, methods=["POST"]),
        Route("/operations", operations.operations_page, methods=["GET"]),
        Route("/operations/reingest", operations.reingest, methods=["POST"]),
        Route("/stats", operations.stats_page, methods=["GET"]),
        Route("/", sign_in.home, methods=["GET"]),
    ]


def dashboard_app(service: LeadLedgerService) -> Starlette:
    secret = service.settings.session_secret
    key = secret.get_secret_value() if secret else secrets.token_urlsafe(32)
    app = Starlette(
        routes=[*page_routes(), Mount("/static", StaticFiles(directory=STATIC), name="static")],
        middleware=[Middleware(Sessions, secret=key)],
        exception_handlers={**EXCEPTION_HANDLERS, RefusedError: _refused},
    )
    app.state.service = service  # the handlers find it where the API's do
    return app


async def swagger_ui(request: Request) -> Response:
    html = env.get_template("swagger.html").render()
    return Response(html, media_type="text/html")


async def to_dashboard(request: Request) -> Response:
    return RedirectResponse("/ui/", status_code=303)


def dashboard_routes(service: LeadLedgerService) -> list[BaseRoute]:
    return [
        Mount("/ui", app=dashboard_app(service)),
        Route("/docs", swagger_ui, methods=["GET"]),
        Route("/", to_dashboard, methods=["GET"]),
    ]
