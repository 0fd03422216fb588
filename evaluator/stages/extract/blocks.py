"""Blocks: lines in reading order -> paragraphs, headings and table rows of a ``Page``."""

from __future__ import annotations

import re
from typing import Literal

from evaluator.stages.extract.layout import PageData, RawLine
from evaluator.types import Block, Line, Page

_HYPHEN_END = re.compile(r"[^\W\d_][-\u2010]$")
_BULLET = re.compile(r"[\u2022\u00b7\u25aa\u25cf\u25e6\u2023\u2043\u2013\u2014*-]\s")


def to_page(data: PageData) -> Page:
    groups = _group_lines(data.lines)
    blocks = []
    for group in groups:
        kind: Literal["text", "heading", "table_row"]
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


def _group_lines(lines: list[RawLine]) -> list[list[RawLine]]:
    """Consecutive lines (in reading order) -> paragraphs; one group per table row."""
    groups: list[list[RawLine]] = []
    for line in lines:
        prev = groups[-1][-1] if groups else None
        if prev is not None and _continues(prev, line):
            groups[-1].append(line)
        else:
            groups.append([line])
    return groups


def _continues(prev: RawLine, line: RawLine) -> bool:
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


# a block of at least this many words that ends a statement is text however large its type: designed
# strategies and slide decks set their vision, outcomes and residents' quotes large, and reviewers cite
# them. A question stays a heading ("3.3 How good is the evidence?")
SENTENCE_WORDS = 6
_STATEMENT_END = re.compile(r"[.!][\"'\u201d\u2019)]?$")


def _is_heading(group: list[RawLine], body_size: float, body_bold: bool) -> bool:
    """Clearly larger than body text, or a short all-bold line when the body is not bold; never a
    statement (``SENTENCE_WORDS`` words or more, ending with a full stop)."""
    text = " ".join(ln.text for ln in group)
    words = len(text.split())
    if len(group) > 4 or words > 30 or not any(c.isalpha() for c in text):
        return False
    if words >= SENTENCE_WORDS and _STATEMENT_END.search(text.rstrip()):
        return False
    size = max(ln.size for ln in group)
    if size >= 1.2 * body_size and size - body_size >= 1.5:
        return True
    short = len(group) <= 2 and words <= 15 and not text.endswith((".", ",", ";"))
    return short and all(ln.bold for ln in group) and not body_bold and not text[:1].islower()


def _join_hyphens(group: list[RawLine]) -> list[RawLine]:
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
