"""The project's own sample corpus (corpus/): manifest, sources, PDFs and intended levels agree."""

from __future__ import annotations

import csv
import importlib.util
import re
import sys
import tempfile
from pathlib import Path

import pytest
from support import SAMPLE_CORPUS as CORPUS

from evaluator.rubric import load_rubric
from evaluator.stages.judge import level_from_statuses
from evaluator.types import HALLMARK_IDS, LEVELS, RUBRIC_LEVELS, STATUSES

SOURCES = CORPUS / "sources"
HALLMARKS = list(HALLMARK_IDS)


def _read_tsv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def _load_make_corpus():
    name = "wellbeing_corpus_make_corpus"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, CORPUS / "make_corpus.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod  # dataclasses look their module up while the class is being built
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def manifest() -> list[dict[str, str]]:
    return _read_tsv(CORPUS / "MANIFEST.tsv")


@pytest.fixture(scope="module")
def make_corpus():
    return _load_make_corpus()


def _descriptor_ids() -> list[str]:
    ids = [d.id for d in load_rubric().descriptors]
    assert len(ids) == 57, len(ids)
    return ids


def test_manifest_lists_every_source_and_pdf(manifest):
    listed = [r["doc_id"] for r in manifest]
    assert len(listed) == len(set(listed)), "duplicate doc_id in MANIFEST.tsv"
    sources = {p.stem for p in SOURCES.glob("*.md")}
    pdfs = {p.stem for p in CORPUS.glob("*.pdf")}
    assert len(sources) >= 6
    assert set(listed) == sources, f"manifest vs sources: {set(listed) ^ sources}"
    assert set(listed) == pdfs, f"manifest vs PDFs: {set(listed) ^ pdfs}"
    for row in manifest:
        assert row["title"] and row["place"] and row["note"], row["doc_id"]


def test_intended_levels_valid_and_span(manifest):
    for row in manifest:
        for h in HALLMARKS:
            assert row[f"h{h}"] in LEVELS, (row["doc_id"], h, row[f"h{h}"])
    all_none = [r["doc_id"] for r in manifest if all(r[f"h{h}"] == "none" for h in HALLMARKS)]
    assert all_none, "no document intended to be 'none' on every hallmark"
    maxed = [r["doc_id"] for r in manifest if sum(r[f"h{h}"] == "maximising" for h in HALLMARKS) >= 3]
    assert maxed, "no document intended to reach 'maximising' on at least three hallmarks"
    # every level is used somewhere, and some document sits in between on most hallmarks
    used = {r[f"h{h}"] for r in manifest for h in HALLMARKS}
    assert used == set(LEVELS)


def test_manifest_levels_follow_the_level_rule(manifest):
    """MANIFEST levels are the DESIGN.md rule applied to the intended per-descriptor calls."""
    ids = _descriptor_ids()
    calls: dict[str, dict[str, str]] = {}
    for r in _read_tsv(CORPUS / "intended_descriptors.tsv"):
        assert r["intended"] in STATUSES, r
        assert r["descriptor_id"] in ids, r
        calls.setdefault(r["doc_id"], {})[r["descriptor_id"]] = r["intended"]
    assert set(calls) == {r["doc_id"] for r in manifest}
    rubric = load_rubric()
    for row in manifest:
        doc = calls[row["doc_id"]]
        assert set(doc) == set(ids), f"{row['doc_id']}: not every descriptor has an intended call"
        for h in HALLMARKS:
            statuses = {lv: [doc[d.id] for d in rubric.hallmark(h).at_level(lv)] for lv in RUBRIC_LEVELS}
            level = level_from_statuses(statuses)
            assert row[f"h{h}"] == level, (row["doc_id"], h, row[f"h{h}"], level)


def test_sources_are_latin1_structured_and_sized(make_corpus):
    for path in sorted(SOURCES.glob("*.md")):
        src = make_corpus.parse_source(path)  # also rejects non-Latin-1 text
        body = path.read_text(encoding="utf-8").split("---", 2)[2]
        words = len(re.findall(r"[A-Za-z\u00a30-9][A-Za-z0-9\u00a3'.,%/-]*", body))
        assert 1500 <= words <= 4000, (path.name, words)
        kinds = {b.kind for b in src.blocks}
        assert {"h1", "h2", "p", "ul"} <= kinds, (path.name, kinds)
    assert any(make_corpus.parse_source(p).meta["layout"] == "two-column" for p in SOURCES.glob("*.md"))
    assert (
        sum(any(b.kind == "table" for b in make_corpus.parse_source(p).blocks) for p in SOURCES.glob("*.md"))
        >= 3
    )


def _page_texts(pdf_path: Path) -> list[str]:
    import pdfplumber

    with pdfplumber.open(pdf_path) as pdf:
        return [page.extract_text() or "" for page in pdf.pages]


def test_pdfs_are_up_to_date(make_corpus):
    """Each committed PDF is what make_corpus renders from its source today.

    Byte-identical with the same reportlab (invariant mode); if bytes differ (e.g. another reportlab
    version writes a different producer string) the extracted text of every page must still match.
    """
    with tempfile.TemporaryDirectory() as tmp:
        for path in sorted(SOURCES.glob("*.md")):
            fresh = Path(tmp) / f"{path.stem}.pdf"
            make_corpus.render(path, fresh)
            committed = CORPUS / f"{path.stem}.pdf"
            if committed.read_bytes() == fresh.read_bytes():
                continue
            assert _page_texts(committed) == _page_texts(fresh), (
                f"{committed.name} is out of date: run .venv/bin/python corpus/make_corpus.py"
            )


def test_check_mode_reports_nothing_stale(make_corpus):
    assert make_corpus.main(["--check"]) == 0


def test_pdf_layout(manifest):
    import pypdf

    for row in manifest:
        path = CORPUS / f"{row['doc_id']}.pdf"
        assert path.stat().st_size < 200_000, path.name
        reader = pypdf.PdfReader(path)
        assert len(reader.pages) >= 4, path.name
        assert reader.metadata.title == row["title"]
        texts = [p.extract_text() for p in reader.pages]
        assert row["title"] in " ".join(texts[0].split()), "title page lacks the title"
        assert "Page 1" not in texts[0], "the title page has no running footer"
        for n, text in enumerate(texts[1:], start=2):
            assert row["title"] in text, f"{path.name} p{n}: running header missing"
            assert f"Page {n}" in text, f"{path.name} p{n}: page number missing"
