"""The review app: server-rendered pages over one workspace (FastAPI + Jinja2, no build step).

Routes::

    GET  /                                   documents, filter/sort by needs_review, confidence, status
    GET  /documents/{sha256}                 hallmarks, descriptor checklist, evidence, decision forms
    GET  /documents/{sha256}/pages/{n}       one page with the evidence highlighted
    GET  /documents/{sha256}/pages/{n}.png   the page image (?box=x0,top,x1,bottom ...; &crop=1)
    POST /documents/{sha256}/decisions       accept or override a hallmark's level
    POST /documents/{sha256}/evidence        confirm or reject an evidence passage
    POST /documents/{sha256}/consensus       record the agreed level for a hallmark
    GET  /agreement                          weighted kappa: reviewer vs reviewer, tool vs reviewers

The PDF drawn for a page always comes from the stored document record, never from the request.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import jinja2
from fastapi import FastAPI, Form, HTTPException, Request
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from evaluator.errors import EvaluatorError, InputError
from evaluator.review import views
from evaluator.review.login import add_login_routes, login_guard
from evaluator.review.security import check_csrf, check_token, make_guard
from evaluator.workspace import accounts
from evaluator.workspace import decisions as dec
from evaluator.workspace.page_images import MAX_BOXES, page_image, parse_box
from evaluator.workspace.store import StoredAssessment, Workspace

HERE = Path(__file__).parent
SHA256 = re.compile(r"^[0-9a-f]{64}$")
PAGE = re.compile(r"^[1-9][0-9]{0,4}$")
NUMBER = re.compile(r"^[0-9]{1,15}$")  # ASCII digits only ("²".isdigit() is True); fits SQLite's INTEGER


def _templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True, undefined=jinja2.StrictUndefined
    )
    env.filters["pct"] = lambda v: "" if v is None else f"{100 * v:.0f}%"
    env.filters["kappa"] = lambda v: "undefined" if v is None else f"{v:.2f}"
    return Jinja2Templates(env=env)


READ_ONLY = (
    "This workspace is read-only (its folder cannot be written from here), so decisions cannot be "
    "saved. Copy the workspace to a folder you can write, and review it there."
)


def _int_or_none(value: str, name: str) -> int | None:
    """A form or query number: None when empty, a 400 with a message when it is not a plain number."""
    value = value.strip()
    if not value:
        return None
    if not NUMBER.match(value):
        raise HTTPException(
            status_code=400, detail=f"{name} must be a whole number; reload the page and try again."
        )
    return int(value)


ADJUDICATORS_ONLY = (
    "Only an adjudicator records a consensus; your decisions above are how you take part. "
    "Ask your team's admin if you should adjudicate."
)
SAVE_FAILED = (
    "Your decision was not saved: {reason} What you typed is still in the form below; submit it again."
)


def create_app(
    workspace: str | os.PathLike | Workspace, *, token: str | None = None, read_only: bool | None = None
) -> FastAPI:
    """``workspace``: a folder, or an opened workspace (any backend). ``read_only`` None: read-only when
    the workspace folder cannot be written."""
    token = check_token(token) if token is not None else None
    ws = (
        workspace
        if isinstance(workspace, Workspace)
        else Workspace(workspace, create=False, read_only=read_only)
    )
    templates = _templates()
    team = accounts.has_accounts(ws)  # accounts added later still make everyone sign in (login_guard)
    app = FastAPI(title="wellbeing-evaluator review", docs_url=None, redoc_url=None, openapi_url=None)
    app.middleware("http")(login_guard(ws))  # runs after the guard below (the last added runs first)
    app.middleware("http")(make_guard(token, any_host=team))
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.state.read_only = ws.read_only
    app.state.team = team
    app.state.where = ws.label if ws.postgres else str(ws.root)

    def render(request: Request, name: str, status_code: int = 200, **context) -> Response:
        context.setdefault("csrf", request.state.csrf)
        context.setdefault("user", getattr(request.state, "user", None))
        context.setdefault("team", getattr(request.state, "team", False))
        return templates.TemplateResponse(request, name, context, status_code=status_code)

    def stored_or_404(sha256: str) -> StoredAssessment:
        stored = ws.current(sha256) if SHA256.match(sha256) else None
        if stored is None:
            raise HTTPException(status_code=404, detail="No such document in this workspace.")
        return stored

    def page_or_404(pages: int, page: str) -> int:
        if not PAGE.match(page) or not 1 <= int(page) <= pages:
            raise HTTPException(status_code=404, detail="No such page in this document.")
        return int(page)

    def refuse_if_read_only(request: Request, stored: StoredAssessment) -> Response | None:
        if not ws.read_only:
            return None
        return document_page(request, stored, error=READ_ONLY, status_code=409)

    def document_page(
        request: Request,
        stored: StoredAssessment,
        *,
        error: str = "",
        decided: int | None = None,
        status_code: int = 200,
        typed: dict | None = None,
    ) -> Response:
        banner = views.conflict_banner(ws, stored.sha256, decided) if decided else None
        return render(
            request,
            "document.html",
            status_code,
            doc=views.document_detail(ws, stored),
            error=error,
            banner=banner,
            typed=typed or {"form": "", "hallmark_id": ""},
            max_text=dec.MAX_TEXT,
        )

    def not_saved(request: Request, stored: StoredAssessment, exc: EvaluatorError, typed: dict) -> Response:
        """The document page again with the message and what was typed: a refused or failed save loses nothing."""
        if isinstance(exc, dec.DecisionError):
            return document_page(request, stored, error=str(exc), status_code=400, typed=typed)
        return document_page(
            request, stored, error=SAVE_FAILED.format(reason=exc), status_code=503, typed=typed
        )

    add_login_routes(app, ws, render)

    def signed_in_as(request: Request, typed_name: str) -> str:
        """The reviewer to record: the signed-in account in team mode (never a form field), else the name typed."""
        user = request.state.user
        return user.name if user is not None else typed_name

    @app.get("/")
    def documents(
        request: Request,
        needs_review: str = "",
        confidence: str = "",
        status: str = "",
        sort: str = "title",
        order: str = "asc",
    ) -> Response:
        try:
            max_conf = float(confidence) if confidence else None
        except ValueError:
            max_conf = None
        docs = views.document_list(
            ws, needs_review=needs_review, confidence=max_conf, status=status, sort=sort, order=order
        )
        filters = {
            "needs_review": needs_review,
            "confidence": confidence,
            "status": status,
            "sort": sort,
            "order": order,
        }
        return render(request, "documents.html", docs=docs, filters=filters, hallmark_ids=views.HALLMARK_IDS)

    @app.get("/agreement")
    def agreement(request: Request) -> Response:
        return render(
            request, "agreement.html", reviewers=dec.reviewer_agreement(ws), tool=dec.tool_agreement(ws)
        )

    @app.get("/documents/{sha256}")
    def document(request: Request, sha256: str, decided: str = "") -> Response:
        return document_page(request, stored_or_404(sha256), decided=_int_or_none(decided, "decided"))

    def source_or_404(stored: StoredAssessment, source: str) -> tuple[Path, str, int]:
        """The file, sha256 and page count of a document, or of one document of an area."""
        try:
            path = ws.document_file(stored, source)
        except KeyError:
            raise HTTPException(status_code=404, detail="No such document in this area.") from None
        for d in stored.assessment.documents:
            if d.id == source:
                return path, d.sha256, d.pages
        return path, stored.sha256, stored.assessment.document.pages

    @app.get("/documents/{sha256}/pages/{page}.png")
    def page_png(request: Request, sha256: str, page: str, crop: str = "", source: str = "") -> Response:
        box = request.query_params.getlist("box")
        stored = stored_or_404(sha256)
        path, file_sha, pages = source_or_404(stored, source)
        number = page_or_404(pages, page)
        try:
            boxes = [parse_box(b) for b in box[:MAX_BOXES]]
        except ValueError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None
        try:
            png = page_image(
                path,
                number,
                boxes,
                crop=crop == "1",
                sha256=file_sha,
                cache_dir=ws.page_cache,
            )
        except InputError as exc:
            return PlainTextResponse(str(exc), status_code=404)
        return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})

    @app.get("/documents/{sha256}/pages/{page}")
    def page_view(request: Request, sha256: str, page: str, source: str = "") -> Response:
        box = request.query_params.getlist("box")
        stored = stored_or_404(sha256)
        path, _, pages = source_or_404(stored, source)
        number = page_or_404(pages, page)
        on_page = views.evidence_on_page(stored, number, source)
        boxes = box or [views.box_param(e["bbox"]) for e in on_page if e["bbox"]]
        try:
            image = views.page_link(
                stored.sha256, number, [parse_box(b) for b in boxes[:MAX_BOXES]], png=True, source=source
            )
        except ValueError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None
        missing = "" if path.is_file() else f"The PDF {path} is no longer there."
        return render(
            request,
            "page.html",
            doc=views.document_summary(ws, stored),
            page=number,
            pages=pages,
            source=source,
            image=image,
            evidence=on_page,
            missing=missing,
        )

    @app.post("/documents/{sha256}/decisions")
    def post_decision(
        request: Request,
        sha256: str,
        csrf_token: str = Form(""),
        reviewer: str = Form(""),
        hallmark_id: str = Form(""),
        action: str = Form(""),
        level: str = Form(""),
        reason: str = Form(""),
        note: str = Form(""),
        based_on: str = Form(""),
        assessment_id: str = Form(""),
    ) -> Response:
        check_csrf(request, csrf_token)
        stored = stored_or_404(sha256)
        if refused := refuse_if_read_only(request, stored):
            return refused
        try:
            rec = dec.record_decision(
                ws,
                stored.sha256,
                hallmark_id,
                reviewer=signed_in_as(request, reviewer),
                action=action,
                level=level or None,
                reason=reason,
                note=note,
                based_on=_int_or_none(based_on, "based_on"),
                assessment_id=_int_or_none(assessment_id, "assessment_id"),
            )
        except EvaluatorError as exc:
            typed = {
                "form": action,
                "hallmark_id": hallmark_id,
                "level": level,
                "reason": reason,
                "note": note,
            }
            return not_saved(request, stored, exc, typed)
        return RedirectResponse(f"/documents/{stored.sha256}?decided={rec.decision.id}#h-{hallmark_id}", 303)

    @app.post("/documents/{sha256}/evidence")
    def post_evidence(
        request: Request,
        sha256: str,
        csrf_token: str = Form(""),
        reviewer: str = Form(""),
        descriptor_id: str = Form(""),
        passage: str = Form(""),
        verdict: str = Form(""),
        hallmark_id: str = Form(""),
        assessment_id: str = Form(""),
    ) -> Response:
        check_csrf(request, csrf_token)
        stored = stored_or_404(sha256)
        if refused := refuse_if_read_only(request, stored):
            return refused
        index = _int_or_none(passage, "passage")
        try:
            dec.record_evidence_verdict(
                ws,
                stored.sha256,
                descriptor_id,
                passage_index=-1 if index is None else index,
                verdict=verdict,
                reviewer=signed_in_as(request, reviewer),
                assessment_id=_int_or_none(assessment_id, "assessment_id"),
            )
        except EvaluatorError as exc:
            return not_saved(request, stored, exc, {"form": "evidence", "hallmark_id": hallmark_id})
        return RedirectResponse(f"/documents/{stored.sha256}#h-{hallmark_id}", 303)

    @app.post("/documents/{sha256}/consensus")
    def post_consensus(
        request: Request,
        sha256: str,
        csrf_token: str = Form(""),
        reviewer: str = Form(""),
        hallmark_id: str = Form(""),
        level: str = Form(""),
        reason: str = Form(""),
        note: str = Form(""),
    ) -> Response:
        check_csrf(request, csrf_token)
        stored = stored_or_404(sha256)
        if refused := refuse_if_read_only(request, stored):
            return refused
        typed = {
            "form": "consensus",
            "hallmark_id": hallmark_id,
            "level": level,
            "reason": reason,
            "note": note,
        }
        user = request.state.user
        if user is not None and not user.adjudicates:
            return document_page(request, stored, error=ADJUDICATORS_ONLY, status_code=403, typed=typed)
        try:
            dec.record_consensus(
                ws,
                stored.sha256,
                hallmark_id,
                level=level,
                recorded_by=signed_in_as(request, reviewer),
                reason=reason,
                note=note,
            )
        except EvaluatorError as exc:
            return not_saved(request, stored, exc, typed)
        return RedirectResponse(f"/documents/{stored.sha256}#h-{hallmark_id}", 303)

    return app


TOKEN_ENV = "EVALUATOR_REVIEW_TOKEN"


def resolve_token(host: str, token: str | None) -> tuple[str | None, bool]:
    """(token, generated): a given token must be strong; beyond loopback, none given means a fresh one."""
    import secrets

    from evaluator.review.security import is_loopback

    if token is None:
        return (None, False) if is_loopback(host) else (secrets.token_urlsafe(32), True)
    return check_token(token), False


def serve(
    workspace: str | os.PathLike | Workspace,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    token: str | None = None,
    read_only: bool | None = None,
) -> None:
    """Run the review app with uvicorn until interrupted."""
    import uvicorn

    ws = (
        workspace
        if isinstance(workspace, Workspace)
        else Workspace(workspace, create=False, read_only=read_only)
    )
    if token is None and accounts.has_accounts(ws):
        generated = False  # team mode: everyone signs in with an account; no shared token
    else:
        token, generated = resolve_token(host, token)
    app = create_app(ws, token=token)
    where = app.state.where
    shown = f"[{host}]" if ":" in host else host
    link = f"http://{shown}:{port}/"
    if generated:
        print(f"Review app for {where}: {link}?token={token}  (Ctrl+C to stop)", flush=True)
        print(
            "Give that link only to reviewers; it is the key. Serve the app behind TLS (see docs/operations.md) "
            "when other machines connect.",
            flush=True,
        )
    else:
        print(
            f"Review app for {where}: {link}"
            + ("?token=<your token>" if token else "")
            + (" (reviewers sign in with their accounts)" if app.state.team else "")
            + "  (Ctrl+C to stop)",
            flush=True,
        )
    if app.state.read_only:
        print(f"Note: {READ_ONLY}", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
