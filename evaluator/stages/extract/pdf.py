"""PDF reading with pdfplumber: pages -> words with font size and name -> ``PageData``; damaged and protected files."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pdfplumber
from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
from pdfplumber.utils.exceptions import PdfminerException

from evaluator.errors import InputError
from evaluator.stages.extract.blocks import to_page
from evaluator.stages.extract.furniture import drop_page_furniture
from evaluator.stages.extract.layout import PageData, Word, layout
from evaluator.stages.extract.tables import table_rows
from evaluator.stages.extract.text import clean_text, unreadable_ratio
from evaluator.types import Document

GARBLED_RATIO = 0.30  # share of unreadable characters that marks a page as garbled
_BOLD_FONT = re.compile(r"bold|black|heavy|semibold|demi", re.I)


@dataclass
class PageRange:
    """Pages ``first``..``last`` (1-based, inclusive) of a PDF as read, before the whole-document steps."""

    total: int  # pages in the file
    metadata_title: str
    pages: list[PageData] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # "page N could not be read (...)"


def read_pdf(file: Path, shown: str, sha256: str, max_pages: int | None) -> Document:
    """The whole PDF (or its first ``max_pages``) in this process."""
    part = read_page_range(file, shown, 1, max_pages)
    return finish_pdf(file, shown, sha256, [part], max_pages)


def read_page_range(file: Path, shown: str, first: int = 1, last: int | None = None) -> PageRange:
    """Read pages ``first``..``last`` (all from ``first`` when ``last`` is None). A damaged page becomes
    an empty page and a warning; a file that cannot be opened at all is an ``InputError``."""
    try:
        with pdfplumber.open(file) as pdf:
            part = PageRange(len(pdf.pages), _metadata_title(pdf.metadata))
            if part.total == 0:
                raise InputError(f"{shown} has no pages; re-download or re-export it.")
            for number in range(first, min(last or part.total, part.total) + 1):
                page = pdf.pages[number - 1]
                try:
                    part.pages.append(read_page(page, number))
                except Exception as e:  # pdfminer raises many types on a damaged page
                    if _out_of_memory(e):  # over the memory cap (evaluator.limits): the document fails
                        raise MemoryError from None
                    part.warnings.append(
                        f"page {number} could not be read ({_reason(e)}); it was not assessed"
                    )
                    part.pages.append(PageData(number, float(page.width), float(page.height), []))
                finally:
                    page.close()
            return part
    except (InputError, MemoryError):
        raise
    except PdfminerException as e:
        cause = e.args[0] if e.args else e
        if _out_of_memory(e):
            raise MemoryError from None
        if isinstance(cause, PDFPasswordIncorrect | PDFEncryptionError):
            raise InputError(
                f"{shown} is password-protected; save an unprotected copy and try again."
            ) from None
        raise _corrupt(shown, cause) from None
    except Exception as e:  # any parse failure while opening the file
        raise _corrupt(shown, e) from None


def finish_pdf(
    file: Path, shown: str, sha256: str, parts: list[PageRange], max_pages: int | None
) -> Document:
    """The whole-document steps over the page ranges read (in page order): running headers and footers,
    warnings, title. Reading a file whole or in ranges gives the same ``Document``."""
    pages = [p for part in parts for p in part.pages]
    warnings = [w for part in parts for w in part.warnings]
    total = parts[0].total
    if max_pages is not None and total > max_pages:
        warnings.insert(0, f"only the first {max_pages} of {total} pages were read (max_pages={max_pages})")
    if all(not p.lines and not p.image_only for p in pages) and any(
        "could not be read" in w for w in warnings
    ):
        raise _corrupt(shown, ValueError("no page could be read"))
    drop_page_furniture(pages)
    if not _has_eof_marker(file):
        warnings.append(f"{shown} may be truncated (no %%EOF marker at the end); some pages may be missing")
    _flag_warning(warnings, [p.number for p in pages if p.image_only], "no text layer (scanned image?)")
    _flag_warning(
        warnings, [p.number for p in pages if p.garbled], "a garbled text layer (font without a Unicode map?)"
    )
    out = [to_page(p) for p in pages]
    title = parts[0].metadata_title or _largest_line(pages[:1]) or file.stem
    return Document(path=shown, sha256=sha256, kind="pdf", pages=out, warnings=warnings, title=title)


def _metadata_title(metadata: dict) -> str:
    """The PDF's Title, unless it is an authoring tool's placeholder ("Microsoft Word - x.docx")."""
    title = metadata.get("Title")
    if isinstance(title, bytes):
        title = title.decode("utf-8", errors="ignore")
    title = clean_text(str(title or ""))
    if len(title) < 6 or re.search(r"\.(docx?|pdf|pptx?|indd)$|^microsoft|^untitled", title, re.IGNORECASE):
        return ""
    return title[:200]


def _largest_line(pages: list[PageData]) -> str:
    lines = [ln for p in pages for ln in p.lines if len(ln.text) >= 6 and ln.kind != "table_row"]
    if not lines:
        return ""
    size = max(ln.size for ln in lines)
    return " ".join(ln.text for ln in lines if ln.size >= size - 0.5)[:200]


def _out_of_memory(e: BaseException) -> bool:
    """A MemoryError, or pdfplumber's wrapper around one."""
    return isinstance(e, MemoryError) or (
        isinstance(e, PdfminerException) and bool(e.args) and isinstance(e.args[0], MemoryError)
    )


def _reason(e: BaseException) -> str:
    if isinstance(e, PdfminerException) and e.args and isinstance(e.args[0], BaseException):
        e = e.args[0]
    message = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return f"{type(e).__name__}: {message[:100]}" if message else type(e).__name__


def _corrupt(shown: str, e: BaseException) -> InputError:
    return InputError(
        f"{shown} could not be parsed as a PDF (corrupt or truncated): {_reason(e)}. Re-download or re-export it."
    )


def _has_eof_marker(file: Path) -> bool:
    with file.open("rb") as fh:
        fh.seek(max(0, file.stat().st_size - 2048))
        return b"%%EOF" in fh.read()


def _flag_warning(warnings: list[str], numbers: list[int], what: str) -> None:
    if numbers:
        which = f"page {numbers[0]} has" if len(numbers) == 1 else f"pages {_ranges(numbers)} have"
        warnings.append(f"{which} {what}; {'it was' if len(numbers) == 1 else 'they were'} not assessed")


def _ranges(numbers: list[int]) -> str:
    spans: list[list[int]] = []
    for n in numbers:
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


def read_page(page: Any, number: int) -> PageData:
    """One pdfplumber page -> lines in reading order (headers/footers are dropped later)."""
    x_min, y_min, x_max, y_max = page.bbox
    width, height = x_max - x_min, y_max - y_min
    raw_words = page.extract_words(extra_attrs=["size", "fontname"])
    data = PageData(number, float(width), float(height), [])
    if not raw_words:
        data.image_only = True
        return data
    if unreadable_ratio("".join(w["text"] for w in raw_words)) >= GARBLED_RATIO:
        data.garbled = True
        return data
    tables = table_rows(page, x_min, y_min) if (page.rects or page.lines) else []
    words = [Word("", r.x0, r.top, r.x1, r.bottom, 0.0, False, r) for _, rows in tables for r in rows]
    for w in raw_words:
        x0, top, x1, bottom = w["x0"] - x_min, w["top"] - y_min, w["x1"] - x_min, w["bottom"] - y_min
        cx, cy = (x0 + x1) / 2, (top + bottom) / 2
        if not w["upright"] or not (0 <= cx <= width and 0 <= cy <= height):
            continue
        if any(b[0] <= cx <= b[2] and b[1] <= cy <= b[3] for b, _ in tables):
            continue  # table text is emitted once, as table rows
        if text := clean_text(w["text"]):
            bold = bool(_BOLD_FONT.search(w.get("fontname") or ""))
            words.append(Word(text, x0, top, x1, bottom, round(float(w["size"]), 1), bold))
    sizes: Counter[float] = Counter()
    bold_chars = 0
    for w in words:
        sizes[w.size] += len(w.text)
        bold_chars += len(w.text) if w.bold else 0
    data.body_size = max(sizes, key=sizes.__getitem__) if sizes else 0.0
    data.body_bold = bold_chars > 0.5 * sum(sizes.values())
    data.lines = layout(words, width, height, data.body_size)
    return data
