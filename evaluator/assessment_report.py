"""Human-readable renderings of one Assessment: a terminal table and Markdown."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from evaluator.types import Assessment, DescriptorResult, HallmarkResult, Rubric, Searched

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
            evidence = f"{d.id} {_page(d.evidence[0].page)}{_kind(d.evidence[0].kind)}: “{_short(quote)}”"
        level = h.level + (" (review)" if h.needs_review else "")
        table.add_row(
            f"{h.id} {_short(titles.get(h.id, ''), 34)}",
            level,
            f"{h.confidence:.2f}",
            f"{met}/{partial}",
            evidence,
        )
    console.print(table)
    for warning in assessment.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")


def assessment_markdown(assessment: Assessment, rubric: Rubric) -> str:
    doc = assessment.document
    prov = assessment.provenance
    lines = [
        f"# {doc.title}",
        "",
        f"`{doc.path}` · {doc.pages} pages · sha256 `{doc.sha256[:12]}` · rubric {prov.rubric_id} "
        f"{prov.rubric_version} · judge {prov.judge} · evaluator {prov.tool_version}",
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
                    lines.append(f"  - {_page(e.page)}{_kind(e.kind)}: “{_md_escape(e.text)}”")
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
                f"| {_page(t.page)} | {_md_escape(t.indicator)} | {_md_escape(t.number)} | {t.direction} | {t.date} |"
            )
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
