"""Signing in to a team's review app: the login page, sessions, logout, first-login password change.

Only a workspace with accounts (``evaluator users add``) asks anyone to sign in; without accounts the
app works as the single-user app it always was. Signed in, the account is ``request.state.user`` and
is the reviewer recorded on every decision. Wrong passwords are slowed down: each one waits
``FAILURE_DELAY`` seconds, and after ``MAX_FAILURES`` in ``FAILURE_WINDOW`` for one name or one client
address, sign-in is refused for that name or address until the window passes.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from collections.abc import Callable

from fastapi import FastAPI, Form, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from evaluator.errors import EvaluatorError
from evaluator.review.security import check_csrf
from evaluator.workspace import accounts
from evaluator.workspace.store import Workspace

SESSION_COOKIE = "evaluator_login"
MAX_FAILURES = 5
FAILURE_WINDOW = 60.0
FAILURE_DELAY = 1.0
OPEN_PATHS = ("/login", "/static/")
CHANGE_PATHS = ("/password", "/logout", "/static/")


class Throttle:
    """Recent wrong passwords per key (an account name, a client address)."""

    def __init__(self) -> None:
        self.failures: dict[str, deque[float]] = defaultdict(deque)

    def blocked(self, *keys: str) -> bool:
        now = time.monotonic()
        for key in keys:
            recent = self.failures[key]
            while recent and now - recent[0] > FAILURE_WINDOW:
                recent.popleft()
        return any(len(self.failures[k]) >= MAX_FAILURES for k in keys)

    def failed(self, *keys: str) -> None:
        for key in keys:
            self.failures[key].append(time.monotonic())


def login_guard(ws: Workspace) -> Callable:
    """HTTP middleware: in team mode, who is signed in; everyone else goes to the login page."""

    async def guard(request: Request, call_next) -> Response:
        request.state.user = None
        request.state.team = await run_in_threadpool(accounts.has_accounts, ws)
        if not request.state.team:
            return await call_next(request)
        path = request.url.path
        token = request.cookies.get(SESSION_COOKIE, "")
        user = await run_in_threadpool(accounts.session_user, ws, token) if token else None
        request.state.user = user
        if path.startswith(OPEN_PATHS):
            return await call_next(request)
        if user is None:
            if request.method != "GET":
                return PlainTextResponse("Sign in first: open the review app's login page.", status_code=403)
            return RedirectResponse("/login", status_code=303)
        if user.must_change and not path.startswith(CHANGE_PATHS):
            return RedirectResponse("/password", status_code=303)
        return await call_next(request)

    return guard


def add_login_routes(app: FastAPI, ws: Workspace, render: Callable[..., Response]) -> None:
    throttle = Throttle()

    @app.get("/login")
    def login_page(request: Request) -> Response:
        return render(request, "login.html", error="", typed_name="")

    @app.post("/login")
    async def login(
        request: Request, csrf_token: str = Form(""), name: str = Form(""), password: str = Form("")
    ) -> Response:
        check_csrf(request, csrf_token)
        client = f"addr:{request.client.host if request.client else ''}"
        account = f"name:{name.strip().casefold()}"
        if throttle.blocked(client, account):
            return render(
                request,
                "login.html",
                429,
                error="Too many wrong passwords: wait a minute, then try again.",
                typed_name=name,
            )
        user = await run_in_threadpool(accounts.authenticate, ws, name, password[:1000])
        if user is None:
            throttle.failed(client, account)
            await asyncio.sleep(FAILURE_DELAY)
            return render(request, "login.html", 401, error="Wrong name or password.", typed_name=name)
        try:
            token = await run_in_threadpool(accounts.start_session, ws, user)
        except EvaluatorError as exc:  # e.g. a workspace opened read-only
            return render(request, "login.html", 503, error=f"Cannot sign in now: {exc}", typed_name=name)
        response = RedirectResponse("/password" if user.must_change else "/", status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=accounts.SESSION_SECONDS,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    @app.post("/logout")
    def logout(request: Request, csrf_token: str = Form("")) -> Response:
        check_csrf(request, csrf_token)
        token = request.cookies.get(SESSION_COOKIE, "")
        if token:
            accounts.end_session(ws, token)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    @app.get("/password")
    def password_page(request: Request) -> Response:
        return render(request, "password.html", error="")

    @app.post("/password")
    def change_password(
        request: Request, csrf_token: str = Form(""), password: str = Form(""), again: str = Form("")
    ) -> Response:
        check_csrf(request, csrf_token)
        user = request.state.user
        if user is None:
            return RedirectResponse("/login", status_code=303)
        if password != again:
            return render(request, "password.html", 400, error="The two passwords differ; type them again.")
        try:
            accounts.set_password(ws, user, password)
        except accounts.AccountError as exc:
            return render(request, "password.html", 400, error=str(exc))
        return RedirectResponse("/", status_code=303)
