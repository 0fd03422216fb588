"""`evaluator assess`: one strategy in, a level per hallmark with cited evidence out (real model, real PDFs)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner
from support import FIXTURE_PDFS, shared_file

from evaluator.cli import main
from evaluator.rubric import load_rubric
from evaluator.stages.extract import extract
from evaluator.types import HALLMARK_IDS, Assessment

pytestmark = pytest.mark.model


def _squash(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def jhws(real_pipeline):
    return real_pipeline.assess(shared_file("ws-jhws-2019.pdf"))


def test_assessment_has_every_hallmark_and_descriptor_in_contract_shape(jhws):
    assert [h.id for h in jhws.hallmarks] == list(HALLMARK_IDS)
    ids = [d.id for h in jhws.hallmarks for d in h.descriptors]
    assert ids == [d.id for d in load_rubric().descriptors] and len(ids) == 57
    again = Assessment.model_validate_json(jhws.model_dump_json())  # round trip through the JSON contract
    assert again == jhws
    assert jhws.document.pages == 34 and len(jhws.document.sha256) == 64
    assert jhws.provenance.model_hash and jhws.provenance.rubric_version and jhws.provenance.judge


def test_every_cited_quote_is_on_its_cited_page(jhws):
    pages = {p.number: _squash(p.text) for p in extract(jhws.document.path).pages}
    cited = [(e.page, e.text) for h in jhws.hallmarks for d in h.descriptors for e in d.evidence]
    assert len(cited) > 50
    for page, text in cited:
        assert _squash(text) in pages[page], f"quote not on page {page}: {text!r}"


def test_evidence_carries_a_position_on_the_page(jhws):
    for h in jhws.hallmarks:
        for d in h.descriptors:
            for e in d.evidence:
                x0, top, x1, bottom = e.bbox
                assert 0 <= x0 < x1 and 0 <= top < bottom


def test_finance_strategy_is_none_on_every_hallmark(real_pipeline):
    assessment = real_pipeline.assess(shared_file("kent-capital-strategy-2025.pdf"))
    assert {h.id: h.level for h in assessment.hallmarks} == {h: "none" for h in HALLMARK_IDS}


def test_cli_writes_the_json_contract(tmp_path):
    out = tmp_path / "out.json"
    result = CliRunner().invoke(
        main, ["assess", str(shared_file("kent-devolution-2024.pdf")), "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["schema_version"] and len(data["hallmarks"]) == 7
    assert sum(len(h["descriptors"]) for h in data["hallmarks"]) == 57
    assert "Hallmark" in result.output  # the readable table


def test_a_capped_reading_is_never_served_for_a_full_assessment(tmp_path, monkeypatch):
    """`--max-pages 2` reads two pages and says so; assessing the same file afterwards without the cap
    reads all of it, not the two pages the cache kept (both runs share one cache)."""
    from support import SAMPLE_CORPUS

    monkeypatch.setenv("EVALUATOR_CACHE", str(tmp_path / "cache"))
    pdf, runner = SAMPLE_CORPUS / "fenwick-hws-2025.pdf", CliRunner()

    def assess(*options: str) -> dict:
        out = tmp_path / "out.json"
        result = runner.invoke(main, ["assess", str(pdf), "--json", str(out), *options])
        assert result.exit_code == 0, result.output
        return json.loads(out.read_text())

    capped = assess("--max-pages", "2")
    assert capped["document"]["pages"] == 2 and "only the first 2 of 6 pages" in capped["warnings"][0]
    whole = assess()
    assert whole["document"]["pages"] == 6 and whole["warnings"] == []
    assert assess("--max-pages", "2")["document"]["pages"] == 2  # and the other way round


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare to cut the network")
def test_assess_works_with_networking_disabled(tmp_path):
    out = tmp_path / "out.json"
    cmd = [
        "unshare",
        "-rn",
        sys.executable,
        "-m",
        "evaluator.cli",
        "assess",
        str(FIXTURE_PDFS / "two-columns.pdf"),
        "--json",
        str(out),
        "--no-cache",
    ]
    probe = subprocess.run(["unshare", "-rn", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("this kernel does not allow network namespaces")
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(json.loads(out.read_text())["hallmarks"]) == 7


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("does-not-exist.pdf", "No such file"),
        ("random-bytes.pdf", "not a PDF"),
        ("html-saved-as.pdf", "not a PDF"),
        ("password.pdf", "password-protected"),
        ("truncated.pdf", "could not be parsed"),
        ("empty.pdf", "is empty (0 bytes)"),
    ],
)
def test_bad_input_gets_one_line_error_and_nonzero_exit(name, message):
    result = CliRunner().invoke(main, ["assess", str(FIXTURE_PDFS / name), "--no-cache"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: ")
    assert message in lines[0]
