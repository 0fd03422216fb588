"""End to end: the real server on a loopback port, driven by Debian's chromium through Playwright."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from review_helpers import XSS, live_server, make_workspace

from evaluator.cli import main
from evaluator.types import KINDS
from evaluator.workspace import decisions as dec

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REASON = "Life satisfaction is measured by ward"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed at /usr/bin/chromium"),
]


def override(page, base: str, sha: str, hallmark: str, level: str) -> None:
    """Override a hallmark's level with REASON on the open document page, and see it saved."""
    form = page.locator(f"#h-{hallmark} form.override")
    form.locator("select[name=level]").select_option(level)
    form.locator("input[name=reason]").fill(REASON)
    form.locator("button[value=override]").click()
    page.wait_for_url(f"{base}/documents/{sha}?decided=*")
    assert "Saved:" in page.locator(".banner.saved").inner_text()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from evaluator.review.app import create_app

    root = tmp_path_factory.mktemp("browser")
    ws, docs = make_workspace(root, documents=2)
    with live_server(create_app(ws.root)) as base:
        yield ws, docs, base


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


def test_review_override_then_export(server, browser, tmp_path):
    ws, docs, base = server
    sha = docs[0].document.sha256
    page = browser.new_page()
    page.set_default_timeout(20_000)
    try:
        page.goto(base + "/")
        page.get_by_role("link", name="Northby Strategy 0").click()
        page.wait_for_url(f"{base}/documents/{sha}")

        img = page.locator("img.evidence-img").first
        img.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img.element_handle())
        assert img.evaluate("img => img.naturalWidth") > 0

        # each cited passage says what it is; "what was searched" opens on a descriptor not found
        figure = page.locator("#h-1 figure.evidence").first
        label = figure.locator(".kind")
        assert label.is_visible() and label.inner_text() in KINDS
        searched = page.locator("#h-1 li.st-not_met details.searched").first
        assert not searched.locator("ul").first.is_visible()
        searched.locator("summary").click()
        text = searched.inner_text()
        assert searched.locator("ul").first.is_visible()
        assert "not evidence" in text and "4 of 6 passages considered" in text
        # the kind filter hides the passages of other kinds, and shows them again
        other = next(k for k in KINDS if k != label.inner_text())
        page.select_option("#kind-filter", other)
        assert not figure.is_visible()
        page.select_option("#kind-filter", "")
        assert figure.is_visible()

        # no name yet: the form is not sent
        page.locator("#h-1 form.accept button").click()
        assert page.url == f"{base}/documents/{sha}" and dec.decisions_for(ws, sha) == []

        page.fill("#reviewer-name", "Ana")
        override(page, base, sha, "1", "optimising")

        page.reload()
        final = page.locator('#h-1 .final[data-hallmark="1"]').inner_text()
        assert "optimising" in final and "reviewed" in final
        assert page.input_value("#reviewer-name") == "Ana"  # remembered in localStorage
        page.locator("#h-1 details.history summary").click()
        assert REASON in page.locator("#h-1 details.history").inner_text()

        # the full page view with the passage highlighted
        page.locator("#h-1 figure.evidence a").first.click()
        page.wait_for_url(f"{base}/documents/{sha}/pages/1?box=*")
        full = page.locator(".page-full img")
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=full.element_handle())
    finally:
        page.close()

    [d] = dec.decisions_for(ws, sha)
    assert (d.reviewer, d.action, d.level, d.reason) == ("Ana", "override", "optimising", REASON)

    runner = CliRunner()
    for fmt in ("xlsx", "json"):
        result = runner.invoke(
            main,
            ["export", "--workspace", str(ws.root), "--format", fmt, "--out", str(tmp_path / f"out.{fmt}")],
        )
        assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "out.json").read_text())
    h1 = next(
        h
        for doc in data["documents"]
        if doc["document"]["sha256"] == sha
        for h in doc["hallmarks"]
        if h["id"] == "1"
    )
    assert (h1["final_level"], h1["source"], h1["decision"]["reason"]) == ("optimising", "reviewed", REASON)
    wb = load_workbook(tmp_path / "out.xlsx")
    summary = list(wb["Summary"].values)
    row = next(r for r in summary if r[2] == sha)
    assert row[summary[0].index("Hallmark 1")] == "optimising"
    sheet = wb[row[summary[0].index("Sheet")]]
    cells = [c for r in sheet.values for c in r if isinstance(c, str)]
    assert REASON in cells


def test_live_server_escapes_text_and_guards_paths(server):
    ws, docs, base = server
    sha = docs[1].document.sha256
    with httpx.Client(base_url=base, follow_redirects=False, timeout=30) as client:
        html = client.get(f"/documents/{sha}").text
        assert XSS not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        for path in (
            f"/documents/{sha}/pages/999.png",
            f"/documents/{sha}/pages/0",
            "/documents/..%2f..%2fetc%2fpasswd",
            f"/documents/{sha}/pages/..%2f..%2fetc%2fpasswd.png",
            "/static/..%2f..%2fstore.py",
        ):
            r = client.get(path)
            assert r.status_code in (400, 404), path
            assert "root:" not in r.text
        # raw path, not normalised by the client
        with socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1]))) as s:
            s.sendall(
                b"GET /documents/../../../../etc/passwd HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
            )
            raw = b""
            while chunk := s.recv(65536):
                raw += chunk
        assert raw.split(b" ")[1] in (b"400", b"404") and b"root:" not in raw
        # no CSRF token, no decision
        r = client.post(
            f"/documents/{sha}/decisions", data={"reviewer": "Eve", "hallmark_id": "1", "action": "accept"}
        )
        assert r.status_code == 403
        r = client.get("/", headers={"Host": "attacker.example"})
        assert r.status_code == 400
    assert dec.decisions_for(ws, sha) == []


def test_team_sign_in_override_sign_out_and_a_colleague_sees_it(postgres, browser, tmp_path):
    """On a PostgreSQL workspace with accounts: Ana signs in, overrides a level and signs out; Ben signs
    in and sees the override, attributed to Ana."""
    from evaluator.review.app import create_app
    from evaluator.workspace import accounts

    ws, docs = make_workspace(tmp_path, documents=1, database=postgres.new_database())
    sha = docs[0].document.sha256
    for name in ("Ana", "Ben"):
        user, _ = accounts.add_user(ws, name, "reviewer")
        accounts.set_password(ws, user, f"{name} has a long password")

    def sign_in(page, base: str, name: str) -> None:
        page.goto(base + "/")
        page.wait_for_url(f"{base}/login")
        page.fill("input[name=name]", name)
        page.fill("input[name=password]", f"{name} has a long password")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{base}/")
        assert name in page.locator("b.account").inner_text()

    with live_server(create_app(ws)) as base:
        page = browser.new_page()
        page.set_default_timeout(20_000)
        try:
            sign_in(page, base, "Ana")
            page.goto(f"{base}/documents/{sha}")
            override(page, base, sha, "2", "maximising")
            page.get_by_role("button", name="Log out").click()
            page.wait_for_url(f"{base}/login")
            page.goto(f"{base}/documents/{sha}")
            page.wait_for_url(f"{base}/login")  # signed out: the document is not shown

            sign_in(page, base, "Ben")
            page.goto(f"{base}/documents/{sha}")
            final = page.locator('#h-2 .final[data-hallmark="2"]').inner_text()
            assert "maximising" in final and "reviewed" in final
            page.locator("#h-2 details.history summary").click()
            history = page.locator("#h-2 details.history").inner_text()
            assert "Ana" in history and REASON in history and "Ben" not in history
        finally:
            page.close()
    [d] = dec.decisions_for(ws, sha)
    assert (d.reviewer, d.level, d.reason) == ("Ana", "maximising", REASON)
