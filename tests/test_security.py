"""Issue 12 (hardening): each test is one promise to a user, checked against the running review app,
real workspaces and the real export files. Hostile inputs come from tests/fixtures/make_pdfs.py."""

from __future__ import annotations

import csv
import shutil
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from review_helpers import make_workspace

import evaluator.batch
from evaluator import decisions as dec
from evaluator.cli import main
from evaluator.embed import HashingEncoder
from evaluator.export import export
from evaluator.pipeline import Pipeline
from evaluator.review.app import create_app
from evaluator.review.security import CSRF_COOKIE

TESTS = Path(__file__).resolve().parent
PDFS = TESTS / "fixtures" / "pdfs"
sys.path.insert(0, str(TESTS / "fixtures"))
from make_pdfs import FORMULAS, make_bomb, make_many_pages  # noqa: E402

LOCAL = "http://127.0.0.1"


def fake_pipeline() -> Pipeline:
    return Pipeline(encoder=HashingEncoder())


@pytest.fixture
def app(tmp_path):
    ws, docs = make_workspace(tmp_path, documents=1)
    client = TestClient(create_app(ws.root), base_url=LOCAL, follow_redirects=False)
    return ws, docs[0].document.sha256, client


def form_token(client: TestClient) -> str:
    if CSRF_COOKIE not in client.cookies:
        client.get("/")
    return client.cookies[CSRF_COOKIE]


def screen_fake(monkeypatch, paths: list[Path], ws: Path, *extra: str):
    monkeypatch.setattr(evaluator.batch, "PipelineSpec", lambda *args: fake_pipeline)
    return CliRunner().invoke(main, ["screen", *map(str, paths), "--workspace", str(ws), "--workers", "1",
                                     "--quiet", *extra])


def no_formulas(xlsx: Path) -> None:
    """No cell of any sheet is stored as a formula (an <f> element) in the file itself."""
    with zipfile.ZipFile(xlsx) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in z.read(name) and b"<f " not in z.read(name), name


# ----------------------------------------------------------------------------- 1. formula injection


def test_reviewer_text_that_looks_like_a_formula_is_inert_in_every_export(app, tmp_path):
    """A reason or note such as =HYPERLINK(...) reads exactly as typed in the XLSX export (a text cell,
    never a formula) and is quoted in the CSV export, so opening the file runs nothing."""
    ws, sha, _ = app
    for hallmark, formula in zip(("1", "2", "3a", "3b", "4", "5"), FORMULAS, strict=True):
        dec.record_decision(ws, sha, hallmark, reviewer="@Ana", action="override", level="none",
                            reason=formula + " reason", note=formula + " note")
    export(ws, "xlsx", tmp_path / "out.xlsx")
    no_formulas(tmp_path / "out.xlsx")
    sheet = load_workbook(tmp_path / "out.xlsx").worksheets[1]
    head = [c.value for c in sheet[1]]
    cells = {row[0].value.split()[0]: row for row in sheet.iter_rows(min_row=2)}
    for hallmark, formula in zip(("1", "2", "3a", "3b", "4", "5"), FORMULAS, strict=True):
        reason = cells[hallmark][head.index("Reason")]
        assert (reason.value, reason.data_type) == ((formula + " reason").strip(), "s")
        assert cells[hallmark][head.index("Reviewer")].value == "@Ana"
    export(ws, "csv", tmp_path / "out.csv")
    rows = {r["hallmark"]: r for r in csv.DictReader((tmp_path / "out.csv").open(encoding="utf-8", newline=""))}
    for hallmark, formula in zip(("1", "2", "3a", "3b", "4", "5"), FORMULAS, strict=True):
        assert rows[hallmark]["reason"] == "'" + (formula + " reason").strip()
        assert rows[hallmark]["note"] == "'" + (formula + " note").strip()
        assert rows[hallmark]["reviewer"] == "'@Ana"


def test_a_pdf_title_that_is_a_formula_is_inert_in_the_corpus_reports(tmp_path, monkeypatch):
    """The summary.csv and summary.xlsx written after every screen never carry a live formula, even when
    a PDF's metadata Title is one."""
    shutil.copy(PDFS / "formula-title.pdf", tmp_path / "formula-title.pdf")
    result = screen_fake(monkeypatch, [tmp_path / "formula-title.pdf"], tmp_path / "ws")
    assert result.exit_code == 0, result.output
    reports = tmp_path / "ws" / "reports"
    [row] = list(csv.DictReader((reports / "summary.csv").open(encoding="utf-8", newline="")))
    assert row["document"] == "'" + FORMULAS[0]
    no_formulas(reports / "summary.xlsx")
    title = load_workbook(reports / "summary.xlsx")["Documents"]["A2"]
    assert (title.value, title.data_type) == (FORMULAS[0], "s")


# ------------------------------------------------------------------ 4. memory cap on untrusted files


@pytest.mark.parametrize("workers", [1, 2])
def test_a_decompression_bomb_fails_alone_and_the_batch_goes_on(tmp_path, monkeypatch, workers):
    """A 306 KB PDF that inflates to 300 MiB fails with a one-line reason (over the memory cap), the
    other documents are assessed; with one worker (in-process batch) and with worker processes."""
    monkeypatch.setenv("EVALUATOR_MEMORY_LIMIT_MB", "200")
    docs = tmp_path / "docs"
    docs.mkdir()
    make_bomb(docs / "bomb.pdf", 300)
    shutil.copy(PDFS / "heading.pdf", docs / "heading.pdf")
    make_many_pages(docs / "many.pdf", 12)  # enough pages for worker processes
    summary = evaluator.batch.screen([docs], tmp_path / "ws", workers=workers, quiet=True, timeout=60,
                                     pipeline_factory=fake_pipeline, reports=False)
    [failed] = summary.failed
    assert Path(failed.path).name == "bomb.pdf"
    assert "ran out of memory (over 200 MB" in failed.reason and "\n" not in failed.reason
    assert sorted(Path(o.path).name for o in summary.ok) == ["heading.pdf", "many.pdf"]


def test_an_oversized_text_file_is_refused_without_reading_it(tmp_path, monkeypatch):
    """A .txt input over the size cap fails with a one-line reason; the batch goes on."""
    big = tmp_path / "huge.txt"
    with big.open("wb") as fh:  # sparse: 64 MB on paper, nothing on disk
        fh.truncate(64 << 20)
    small = tmp_path / "small.md"
    small.write_text("# Wellbeing\n\nWe will measure wellbeing every year.\n", encoding="utf-8")
    result = screen_fake(monkeypatch, [big, small], tmp_path / "ws")
    assert result.exit_code == 1
    assert f"failed {big}: {big} is over 20 MB, too large for a text strategy" in result.output
    assert "1 assessed, 0 skipped (unchanged), 1 failed" in result.output
