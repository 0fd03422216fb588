"""Compare two assessments (two versions of a strategy, or of an area): what got better, what got worse.

Per hallmark the level before and after; per descriptor the status before and after with the evidence
cited on each side. Moves up and down are both kept; ``hide_unchanged`` leaves out what did not move.
Renderings: a terminal table, Markdown, a self-contained HTML page, and the ``Comparison`` JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field
from rich.console import Console
from rich.table import Table

from evaluator.assessment_report import _is_terminal, _md_escape, _short, where
from evaluator.errors import InputError
from evaluator.types import LEVELS, STATUSES, Assessment, Evidence, Level, Rubric, Status

if TYPE_CHECKING:
    from evaluator.pipeline import Pipeline
    from evaluator.workspace.store import StoredAssessment, Workspace

Move = Literal["up", "down", "same"]
ARROWS = {"up": "▲", "down": "▼", "same": "="}


class Side(BaseModel):
    """One side of a comparison: which assessment it is."""

    title: str
    path: str
    sha256: str
    pages: int
    created_at: str
    documents: list[str] = Field(default_factory=list)  # an area's document ids


class DescriptorChange(BaseModel):
    id: str
    level: str  # the descriptor's rubric level: assuring, optimising, maximising
    text: str  # the descriptor's wording
    old_status: Status
    new_status: Status
    move: Move
    old_evidence: list[Evidence] = Field(default_factory=list)  # cited where the status is met or partial
    new_evidence: list[Evidence] = Field(default_factory=list)


class HallmarkChange(BaseModel):
    id: str
    title: str
    old_level: Level
    new_level: Level
    move: Move
    steps: int  # levels moved: +2 is none -> optimising
    descriptors: list[DescriptorChange]


class Comparison(BaseModel):
    old: Side
    new: Side
    rubric_id: str
    rubric_version: str
    hallmarks: list[HallmarkChange]
    unchanged_hidden: bool = False

    def counts(self) -> dict[str, int]:
        """Hallmarks and descriptors that moved up and down."""
        descriptors = [d for h in self.hallmarks for d in h.descriptors]
        return {
            "hallmarks_up": sum(h.move == "up" for h in self.hallmarks),
            "hallmarks_down": sum(h.move == "down" for h in self.hallmarks),
            "descriptors_up": sum(d.move == "up" for d in descriptors),
            "descriptors_down": sum(d.move == "down" for d in descriptors),
        }


def _move(before: int, after: int) -> Move:
    return "up" if after > before else "down" if after < before else "same"


def _side(assessment: Assessment) -> Side:
    doc = assessment.document
    return Side(
        title=doc.title,
        path=doc.path,
        sha256=doc.sha256,
        pages=doc.pages,
        created_at=assessment.provenance.created_at,
        documents=[d.id for d in assessment.documents],
    )


def compare(old: Assessment, new: Assessment, rubric: Rubric, *, hide_unchanged: bool = False) -> Comparison:
    """Hallmark levels and descriptor statuses of ``old`` against ``new`` (both rated on ``rubric``)."""
    for name, assessment in (("the old", old), ("the new", new)):
        if assessment.provenance.rubric_id != rubric.id:
            raise InputError(
                f"{assessment.document.title} ({name} side) was rated on rubric "
                f"{assessment.provenance.rubric_id}, not {rubric.id}; assess both with the same rubric."
            )
    old_results, new_results = old.descriptor_results(), new.descriptor_results()
    old_levels = {h.id: h.level for h in old.hallmarks}
    new_levels = {h.id: h.level for h in new.hallmarks}
    hallmarks = []
    for hallmark in rubric.hallmarks:
        if hallmark.id not in old_levels or hallmark.id not in new_levels:
            raise InputError(
                f"Hallmark {hallmark.id} is missing from one side; assess both with the same rubric."
            )
        changes = []
        for descriptor in hallmark.descriptors:
            before, after = old_results[descriptor.id], new_results[descriptor.id]
            move = _move(STATUSES.index(before.status), STATUSES.index(after.status))
            if hide_unchanged and move == "same":
                continue
            changes.append(
                DescriptorChange(
                    id=descriptor.id,
                    level=descriptor.level,
                    text=descriptor.text,
                    old_status=before.status,
                    new_status=after.status,
                    move=move,
                    old_evidence=before.evidence if before.status != "not_met" else [],
                    new_evidence=after.evidence if after.status != "not_met" else [],
                )
            )
        steps = LEVELS.index(new_levels[hallmark.id]) - LEVELS.index(old_levels[hallmark.id])
        move = _move(0, steps)
        if hide_unchanged and move == "same" and not changes:
            continue
        hallmarks.append(
            HallmarkChange(
                id=hallmark.id,
                title=hallmark.title,
                old_level=old_levels[hallmark.id],
                new_level=new_levels[hallmark.id],
                move=move,
                steps=steps,
                descriptors=changes,
            )
        )
    return Comparison(
        old=_side(old),
        new=_side(new),
        rubric_id=rubric.id,
        rubric_version=rubric.version,
        hallmarks=hallmarks,
        unchanged_hidden=hide_unchanged,
    )


def _quote(evidence: list[Evidence], limit: int = 90) -> str:
    if not evidence:
        return "-"
    return f"{where(evidence[0])}: “{_short(evidence[0].text, limit)}”"


def summary_line(comparison: Comparison) -> str:
    c = comparison.counts()
    return (
        f"{c['hallmarks_up']} hallmark(s) up, {c['hallmarks_down']} down; "
        f"{c['descriptors_up']} descriptor(s) up, {c['descriptors_down']} down"
    )


def print_comparison(comparison: Comparison, console: Console | None = None) -> None:
    """Two rich tables: hallmark levels, then the descriptors with their evidence on each side."""
    console = console or Console(width=None if _is_terminal() else 160)
    levels = Table(title=f"{comparison.old.title} → {comparison.new.title}")
    for name in ("Hallmark", "Before", "After", "Change"):
        levels.add_column(name, no_wrap=True)
    for h in comparison.hallmarks:
        change = f"{ARROWS[h.move]} {h.steps:+d}" if h.steps else "="
        levels.add_row(f"{h.id} {_short(h.title, 40)}", h.old_level, h.new_level, change)
    console.print(levels)
    descriptors = Table(title="Descriptors" + (" that changed" if comparison.unchanged_hidden else ""))
    for name in ("Descriptor", "Before", "After", "", "Evidence before", "Evidence after"):
        descriptors.add_column(name, no_wrap=name in ("Descriptor", "Before", "After", ""))
    for h in comparison.hallmarks:
        for d in h.descriptors:
            descriptors.add_row(
                d.id,
                d.old_status,
                d.new_status,
                ARROWS[d.move],
                _quote(d.old_evidence, 60),
                _quote(d.new_evidence, 60),
            )
    console.print(descriptors)
    console.print(summary_line(comparison))


def comparison_markdown(comparison: Comparison) -> str:
    old, new = comparison.old, comparison.new
    lines = [
        f"# {old.title} → {new.title}",
        "",
        f"Before: {old.title} ({old.pages} pages, assessed {old.created_at}) · after: {new.title} "
        f"({new.pages} pages, assessed {new.created_at}) · rubric {comparison.rubric_id} "
        f"{comparison.rubric_version}",
        "",
        summary_line(comparison),
        "",
        "| Hallmark | Before | After | Change |",
        "|---|---|---|---|",
    ]
    for h in comparison.hallmarks:
        change = f"{ARROWS[h.move]} {h.steps:+d}" if h.steps else "="
        lines.append(f"| {h.id} {_md_escape(h.title)} | {h.old_level} | {h.new_level} | {change} |")
    for h in comparison.hallmarks:
        if not h.descriptors:
            continue
        lines += ["", f"## {h.id} {h.title}: {h.old_level} → {h.new_level}", ""]
        for d in h.descriptors:
            lines.append(
                f"- **{d.id}** {d.old_status} → {d.new_status} {ARROWS[d.move]}: {_md_escape(d.text)}"
            )
            for label, evidence in (("before", d.old_evidence), ("after", d.new_evidence)):
                if evidence:
                    e = evidence[0]
                    lines.append(f"  - {label}, {where(e)}: “{_md_escape(e.text)}”")
    return "\n".join(lines) + "\n"


def comparison_html(comparison: Comparison) -> str:
    """A self-contained HTML page (inline style, no scripts, no external resources)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("evaluator", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["where"] = where
    return env.get_template("compare.html").render(
        c=comparison, summary=summary_line(comparison), arrows=ARROWS
    )


# ------------------------------------------------------------------- inputs


def load_assessment_json(path: Path) -> Assessment:
    """An assessment JSON file (``evaluator assess --json``); a one-line InputError if it is not one."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            f"Cannot read {path}: {getattr(exc, 'strerror', None) or exc}. Check the path."
        ) from None
    try:
        return Assessment.model_validate_json(text)
    except ValueError:
        raise InputError(
            f"{path} is not an assessment JSON; write one with `evaluator assess FILE --json {path.name}`, "
            "or give the PDF itself."
        ) from None


def from_workspace(workspace: Workspace, spec: str) -> Assessment:
    """The current assessment of a workspace document or area named by ``spec``: its doc id (file name
    without suffix), file name, path, title or area name, or the start of its sha256 (8+ characters)."""
    stored = workspace.current_assessments()

    def names(s: StoredAssessment) -> set[str]:
        path = Path(s.path)
        return {s.path, path.name, path.stem, s.assessment.document.title}

    found = [s for s in stored if spec in names(s) or (len(spec) >= 8 and s.sha256.startswith(spec))]
    if len(found) == 1:
        return found[0].assessment
    if found:
        raise InputError(
            f"{spec!r} names {len(found)} documents in {workspace.root}; give a file name or sha256 instead."
        )
    known = sorted(Path(s.path).stem for s in stored)
    listed = ", ".join(known[:8]) + (f" and {len(known) - 8} more" if len(known) > 8 else "")
    raise InputError(
        f"No document {spec!r} in the workspace {workspace.root}; it holds: {listed or 'nothing'}."
    )


def resolve(spec: str, *, workspace: Workspace | None, pipeline: Callable[[], Pipeline]) -> Assessment:
    """One side of ``evaluator compare``: a workspace document (with a workspace), an assessment JSON file,
    or a document to assess now with ``pipeline()``."""
    if workspace is not None:
        return from_workspace(workspace, spec)
    path = Path(spec)
    if path.suffix.lower() == ".json":
        return load_assessment_json(path)
    return pipeline().assess(path)
