"""Jinja2 over the package's templates, autoescaped; a page answer in one call."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from api.http.dashboard.session import csrf_token, signed_in

env = Environment(
    loader=PackageLoader("api.http.dashboard", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def when(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M:%S UTC")


def iso(value: datetime | None) -> str:
    return "" if value is None else value.isoformat()


env.filters["when"] = when
env.filters["iso"] = iso


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("acting", signed_in(request))
    html = env.get_template(template).render(csrf=csrf_token(request), **context)
    headers = {"Cache-Control": "no-store", "X-Frame-Options": "DENY"}
    return HTMLResponse(html, status_code=status_code, headers=headers)
