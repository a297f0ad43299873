"""Form posts: the urlencoded body (bounded like every body), the CSRF check, and who is
signed in. A refused post changes nothing."""

from __future__ import annotations

from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from api.http.auth import service_of
from api.http.body import read_body
from api.http.dashboard.acting import Acting
from api.http.dashboard.session import csrf_valid, signed_in

SIGN_IN = "/ui/signin"


class RefusedError(Exception):
    """Answer with `response` instead (not signed in, bad CSRF token)."""

    def __init__(self, response: Response) -> None:
        self.response = response


def wants_json(request: Request) -> bool:
    return request.headers.get("x-requested-with") == "fetch"


def require_acting(request: Request) -> Acting:
    acting = signed_in(request)
    if acting is None:
        if wants_json(request):
            raise RefusedError(JSONResponse({"error": "signed out"}, status_code=401))
        raise RefusedError(RedirectResponse(SIGN_IN, status_code=303))
    return acting


async def read_form(request: Request) -> dict[str, str]:
    """The posted fields (first value of each), after the CSRF token checked out."""
    body = await read_body(request, service_of(request).settings.max_body_bytes)
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=50)
    except (UnicodeDecodeError, ValueError):
        raise RefusedError(Response("malformed form", status_code=400)) from None
    fields = {name: values[0] for name, values in parsed.items()}
    if not csrf_valid(request, fields.get("csrf")):
        raise RefusedError(Response("CSRF token missing or wrong", status_code=403))
    return fields
