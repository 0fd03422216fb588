"""Page furniture: running headers, footers and page numbers, dropped over the whole document."""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # layout reads MARGIN from here
    from evaluator.stages.extract.layout import PageData, RawLine


MARGIN = 0.08  # top/bottom fraction of a page where running headers, footers and page numbers live
_PAGE_NUMBER = re.compile(
    r"(page\s*)?[-\u2013\u2014(]?\s*(\d{1,4}|[ivxlc]{1,7})\s*[-\u2013\u2014)]?(\s*(of|/)\s*\d{1,4})?", re.I
)


def drop_page_furniture(pages: list[PageData]) -> None:
    """Drop margin lines that repeat on half the pages (digits ignored), and lone page numbers."""

    def in_margin(line: RawLine, page: PageData) -> bool:
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
