"""Corpus outputs: CSV, XLSX, heatmap PNG and HTML from a workspace of stored assessments (no model)."""

from __future__ import annotations

import csv
from pathlib import Path

from openpyxl import load_workbook

from evaluator.types import (
    HALLMARK_IDS,
    Assessment,
    DescriptorResult,
    DocumentInfo,
    Evidence,
    HallmarkResult,
    Provenance,
)
from evaluator.workspace.corpus_report import COLUMNS, write_reports
from evaluator.workspace.store import Workspace


def assessment(title: str, sha: str, level: str, quote: str = "We will measure wellbeing.") -> Assessment:
    evidence = [Evidence(page=3, text=quote, score=0.8)]
    hallmarks = [
        HallmarkResult(
            id=h,
            level=level,
            confidence=0.7,
            needs_review=h == "2",
            descriptors=[DescriptorResult(id=f"{h}.A.1", status="met", probability=0.9, evidence=evidence)],
        )
        for h in HALLMARK_IDS
    ]
    return Assessment(
        document=DocumentInfo(path=f"/docs/{sha[:4]}.pdf", sha256=sha, pages=12, title=title),
        provenance=Provenance(
            tool_version="0",
            rubric_id="r",
            rubric_version="1",
            model_name="m",
            model_hash="h",
            extractor="x",
            judge="j",
            created_at="2025-01-01T00:00:00+00:00",
        ),
        hallmarks=hallmarks,
    )


def make_workspace(tmp_path: Path) -> Workspace:
    ws = Workspace(tmp_path / "ws")
    run = ws.start_run("0", {})
    ws.save_assessment(
        assessment(
            "Start Well <script>alert(1)</script>",
            "a" * 64,
            "optimising",
            quote="Evidence with <b>markup</b> & ampersand",
        ),
        cache_key="k1",
        run_id=run,
    )
    ws.save_assessment(assessment("Plain strategy", "b" * 64, "none"), cache_key="k2", run_id=run)
    ws.record_failure(run, "/docs/broken.pdf", "/docs/broken.pdf is not a PDF (no %PDF- header)")
    return ws


def test_csv_and_xlsx_rows_and_columns(tmp_path: Path) -> None:
    out = write_reports(make_workspace(tmp_path))
    with open(out / "summary.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == COLUMNS
    assert [r["hallmark 3a"] for r in rows] == ["optimising", "none"]
    assert rows[0]["needs review"] == "1" and rows[0]["pages"] == "12" and rows[0]["mean confidence"] == "0.7"
    book = load_workbook(out / "summary.xlsx")
    assert book.sheetnames == ["Documents", "Failures"]
    docs = list(book["Documents"].values)
    assert list(docs[0]) == COLUMNS and len(docs) == 3
    failures = list(book["Failures"].values)
    assert failures[1][:2] == ("/docs/broken.pdf", "/docs/broken.pdf is not a PDF (no %PDF- header)")


def test_heatmap_png(tmp_path: Path) -> None:
    out = write_reports(make_workspace(tmp_path))
    data = (out / "heatmap.png").read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 5000


def test_html_escapes_document_text_and_links_pages(tmp_path: Path) -> None:
    out = write_reports(make_workspace(tmp_path))
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in index and "&lt;script&gt;alert(1)&lt;/script&gt;" in index
    assert 'href="documents/aaaa-aaaaaaaaaaaa.html"' in index and "broken.pdf" in index
    page = (out / "documents" / "aaaa-aaaaaaaaaaaa.html").read_text(encoding="utf-8")
    assert "<script>" not in page and "<b>markup</b>" not in page
    assert "Evidence with &lt;b&gt;markup&lt;/b&gt; &amp; ampersand" in page and "p. 3" in page


def test_resolved_failure_is_not_listed(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path)
    ws.save_assessment(
        assessment("Fixed", "c" * 64, "assuring").model_copy(
            update={
                "document": DocumentInfo(path="/docs/broken.pdf", sha256="c" * 64, pages=2, title="Fixed")
            }
        ),
        cache_key="k3",
    )
    out = write_reports(ws)
    assert "is not a PDF" not in (out / "index.html").read_text(encoding="utf-8")


def test_empty_workspace(tmp_path: Path) -> None:
    out = write_reports(Workspace(tmp_path / "ws"))
    assert (out / "heatmap.png").exists() and (out / "index.html").exists()


def test_screen_table_stays_readable_in_an_80_column_terminal() -> None:
    """Piped to a log or in a default terminal, every document keeps its name, its 7 levels (abbreviated,
    with a legend) and its confidence; a wide terminal shows the full level names."""
    from rich.console import Console

    from evaluator.workspace.batch import Outcome, ScreenSummary
    from evaluator.workspace.corpus_report import print_summary

    levels = ["none", "assuring", "optimising", "maximising", "none", "assuring", "optimising"]
    outcomes = [
        Outcome(
            path=f"/strategies/{name}.pdf",
            status=status,
            levels=dict(zip(HALLMARK_IDS, levels, strict=True)),
            confidence=0.61,
            reason="" if status == "ok" else "unchanged",
        )
        for name, status in [("saltmarsh-bay-connection-2024", "ok"), ("northmoor-hws-2024", "skipped")]
    ]
    summary = ScreenSummary(workspace=Path("demo"), run_id=1, outcomes=outcomes, seconds=3.0)
    for width, shown in [(80, ["none", "ass", "opt", "max", "none", "ass", "opt"]), (160, levels)]:
        console = Console(width=width, record=True, color_system=None)
        print_summary(summary, console)
        text = console.export_text()
        lines = text.splitlines()
        assert max(map(len, lines)) <= width
        cells = [
            [c for c in line.split() if c not in "│┃"]
            for line in lines
            if "saltmarsh" in line or "northmoor" in line
        ]
        assert [row[0][:9] for row in cells] == ["saltmarsh", "northmoor"]
        assert [row[1:10] for row in cells] == [[*shown, "0.61", "new"], [*shown, "0.61", "unchanged"]]
        assert ("levels: none, ass(uring), opt(imising), max(imising)" in text) == (width == 80)
