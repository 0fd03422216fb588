"""Extraction: a PDF, text or Markdown file -> ``Document`` (pages -> blocks -> lines, with boxes).

PDFs are read with pdfplumber. Per page: words (with font size and name) become lines, lines are put
in reading order (a column gutter is detected and the left column is read before the right one;
full-width lines such as titles separate the column bands), lines become paragraph blocks, headings
are marked, ruled tables become one ``table_row`` block per row. Over the whole document, running
headers/footers and page numbers are dropped. The page text produced here (``Page.text``) is the
reference text: evidence quotes are cut from it, so every later stage must find them in it verbatim.

Modules: ``files`` (checking, hashing, text and Markdown files), ``pdf`` (reading a PDF page by page),
``layout`` (words -> lines in reading order, columns), ``tables``, ``blocks`` (lines -> paragraphs
and headings), ``furniture`` (running headers, footers, page numbers), ``text`` (clean-up).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pdfplumber

from evaluator.errors import InputError
from evaluator.stages.cache import source_digest
from evaluator.stages.extract.files import MAX_TEXT_BYTES, TEXT_SUFFIXES, check_file, read_text_file
from evaluator.stages.extract.pdf import PageRange, finish_pdf, read_page_range, read_pdf
from evaluator.stages.extract.text import clean_text
from evaluator.types import Document

__all__ = [
    "EXTRACTOR_VERSION",
    "MAX_TEXT_BYTES",
    "MIN_SPLIT_PAGES",
    "TEXT_SUFFIXES",
    "check_file",
    "clean_text",
    "extract",
    "finish_ranges",
    "page_ranges",
    "read_range",
]

MIN_SPLIT_PAGES = 8  # shorter PDFs are read in one piece: a second reader costs more than it saves

# Every module of this package is extraction code: a change to any of them is a new extractor version.
_SOURCES = sorted(str(p) for p in Path(__file__).parent.glob("*.py"))
EXTRACTOR_VERSION = f"pdfplumber-{pdfplumber.__version__}+extract-{source_digest(*_SOURCES)}"


def document_version(max_pages: int | None = None) -> str:
    """What a cached extraction is keyed by: the extractor's version and, when the reading stopped early,
    where (a screen with ``--max-pages 2`` must not leave a 2-page document for a later full assessment)."""
    return EXTRACTOR_VERSION if max_pages is None else f"{EXTRACTOR_VERSION}|first-{max_pages}-pages"


def extract(
    path: str | os.PathLike[str], *, max_pages: int | None = None, sha256: str | None = None
) -> Document:
    """Read a ``.pdf``, ``.txt``, ``.md`` or ``.markdown`` file into a ``Document``.

    ``max_pages`` stops a PDF after that many pages (a warning says so); ``sha256``, when the caller has
    hashed the file already, is not computed again. Raises ``InputError``
    with a one-line message for anything that cannot be read as a document.
    """
    if max_pages is not None and max_pages < 1:
        raise ValueError("max_pages must be at least 1")
    shown = os.fspath(path)
    file, data_head, sha256 = check_file(path, sha256)
    if file.suffix.lower() in TEXT_SUFFIXES:
        return read_text_file(file, shown, sha256)
    _check_pdf_header(shown, data_head)
    return read_pdf(file, shown, sha256, max_pages)


def _check_pdf_header(shown: str, data_head: bytes) -> None:
    if b"%PDF-" not in data_head:
        if re.search(rb"<!doctype html|<html", data_head, re.I):
            raise InputError(
                f"{shown} is not a PDF but a web page (HTML) saved as .pdf; download the PDF itself."
            )
        raise InputError(f"{shown} is not a PDF (no %PDF- header); check that you have the right file.")


# Reading one PDF in page ranges (several processes at once, see evaluator.limits.extract_isolated):
# ``page_ranges`` plans, ``read_range`` reads one range, ``finish_ranges`` runs the whole-document steps.
# The result is the same Document as ``extract`` gives (tests/test_extract.py).


def page_ranges(
    path: str | os.PathLike[str], parts: int, max_pages: int | None = None
) -> list[tuple[int, int]]:
    """Up to ``parts`` contiguous (first, last) page ranges of about equal length covering the PDF (or
    its first ``max_pages``); empty when it should be read in one piece: not a PDF, shorter than
    MIN_SPLIT_PAGES, or a page count that cannot be read cheaply (``extract`` then says what is wrong)."""
    file = Path(path)
    if parts < 2 or file.suffix.lower() in TEXT_SUFFIXES:
        return []
    try:
        import pypdfium2  # pdfplumber's own dependency; reads the page count in a millisecond

        with pypdfium2.PdfDocument(str(file)) as pdf:
            total = len(pdf)
    except Exception:  # noqa: BLE001  (a damaged or protected file is read, and reported, whole)
        return []
    total = min(total, max_pages) if max_pages else total
    parts = min(parts, total // MIN_SPLIT_PAGES)
    if parts < 2:
        return []
    bounds = [round(i * total / parts) for i in range(parts + 1)]
    return [(bounds[i] + 1, bounds[i + 1]) for i in range(parts)]


def read_range(path: str | os.PathLike[str], first: int, last: int) -> PageRange:
    """Pages ``first``..``last`` of a PDF, before the whole-document steps."""
    shown = os.fspath(path)
    file, data_head, _ = check_file(path, sha256="-")  # the hash is the finishing step's business
    _check_pdf_header(shown, data_head)
    return read_page_range(file, shown, first, last)


def finish_ranges(
    path: str | os.PathLike[str],
    parts: list[PageRange],
    *,
    max_pages: int | None = None,
    sha256: str | None = None,
) -> Document:
    """The Document from its page ranges (in page order), as ``extract`` would have read it whole."""
    file, _, sha256 = check_file(path, sha256)
    return finish_pdf(file, os.fspath(path), sha256, parts, max_pages)
