"""The review app through FastAPI's TestClient: pages, decisions, escaping, CSRF, paths, access."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from review_helpers import XSS, make_workspace

from evaluator.cli import main
from evaluator.errors import EvaluatorError
from evaluator.review.app import create_app, resolve_token
from evaluator.review.security import CSRF_COOKIE
from evaluator.workspace import decisions as dec

LOCAL = "http://127.0.0.1"
LONG_TOKEN = "s3cret-token-" + "x" * 32


@pytest.fixture
def setup(tmp_path, database):
    ws, docs = make_workspace(tmp_path, documents=2, database=database)
    client = TestClient(create_app(ws), base_url=LOCAL, follow_redirects=False)
    return ws, docs, client


def csrf(client: TestClient) -> str:
    if CSRF_COOKIE not in client.cookies:
        client.get("/")
    return client.cookies[CSRF_COOKIE]


def decide(client, sha, **form):
    data = {"csrf_token": csrf(client), "reviewer": "Ana", "hallmark_id": "1", "based_on": "", **form}
    return client.post(f"/documents/{sha}/decisions", data=data)


def test_document_list_shows_levels_status_and_filters(setup):
    ws, docs, client = setup
    page = client.get("/")
    assert page.status_code == 200
    assert "Northby Strategy 0" in page.text and "Northby Strategy 1" in page.text
    assert "0 of 7" in page.text
    assert "50%" in page.text and "70%" in page.text  # mean confidence
    low = client.get("/", params={"confidence": "0.6"}).text
    assert "Northby Strategy 0" in low and "Northby Strategy 1" not in low
    dec.record_decision(ws, docs[1].document.sha256, "1", reviewer="Ana", action="accept")
    in_progress = client.get("/", params={"status": "in_progress"}).text
    assert "Northby Strategy 1" in in_progress and "Northby Strategy 0" not in in_progress
    assert "1 of 7" in in_progress
    ordered = client.get("/", params={"sort": "confidence", "order": "desc"}).text
    assert ordered.index("Northby Strategy 1") < ordered.index("Northby Strategy 0")
    assert client.get("/", params={"needs_review": "no"}).text.count("/documents/") == 0


def test_document_page_shows_checklist_evidence_and_forms(setup):
    _, docs, client = setup
    sha = docs[0].document.sha256
    page = client.get(f"/documents/{sha}")
    assert page.status_code == 200
    assert 'id="h-3a"' in page.text and "needs review" in page.text
    assert "Wellbeing is more than the absence of illness." in page.text
    thumbs = re.findall(r'src="(/documents/[0-9a-f]{64}/pages/\d+\.png\?[^"]+)"', page.text)
    assert thumbs and all("box=" in t for t in thumbs)
    png = client.get(thumbs[0].replace("&amp;", "&"))
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG")
    assert list((page_cache := (setup[0].root / "cache" / "pages")).glob("*.png")), page_cache
    full = client.get(f"/documents/{sha}/pages/1")
    assert full.status_code == 200 and f"/documents/{sha}/pages/1.png?box=" in full.text
    assert full.headers["content-security-policy"].startswith("default-src 'self'")


def test_document_text_is_escaped(setup):
    _, docs, client = setup
    html = client.get(f"/documents/{docs[0].document.sha256}").text
    assert XSS not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    page2 = client.get(f"/documents/{docs[0].document.sha256}/pages/2").text
    assert XSS not in page2 and "&lt;script&gt;" in page2


def test_override_flow_and_history(setup):
    ws, docs, client = setup
    sha = docs[0].document.sha256
    r = decide(client, sha, action="override", level="optimising", reason="ward <b>targets</b>", note="n1")
    assert r.status_code == 303
    page = client.get(r.headers["location"])
    assert "Saved:" in page.text and "overrode to" in page.text
    assert "ward &lt;b&gt;targets&lt;/b&gt;" in page.text
    assert dec.final_levels(ws, sha)["1"].level == "optimising"
    accept = decide(
        client, sha, hallmark_id="2", action="accept", based_on="", assessment_id=str(ws.current(sha).id)
    )
    assert accept.status_code == 303
    assert dec.latest_decision(ws, sha, "2").level == "assuring"


def test_override_without_reason_or_reviewer_is_refused(setup):
    ws, docs, client = setup
    sha = docs[0].document.sha256
    r = decide(client, sha, action="override", level="none", reason="")
    assert r.status_code == 400 and "needs a reason" in r.text
    r = decide(client, sha, action="accept", reviewer="")
    assert r.status_code == 400 and "Enter your name" in r.text
    assert dec.decisions_for(ws, sha) == []


def test_stale_form_shows_a_conflict_banner_with_both(setup):
    ws, docs, client = setup
    sha = docs[0].document.sha256
    first = decide(client, sha, reviewer="Ana", action="accept", based_on="")
    second = decide(
        client, sha, reviewer="Ben", action="override", level="none", reason="health only", based_on=""
    )
    assert first.status_code == second.status_code == 303
    page = client.get(second.headers["location"]).text
    assert 'class="banner conflict"' in page
    banner = page[page.index('id="conflict"') : page.index("</div>", page.index('id="conflict"'))]
    assert "Ana" in banner and "Ben" in banner
    assert len(dec.decisions_for(ws, sha, "1")) == 2
    assert "Reviewers disagree" in page and "Record consensus" in page


def test_evidence_verdict_and_consensus_forms(setup):
    ws, docs, client = setup
    sha = docs[0].document.sha256
    token = csrf(client)
    r = client.post(
        f"/documents/{sha}/evidence",
        data={
            "csrf_token": token,
            "reviewer": "Ana",
            "descriptor_id": "1.A.1",
            "passage": "0",
            "verdict": "reject",
            "hallmark_id": "1",
        },
    )
    assert r.status_code == 303
    assert "Ana: rejected" in client.get(f"/documents/{sha}").text
    r = client.post(
        f"/documents/{sha}/consensus",
        data={
            "csrf_token": token,
            "reviewer": "Ana",
            "hallmark_id": "1",
            "level": "none",
            "reason": "agreed in meeting",
            "note": "agreed",
        },
    )
    assert r.status_code == 303
    assert dec.final_levels(ws, sha)["1"].source == "consensus"


def test_agreement_page(setup):
    ws, docs, client = setup
    for d in docs:
        dec.record_decision(ws, d.document.sha256, "1", reviewer="Ana", action="accept")
        dec.record_decision(
            ws, d.document.sha256, "1", reviewer="Ben", action="override", level="none", reason="r"
        )
    page = client.get("/agreement")
    assert page.status_code == 200
    assert "Reviewer against reviewer" in page.text and "Ana" in page.text and "all reviewers" in page.text


@pytest.mark.parametrize("form", [{}, {"csrf_token": ""}, {"csrf_token": "x" * 43}])
def test_post_without_valid_csrf_token_is_forbidden(setup, form):
    ws, docs, client = setup
    sha = docs[0].document.sha256
    csrf(client)
    for path in ("decisions", "evidence", "consensus"):
        r = client.post(
            f"/documents/{sha}/{path}",
            data={"reviewer": "Ana", "hallmark_id": "1", "action": "accept", "level": "none", **form},
        )
        assert r.status_code == 403, path
    assert dec.decisions_for(ws, sha) == []


def test_post_with_form_token_but_no_cookie_is_forbidden(setup):
    _, docs, client = setup
    token = csrf(client)
    client.cookies.clear()
    r = client.post(
        f"/documents/{docs[0].document.sha256}/decisions",
        data={"csrf_token": token, "reviewer": "Ana", "hallmark_id": "1", "action": "accept"},
    )
    assert r.status_code == 403


@pytest.mark.parametrize(
    "path",
    [
        "/documents/../../etc/passwd",
        "/documents/..%2f..%2fetc%2fpasswd",
        "/documents/%2e%2e/%2e%2e/etc/passwd",
        "/documents/{sha}/pages/999.png",
        "/documents/{sha}/pages/0.png",
        "/documents/{sha}/pages/-1.png",
        "/documents/{sha}/pages/999",
        "/documents/{sha}/pages/..%2f..%2f..%2fetc%2fpasswd",
        "/documents/{sha}/pages/..%2f..%2fetc%2fpasswd.png",
        "/documents/{sha}/pages/1.png/../../../../etc/passwd",
        "/documents/{SHA}",
        "/static/..%2f..%2fstore.py",
        "/static/../app.py",
        "/static/%2e%2e/app.py",
    ],
)
def test_paths_outside_the_workspace_are_never_served(setup, path):
    _, docs, client = setup
    sha = docs[0].document.sha256
    r = client.get(path.replace("{sha}", sha).replace("{SHA}", sha.upper()))
    assert r.status_code in (400, 404), (path, r.status_code)
    assert "root:" not in r.text and "import" not in r.text


def test_box_parameter_is_validated(setup):
    _, docs, client = setup
    base = f"/documents/{docs[0].document.sha256}/pages/1.png"
    for bad in ("nan,1,2,3", "1,2,3", "a,b,c,d", "5,5,1,1", "1e9,0,2e9,1"):
        assert client.get(base, params={"box": bad}).status_code == 400, bad
    assert client.get(base, params={"path": "/etc/passwd"}).content.startswith(b"\x89PNG")


def test_missing_pdf_gives_a_clear_404(setup):
    _, docs, client = setup
    pdf = docs[0].document.path
    import os

    os.rename(pdf, pdf + ".moved")
    r = client.get(f"/documents/{docs[0].document.sha256}/pages/1.png")
    assert r.status_code == 404 and "no longer there" in r.text
    assert "no longer there" in client.get(f"/documents/{docs[0].document.sha256}/pages/1").text


def test_foreign_host_header_is_refused_without_token(setup):
    ws, _, _ = setup
    evil = TestClient(create_app(ws), base_url="http://evil.example")
    assert evil.get("/").status_code == 400
    assert TestClient(create_app(ws), base_url="http://localhost:8765").get("/").status_code == 200
    assert TestClient(create_app(ws), base_url="http://[::1]:8765").get("/").status_code == 200


def test_token_is_required_once_then_kept_in_a_cookie(setup):
    ws, docs, _ = setup
    client = TestClient(
        create_app(ws, token=LONG_TOKEN), base_url="http://10.0.0.5:8765", follow_redirects=False
    )
    assert client.get("/").status_code == 403
    assert client.get("/", params={"token": "wrong"}).status_code == 403
    r = client.get(f"/documents/{docs[0].document.sha256}", params={"token": LONG_TOKEN})
    assert r.status_code == 303 and "token" not in r.headers["location"]
    assert client.get(r.headers["location"]).status_code == 200
    assert client.get("/agreement").status_code == 200


def test_non_loopback_binding_gets_a_strong_token():
    token, generated = resolve_token("0.0.0.0", None)
    assert generated and len(token) >= 43
    with pytest.raises(EvaluatorError, match="at least 32"):
        resolve_token("0.0.0.0", "t")
    for host in ("127.0.0.1", "localhost", "::1"):
        assert resolve_token(host, None) == (None, False)


def test_cli_review_needs_an_existing_workspace(tmp_path):
    result = CliRunner().invoke(main, ["review", "--workspace", str(tmp_path / "none")])
    assert result.exit_code == 1 and "No workspace" in result.output


def test_real_pipeline_output_is_reviewable(tmp_path, fake_pipeline):
    """The pipeline's own Assessment (fake encoder) renders, and its cited boxes draw on their pages."""
    from review_helpers import make_pdf

    from evaluator.workspace.store import Workspace

    pdf = make_pdf(tmp_path / "real.pdf")
    assessment = fake_pipeline.assess(pdf)
    ws = Workspace(tmp_path / "ws")
    ws.save_assessment(assessment, cache_key="pipeline")
    client = TestClient(create_app(ws.root), base_url=LOCAL)
    page = client.get(f"/documents/{assessment.document.sha256}")
    assert page.status_code == 200
    thumbs = re.findall(r'src="(/documents/[0-9a-f]{64}/pages/\d+\.png\?[^"]+)"', page.text)
    assert thumbs
    for src in thumbs[:10]:
        r = client.get(src.replace("&amp;", "&"))
        assert r.status_code == 200 and r.content.startswith(b"\x89PNG")


def test_read_only_workspace_can_be_browsed_but_saves_nothing(tmp_path):
    """A reviewer opening an archived (read-only) workspace sees everything, and a decision is refused
    with a message saying why, instead of an error page or a lost click."""
    from evaluator.review.app import READ_ONLY

    ws, docs = make_workspace(tmp_path, documents=1)
    sha = docs[0].document.sha256
    client = TestClient(create_app(ws.root, read_only=True), base_url=LOCAL, follow_redirects=False)
    page = client.get(f"/documents/{sha}")
    assert page.status_code == 200 and "Wellbeing is more than the absence of illness." in page.text
    thumb = re.findall(r'src="(/documents/[0-9a-f]{64}/pages/\d+\.png\?[^"]+)"', page.text)[0]
    assert client.get(thumb.replace("&amp;", "&")).content.startswith(b"\x89PNG")
    assert not (ws.root / "cache" / "pages").exists()  # rendered, not cached: nothing written
    refused = decide(client, sha, action="accept")
    assert refused.status_code == 409 and READ_ONLY in refused.text
    assert dec.decisions_for(ws, sha) == []
