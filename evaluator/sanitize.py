"""Spreadsheet-safe cells: text a reviewer typed (or a PDF's Title) never runs as a formula.

Every CSV and XLSX the tool writes goes through these helpers (OWASP "CSV Injection"):

* CSV: a text cell that begins with ``=``, ``+``, ``-``, ``@``, TAB or CR gets a leading single quote,
  so a spreadsheet opening the file shows it as text instead of evaluating it.
* XLSX: every text cell is typed as a string explicitly (openpyxl otherwise stores any text starting
  with ``=`` as a formula); no quote is added, so the cell reads exactly as it was typed.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """``value`` made inert for a CSV file; numbers and other non-text values pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def write_csv_rows(path: Path, header: list[str], rows: Iterable[Iterable[Any] | Mapping[str, Any]]) -> None:
    """Write ``header`` then ``rows`` (sequences, or dicts keyed by the header) with every cell made inert."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            cells = [row.get(k, "") for k in header] if isinstance(row, Mapping) else row
            writer.writerow([csv_cell(v) for v in cells])


def append_row(sheet, values: Iterable[Any], *, style: Any = None) -> None:
    """``sheet.append(values)`` with every text cell stored as a string, never as a formula. The cells
    are made here (reading the row back would cost a pass over the whole sheet per row), so this works
    on write-only sheets too. Empty text is an empty cell. ``style``: a cell (see ``styled_cell``) whose font and alignment every
    cell of the row takes, copied as openpyxl's own worksheet copy does (setting a Font or Alignment
    object per cell hashes it each time: a third of a 1,000-document export)."""
    from copy import copy

    from openpyxl.cell import Cell

    cells: list[Any] = []
    for value in values:
        if value == "" or value is None:  # left empty: no cell to write (half of an export's cells)
            cells.append(None)
            continue
        cell = Cell(sheet, row=1, column=1, value=value)  # placed by append
        if isinstance(value, str):
            cell.data_type = "s"
        if style is not None:
            cell._style = copy(style._style)
        cells.append(cell)
    sheet.append(cells)


def styled_cell(sheet, *, font: Any = None, alignment: Any = None) -> Any:
    """A template cell carrying ``font`` and ``alignment``, for ``append_row(..., style=)``."""
    from openpyxl.cell import Cell

    cell = Cell(sheet, row=1, column=1)
    if font is not None:
        cell.font = font
    if alignment is not None:
        cell.alignment = alignment
    return cell
