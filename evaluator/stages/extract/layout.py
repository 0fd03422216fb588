"""Layout: a page's words -> lines in reading order.

A column gutter is detected and the left column is read before the right one; full-width lines such
as titles separate the column bands."""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass

from evaluator.stages.extract.furniture import MARGIN


@dataclass(slots=True)
class RawLine:
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
class Word:
    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    size: float
    bold: bool
    table_row: RawLine | None = None  # set on the placeholder "word" that stands for a whole table row


@dataclass(slots=True)
class PageData:
    number: int
    width: float
    height: float
    lines: list[RawLine]
    body_size: float = 0.0
    body_bold: bool = False
    image_only: bool = False
    garbled: bool = False


def layout(words: list[Word], width: float, height: float, body: float, region: tuple = ()) -> list[RawLine]:
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
    sides: dict[tuple[int, int], list[Word]] = {}
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
                out += layout(sides[band, side], width, height, body, (*region, (band, side)))
    return out


def _rows(words: list[Word]) -> list[list[Word]]:
    """Group words into visual rows (top to bottom), each sorted left to right."""
    rows: list[list[Word]] = []
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


def _find_gutter(rows: list[list[Word]], width: float, height: float, body: float) -> float | None:
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


def _segments(rows: list[list[Word]], gutter: float | None) -> list[list[Word]]:
    """Cut each row into line segments at the gutter, at very wide gaps and around table rows."""
    segments: list[list[Word]] = []
    for row in rows:
        segment: list[Word] = []
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


def _make_line(words: list[Word]) -> RawLine:
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
    return RawLine(
        "".join(parts),
        min(w.x0 for w in words),
        min(w.top for w in words),
        max(w.x1 for w in words),
        max(w.bottom for w in words),
        max(sizes, key=sizes.__getitem__),
        bold,
    )
