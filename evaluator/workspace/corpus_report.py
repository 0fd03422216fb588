"""Corpus outputs of a workspace: summary CSV and XLSX, a level heatmap, and an HTML index with one page
per document. Written into ``workspace/reports/`` after each screen and by ``evaluator report``.

Rows are the documents' current suggestions (not reviewer decisions); failures that no later
assessment of the same file has resolved are listed separately.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from evaluator.errors import WorkspaceError
from evaluator.files import replacing
from evaluator.sanitize import append_row, write_csv_rows
from evaluator.types import HALLMARK_IDS, LEVELS, RUBRIC_LEVELS, Rubric
from evaluator.workspace.store import StoredAssessment, Workspace

LEVEL_COLOURS = ("#e8e8e8", "#c6dbef", "#4a98c9", "#08306b")  # none < assuring < optimising < maximising
COLUMNS = [
    "document",
    *(f"hallmark {h}" for h in HALLMARK_IDS),
    "mean confidence",
    "needs review",
    "pages",
    "path",
    "sha256",
    "assessed at",
    "report",
]


@dataclass(frozen=True)
class Row:
    stored: StoredAssessment
    report: str  # the per-document HTML page, relative to reports/

    @property
    def title(self) -> str:
        return self.stored.assessment.document.title or Path(self.stored.path).stem

    @property
    def levels(self) -> dict[str, str]:
        return {h.id: h.level for h in self.stored.assessment.hallmarks}

    @property
    def confidence(self) -> float:
        values = [h.confidence for h in self.stored.assessment.hallmarks]
        return sum(values) / len(values) if values else 0.0

    @property
    def needs_review(self) -> int:
        return sum(h.needs_review for h in self.stored.assessment.hallmarks)

    def cells(self) -> list:
        a = self.stored.assessment
        return [
            self.title,
            *(self.levels.get(h, "") for h in HALLMARK_IDS),
            round(self.confidence, 3),
            self.needs_review,
            a.document.pages,
            self.stored.path,
            self.stored.sha256,
            self.stored.created_at,
            self.report,
        ]


@dataclass(frozen=True)
class Failure:
    path: str
    error: str
    when: str


def collect(ws: Workspace) -> tuple[list[Row], list[Failure]]:
    stored = sorted(ws.current_assessments(), key=lambda s: (s.path, s.sha256))
    rows = [Row(s, f"documents/{Path(s.path).stem}-{s.sha256[:12]}.html") for s in stored]
    assessed: dict[str, str] = {}
    for s in stored:
        assessed[s.path] = max(assessed.get(s.path, ""), s.created_at)
    latest: dict[str, Failure] = {}
    for f in ws.failures():
        latest[f["path"]] = Failure(f["path"], f["error"], f["created_at"])
    failures = [f for f in latest.values() if assessed.get(f.path, "") < f.when or f.path not in assessed]
    return rows, sorted(failures, key=lambda f: f.path)


def write_reports(
    ws: Workspace | str | os.PathLike, rubric: Rubric | None = None, out: str | os.PathLike | None = None
) -> Path:
    """Write summary.csv, summary.xlsx, heatmap.png, index.html and documents/*.html into ``out`` (default:
    the workspace's reports/ folder); return the folder."""
    ws = ws if isinstance(ws, Workspace) else Workspace(ws, create=False)
    rubric = rubric or ws.rubric()
    if out is None and ws.read_only:
        raise WorkspaceError(f"{ws.root} is read-only: write the reports elsewhere with --out DIR.")
    if out is None:
        out = ws.folder("reports")
    else:
        out = Path(out)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WorkspaceError(
                f"Cannot create {out}: {exc.strerror}. Choose a writable --out folder."
            ) from None
    rows, failures = collect(ws)
    write_csv(out / "summary.csv", rows)
    write_xlsx(out / "summary.xlsx", rows, failures)
    write_heatmap(out / "heatmap.png", rows)
    write_html(out, rows, failures, rubric)
    return out


def write_csv(path: Path, rows: list[Row]) -> None:
    with _replacing_report(path) as tmp:
        write_csv_rows(tmp, COLUMNS, (row.cells() for row in rows))


def write_xlsx(path: Path, rows: list[Row], failures: list[Failure]) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    book = Workbook()
    sheet = book.active
    sheet.title = "Documents"
    append_row(sheet, COLUMNS)
    fills = {
        level: PatternFill("solid", fgColor=colour[1:])
        for level, colour in zip(LEVELS, LEVEL_COLOURS, strict=True)
    }
    for r, row in enumerate(rows, start=2):
        append_row(sheet, row.cells())
        for c, hallmark in enumerate(HALLMARK_IDS, start=2):
            level = row.levels.get(hallmark)
            if level in fills:
                sheet.cell(r, c).fill = fills[level]
                if LEVELS.index(level) >= 2:  # dark fills
                    sheet.cell(r, c).font = Font(color="FFFFFF")
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "B2"
    sheet.column_dimensions["A"].width = 50
    sheet.column_dimensions["L"].width = 60
    errors = book.create_sheet("Failures")
    append_row(errors, ["path", "error", "when"])
    for f in failures:
        append_row(errors, [f.path, f.error, f.when])
    for cell in errors[1]:
        cell.font = Font(bold=True)
    errors.column_dimensions["A"].width = 60
    errors.column_dimensions["B"].width = 80
    with _replacing_report(path) as tmp:
        book.save(tmp)


def write_heatmap(path: Path, rows: list[Row]) -> None:
    """Documents x hallmarks, coloured by level on an ordinal scale; '?' marks a call that needs review."""
    import numpy as np
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.figure import Figure  # no pyplot: leaves the caller's backend (e.g. a notebook's) alone

    values = np.array(
        [[LEVELS.index(row.levels.get(h, "none")) for h in HALLMARK_IDS] for row in rows]
        or np.zeros((0, len(HALLMARK_IDS))),
        dtype=float,
    ).reshape(-1, len(HALLMARK_IDS))
    fig = Figure(figsize=(8.5, 1.6 + 0.42 * max(len(rows), 1)), layout="constrained")
    ax = fig.subplots()
    cmap = ListedColormap(LEVEL_COLOURS)
    image = ax.imshow(
        values if len(rows) else np.full((1, len(HALLMARK_IDS)), np.nan),
        cmap=cmap,
        norm=BoundaryNorm(np.arange(-0.5, len(LEVELS)), cmap.N),
        aspect="auto",
    )
    review = {
        (r, c)
        for r, row in enumerate(rows)
        for c, h in enumerate(row.stored.assessment.hallmarks)
        if h.needs_review
    }
    for r in range(len(rows)):
        for c in range(len(HALLMARK_IDS)):
            level = int(values[r, c])
            ax.text(
                c,
                r,
                LEVELS[level][0].upper() + ("?" if (r, c) in review else ""),
                ha="center",
                va="center",
                fontsize=8,
                color="white" if level >= 2 else "black",
            )
    ax.set_xticks(range(len(HALLMARK_IDS)), [f"Hallmark {h}" for h in HALLMARK_IDS], rotation=30, ha="right")
    labels = [_short(row.title, 48) for row in rows]
    ax.set_yticks(range(len(rows)), labels, fontsize=8)
    ax.set_title(
        "Suggested maturity level per hallmark (? = needs review)" if rows else "No assessed documents yet"
    )
    bar = fig.colorbar(image, ax=ax, ticks=range(len(LEVELS)), shrink=0.8)
    bar.ax.set_yticklabels(list(LEVELS))
    with _replacing_report(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")


def write_html(out: Path, rows: list[Row], failures: list[Failure], rubric: Rubric) -> None:
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(
        loader=PackageLoader("evaluator.workspace", "templates"), autoescape=select_autoescape(["html"])
    )
    titles = {h.id: h.title for h in rubric.hallmarks}
    wording = {d.id: d.text for d in rubric.descriptors}
    docs = out / "documents"
    docs.mkdir(exist_ok=True)
    page = env.get_template("document.html")
    for row in rows:
        html = page.render(row=row, a=row.stored.assessment, titles=titles, wording=wording, levels=LEVELS)
        with _replacing_report(out / row.report) as tmp:
            tmp.write_text(html, encoding="utf-8")
    index = env.get_template("index.html").render(
        rows=rows,
        failures=failures,
        hallmarks=HALLMARK_IDS,
        titles=titles,
        levels=LEVELS,
        colours=LEVEL_COLOURS,
    )
    with _replacing_report(out / "index.html") as tmp:
        tmp.write_text(index, encoding="utf-8")


def _replacing_report(path: Path) -> contextlib.AbstractContextManager[Path]:
    return replacing(
        path, then="then run `evaluator report` to write the reports again (the assessments are saved)"
    )


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


WIDE_TABLE = 140  # columns needed to show full level names beside the document names
SHORT_LEVEL = {level: level[:3] for level in RUBRIC_LEVELS}  # ass, opt, max


def print_summary(summary, console=None) -> None:
    """The end-of-screen table (document, levels, confidence), failures with reasons, and the count line."""
    from rich import box
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = console or Console()
    narrow = console.width < WIDE_TABLE  # e.g. 80 columns, or output piped to a log: a compact table
    table = Table(
        title=f"Screen of {summary.workspace}",
        box=box.SIMPLE_HEAD if narrow else box.HEAVY_HEAD,
        pad_edge=not narrow,
        padding=(0, 1) if not narrow else (0, 1, 0, 0),
        caption="levels: none, ass(uring), opt(imising), max(imising)" if narrow else None,
    )
    table.add_column(
        "Document", min_width=12, max_width=18 if narrow else 30, overflow="ellipsis", no_wrap=True
    )
    for hallmark in HALLMARK_IDS:
        table.add_column(hallmark, min_width=4, max_width=4 if narrow else None, no_wrap=True)
    table.add_column("Conf." if not narrow else "conf", justify="right", min_width=4, no_wrap=True)
    table.add_column("", max_width=11 if narrow else None, overflow="ellipsis", no_wrap=True)
    for o in summary.outcomes:
        if o.status == "failed":
            continue
        levels = (o.levels.get(h, "") for h in HALLMARK_IDS)
        table.add_row(
            escape(_short(Path(o.path).name, 40)),
            *(SHORT_LEVEL.get(lv, lv) if narrow else lv for lv in levels),
            f"{o.confidence:.2f}" if o.confidence is not None else "",
            "new" if o.status == "ok" else escape(o.reason),
        )
    if table.row_count:
        console.print(table)
    for o in summary.outcomes:  # partly assessed documents (scanned pages, page limit...): say so here too
        for warning in getattr(o, "warnings", ()):
            console.print(
                f"[yellow]warning[/yellow] {escape(o.path)}: {escape(warning)}",
                highlight=False,
                soft_wrap=True,
            )
    for o in summary.failed:
        console.print(
            f"[red]failed[/red] {escape(o.path)}: {escape(o.reason)}", highlight=False, soft_wrap=True
        )
    if summary.reports:
        console.print(
            f"Reports: {summary.reports / 'index.html'} (and summary.csv, summary.xlsx, heatmap.png)",
            soft_wrap=True,
        )
    console.print(f"{summary.line()} in {summary.seconds:.1f} s")
