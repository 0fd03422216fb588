"""Tables: ruled data tables become one line per row, the cells joined by ' | '."""

from __future__ import annotations

from typing import Any

from evaluator.stages.extract.layout import RawLine
from evaluator.stages.extract.text import clean_text


def table_rows(page: Any, x_min: float, y_min: float) -> list[tuple[tuple[float, ...], list[RawLine]]]:
    """Ruled data tables -> (table bbox, one line per row with the cells joined by ' | ')."""
    out: list[tuple[tuple[float, ...], list[RawLine]]] = []
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
                    RawLine(text, x0 - x_min, top - y_min, x1 - x_min, bottom - y_min, kind="table_row")
                )
        tx0, ttop, tx1, tbottom = table.bbox
        out.append(((tx0 - x_min, ttop - y_min, tx1 - x_min, tbottom - y_min), rows))
    return out


def _is_data_table(rows: list[list[str | None]]) -> bool:
    """A grid of short cells, not a ruled layout box: two rows with two filled cells, no long cell."""
    filled = sum(1 for row in rows if sum(1 for c in row if c and c.strip()) >= 2)
    longest = max((len(c.split()) for row in rows for c in row if c), default=0)
    return filled >= 2 and longest <= 80
