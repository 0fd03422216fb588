"""Access token, host check and CSRF protection for the review app.

* Bound to loopback (no token), requests must name a loopback host: a page on another site cannot
  reach the app through DNS rebinding.
* With a token, the first request carries ``?token=...``; the app answers with a cookie and a redirect
  to the same URL without the token, and from then on the cookie is enough.
* Every POST carries a CSRF token equal to the ``evaluator_csrf`` cookie (double-submit cookie;
  SameSite=Strict), compared with ``hmac.compare_digest``.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
import secrets
from urllib.parse import urlencode

from fastapi import HTTPException, Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

CSRF_COOKIE = "evaluator_csrf"
TOKEN_COOKIE = "evaluator_token"
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
# No inline script and nothing from elsewhere: even text that slipped past escaping could not run.
CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; form-action 'self'"
_CSRF_SHAPE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")


def is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host_name(request: Request) -> str:
    host = request.headers.get("host", "")
    if host.startswith("["):  # [::1]:8765
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(a.encode(), b.encode())


def make_guard(token: str | None):
    """The HTTP middleware: token or loopback host first, then a CSRF cookie for every visitor."""

    async def guard(request: Request, call_next) -> Response:
        if token is None:
            if not is_loopback(_host_name(request)):
                return PlainTextResponse("This review app only answers on localhost.", status_code=400)
        else:
            given = request.query_params.get("token")
            if given is not None:
                if not _same(given, token):
                    return PlainTextResponse("Wrong token.", status_code=403)
                rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
                url = request.url.path + (f"?{urlencode(rest)}" if rest else "")
                response = RedirectResponse(url, status_code=303)
                response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
                return response
            if not _same(request.cookies.get(TOKEN_COOKIE), token):
                return PlainTextResponse(
                    "Open the link printed by `evaluator review` (it carries ?token=...).", status_code=403
                )
        csrf = request.cookies.get(CSRF_COOKIE, "")
        fresh = not _CSRF_SHAPE.match(csrf)
        if fresh:
            csrf = secrets.token_urlsafe(32)
        request.state.csrf = csrf
        response = await call_next(request)
        if fresh:
            response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("Content-Security-Policy", CSP)
        return response

    return guard


def check_csrf(request: Request, submitted: str) -> None:
    """Raise 403 unless the form's token matches the CSRF cookie."""
    if not _same(submitted, request.cookies.get(CSRF_COOKIE)):
        raise HTTPException(status_code=403, detail="Missing or stale form token. Reload the page and try again.")
