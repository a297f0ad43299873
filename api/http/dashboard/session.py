"""The dashboard's session: a signed, HttpOnly, SameSite=Strict cookie (Starlette's
SessionMiddleware) holding who is acting, a CSRF token and when it was last used — never
the API key. Secure whenever the request came over HTTPS (directly, or through a proxy
uvicorn trusts), so one server works both behind TLS and on localhost."""

from __future__ import annotations

import hmac
import secrets
import time
from typing import Any

from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from api.http.dashboard.acting import Acting, from_session, to_session

COOKIE = "leadledger_session"
MAX_AGE_SECONDS = 12 * 3600  # the cookie's absolute lifetime
IDLE_SECONDS = 30 * 60  # unused this long: signed out


class Sessions:
    """Two SessionMiddleware over one app: the Secure flag follows the request's scheme."""

    def __init__(self, app: ASGIApp, secret: str) -> None:
        options: dict[str, Any] = {
            "secret_key": secret,
            "session_cookie": COOKIE,
            "max_age": MAX_AGE_SECONDS,
            "same_site": "strict",
            # Path "/": the change feed (/changes/stream) is outside /ui and must see it.
        }
        self.plain = SessionMiddleware(app, https_only=False, **options)
        self.secure = SessionMiddleware(app, https_only=True, **options)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        chosen = self.secure if scope.get("scheme") in ("https", "wss") else self.plain
        await chosen(scope, receive, send)


def csrf_token(request: Request) -> str:
    """The session's CSRF token (created on first use, anonymous sessions included)."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def csrf_valid(request: Request, submitted: str | None) -> bool:
    expected = request.session.get("csrf")
    return (
        isinstance(expected, str)
        and submitted is not None
        and hmac.compare_digest(expected.encode(), submitted.encode())
    )


class SignedOut:
    """Session ids signed out before their cookie expired: a copy of the cookie replayed
    later is refused. Kept in this process (with several workers, set a short idle time)."""

    def __init__(self) -> None:
        self._until: dict[str, float] = {}

    def add(self, sid: str, now: float) -> None:
        self._until = {k: t for k, t in self._until.items() if t > now}  # forget expired
        self._until[sid] = now + MAX_AGE_SECONDS

    def __contains__(self, sid: object) -> bool:
        return sid in self._until


SIGNED_OUT = SignedOut()


def signed_in(request: Request, now: float | None = None) -> Acting | None:
    """Who is acting, or None (never signed in, signed out, or idle too long)."""
    now = time.time() if now is None else now
    seen = request.session.get("seen")
    seen = float(seen) if isinstance(seen, int | float) else 0.0
    acting = from_session(request.session.get("acting") or {})
    if acting is None or now - seen > IDLE_SECONDS or request.session.get("sid") in SIGNED_OUT:
        if acting is not None:
            request.session.clear()
        return None
    if now - seen > 60:  # refresh the idle clock at most once a minute (fewer new cookies)
        request.session["seen"] = int(now)
    return acting


def sign_in(request: Request, acting: Acting) -> None:
    request.session.clear()  # a fresh CSRF token too: nothing from before sign-in survives
    request.session["acting"] = to_session(acting)
    request.session["seen"] = int(time.time())
    request.session["sid"] = secrets.token_urlsafe(16)
    csrf_token(request)


def sign_out(request: Request) -> None:
    sid = request.session.get("sid")
    if isinstance(sid, str):
        SIGNED_OUT.add(sid, time.time())
    request.session.clear()
