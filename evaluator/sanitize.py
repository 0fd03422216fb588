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


def append_row(sheet, values: Iterable[Any]) -> None:
    """``sheet.append(values)`` with every text cell stored as a string, never as a formula. The cells
    are made here (reading the row back would cost a pass over the whole sheet per row)."""
    from openpyxl.cell import Cell

    cells = []
    for value in values:
        cell = Cell(sheet, value=value)
        if isinstance(value, str):
            cell.data_type = "s"
        cells.append(cell)
    sheet.append(cells)
