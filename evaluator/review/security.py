"""Access token, host and cross-site checks, size caps and CSRF protection for the review app.

* Bound to loopback (no token), requests must name a loopback host: a page on another site cannot
  reach the app through DNS rebinding.
* Every request from another site is refused (Fetch Metadata ``Sec-Fetch-Site``, else ``Origin``):
  a page elsewhere cannot make the app render pages or learn which documents it holds, on any route.
* With a token, the first request carries ``?token=...``; the app answers with a session cookie (a
  fresh random id, not the token; HttpOnly, SameSite=Strict, Secure behind TLS) and a redirect to the
  same URL without the token. Wrong tokens are rate-limited per client address.
* Every POST must carry a well-formed CSRF cookie and a small body (checked before the form is
  parsed), and a CSRF form token equal to the cookie (double-submit; compared with
  ``hmac.compare_digest``).
* Every response, early refusals included, carries the security headers.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
import secrets
import time
from collections import defaultdict, deque
from urllib.parse import urlencode, urlsplit

from fastapi import HTTPException, Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

CSRF_COOKIE = "evaluator_csrf"
TOKEN_COOKIE = "evaluator_session"
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
MIN_TOKEN_LENGTH = 32
MAX_FORM_BYTES = (
    64 * 1024
)  # a decision form is a few hundred bytes; reasons and notes are capped far below this
MAX_TOKEN_FAILURES = 5  # wrong tokens per client address per window, then 429 until the window passes
FAILURE_WINDOW = 60.0
SITES_ALLOWED = ("same-origin", "none")  # "none": the user typed the address or opened a bookmark
# No inline script and nothing from elsewhere: even text that slipped past escaping could not run.
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
    "form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": CSP,
    "Cross-Origin-Resource-Policy": "same-origin",
}
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
    return (
        a is not None
        and b is not None
        and bool(a)
        and bool(b)
        and hmac.compare_digest(a.encode(), b.encode())
    )


def cross_site(request: Request) -> bool:
    """Sent by a page on another site (or another port of this host): Sec-Fetch-Site, else Origin."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site not in SITES_ALLOWED
    origin = request.headers.get("origin")
    return origin is not None and urlsplit(origin).netloc != request.headers.get("host", "")


def _refuse(message: str, status: int) -> Response:
    return PlainTextResponse(message, status_code=status)


class _TokenGate:
    """Token -> session cookie, with wrong tokens rate-limited per client address."""

    def __init__(self, token: str):
        self.token = token
        self.sessions: set[str] = set()
        self.failures: dict[str, deque[float]] = defaultdict(deque)

    def _locked(self, client: str) -> bool:
        recent = self.failures[client]
        while recent and time.monotonic() - recent[0] > FAILURE_WINDOW:
            recent.popleft()
        return len(recent) >= MAX_TOKEN_FAILURES

    def check(self, request: Request) -> Response | None:
        """None to let the request through, else the response that refuses or redirects it."""
        given = request.query_params.get("token")
        if given is None:
            if request.cookies.get(TOKEN_COOKIE) in self.sessions:
                return None
            return _refuse("Open the link printed by `evaluator review` (it carries ?token=...).", 403)
        client = request.client.host if request.client else ""
        if self._locked(client):
            return _refuse(
                "Too many wrong tokens from this address: wait a minute, then open the printed link.", 429
            )
        if not _same(given, self.token):
            self.failures[client].append(time.monotonic())
            return _refuse("Wrong token.", 403)
        session = secrets.token_urlsafe(32)
        self.sessions.add(session)
        rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
        response = RedirectResponse(
            request.url.path + (f"?{urlencode(rest)}" if rest else ""), status_code=303
        )
        response.set_cookie(
            TOKEN_COOKIE, session, httponly=True, samesite="strict", secure=request.url.scheme == "https"
        )
        return response


def _post_refusal(request: Request) -> Response | None:
    """Before the form is parsed: a CSRF cookie, and a declared body within the size cap."""
    if not _CSRF_SHAPE.match(request.cookies.get(CSRF_COOKIE, "")):
        return _refuse("Missing or stale form token. Reload the page and try again.", 403)
    length = request.headers.get("content-length", "")
    if not (length.isascii() and length.isdigit()):
        return _refuse("A form must say its length (Content-Length). Submit it from the review page.", 411)
    if int(length) > MAX_FORM_BYTES:
        return _refuse(
            f"The form is over {MAX_FORM_BYTES // 1024} KB. Shorten the reason or note and submit it again.",
            413,
        )
    return None


def make_guard(token: str | None, *, any_host: bool = False):
    """The HTTP middleware: host or token, cross-site and POST checks, then a CSRF cookie for every visitor.
    ``any_host``: a team's app, where every reviewer signs in, answers on any host name."""
    gate = _TokenGate(token) if token is not None else None

    async def checked(request: Request, call_next) -> Response:
        if gate is None and not any_host and not is_loopback(_host_name(request)):
            return _refuse("This review app only answers on localhost.", 400)
        if cross_site(request):
            return _refuse("Requests from other sites are refused. Open the review app's own address.", 403)
        if gate is not None and (refused := gate.check(request)):
            return refused
        if request.method == "POST" and (refused := _post_refusal(request)):
            return refused
        csrf = request.cookies.get(CSRF_COOKIE, "")
        fresh = not _CSRF_SHAPE.match(csrf)
        if fresh:
            csrf = secrets.token_urlsafe(32)
        request.state.csrf = csrf
        response = await call_next(request)
        if fresh:
            response.set_cookie(
                CSRF_COOKIE, csrf, httponly=True, samesite="strict", secure=request.url.scheme == "https"
            )
        return response

    async def guard(request: Request, call_next) -> Response:
        response = await checked(request, call_next)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    return guard


def check_csrf(request: Request, submitted: str) -> None:
    """Raise 403 unless the form's token matches the CSRF cookie."""
    if not _same(submitted, request.cookies.get(CSRF_COOKIE)):
        raise HTTPException(
            status_code=403, detail="Missing or stale form token. Reload the page and try again."
        )


def check_token(token: str) -> str:
    """The token, if strong enough; else a one-line error saying what to do."""
    from evaluator.errors import EvaluatorError

    token = token.strip()
    if len(token) < MIN_TOKEN_LENGTH:
        raise EvaluatorError(
            f"The access token is {len(token)} characters; use at least {MIN_TOKEN_LENGTH} (random), or give none "
            "and the app makes one."
        )
    return token
