"""The targets table: every measurable aim a document sets (indicator, number, direction, date), for one
file or for every document of a workspace, as a terminal table, CSV or XLSX (cells made inert)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from evaluator.errors import EvaluatorError
from evaluator.sanitize import append_row, write_csv_rows
from evaluator.types import Target

if TYPE_CHECKING:
    from evaluator.stages.cache import Cache

FORMATS = ("table", "csv", "xlsx")
FIELDS = ["document", "area", "page", "indicator", "number", "direction", "date", "text"]


def file_targets(
    path: str | os.PathLike, max_pages: int | None = None, cache: Cache | None = None
) -> list[Target]:
    """The targets of one file: extracted in a memory-capped child, segmented, target candidates parsed.
    With a cache, a file `assess` or `targets` has read before is neither extracted nor parsed again."""
    from evaluator.limits import extract_isolated
    from evaluator.stages.cache import read_document
    from evaluator.stages.kinds import DocumentKinds
    from evaluator.stages.segment import segment

    document = read_document(path, cache, max_pages=max_pages, extractor=extract_isolated)
    kinds = DocumentKinds(segment(document), document.sha256, cache)
    found = kinds.targets()
    kinds.save()
    return found


def rows(document: str, targets: list[Target]) -> list[dict]:
    """One row per target; "area" is the innermost heading it sits under (a priority, a life stage...)."""
    return [
        {
            "document": document,
            "area": t.headings[-1] if t.headings else "",
            "page": t.page if t.page is not None else "",
            "indicator": t.indicator,
            "number": t.number,
            "direction": t.direction,
            "date": t.date,
            "text": t.text,
        }
        for t in targets
    ]


def workspace_rows(workspace: str | os.PathLike) -> list[dict]:
    from evaluator.workspace.store import Workspace

    ws = Workspace(workspace, create=False)
    out: list[dict] = []
    old = 0
    for stored in ws.current_assessments():
        a = stored.assessment
        if not a.provenance.kinds:
            old += 1
        out += rows(a.document.title or Path(stored.path).name, a.targets)
    if old and not out:
        raise EvaluatorError(
            f"The assessments in {workspace} were made before targets were recorded; re-run `evaluator screen`."
        )
    return out


def write(out: Path, fmt: str, table: list[dict]) -> None:
    if fmt not in FORMATS[1:]:
        raise EvaluatorError(f"Unknown targets format {fmt!r}: use one of {', '.join(FORMATS)}.")
    if not out.parent.is_dir():
        raise EvaluatorError(f"Folder {out.parent} does not exist. Create it or choose another --out.")
    try:
        if fmt == "csv":
            write_csv_rows(out, FIELDS, table)
        else:
            from openpyxl import Workbook
            from openpyxl.styles import Font

            wb = Workbook()
            sheet = wb.active
            sheet.title = "Targets"
            append_row(sheet, [f.capitalize() for f in FIELDS])
            for row in table:
                append_row(sheet, [row[f] for f in FIELDS])
            for cell in sheet[1]:
                cell.font = Font(bold=True)
            for col, width in zip("ABCDEFGH", (28, 28, 6, 40, 16, 10, 12, 80), strict=True):
                sheet.column_dimensions[col].width = width
            wb.save(out)
    except OSError as exc:
        raise EvaluatorError(f"Cannot write {out}: {exc.strerror}. Choose a writable path.") from None
