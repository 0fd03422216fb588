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
from evaluator.stages.extract.pdf import read_pdf
from evaluator.stages.extract.text import clean_text
from evaluator.types import Document

__all__ = ["EXTRACTOR_VERSION", "MAX_TEXT_BYTES", "TEXT_SUFFIXES", "check_file", "clean_text", "extract"]

# Every module of this package is extraction code: a change to any of them is a new extractor version.
_SOURCES = sorted(str(p) for p in Path(__file__).parent.glob("*.py"))
EXTRACTOR_VERSION = f"pdfplumber-{pdfplumber.__version__}+extract-{source_digest(*_SOURCES)}"


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
    suffix = file.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        return read_text_file(file, shown, sha256)
    if b"%PDF-" not in data_head:
        if re.search(rb"<!doctype html|<html", data_head, re.I):
            raise InputError(
                f"{shown} is not a PDF but a web page (HTML) saved as .pdf; download the PDF itself."
            )
        raise InputError(f"{shown} is not a PDF (no %PDF- header); check that you have the right file.")
    return read_pdf(file, shown, sha256, max_pages)
