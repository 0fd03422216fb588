"""Promises of the extraction stage (evaluator.stages.extract), one per test.

Fixture PDFs come from tests/fixtures/make_pdfs.py; expected page texts live in
tests/fixtures/golden/<name>.txt (regenerate with ``UPDATE_GOLDEN=1 pytest tests/test_extract.py``
and review the diff before committing).
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import sys
import time
from pathlib import Path

import pytest
from support import FIXTURES, SHARED

from evaluator.errors import InputError
from evaluator.limits import ReadAhead, extract_isolated
from evaluator.stages.extract import EXTRACTOR_VERSION, MIN_SPLIT_PAGES, extract, page_ranges
from evaluator.stages.extract.blocks import to_page
from evaluator.stages.extract.layout import PageData, RawLine
from evaluator.types import Document

PDFS = FIXTURES / "pdfs"
GOLDEN = FIXTURES / "golden"
JSNA = SHARED / "corpus" / "ws-jsna-summary-2018.pdf"

sys.path.insert(0, str(FIXTURES))
from make_pdfs import HEADER_TEXT, make_many_pages  # noqa: E402


def render(doc: Document) -> str:
    """The page texts, one block per line prefixed with its kind, as stored in the golden files."""
    out = []
    for page in doc.pages:
        flags = "".join(f" {name}" for name in ("image_only", "garbled") if getattr(page, name))
        out.append(f"=== page {page.number}{flags}")
        out += [f"[{block.kind}] {block.text}" for block in page.blocks]
    return "\n".join(out) + "\n"


def page_text(doc: Document) -> str:
    return "\n".join(page.text for page in doc.pages)


GOLDEN_CASES = [
    "two-columns",
    "header-footer",
    "hyphenation",
    "table",
    "image-only",
    "heading",
    "markup-and-control",
    "garbled-font",
    "file with spaces é",
]


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_extracted_text_matches_the_golden_file(name: str) -> None:
    """Each fixture PDF extracts to exactly the reviewed text in tests/fixtures/golden/."""
    actual = render(extract(PDFS / f"{name}.pdf"))
    golden = GOLDEN / f"{name}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(actual, encoding="utf-8")
    expected = golden.read_text(encoding="utf-8")
    if actual != expected:
        diff = "\n".join(
            difflib.unified_diff(expected.splitlines(), actual.splitlines(), "golden", "actual", lineterm="")
        )
        pytest.fail(f"extracted text of {name}.pdf differs from {golden.name}:\n{diff}")


def test_page_text_is_the_join_of_block_texts_so_quotes_are_findable() -> None:
    """Page.text is built from the blocks (the reference text for quotes); lines carry real boxes."""
    doc = extract(PDFS / "two-columns.pdf")
    page = doc.pages[0]
    assert page.text == "\n".join(block.text for block in page.blocks)
    for block in page.blocks:
        for line in block.lines:
            x0, top, x1, bottom = line.bbox
            assert 0 <= x0 < x1 <= page.width and 0 <= top < bottom <= page.height


def test_two_column_page_reads_left_column_before_right_column() -> None:
    """On a two-column page, the whole left column comes before the right column, title first."""
    text = extract(PDFS / "two-columns.pdf").pages[0].text
    order = [
        "Two Column Layout Test",
        "Left column first paragraph.",
        "loneliness is felt in every ward.",
        "Left column second paragraph.",
        "Right column first paragraph.",
        "Right column second paragraph.",
    ]
    positions = [text.index(part) for part in order]
    assert positions == sorted(positions)
    assert "Northmoor residents told us that feeling connected to their neighbours matters" in text


def test_running_headers_footers_and_page_numbers_are_dropped() -> None:
    """The repeated header and the page-number footers ('3', 'Page 2 of 4') do not reach the text."""
    doc = extract(PDFS / "header-footer.pdf")
    assert doc.page_count == 4
    for page in doc.pages:
        assert HEADER_TEXT not in page.text
        assert page.text == (
            f"Body text of page {page.number} talks about wellbeing priority {page.number}. "
            "It continues on a second line of the same paragraph."
        )


def test_hyphenated_line_breaks_are_joined_only_before_lowercase() -> None:
    """'communi-' + 'ty' becomes 'community'; 'South-' + 'East' and '16-' + '24' stay as printed."""
    doc = extract(PDFS / "hyphenation.pdf")
    text = doc.pages[0].text
    assert "with the whole community to improve the wellbeing of everyone who lives" in text
    assert "communi-" not in text
    assert "South- East wards" in text and "aged 16- 24 who" in text
    first_line = doc.pages[0].blocks[0].lines[0]
    assert first_line.text == "We will work with the whole community"  # the fragment moved up a line


def test_table_rows_become_table_row_blocks_with_pipe_separated_cells() -> None:
    """A ruled table becomes one table_row block per row, cells joined by ' | ', in reading order."""
    page = extract(PDFS / "table.pdf").pages[0]
    rows = [b.text for b in page.blocks if b.kind == "table_row"]
    assert rows == [
        "Priority | Measure | Target",
        "Start well | Children ready for school | 75%",
        "Live well | Adults physically active | 68%",
        "Age well | Older people feeling lonely | below 5%",
    ]
    kinds = [b.kind for b in page.blocks]
    assert kinds == ["heading", "text", *["table_row"] * 4, "text"]
    prose = " ".join(b.text for b in page.blocks if b.kind != "table_row")
    assert "Children ready for school" not in prose  # table words are not emitted twice
    for block in page.blocks:
        if block.kind == "table_row":
            assert len(block.lines) == 1 and block.bbox[2] - block.bbox[0] > 300


def test_image_only_page_is_flagged_and_warned_about() -> None:
    """A page with no text layer is marked image_only, has no blocks, and the document says so."""
    doc = extract(PDFS / "image-only.pdf")
    assert [p.image_only for p in doc.pages] == [False, True]
    assert doc.pages[1].blocks == []
    assert doc.warnings == ["page 2 has no text layer (scanned image?); it was not assessed"]


def test_headings_are_detected_by_size_or_bold() -> None:
    """A large title and a short bold line are headings; body paragraphs are text."""
    blocks = extract(PDFS / "heading.pdf").pages[0].blocks
    assert [(b.kind, b.text[:20]) for b in blocks] == [
        ("heading", "Starting Well in Nor"),
        ("text", "Every child should h"),
        ("heading", "Our priorities"),
        ("text", "We will expand famil"),
    ]


def test_garbled_page_is_flagged_and_not_passed_on() -> None:
    """A page whose text is mostly (cid:N) junk is flagged garbled, warned about and left empty."""
    doc = extract(PDFS / "garbled-font.pdf")
    assert [p.garbled for p in doc.pages] == [True, False]
    assert doc.pages[0].blocks == []
    assert doc.pages[1].text == "This second page has a readable text layer."
    assert doc.warnings == [
        "page 1 has a garbled text layer (font without a Unicode map?); it was not assessed"
    ]


def test_markup_is_kept_as_text_and_control_characters_are_removed() -> None:
    """HTML in a PDF is plain text (escaping is the renderer's job); control characters are gone."""
    text = extract(PDFS / "markup-and-control.pdf").pages[0].text
    assert "<script>alert(1)</script> & <b>bold</b>." in text
    assert "Controlchars are removed." in text
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", text)


def test_document_records_path_as_given_sha256_and_kind() -> None:
    """Document.path is the path string as given and sha256 is the file's hash."""
    path = PDFS / "file with spaces é.pdf"
    doc = extract(path)
    assert doc.path == str(path) and doc.kind == "pdf"
    assert doc.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert doc.pages[0].number == 1 and doc.pages[0].width > 0


def test_extractor_version_names_pdfplumber_and_extract_revision() -> None:
    """EXTRACTOR_VERSION is recorded in provenance: pdfplumber version plus a digest of our code."""
    assert re.fullmatch(r"pdfplumber-[\w.]+\+extract-[0-9a-f]{10}", EXTRACTOR_VERSION)


def test_text_file_is_one_unnumbered_page_of_paragraphs(tmp_path: Path) -> None:
    """A .txt file gives one page with number None; blank lines split blocks; text is normalised."""
    path = tmp_path / "notes.txt"
    path.write_text(
        "First para\x07graph,\nsecond line with a \ufb01ne ligature.\n\n\nSecond   paragraph.\n",
        encoding="utf-8",
    )
    doc = extract(path)
    assert doc.kind == "text" and doc.page_count == 1 and doc.pages[0].number is None
    assert [b.text for b in doc.pages[0].blocks] == [
        "First paragraph, second line with a fine ligature.",
        "Second paragraph.",
    ]
    assert doc.pages[0].blocks[0].lines[0].bbox == (0.0, 0.0, 0.0, 0.0)


@pytest.mark.parametrize("suffix", [".md", ".markdown"])
def test_markdown_hash_lines_become_headings(tmp_path: Path, suffix: str) -> None:
    """Markdown '#' lines are heading blocks with the #'s stripped; page number is None."""
    path = tmp_path / f"strategy{suffix}"
    path.write_text(
        "# Northmoor Strategy\nIntro text.\n\n## Starting well ##\nBody one.\nBody two.\n", encoding="utf-8"
    )
    page = extract(path).pages[0]
    assert page.number is None
    assert [(b.kind, b.text) for b in page.blocks] == [
        ("heading", "Northmoor Strategy"),
        ("text", "Intro text."),
        ("heading", "Starting well"),
        ("text", "Body one. Body two."),
    ]


def test_thousand_page_pdf_is_bounded_by_max_pages(tmp_path: Path) -> None:
    """A 1,000-page PDF read with max_pages=100 stops early, quickly, and says so."""
    path = make_many_pages(tmp_path / "many.pdf", n=1000)
    start = time.perf_counter()
    doc = extract(path, max_pages=100)
    elapsed = time.perf_counter() - start
    assert doc.page_count == 100
    assert doc.warnings == ["only the first 100 of 1000 pages were read (max_pages=100)"]
    assert doc.pages[99].text == (
        "Section 100 describes one action for wellbeing in Northmoor. Each action has an owner, a measure and a review date."
    )
    assert elapsed < 20, f"100 pages took {elapsed:.1f}s"


# ------------------------------------------------------------------------- real corpus


@pytest.fixture(scope="module")
def jsna() -> Document:
    if not JSNA.exists():
        pytest.skip(f"shared corpus not available at {JSNA}")
    return extract(JSNA)


def test_real_two_column_report_extracts_every_page(jsna: Document) -> None:
    """The 32-page JSNA summary extracts; its two blank/graphic pages are flagged, not dropped."""
    assert jsna.page_count == 32
    assert [p.number for p in jsna.pages if p.image_only] == [2, 32]
    assert sum(len(p.blocks) for p in jsna.pages) > 300


def test_real_two_column_page_reads_sentences_in_order(jsna: Document) -> None:
    """Page 3 has two columns: a left-column sentence reads whole, and precedes the right column."""
    text = jsna.pages[2].text
    sentence = (
        "The West Sussex JSNA is not a single document or piece of analysis but encompasses a huge range "
        "of work, including detailed needs assessments relating to specific subjects or communities"
    )
    assert sentence in text
    assert text.index("a considerable challenge") < text.index("This summary is a brief run through")
    page6 = jsna.pages[5].text
    assert (
        "only 20% of West Sussex residents said that, in the previous week, they had utilised the outdoors "
        "for health reasons [1]" in page6
    )


# ------------------------------------------------------------------------- one PDF, several readers


def test_page_ranges_cover_a_long_pdf_contiguously_and_leave_short_files_whole(tmp_path: Path) -> None:
    """A long PDF is planned as contiguous ranges of about equal length over every page (or the first
    max_pages); a short PDF, a text file or an unreadable file is read in one piece."""
    long_pdf = make_many_pages(tmp_path / "long.pdf", n=41)
    assert page_ranges(long_pdf, 2) == [(1, 20), (21, 41)]
    assert page_ranges(long_pdf, 3, max_pages=30) == [(1, 10), (11, 20), (21, 30)]
    assert page_ranges(long_pdf, 1) == []
    short = make_many_pages(tmp_path / "short.pdf", n=2 * MIN_SPLIT_PAGES - 1)
    assert page_ranges(short, 2) == []
    text = tmp_path / "strategy.txt"
    text.write_text("Wellbeing.\n", encoding="utf-8")
    assert page_ranges(text, 2) == []
    assert page_ranges(PDFS / "random-bytes.pdf", 2) == []


def test_a_pdf_read_in_page_ranges_is_the_document_read_whole(tmp_path: Path) -> None:
    """Several readers give exactly the Document one reader gives: page texts, boxes, running headers
    and page numbers dropped over the whole document, the max_pages warning, the title."""
    path = make_many_pages(tmp_path / "many.pdf", n=40)
    whole = extract(path, max_pages=33)
    split = extract_isolated(path, max_pages=33, readers=3)
    assert split == whole
    assert all(HEADER_TEXT not in page.text for page in split.pages)
    assert split.warnings == ["only the first 33 of 40 pages were read (max_pages=33)"]


def test_a_real_report_read_in_page_ranges_is_the_document_read_whole(jsna: Document) -> None:
    """The 32-page two-column JSNA summary, read by two processes at once, equals the one read whole,
    including its flagged image-only pages and their warning."""
    assert extract_isolated(JSNA, readers=2) == jsna


def test_an_unreadable_pdf_fails_with_the_same_message_whatever_the_readers() -> None:
    """Reading in ranges never turns a one-line reason into something else."""
    for name in ("random-bytes.pdf", "password.pdf", "html-saved-as.pdf"):
        with pytest.raises(InputError) as whole:
            extract(PDFS / name)
        with pytest.raises(InputError) as split:
            extract_isolated(PDFS / name, readers=2)
        assert str(split.value) == str(whole.value)


def test_a_file_read_ahead_is_the_document_read_when_asked(tmp_path: Path) -> None:
    """`assess` starts reading before it loads the models (``ReadAhead``): asked for that file, it gives
    exactly the Document reading then gives, or the same one-line error; asked for another file or
    another page limit, it reads that one."""
    path = make_many_pages(tmp_path / "many.pdf", n=40)
    ahead = ReadAhead(path, max_pages=33, readers=2)
    assert ahead(path, max_pages=33) == extract(path, max_pages=33)
    assert ahead(path, max_pages=10) == extract(path, max_pages=10)  # not the read-ahead one
    other = PDFS / "random-bytes.pdf"
    with pytest.raises(InputError) as expected:
        extract(other)
    with pytest.raises(InputError) as raised:
        ReadAhead(other, readers=2)(other)
    assert str(raised.value) == str(expected.value)


def _line(text: str, top: float, size: float) -> RawLine:
    return RawLine(text=text, x0=72, top=top, x1=72 + 5 * len(text), bottom=top + size, size=size)


def test_a_statement_set_large_is_text_a_title_or_question_stays_a_heading() -> None:
    """Designed strategies set their vision, outcomes and residents' quotes in large type; a reviewer
    cites them, so a statement of six words or more is text however large. A short title, or a section
    heading asked as a question, is still a heading (the heading path of what follows)."""
    lines = [
        _line("Transport", 40, 28),
        _line("Members are better able to get out and engage in their communities.", 90, 20),
        _line("3.3 How good is the evidence for what we do?", 140, 20),
        _line("Our vision", 190, 20),
        _line("Transport is one of the biggest barriers for members, who told us so in the survey.", 240, 11),
    ]
    page = to_page(PageData(number=1, width=600, height=800, lines=lines, body_size=11))
    assert [(b.kind, b.text[:22]) for b in page.blocks] == [
        ("heading", "Transport"),
        ("text", "Members are better abl"),
        ("heading", "3.3 How good is the ev"),
        ("heading", "Our vision"),
        ("text", "Transport is one of th"),
    ]


def test_real_slide_deck_outcome_statements_are_citable_passages() -> None:
    """The charity strategy's slides set each theme's intended outcome large; reviewers quoted them
    (gold 2.O.2, 5.A.2, 6.M.3), so each is a passage on its own slide, not a heading."""
    path = SHARED / "corpus" / "llbs-living-well-together-2025.pdf"
    if not path.exists():
        pytest.skip(f"shared corpus not available at {path}")
    pages = extract(path).pages
    kinds = {b.text: b.kind for b in pages[8].blocks}  # p.9, Transport
    assert (
        kinds["Members are better able to get out, access services, and engage in their communities."]
        == "text"
    )
    assert kinds["Transport"] == "heading"
