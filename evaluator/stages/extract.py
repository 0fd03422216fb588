"""Extraction: a PDF, text or Markdown file -> ``Document`` (pages -> blocks -> lines, with boxes).

PDFs are read with pdfplumber. Per page: words (with font size and name) become lines, lines are put
in reading order (a column gutter is detected and the left column is read before the right one;
full-width lines such as titles separate the column bands), lines become paragraph blocks, headings
are marked, ruled tables become one ``table_row`` block per row. Over the whole document, running
headers/footers and page numbers are dropped. The page text produced here (``Page.text``) is the
reference text: evidence quotes are cut from it, so every later stage must find them in it verbatim.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pdfplumber
from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
from pdfplumber.utils.exceptions import PdfminerException

from evaluator.errors import InputError
from evaluator.stages.cache import source_digest
from evaluator.types import Block, Document, Line, Page

EXTRACTOR_VERSION = f"pdfplumber-{pdfplumber.__version__}+extract-{source_digest(__file__)}"

TEXT_SUFFIXES = (".txt", ".md", ".markdown")
MARGIN = 0.08  # top/bottom fraction of a page where running headers, footers and page numbers live
MAX_TEXT_BYTES = 20 << 20  # a .txt/.md strategy is far smaller; a bigger one is refused, not read into memory
GARBLED_RATIO = 0.30  # share of unreadable characters that marks a page as garbled
_ZERO_BOX = (0.0, 0.0, 0.0, 0.0)

_CID = re.compile(r"\(cid:\d+\)")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200d\u2060\ufeff\ufffd]")
_SPACES = re.compile(r"\s+")
_PAGE_NUMBER = re.compile(
    r"(page\s*)?[-\u2013\u2014(]?\s*(\d{1,4}|[ivxlc]{1,7})\s*[-\u2013\u2014)]?(\s*(of|/)\s*\d{1,4})?", re.I
)
_HYPHEN_END = re.compile(r"[^\W\d_][-\u2010]$")
_BULLET = re.compile(r"[\u2022\u00b7\u25aa\u25cf\u25e6\u2023\u2043\u2013\u2014*-]\s")
_BOLD_FONT = re.compile(r"bold|black|heavy|semibold|demi", re.I)
_MD_HEADING = re.compile(r"#{1,6}\s+(.*?)(\s+#+)?")


@dataclass(slots=True)
class _Line:
    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    size: float = 0.0
    bold: bool = False
    kind: str = "text"  # "text" or "table_row"
    region: tuple = ()  # the column/band of the page the line sits in (equal region = same text flow)


@dataclass(slots=True)
class _Word:
    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    size: float
    bold: bool
    table_row: _Line | None = None  # set on the placeholder "word" that stands for a whole table row


@dataclass(slots=True)
class _PageData:
    number: int
    width: float
    height: float
    lines: list[_Line]
    body_size: float = 0.0
    body_bold: bool = False
    image_only: bool = False
    garbled: bool = False


# ----------------------------------------------------------------------------- public API


def extract(path: str | os.PathLike[str], *, max_pages: int | None = None) -> Document:
    """Read a ``.pdf``, ``.txt``, ``.md`` or ``.markdown`` file into a ``Document``.

    ``max_pages`` stops a PDF after that many pages (a warning says so). Raises ``InputError``
    with a one-line message for anything that cannot be read as a document.
    """
    if max_pages is not None and max_pages < 1:
        raise ValueError("max_pages must be at least 1")
    shown = os.fspath(path)
    file, data_head, sha256 = check_file(path)
    suffix = file.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        return _extract_text_file(file, shown, sha256)
    if b"%PDF-" not in data_head:
        if re.search(rb"<!doctype html|<html", data_head, re.I):
            raise InputError(
                f"{shown} is not a PDF but a web page (HTML) saved as .pdf; download the PDF itself."
            )
        raise InputError(f"{shown} is not a PDF (no %PDF- header); check that you have the right file.")
    return _extract_pdf(file, shown, sha256, max_pages)


# ------------------------------------------------------------------------------ file level


def check_file(path: str | os.PathLike[str]) -> tuple[Path, bytes, str]:
    """The file, its first 1 KiB and its sha256, or an ``InputError`` saying why it cannot be a document
    (missing, a folder, an unsupported type, unreadable, empty)."""
    shown = os.fspath(path)
    file = Path(shown)
    if not file.exists():
        raise InputError(f"No such file: {shown}. Check the path.")
    if file.is_dir():
        raise InputError(f"{shown} is a directory, not a file; give the path of a PDF, .txt or .md file.")
    suffix = file.suffix.lower()
    if suffix != ".pdf" and suffix not in TEXT_SUFFIXES:
        kind = f"'{file.suffix}'" if file.suffix else "(no extension)"
        raise InputError(f"{shown} has an unsupported file type {kind}; use a .pdf, .txt or .md file.")
    try:
        head, sha256, size = _head_and_hash(file)
    except OSError as e:
        raise InputError(f"{shown} cannot be read ({e.strerror or e}); check the file permissions.") from None
    if size == 0:
        raise InputError(f"{shown} is empty (0 bytes); re-download or re-export it.")
    return file, head, sha256


def _head_and_hash(file: Path) -> tuple[bytes, str, int]:
    digest, size = hashlib.sha256(), 0
    with file.open("rb") as fh:
        head = fh.read(1024)
        digest.update(head)
        size += len(head)
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return head, digest.hexdigest(), size


def _extract_text_file(file: Path, shown: str, sha256: str) -> Document:
    with file.open("rb") as fh:
        raw = fh.read(MAX_TEXT_BYTES + 1)
    if len(raw) > MAX_TEXT_BYTES:
        raise InputError(f"{shown} is over {MAX_TEXT_BYTES >> 20} MB, too large for a text strategy; "
                         "split it or check it is the right file.")
    warnings = []
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
        warnings.append(f"{shown} is not UTF-8; it was read as Windows-1252")
    blocks: list[Block] = []
    para: list[Line] = []
    for raw_line in text.splitlines():
        line = clean_text(raw_line)
        heading = _MD_HEADING.fullmatch(line)
        if not line or heading:
            if para:
                blocks.append(Block(kind="text", lines=para))
                para = []
            if heading and heading.group(1):
                blocks.append(Block(kind="heading", lines=[Line(text=heading.group(1), bbox=_ZERO_BOX)]))
        else:
            para.append(Line(text=line, bbox=_ZERO_BOX))
    if para:
        blocks.append(Block(kind="text", lines=para))
    if not blocks:
        warnings.append(f"{shown} contains no text")
    title = next((b.text for b in blocks if b.kind == "heading"), file.stem)[:200]
    return Document(
        path=shown, sha256=sha256, kind="text", pages=[Page(number=None, blocks=blocks)], warnings=warnings,
        title=title,
    )


def _extract_pdf(file: Path, shown: str, sha256: str, max_pages: int | None) -> Document:
    warnings: list[str] = []
    pages: list[_PageData] = []
    try:
        with pdfplumber.open(file) as pdf:
            metadata_title = _metadata_title(pdf.metadata)
            total = len(pdf.pages)
            if total == 0:
                raise InputError(f"{shown} has no pages; re-download or re-export it.")
            if max_pages is not None and total > max_pages:
                warnings.append(
                    f"only the first {max_pages} of {total} pages were read (max_pages={max_pages})"
                )
            for number, page in enumerate(pdf.pages[:max_pages], start=1):
                try:
                    pages.append(_read_page(page, number))
                except Exception as e:  # pdfminer raises many types on a damaged page
                    if _out_of_memory(e):  # over the memory cap (evaluator.limits): the document fails
                        raise MemoryError from None
                    warnings.append(f"page {number} could not be read ({_reason(e)}); it was not assessed")
                    pages.append(_PageData(number, float(page.width), float(page.height), []))
                finally:
                    page.close()
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
    if all(not p.lines and not p.image_only for p in pages) and any(
        "could not be read" in w for w in warnings
    ):
        raise _corrupt(shown, ValueError("no page could be read"))
    _drop_page_furniture(pages)
    if not _has_eof_marker(file):
        warnings.append(f"{shown} may be truncated (no %%EOF marker at the end); some pages may be missing")
    _flag_warning(warnings, [p.number for p in pages if p.image_only], "no text layer (scanned image?)")
    _flag_warning(
        warnings, [p.number for p in pages if p.garbled], "a garbled text layer (font without a Unicode map?)"
    )
    out = [_to_page(p) for p in pages]
    title = metadata_title or _largest_line(pages[:1]) or file.stem
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


def _largest_line(pages: list[_PageData]) -> str:
    lines = [ln for p in pages for ln in p.lines if len(ln.text) >= 6 and ln.kind != "table_row"]
    if not lines:
        return ""
    size = max(ln.size for ln in lines)
    return " ".join(ln.text for ln in lines if ln.size >= size - 0.5)[:200]


def _out_of_memory(e: BaseException) -> bool:
    """A MemoryError, or pdfplumber's wrapper around one."""
    return isinstance(e, MemoryError) or (isinstance(e, PdfminerException) and bool(e.args)
                                          and isinstance(e.args[0], MemoryError))


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


# ------------------------------------------------------------------------------ text helpers


def clean_text(text: str) -> str:
    """NFKC (which also splits ligatures), drop control characters, (cid:N) and U+FFFD, collapse spaces."""
    text = unicodedata.normalize("NFKC", text)
    text = re.sub("\u00ad$", "-", text.rstrip())  # a soft hyphen at a line end is a hyphenation point
    text = _CONTROL.sub("", _CID.sub("", text.replace("\u00ad", "")))
    return _SPACES.sub(" ", text).strip()


def _unreadable_ratio(raw: str) -> float:
    raw = _CID.sub("\ufffd", _SPACES.sub("", raw))  # each (cid:N) counts as one character
    return raw.count("\ufffd") / len(raw) if raw else 0.0


# ------------------------------------------------------------------------------- page level


def _read_page(page: Any, number: int) -> _PageData:
    """One pdfplumber page -> lines in reading order (headers/footers are dropped later)."""
    x_min, y_min, x_max, y_max = page.bbox
    width, height = x_max - x_min, y_max - y_min
    raw_words = page.extract_words(extra_attrs=["size", "fontname"])
    data = _PageData(number, float(width), float(height), [])
    if not raw_words:
        data.image_only = True
        return data
    if _unreadable_ratio("".join(w["text"] for w in raw_words)) >= GARBLED_RATIO:
        data.garbled = True
        return data
    tables = _table_rows(page, x_min, y_min) if (page.rects or page.lines) else []
    words = [_Word("", r.x0, r.top, r.x1, r.bottom, 0.0, False, r) for _, rows in tables for r in rows]
    for w in raw_words:
        x0, top, x1, bottom = w["x0"] - x_min, w["top"] - y_min, w["x1"] - x_min, w["bottom"] - y_min
        cx, cy = (x0 + x1) / 2, (top + bottom) / 2
        if not w["upright"] or not (0 <= cx <= width and 0 <= cy <= height):
            continue
        if any(b[0] <= cx <= b[2] and b[1] <= cy <= b[3] for b, _ in tables):
            continue  # table text is emitted once, as table rows
        if text := clean_text(w["text"]):
            bold = bool(_BOLD_FONT.search(w.get("fontname") or ""))
            words.append(_Word(text, x0, top, x1, bottom, round(float(w["size"]), 1), bold))
    sizes: Counter[float] = Counter()
    bold_chars = 0
    for w in words:
        sizes[w.size] += len(w.text)
        bold_chars += len(w.text) if w.bold else 0
    data.body_size = max(sizes, key=sizes.__getitem__) if sizes else 0.0
    data.body_bold = bold_chars > 0.5 * sum(sizes.values())
    data.lines = _layout(words, width, height, data.body_size)
    return data


def _table_rows(page: Any, x_min: float, y_min: float) -> list[tuple[tuple[float, ...], list[_Line]]]:
    """Ruled data tables -> (table bbox, one line per row with the cells joined by ' | ')."""
    out = []
    for table in page.find_tables():
        cells_text = table.extract()
        if not _is_data_table(cells_text):
            continue
        rows = []
        for row, cells in zip(table.rows, cells_text, strict=False):
            text = " | ".join(clean_text(c or "") for c in cells if c is not None)
            if text.replace("|", "").strip():
                x0, top, x1, bottom = row.bbox
                rows.append(
                    _Line(text, x0 - x_min, top - y_min, x1 - x_min, bottom - y_min, kind="table_row")
                )
        tx0, ttop, tx1, tbottom = table.bbox
        out.append(((tx0 - x_min, ttop - y_min, tx1 - x_min, tbottom - y_min), rows))
    return out


def _is_data_table(rows: list[list[str | None]]) -> bool:
    """A grid of short cells, not a ruled layout box: two rows with two filled cells, no long cell."""
    filled = sum(1 for row in rows if sum(1 for c in row if c and c.strip()) >= 2)
    longest = max((len(c.split()) for row in rows for c in row if c), default=0)
    return filled >= 2 and longest <= 80


def _layout(words: list[_Word], width: float, height: float, body: float, region: tuple = ()) -> list[_Line]:
    """Words -> lines in reading order, splitting the page recursively at column gutters.

    Lines that run across the gutter (titles, full-width paragraphs) cut the page into bands; in
    each band the left side is read before the right side, and each side may split again.
    """
    rows = _rows(words)
    gutter = _find_gutter(rows, width, height, body) if len(region) < 8 and len(words) >= 10 else None
    segments = _segments(rows, gutter)
    lines = [_make_line(seg) for seg in segments]
    if gutter is None:
        for line in lines:
            line.region = region
        return lines
    spanning = [ln for ln in lines if ln.x0 < gutter - 1 and ln.x1 > gutter + 1]
    tops = [ln.top for ln in spanning]
    sides: dict[tuple[int, int], list[_Word]] = {}
    for line, seg in zip(lines, segments, strict=True):
        if not (line.x0 < gutter - 1 and line.x1 > gutter + 1):
            key = (bisect_right(tops, line.top), int((line.x0 + line.x1) / 2 >= gutter))
            sides.setdefault(key, []).extend(seg)
    out, group = [], 0
    for band in range(len(spanning) + 1):
        if band:
            spanning[band - 1].region = (*region, ("span", group))
            out.append(spanning[band - 1])
        for side in (0, 1):
            if (band, side) in sides:
                group += 1
                out += _layout(sides[band, side], width, height, body, (*region, (band, side)))
    return out


def _rows(words: list[_Word]) -> list[list[_Word]]:
    """Group words into visual rows (top to bottom), each sorted left to right."""
    rows: list[list[_Word]] = []
    for w in sorted(words, key=lambda w: (w.top, w.x0)):
        for row in rows[-3:]:
            top, bottom = min(r.top for r in row), max(r.bottom for r in row)
            overlap = min(bottom, w.bottom) - max(top, w.top)
            collides = any(r.x0 < w.x1 - 1 and w.x0 < r.x1 - 1 for r in row)  # overlapping text lines
            if overlap >= 0.5 * min(bottom - top, w.bottom - w.top) and not collides:
                row.append(w)
                break
        else:
            rows.append([w])
    for row in rows:
        row.sort(key=lambda w: w.x0)
    return rows


def _find_gutter(rows: list[list[_Word]], width: float, height: float, body: float) -> float | None:
    """The x of the strongest column gutter: where many rows have a wide gap with words on both sides.

    A row supports x when x falls in a gap of at least 0.8 em between two of its words; a row whose
    words run across x contradicts it. A gutter needs 3+ supporting rows, at least a quarter of the
    rows that reach x, and 5+ words on each side.
    """
    rows = [r for r in rows if MARGIN * height < (r[0].top + r[0].bottom) / 2 < (1 - MARGIN) * height]
    if len(rows) < 3:
        return None
    n = int(width) + 2
    support, contra = [0] * (n + 1), [0] * (n + 1)
    for row in rows:  # difference arrays over x
        right = row[0].x1
        contra[_clip(row[0].x0, n)] += 1
        for w in row[1:]:
            if w.x0 - right >= 0.8 * max(w.size, body):
                a, b = _clip(right + 1, n), _clip(w.x0, n)
                support[a], support[b] = support[a] + 1, support[b] - 1
                contra[a], contra[b] = contra[a] - 1, contra[b] + 1
            right = max(right, w.x1)
        contra[_clip(right + 1, n)] -= 1
    for x in range(1, n + 1):
        support[x] += support[x - 1]
        contra[x] += contra[x - 1]
    left, right = min(r[0].x0 for r in rows), max(w.x1 for r in rows for w in r)
    span = range(int(left + 0.1 * (right - left)), int(right - 0.1 * (right - left)) + 1)
    candidates = [x for x in span if support[x] >= 3 and support[x] >= 0.25 * (support[x] + contra[x])]
    if not candidates:
        return None
    best = max(support[x] - contra[x] for x in candidates)
    ties = [x for x in candidates if support[x] - contra[x] == best]
    gutter = float(ties[len(ties) // 2])
    centres = [(w.x0 + w.x1) / 2 for r in rows for w in r if w.text]
    if sum(c < gutter for c in centres) < 5 or sum(c > gutter for c in centres) < 5:
        return None
    return gutter


def _clip(x: float, n: int) -> int:
    return min(max(int(x), 0), n)


def _segments(rows: list[list[_Word]], gutter: float | None) -> list[list[_Word]]:
    """Cut each row into line segments at the gutter, at very wide gaps and around table rows."""
    segments: list[list[_Word]] = []
    for row in rows:
        segment: list[_Word] = []
        for w in row:
            if segment:
                prev = segment[-1]
                gap, size = w.x0 - prev.x1, max(prev.size, w.size)
                at_gutter = gutter is not None and prev.x1 <= gutter <= w.x0 and gap >= 0.8 * size
                if at_gutter or gap > 3 * size or w.table_row or prev.table_row:
                    segments.append(segment)
                    segment = []
            segment.append(w)
        segments.append(segment)
    return segments


def _make_line(words: list[_Word]) -> _Line:
    if words[0].table_row is not None:
        return words[0].table_row
    parts = [words[0].text]
    for prev, w in zip(words, words[1:], strict=False):
        # words split only by a font change (no visible gap) are one word
        parts.append(w.text if -1 <= w.x0 - prev.x1 < min(1.0, 0.1 * w.size) else " " + w.text)
    sizes: Counter[float] = Counter()
    for w in words:
        sizes[w.size] += len(w.text)
    bold = sum(len(w.text) for w in words if w.bold) >= 0.8 * sum(sizes.values())
    return _Line(
        "".join(parts),
        min(w.x0 for w in words),
        min(w.top for w in words),
        max(w.x1 for w in words),
        max(w.bottom for w in words),
        max(sizes, key=sizes.__getitem__),
        bold,
    )


# --------------------------------------------------------------------------- document level


def _drop_page_furniture(pages: list[_PageData]) -> None:
    """Drop margin lines that repeat on half the pages (digits ignored), and lone page numbers."""

    def in_margin(line: _Line, page: _PageData) -> bool:
        middle = (line.top + line.bottom) / 2
        return line.kind == "text" and not MARGIN * page.height <= middle <= (1 - MARGIN) * page.height

    def key(text: str) -> str:
        return re.sub(r"\d+", "#", text.lower())

    with_text = [p for p in pages if p.lines]
    counts: Counter[str] = Counter()
    if len(with_text) >= 3:
        for page in with_text:
            counts.update({key(ln.text) for ln in page.lines if in_margin(ln, page)})
    repeated = {k for k, n in counts.items() if n >= 0.5 * len(with_text)}
    for page in with_text:
        page.lines = [
            ln
            for ln in page.lines
            if not (in_margin(ln, page) and (key(ln.text) in repeated or _PAGE_NUMBER.fullmatch(ln.text)))
        ]


def _to_page(data: _PageData) -> Page:
    groups = _group_lines(data.lines)
    blocks = []
    for group in groups:
        if group[0].kind == "table_row":
            kind = "table_row"
        else:
            kind = "heading" if _is_heading(group, data.body_size, data.body_bold) else "text"
        lines = [Line(text=ln.text, bbox=(ln.x0, ln.top, ln.x1, ln.bottom)) for ln in _join_hyphens(group)]
        blocks.append(Block(kind=kind, lines=lines))
    return Page(
        number=data.number,
        width=data.width,
        height=data.height,
        blocks=blocks,
        image_only=data.image_only,
        garbled=data.garbled,
    )


def _group_lines(lines: list[_Line]) -> list[list[_Line]]:
    """Consecutive lines (in reading order) -> paragraphs; one group per table row."""
    groups: list[list[_Line]] = []
    for line in lines:
        prev = groups[-1][-1] if groups else None
        if prev is not None and _continues(prev, line):
            groups[-1].append(line)
        else:
            groups.append([line])
    return groups


def _continues(prev: _Line, line: _Line) -> bool:
    """Does ``line`` continue the paragraph that ends with ``prev``?"""
    if "table_row" in (prev.kind, line.kind) or _BULLET.match(line.text):
        return False
    size = max(prev.size, line.size)
    if abs(prev.size - line.size) > 0.15 * size:
        return False
    if prev.bold != line.bold and not (
        line.text[:1].islower()
        or prev.text.endswith((",", ";", "-"))
        or (prev.bold and 0.6 <= (prev.x1 - prev.x0) / max(line.x1 - line.x0, 1.0) <= 1.1)  # wrapped
    ):
        return False  # bold text inside a running sentence does not start a new block
    if prev.region != line.region:
        # a sentence that runs on from the foot of one column to the head of the next
        return not re.search(r"[.!?:;]$", prev.text) and line.text[:1].islower()
    gap = line.top - prev.bottom
    overlaps = min(prev.x1, line.x1) > max(prev.x0, line.x0)
    return overlaps and -0.2 * size <= gap <= 0.7 * size


def _is_heading(group: list[_Line], body_size: float, body_bold: bool) -> bool:
    """Clearly larger than body text, or a short all-bold line when the body is not bold."""
    text = " ".join(ln.text for ln in group)
    words = len(text.split())
    if len(group) > 4 or words > 30 or not any(c.isalpha() for c in text):
        return False
    size = max(ln.size for ln in group)
    if size >= 1.2 * body_size and size - body_size >= 1.5:
        return True
    short = len(group) <= 2 and words <= 15 and not text.endswith((".", ",", ";"))
    return short and all(ln.bold for ln in group) and not body_bold and not text[:1].islower()


def _join_hyphens(group: list[_Line]) -> list[_Line]:
    """'communi-' + 'ty groups' -> 'community' + 'groups': the word fragment moves up a line."""
    out = [group[0]]
    for line in group[1:]:
        prev = out[-1]
        if _HYPHEN_END.search(prev.text) and line.text[:1].islower():
            head, _, rest = line.text.partition(" ")
            prev.text = prev.text[:-1] + head
            if not rest:
                prev.x0, prev.top = min(prev.x0, line.x0), min(prev.top, line.top)
                prev.x1, prev.bottom = max(prev.x1, line.x1), max(prev.bottom, line.bottom)
                continue
            line.text = rest
        out.append(line)
    return out
