"""Areas in a screen (a `group` column in MANIFEST.tsv): stored in the real SQLite workspace like any
assessment, reviewed in the app like a document with each citation's page drawn from its own PDF, and
decided on like any other. Real model, real PDFs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from support import SAMPLE_CORPUS
from test_review_app import LOCAL, decide

from evaluator.review.app import create_app
from evaluator.workspace import decisions as dec
from evaluator.workspace.batch import screen
from evaluator.workspace.store import Workspace

pytestmark = pytest.mark.model

AREA = "Fenwick HWB 2025"
MEMBERS = ["fenwick-hws-2025", "fenwick-jsna-2024"]


@pytest.fixture(scope="module")
def screened(tmp_path_factory):
    folder = tmp_path_factory.mktemp("board")
    for doc_id in MEMBERS:
        shutil.copy(SAMPLE_CORPUS / f"{doc_id}.pdf", folder)
    (folder / "delivery-plan.pdf").write_bytes(b"%PDF-1.4\n")  # truncated: cannot be parsed
    rows = [f"{d}\t{AREA}\t{role}" for d, role in zip(MEMBERS, ["strategy", "jsna"], strict=True)]
    rows.append(f"delivery-plan\t{AREA}\tdelivery plan")
    (folder / "MANIFEST.tsv").write_text("doc_id\tgroup\trole\n" + "\n".join(rows) + "\n")
    ws_root = tmp_path_factory.mktemp("ws")
    summary = screen([folder], ws_root, workers=1, quiet=True, reports=False)
    return folder, Workspace(ws_root, create=False), summary


def _area(ws: Workspace):
    (area,) = [s for s in ws.current_assessments() if s.assessment.is_area]
    return area


def test_a_group_is_stored_as_one_area_beside_its_documents(screened) -> None:
    folder, ws, summary = screened
    outcomes = {
        Path(o.path).name if not o.path.startswith("area ") else o.path: o.status for o in summary.outcomes
    }
    assert outcomes == {
        "fenwick-hws-2025.pdf": "ok",
        "fenwick-jsna-2024.pdf": "ok",
        "delivery-plan.pdf": "failed",
        f"area {AREA}": "ok",
    }
    area = _area(ws).assessment
    assert area.document.title == AREA
    documents = {d.id: (d.role, d.pages, bool(d.error)) for d in area.documents}
    assert documents == {
        "fenwick-hws-2025": ("strategy", 6, False),
        "fenwick-jsna-2024": ("jsna", 6, False),
        "delivery-plan": ("delivery plan", 0, True),
    }
    assert any("delivery-plan was not assessed" in w for w in area.warnings)
    assert len(list(ws.folder("assessments").glob("area-fenwick-hwb-2025-*.json"))) == 1


def test_an_unchanged_area_is_skipped_on_the_next_screen(screened) -> None:
    folder, ws, _ = screened
    again = screen([folder], ws, workers=1, quiet=True, reports=False)
    assert {o.path: o.status for o in again.outcomes}[f"area {AREA}"] == "skipped"


def test_the_review_app_shows_the_area_with_pages_from_each_document(screened) -> None:
    _, ws, _ = screened
    stored = _area(ws)
    client = TestClient(create_app(ws.root), base_url=LOCAL, follow_redirects=False)
    assert AREA in client.get("/").text
    page = client.get(f"/documents/{stored.sha256}")
    assert page.status_code == 200
    for doc_id in MEMBERS:
        assert f"{doc_id} p. " in page.text
        assert f"source={doc_id}" in page.text
    cited = next(
        e
        for h in stored.assessment.hallmarks
        for d in h.descriptors
        for e in d.evidence
        if e.document == "fenwick-jsna-2024"
    )
    png = client.get(f"/documents/{stored.sha256}/pages/{cited.page}.png?source=fenwick-jsna-2024")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    view = client.get(f"/documents/{stored.sha256}/pages/{cited.page}?source=fenwick-jsna-2024")
    assert view.status_code == 200 and "of fenwick-jsna-2024" in view.text
    assert " ".join(cited.text.split()[:6]) in " ".join(view.text.split())
    for bad in ("delivery-plan", "elsewhere", ""):  # not assessed, not in the area, no document named
        assert client.get(f"/documents/{stored.sha256}/pages/1.png?source={bad}").status_code == 404


def test_decisions_on_an_area_are_stored_like_any_other(screened) -> None:
    _, ws, _ = screened
    sha = _area(ws).sha256
    client = TestClient(create_app(ws.root), base_url=LOCAL, follow_redirects=False)
    r = decide(client, sha, hallmark_id="3a", action="override", level="optimising", reason="JSNA by ward")
    assert r.status_code == 303
    assert dec.final_levels(ws, sha)["3a"].level == "optimising"


def test_exports_name_each_citations_document_and_draw_it_from_that_pdf(screened, tmp_path: Path) -> None:
    import json

    from evaluator.workspace.export import export

    _, ws, _ = screened
    export(ws, "json", tmp_path / "out.json")
    records = json.loads((tmp_path / "out.json").read_text())["documents"]
    (record,) = [r for r in records if r["document"]["title"] == AREA]
    cited = {e["document"] for h in record["hallmarks"] for d in h["descriptors"] for e in d["evidence"]}
    assert cited == set(MEMBERS)
    export(ws, "html", tmp_path / "out.html")
    page = (tmp_path / "out.html").read_text()
    area_part = page[page.index(AREA) :]
    assert "fenwick-jsna-2024 p. " in area_part and "fenwick-hws-2025 p. " in area_part
    assert area_part.count("data:image/png;base64,") > 0
