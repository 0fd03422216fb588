"""Export: every format carries the final level and says where it came from."""

from __future__ import annotations

import csv
import json
import re

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from review_helpers import XSS, make_workspace, workspace_args

from evaluator.cli import main
from evaluator.errors import EvaluatorError
from evaluator.workspace import decisions as dec
from evaluator.workspace.export import export

REASON = "Ward-level life satisfaction targets"


@pytest.fixture
def reviewed(tmp_path, database):
    ws, docs = make_workspace(tmp_path, documents=2, database=database)
    sha = docs[0].document.sha256
    dec.record_decision(
        ws, sha, "1", reviewer="Ana", action="override", level="maximising", reason=REASON, note="see p.1"
    )
    dec.record_decision(ws, sha, "2", reviewer="Ana", action="accept")
    dec.record_consensus(ws, sha, "3a", level="none", recorded_by="Ben", reason="health only")
    return ws, sha, tmp_path


def test_json_export(reviewed):
    ws, sha, tmp = reviewed
    assert export(ws, "json", tmp / "out.json") == 2
    data = json.loads((tmp / "out.json").read_text())
    doc = next(d for d in data["documents"] if d["document"]["sha256"] == sha)
    h = {x["id"]: x for x in doc["hallmarks"]}
    assert (h["1"]["final_level"], h["1"]["source"], h["1"]["suggested_level"]) == (
        "maximising",
        "reviewed",
        "assuring",
    )
    assert h["1"]["decision"]["reason"] == REASON and h["1"]["decision"]["reviewer"] == "Ana"
    assert (h["2"]["final_level"], h["2"]["source"]) == ("assuring", "reviewed")
    assert (h["3a"]["final_level"], h["3a"]["source"]) == ("none", "consensus")
    assert (h["4"]["final_level"], h["4"]["source"]) == ("assuring", "suggested")
    assert doc["provenance"]["judge"] == "test-judge"
    evidence = h["1"]["descriptors"][0]["evidence"][0]
    assert evidence["page"] == 1 and len(evidence["bbox"]) == 4


def test_csv_export(reviewed):
    ws, sha, tmp = reviewed
    export(ws, "csv", tmp / "out.csv")
    rows = list(csv.DictReader((tmp / "out.csv").open(encoding="utf-8")))
    assert len(rows) == 14
    row = next(r for r in rows if r["sha256"] == sha and r["hallmark"] == "1")
    assert (row["final_level"], row["source"], row["action"], row["reason"]) == (
        "maximising",
        "reviewed",
        "override",
        REASON,
    )


def test_xlsx_follows_the_maturity_grid(reviewed):
    ws, sha, tmp = reviewed
    export(ws, "xlsx", tmp / "out.xlsx")
    wb = load_workbook(tmp / "out.xlsx")
    assert wb.sheetnames[0] == "Summary" and len(wb.sheetnames) == 3
    summary = list(wb["Summary"].values)
    header = summary[0]
    row = next(r for r in summary[1:] if r[2] == sha)
    assert row[header.index("Hallmark 1")] == "maximising" and row[header.index("Source 1")] == "reviewed"
    sheet = wb[row[header.index("Sheet")]]
    rows = list(sheet.values)
    head = rows[0]
    assert head[:4] == ("Hallmark", "Assuring", "Optimising", "Maximising")
    h1 = rows[1]
    assert h1[0].startswith("1")
    assert (
        "1.A.1 [met]" in h1[1] and 'p.1 [mention] "Wellbeing is more than the absence of illness."' in h1[1]
    )
    assert (
        "1.M.1 [not_met]" in h1[3]
        and "Searched 4 of 6 passages" in h1[3]
        and "closest (not evidence)" in h1[3]
    )
    assert "1.O.1" in h1[2] and "1.M.1 [not_met]" in h1[3]
    assert h1[head.index("Final level")] == "maximising" and h1[head.index("Source")] == "reviewed"
    assert h1[head.index("Reviewer")] == "Ana" and h1[head.index("Reason")] == REASON
    h3a = next(r for r in rows if r[0].startswith("3a"))
    assert h3a[head.index("Source")] == "consensus" and h3a[head.index("Consensus")] == "none (Ben)"
    # readable as opened: bold headers, the level columns wide and wrapped at the top of the cell
    assert sheet["A1"].font.bold and wb["Summary"]["A1"].font.bold and not sheet["A2"].font.bold
    assert sheet["B2"].alignment.wrap_text and sheet["B2"].alignment.vertical == "top"
    assert sheet.column_dimensions["B"].width == 60 and sheet.column_dimensions["A"].width == 18


def test_html_is_self_contained_and_escaped(reviewed):
    ws, sha, tmp = reviewed
    export(ws, "html", tmp / "out.html")
    html = (tmp / "out.html").read_text(encoding="utf-8")
    assert REASON in html and "maximising" in html
    assert "Searched 4 of 6 passages" in html and "closest (not evidence)" in html and "[mention]" in html
    assert html.count("data:image/png;base64,") >= 4
    assert not re.search(r'(src|href)="(?!data:|#)', html)  # nothing to fetch: images inline, links in-page
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert XSS not in html


def test_html_export_without_the_pdf_still_works(reviewed):
    ws, sha, tmp = reviewed
    for pdf in tmp.glob("*.pdf"):
        pdf.rename(pdf.with_suffix(".gone"))
    export(ws, "html", tmp / "out.html")
    html = (tmp / "out.html").read_text(encoding="utf-8")
    assert "data:image/png" not in html and REASON in html


def test_cli_export_all_formats(reviewed):
    ws, sha, tmp = reviewed
    for fmt in ("json", "csv", "xlsx", "html"):
        out = tmp / f"cli.{fmt}"
        result = CliRunner().invoke(main, ["export", *workspace_args(ws), "--format", fmt, "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert result.output == f"Wrote 2 document(s) to {out}\n"
        assert out.stat().st_size > 0


def test_cli_export_errors_are_one_line(tmp_path, reviewed):
    ws, _, tmp = reviewed
    result = CliRunner().invoke(
        main,
        [
            "export",
            *workspace_args(ws),
            "--format",
            "json",
            "--out",
            str(tmp / "missing" / "out.json"),
        ],
    )
    assert result.exit_code == 1 and "does not exist" in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(
        main, ["export", "--workspace", str(tmp / "nope"), "--format", "json", "--out", str(tmp / "out.json")]
    )
    assert result.exit_code == 1 and "No workspace" in result.output
    with pytest.raises(EvaluatorError, match="Unknown export format"):
        export(ws, "pdf", tmp / "x.pdf")
