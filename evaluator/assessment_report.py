"""Human-readable renderings of one Assessment (a document or an area): a terminal table and Markdown.

For an area, each citation names its document, and a table says what each document contributes."""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from evaluator.types import Assessment, DescriptorResult, Evidence, HallmarkResult, Rubric, Searched, Target

QUOTE_CHARS = 110


def _best_evidence(hallmark: HallmarkResult) -> tuple[DescriptorResult, str] | None:
    """The strongest cited passage among the hallmark's evidenced descriptors."""
    best = None
    for d in hallmark.descriptors:
        if d.status == "not_met" or not d.evidence:
            continue
        if best is None or d.evidence[0].score > best[0].evidence[0].score:
            best = (d, d.evidence[0].text)
    return best


def _page(page: int | None) -> str:
    return f"p.{page}" if page is not None else "text"


def where(evidence: Evidence | Target) -> str:
    """Where a citation (or target) is: "p.12", or in an area "ws-jsna-summary-2018 p.12"."""
    page = _page(evidence.page)
    return f"{evidence.document} {page}" if evidence.document else page


def _short(text: str, limit: int = QUOTE_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _is_terminal() -> bool:
    return Console().is_terminal


def print_table(assessment: Assessment, rubric: Rubric, console: Console | None = None) -> None:
    console = console or Console(width=None if _is_terminal() else 150)
    titles = {h.id: h.title for h in rubric.hallmarks}
    table = Table(title=f"{assessment.document.title} ({assessment.document.pages} pages)", show_lines=False)
    table.add_column("Hallmark", no_wrap=True)
    table.add_column("Level", no_wrap=True)
    table.add_column("Conf.", justify="right")
    table.add_column("Met/part.", justify="right")
    table.add_column("Top evidence")
    for h in assessment.hallmarks:
        met = sum(d.status == "met" for d in h.descriptors)
        partial = sum(d.status == "partial" for d in h.descriptors)
        best = _best_evidence(h)
        evidence = "-"
        if best:
            d, quote = best
            evidence = f"{d.id} {where(d.evidence[0])}{_kind(d.evidence[0].kind)}: “{_short(quote)}”"
        level = h.level + (" (review)" if h.needs_review else "")
        table.add_row(
            f"{h.id} {_short(titles.get(h.id, ''), 34)}",
            level,
            f"{h.confidence:.2f}",
            f"{met}/{partial}",
            evidence,
        )
    console.print(table)
    if assessment.is_area:
        console.print(contributions_table(assessment))
    for warning in assessment.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")


def assessment_markdown(assessment: Assessment, rubric: Rubric) -> str:
    doc = assessment.document
    prov = assessment.provenance
    source = (
        f"area of {len(assessment.documents)} documents"
        if assessment.is_area
        else f"`{doc.path}` · {doc.pages} pages · sha256 `{doc.sha256[:12]}`"
    )
    lines = [
        f"# {doc.title}",
        "",
        f"{source} · rubric {prov.rubric_id} {prov.rubric_version} · judge {prov.judge} · "
        f"evaluator {prov.tool_version}",
        "",
        "| Hallmark | Level | Confidence | Needs review |",
        "|---|---|---|---|",
    ]
    titles = {h.id: h.title for h in rubric.hallmarks}
    for h in assessment.hallmarks:
        lines.append(
            f"| {h.id} {titles.get(h.id, '')} | {h.level} | {h.confidence:.2f} | {'yes' if h.needs_review else ''} |"
        )
    for h in assessment.hallmarks:
        lines += ["", f"## {h.id} {titles.get(h.id, '')}: {h.level}", ""]
        for d in h.descriptors:
            wording = rubric.descriptor(d.id).text
            lines.append(f"- **{d.id}** {d.status} ({d.probability:.2f}): {wording}")
            if d.status != "not_met":
                for e in d.evidence:
                    lines.append(f"  - {where(e)}{_kind(e.kind)}: “{_md_escape(e.text)}”")
            elif d.searched is not None:
                lines.append(f"  - {_md_escape(searched_line(d.searched))}")
    if assessment.targets:
        lines += [
            "",
            "## Targets",
            "",
            "| Page | Indicator | Number | Direction | Date |",
            "|---|---|---|---|---|",
        ]
        for t in assessment.targets:
            lines.append(
                f"| {where(t)} | {_md_escape(t.indicator)} | {_md_escape(t.number)} | {t.direction} | {t.date} |"
            )
    if assessment.is_area:
        lines += ["", "## What each document contributes", "", *contributions_markdown(assessment)]
    if assessment.warnings:
        lines += ["", "## Warnings", ""] + [f"- {w}" for w in assessment.warnings]
    return "\n".join(lines) + "\n"


def _kind(kind: str) -> str:
    return f" [{kind}]" if kind else ""


def searched_line(searched: Searched) -> str:
    """One line on what was looked for when a descriptor is not met (Markdown and HTML exports)."""
    cues = f"{len(searched.cues)} cue(s)" + (
        f", found: {', '.join(searched.cues_found)}" if searched.cues_found else ", none found"
    )
    closest = "; ".join(f"{_page(c.page)} {c.score:.2f}" for c in searched.closest)
    return (
        f"Searched {searched.passages_considered} of {searched.passages_total} passages with "
        f"{len(searched.queries)} queries and {cues}"
        + (f"; closest (not evidence): {closest}" if closest else "; nothing close")
    )


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


@dataclass(frozen=True)
class Contribution:
    """What one document of an area supplies: the hallmarks and descriptors (met or partial) for which
    the area cites it, those for which it holds the best citation, and how many citations that is."""

    id: str
    role: str
    pages: int
    error: str
    hallmarks: tuple[str, ...]
    descriptors: tuple[str, ...]  # any of the descriptor's citations is from this document
    best: tuple[str, ...]  # the descriptor's first (strongest) citation is from this document
    citations: int


def contributions(assessment: Assessment) -> list[Contribution]:
    """Per document of an area, in the area's order. A descriptor judged not met counts for no
    document (its closest passages are shown to the reviewer, but they are not evidence)."""
    rows = []
    for source in assessment.documents:
        cited = [
            (h.id, d.id, sum(e.document == source.id for e in d.evidence))
            for h in assessment.hallmarks
            for d in h.descriptors
            if d.status != "not_met"
        ]
        cited = [c for c in cited if c[2]]
        rows.append(
            Contribution(
                id=source.id,
                role=source.role,
                pages=source.pages,
                error=source.error,
                hallmarks=tuple(dict.fromkeys(h for h, _, _ in cited)),
                descriptors=tuple(d for _, d, _ in cited),
                best=tuple(
                    d.id
                    for h in assessment.hallmarks
                    for d in h.descriptors
                    if d.status != "not_met" and d.evidence and d.evidence[0].document == source.id
                ),
                citations=sum(n for _, _, n in cited),
            )
        )
    return rows


CONTRIBUTION_HEADER = (
    "Document",
    "Role",
    "Pages",
    "Descriptors cited, by hallmark",
    "Best citation for, by hallmark",
    "Citations",
)


def _by_hallmark(descriptors: tuple[str, ...]) -> str:
    counts: dict[str, int] = {}
    for descriptor_id in descriptors:
        hallmark = descriptor_id.split(".")[0]
        counts[hallmark] = counts.get(hallmark, 0) + 1
    return " · ".join(f"{h}: {n}" for h, n in counts.items()) or "none"


def _contribution_cells(row: Contribution) -> list[str]:
    if row.error:
        return [row.id, row.role, "-", f"not assessed: {row.error}", "-", "-"]
    return [
        row.id,
        row.role,
        str(row.pages),
        _by_hallmark(row.descriptors),
        _by_hallmark(row.best),
        str(row.citations),
    ]


def contributions_table(assessment: Assessment) -> Table:
    """What each document of an area supplies evidence for (rich table)."""
    table = Table(title="What each document contributes (descriptors met or partial)", show_lines=False)
    for name in CONTRIBUTION_HEADER:
        table.add_column(
            name,
            no_wrap=name in ("Document", "Pages"),
            justify="right" if name in ("Pages", "Citations") else "left",
        )
    for row in contributions(assessment):
        table.add_row(*_contribution_cells(row))
    return table


def contributions_markdown(assessment: Assessment) -> list[str]:
    """What each document of an area supplies evidence for (Markdown table lines, descriptors listed)."""
    lines = [
        "| " + " | ".join(CONTRIBUTION_HEADER) + " | Best citation for |",
        "|---|---|---:|---|---|---:|---|",
    ]
    for row in contributions(assessment):
        cells = _contribution_cells(row) + [", ".join(row.best)]
        lines.append("| " + " | ".join(_md_escape(c) for c in cells) + " |")
    return lines
