"""A workspace of many documents: the list and the exports read the whole workspace at once (summaries,
all reviewer records in a few queries), and say what reading one document at a time would say."""

from __future__ import annotations

import csv
import json
import sqlite3

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from review_helpers import make_workspace

from evaluator.review import views
from evaluator.review.app import create_app
from evaluator.types import HALLMARK_IDS, LEVELS, Assessment
from evaluator.workspace import decisions as dec
from evaluator.workspace.export import export, export_records, final_assessment
from evaluator.workspace.store import Workspace

DOCUMENTS = 24


def fill(ws: Workspace, sample: Assessment, count: int) -> list[Assessment]:
    """``count`` more documents made from ``sample``: their own sha256, title and levels."""
    out = []
    for i in range(count):
        a = sample.model_copy(deep=True)
        a.document.sha256 = f"{i:064x}"
        a.document.title = f"Council {i:02d} strategy"
        for n, h in enumerate(a.hallmarks):
            h.level = LEVELS[(i + n) % len(LEVELS)]
            h.confidence = round(0.3 + 0.02 * i, 2)
            h.needs_review = (i + n) % 4 == 0
        ws.save_assessment(a, cache_key=f"many-{i}")
        out.append(a)
    return out


@pytest.fixture
def many(tmp_path, database):
    """A workspace of DOCUMENTS documents: decisions on some, disputed and settled by consensus on one,
    and one re-screened with other levels (its first suggestion superseded)."""
    ws, [sample] = make_workspace(tmp_path, database=database)
    docs = [sample, *fill(ws, sample, DOCUMENTS - 1)]
    for a in docs[1:6]:
        dec.record_decision(ws, a.document.sha256, "1", reviewer="Ana", action="accept")
    disputed = docs[2].document.sha256
    dec.record_decision(ws, disputed, "1", reviewer="Ben", action="override", level="none", reason="no goal")
    dec.record_decision(ws, docs[3].document.sha256, "2", reviewer="Ben", action="accept")
    dec.record_consensus(
        ws, docs[3].document.sha256, "2", level="maximising", recorded_by="Chris", reason="panel"
    )
    for h in HALLMARK_IDS:  # every hallmark of one document decided: "done"
        dec.record_decision(ws, docs[6].document.sha256, h, reviewer="Dee", action="accept")
    rescreened = docs[4].model_copy(deep=True)
    for h in rescreened.hallmarks:
        h.level = "maximising"
    ws.save_assessment(rescreened, cache_key="many-rescreen")
    dec.record_evidence_verdict(
        ws, sample.document.sha256, "1.A.1", passage_index=0, verdict="confirm", reviewer="Ana"
    )
    return ws, docs


def test_the_list_shows_every_document_as_its_own_page_does(many):
    ws, docs = many
    listed = views.document_list(ws)
    assert len(listed) == DOCUMENTS
    one_by_one = {s.sha256: views.document_summary(ws, s) for s in ws.current_assessments()}
    assert {d["sha256"]: d for d in listed} == one_by_one
    by_sha = {d["sha256"]: d for d in listed}
    assert set(by_sha[docs[4].document.sha256]["levels"].values()) == {"maximising"}  # the re-screen
    assert by_sha[docs[2].document.sha256]["finals"]["1"]["disputed"]
    assert by_sha[docs[3].document.sha256]["finals"]["2"]["source"] == "consensus"
    assert by_sha[docs[6].document.sha256]["status"] == "done"
    page = TestClient(create_app(ws), base_url="http://127.0.0.1").get("/").text
    assert all(f'href="/documents/{a.document.sha256}"' in page for a in docs)


def test_an_older_workspace_gets_its_summaries_when_it_migrates(tmp_path):
    """A workspace from before ``assessment_summaries`` (schema 4) lists its documents as before."""
    ws, _ = make_workspace(tmp_path)
    fill(ws, ws.current_assessments()[0].assessment, 5)
    before = views.document_list(ws)
    conn = sqlite3.connect(ws.db_path)
    with conn:
        conn.execute("DROP TABLE assessment_summaries")
        conn.execute("PRAGMA user_version = 4")
    conn.close()
    migrated = Workspace(ws.root, create=False)
    assert views.document_list(migrated) == before and len(before) == 6


def test_an_export_of_many_documents_is_complete(many, tmp_path):
    ws, docs = many
    rubric = ws.rubric()
    one_by_one = [final_assessment(ws, s, rubric) for s in ws.current_assessments()]
    assert export_records(ws) == one_by_one
    assert export(ws, "json", tmp_path / "out.json") == DOCUMENTS
    exported = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))["documents"]
    assert [d["document"]["sha256"] for d in exported] == [r["document"]["sha256"] for r in one_by_one]
    export(ws, "csv", tmp_path / "out.csv")
    rows = list(csv.DictReader((tmp_path / "out.csv").open(encoding="utf-8")))
    assert len(rows) == DOCUMENTS * len(HALLMARK_IDS)
    export(ws, "xlsx", tmp_path / "out.xlsx")
    wb = load_workbook(tmp_path / "out.xlsx")
    summary = list(wb["Summary"].values)
    assert len(wb.sheetnames) == DOCUMENTS + 1 and len(summary) == DOCUMENTS + 1
    header = summary[0]
    for record, row in zip(one_by_one, summary[1:], strict=True):
        finals = {h["id"]: h["final_level"] for h in record["hallmarks"]}
        assert row[header.index("sha256")] == record["document"]["sha256"]
        assert {h: row[header.index(f"Hallmark {h}")] for h in HALLMARK_IDS} == finals
        assert len(list(wb[row[header.index("Sheet")]].values)) == len(HALLMARK_IDS) + 1
