"""Sign in with an API key (and the name actions are recorded under), sign out."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from api.http.auth import service_of
from api.http.dashboard.acting import SignInError, identify
from api.http.dashboard.forms import SIGN_IN, read_form
from api.http.dashboard.session import sign_in, sign_out, signed_in
from api.http.dashboard.templating import page

log = logging.getLogger("leadledger.dashboard")
HOME = "/ui/leads"


async def sign_in_form(request: Request) -> Response:
    if signed_in(request) is not None:
        return RedirectResponse(HOME, status_code=303)
    return page(request, "sign_in.html", acting=None)


async def sign_in_post(request: Request) -> Response:
    form = await read_form(request)
    try:
        acting = identify(service_of(request), form.get("api_key", ""), form.get("name", ""))
    except SignInError as exc:
        # Only the reason is logged: never the key, never the name.
        log.info("dashboard sign-in refused", extra={"reason": str(exc)})
        return page(request, "sign_in.html", status_code=401, acting=None, error=str(exc))
    sign_in(request, acting)
    log.info("dashboard sign-in", extra={"workspace": acting.workspace, "key_id": acting.key_id})
    return RedirectResponse(HOME, status_code=303)


async def sign_out_post(request: Request) -> Response:
    await read_form(request)
    sign_out(request)
    return RedirectResponse(SIGN_IN, status_code=303)


async def home(request: Request) -> Response:
    return RedirectResponse(HOME if signed_in(request) else SIGN_IN, status_code=303)
