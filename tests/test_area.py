"""Area assessment: a board's documents assessed together (real PDFs, the real model).

What it promises a user: one assessment for the set, in which every citation names its document and
its real page; the need evidence of a strategy that leaves it to the JSNA is found in the JSNA; a
document that cannot be read is reported while the others are assessed; old assessments still load.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import SAMPLE_CORPUS, shared_file

from evaluator.area import AreaMember, assess_area, members_from_paths, parse_roles
from evaluator.assessment_report import assessment_markdown, contributions
from evaluator.cli import main
from evaluator.errors import InputError
from evaluator.rubric import load_rubric
from evaluator.stages.extract import extract
from evaluator.types import LEVELS, Assessment

pytestmark = pytest.mark.model

STRATEGY = SAMPLE_CORPUS / "fenwick-hws-2025.pdf"
JSNA = SAMPLE_CORPUS / "fenwick-jsna-2024.pdf"
AREA = "Fenwick HWB 2025"


def _squash(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def fenwick(real_pipeline):
    members = [
        AreaMember(STRATEGY, "fenwick-hws-2025", "strategy"),
        AreaMember(JSNA, "fenwick-jsna-2024", "jsna"),
    ]
    return assess_area(members, AREA, real_pipeline)


def test_the_area_lists_its_documents_and_reads_back_through_the_contract(fenwick) -> None:
    area = fenwick.assessment
    assert area.is_area and area.document.title == AREA
    assert [(d.id, d.role, d.pages, d.error) for d in area.documents] == [
        ("fenwick-hws-2025", "strategy", 6, ""),
        ("fenwick-jsna-2024", "jsna", 6, ""),
    ]
    assert all(len(d.sha256) == 64 for d in area.documents) and area.document.pages == 12
    assert Assessment.model_validate_json(area.model_dump_json()) == area


def test_every_citation_names_its_document_and_is_on_that_documents_page(fenwick) -> None:
    pages = {
        doc_id: {p.number: _squash(p.text) for p in extract(path).pages}
        for doc_id, path in (("fenwick-hws-2025", STRATEGY), ("fenwick-jsna-2024", JSNA))
    }
    cited = [e for h in fenwick.assessment.hallmarks for d in h.descriptors for e in d.evidence]
    assert {e.document for e in cited} == set(pages)
    for e in cited:
        assert e.passage_id.startswith(f"{e.document}/")
        assert _squash(e.text) in pages[e.document][e.page], (e.document, e.page, e.text)


def test_need_evidence_comes_from_the_jsna_and_lifts_the_area_above_the_strategy_alone(fenwick) -> None:
    area, alone = fenwick.assessment.hallmark("3a"), fenwick.documents["fenwick-hws-2025"].hallmark("3a")
    assert LEVELS.index(area.level) > LEVELS.index(alone.level)
    evidenced = [d for d in area.descriptors if d.status != "not_met"]
    assert evidenced and all(
        any(e.document == "fenwick-jsna-2024" for e in d.evidence) for d in evidenced[:3]
    )


def test_each_document_stays_available_on_its_own(fenwick, real_pipeline) -> None:
    assert set(fenwick.documents) == {"fenwick-hws-2025", "fenwick-jsna-2024"}
    alone = real_pipeline.assess(JSNA)
    single = fenwick.documents["fenwick-jsna-2024"]
    assert not single.is_area and single.document.sha256 == alone.document.sha256
    assert [h.level for h in single.hallmarks] == [h.level for h in alone.hallmarks]


def test_each_cited_passage_is_what_a_fresh_parse_of_its_own_document_says(fenwick, real_pipeline) -> None:
    """The kind shown beside an area's citation is read in its own document (its table header, its
    lead-in), whether it came from the cache or the parser."""
    from evaluator.stages.kinds import classify_passages

    passages = {
        doc_id: real_pipeline.analyse(path).passages
        for doc_id, path in (("fenwick-hws-2025", STRATEGY), ("fenwick-jsna-2024", JSNA))
    }
    cited = [e for h in fenwick.assessment.hallmarks for d in h.descriptors for e in d.evidence]
    assert cited
    for e in cited:
        own = passages[e.document]
        index = [p.id for p in own].index(e.passage_id.split("/", 1)[1])
        assert e.kind == classify_passages(own, [index])[index], (e.document, e.text)


def test_what_each_document_contributes(fenwick) -> None:
    rows = {c.id: c for c in contributions(fenwick.assessment)}
    assert "3a" in rows["fenwick-jsna-2024"].hallmarks and "1" in rows["fenwick-hws-2025"].hallmarks
    for row in rows.values():  # counted from the citations, not made up
        cited = {
            d.id
            for h in fenwick.assessment.hallmarks
            for d in h.descriptors
            if d.status != "not_met" and any(e.document == row.id for e in d.evidence)
        }
        assert set(row.descriptors) == cited and row.citations >= len(cited)
        assert set(row.best) <= cited
    best = [c for row in rows.values() for c in row.best]  # each evidenced descriptor has one best source
    evidenced = [d.id for h in fenwick.assessment.hallmarks for d in h.descriptors if d.status != "not_met"]
    assert sorted(best) == sorted(evidenced)
    text = assessment_markdown(fenwick.assessment, load_rubric())
    assert "## What each document contributes" in text and "fenwick-jsna-2024 p." in text


def test_an_unreadable_document_is_reported_and_the_others_assessed(tmp_path: Path) -> None:
    broken = tmp_path / "delivery-plan.pdf"
    broken.write_bytes(b"<html><body>Not found</body></html>")
    out = tmp_path / "area.json"
    per = tmp_path / "per"
    result = CliRunner().invoke(
        main,
        [
            "assess",
            str(STRATEGY),
            str(broken),
            str(JSNA),
            "--area",
            AREA,
            "--role",
            "fenwick-jsna-2024=jsna",
            "--json",
            str(out),
            "--per-document",
            str(per),
            "--format",
            "markdown",
        ],
    )
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"failed {broken}: " in result.stderr and "web page (HTML)" in result.stderr
    area = Assessment.model_validate_json(out.read_text())
    status = {d.id: (d.pages, bool(d.error)) for d in area.documents}
    assert status == {
        "fenwick-hws-2025": (6, False),
        "delivery-plan": (0, True),
        "fenwick-jsna-2024": (6, False),
    }
    assert [d.role for d in area.documents] == ["", "", "jsna"]
    assert any(w.startswith("delivery-plan was not assessed:") for w in area.warnings)
    assert not any(
        e.document == "delivery-plan" for h in area.hallmarks for d in h.descriptors for e in d.evidence
    )
    assert sorted(p.name for p in per.glob("*.json")) == ["fenwick-hws-2025.json", "fenwick-jsna-2024.json"]
    assert "not assessed" in result.stdout


def test_an_area_with_no_readable_document_is_a_one_line_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    result = CliRunner().invoke(main, ["assess", str(empty), str(tmp_path / "missing.pdf"), "--area", "X"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    line = result.output.strip()
    assert line.count("\n") == 0 and line.startswith("Error: None of the 2 documents of X could be read")


def test_several_files_need_an_area_name() -> None:
    result = CliRunner().invoke(main, ["assess", str(STRATEGY), str(JSNA)])
    assert result.exit_code == 2 and '--area "NAME"' in result.output


def test_roles_are_document_equals_role() -> None:
    assert parse_roles(["fenwick-jsna-2024=jsna"]) == {"fenwick-jsna-2024": "jsna"}
    with pytest.raises(InputError, match="is not DOCUMENT=ROLE"):
        parse_roles(["jsna"])
    ids = [m.id for m in members_from_paths([STRATEGY, Path("other") / STRATEGY.name, JSNA])]
    assert ids == ["fenwick-hws-2025", "fenwick-hws-2025-2", "fenwick-jsna-2024"]


def test_an_assessment_written_before_areas_still_loads(fenwick) -> None:
    """Schema 1.1 JSON had no documents and no evidence[].document: it loads as a single document."""
    old = json.loads(fenwick.documents["fenwick-hws-2025"].model_dump_json())
    old["schema_version"] = "1.1"
    old.pop("documents")
    for h in old["hallmarks"]:
        for d in h["descriptors"]:
            for e in d["evidence"]:
                e.pop("document")
    loaded = Assessment.model_validate(old)
    assert not loaded.is_area and loaded.documents == []
    assert all(e.document == "" for h in loaded.hallmarks for d in h.descriptors for e in d.evidence)


def test_west_sussex_need_evidence_is_found_in_the_jsna_summary(real_pipeline) -> None:
    """The West Sussex JHWS 2019 with its consultation, equality and JSNA summary reports as one area:
    its hallmark 3a evidence cites the JSNA summary."""
    names = ["ws-jhws-2019", "ws-jhws-consultation-2019", "ws-jhws-eir-2019", "ws-jsna-summary-2018"]
    members = [AreaMember(shared_file(f"{n}.pdf"), n) for n in names]
    area = assess_area(members, "West Sussex HWB 2019", real_pipeline).assessment
    need = area.hallmark("3a")
    cited = [e.document for d in need.descriptors if d.status != "not_met" for e in d.evidence]
    assert cited, "no 3a descriptor is met or partial"
    assert "ws-jsna-summary-2018" in cited
