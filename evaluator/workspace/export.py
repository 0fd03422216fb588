"""Export the final assessment of every document: JSON, CSV, XLSX (maturity-model grid) or one HTML file.

The final level per hallmark is the consensus where one is recorded, the reviewers' level where
someone decided, and the tool's suggestion otherwise; the ``source`` field says which.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

from evaluator import __version__
from evaluator.assessment_report import searched_line
from evaluator.bulk import paused_gc
from evaluator.errors import EvaluatorError
from evaluator.rubric import descriptor_info, hallmark_title
from evaluator.sanitize import append_row, write_csv_rows
from evaluator.types import RUBRIC_LEVELS, Rubric
from evaluator.workspace import decisions as dec
from evaluator.workspace.page_images import page_image
from evaluator.workspace.store import StoredAssessment, Workspace, utc_now

FORMATS = ("json", "csv", "xlsx", "html")
EXPORT_SCHEMA = "1.0"
CSV_FIELDS = [
    "sha256",
    "title",
    "path",
    "hallmark",
    "suggested_level",
    "confidence",
    "needs_review",
    "final_level",
    "source",
    "disputed",
    "reviewer",
    "action",
    "reason",
    "note",
    "decided_at",
    "consensus_level",
    "consensus_recorded_by",
    "consensus_reason",
    "consensus_at",
]

# What an export says of each evidence passage (in Evidence's order; read as attributes: model_dump
# per passage was a third of an export's time).
EVIDENCE_FIELDS = ("page", "text", "bbox", "score", "kind", "document")


def final_assessment(
    ws: Workspace, stored: StoredAssessment, rubric: Rubric | None = None, reviews: dec.Reviews | None = None
) -> dict:
    """One document's current suggestion, decisions and final levels as plain data (titles and wording
    from ``rubric``; ``reviews``: the document's reviewer records, read from ``ws`` when not given)."""
    a = stored.assessment
    if reviews is None:
        reviews = dec.reviews_for(ws, stored.sha256)
    finals = reviews.final_levels({h.id: h.level for h in a.hallmarks})
    consensus, verdicts, decisions = reviews.consensus, reviews.verdicts, reviews.decisions
    hallmarks = []
    for h in a.hallmarks:
        final = finals.get(h.id)
        mine = [d for d in decisions if d.hallmark_id == h.id]
        last = mine[-1] if mine else None
        c = consensus.get(h.id)
        descriptors = []
        for d in h.descriptors:
            level, wording = descriptor_info(rubric, d.id)
            descriptors.append(
                {
                    "id": d.id,
                    "level": level,
                    "text": wording,
                    "status": d.status,
                    "probability": d.probability,
                    # for a descriptor not met: one line on what was searched (its `evidence` is then
                    # only the closest passages, not evidence)
                    "searched": searched_line(d.searched) if d.searched else "",
                    "evidence": [
                        {
                            **{f: getattr(e, f) for f in EVIDENCE_FIELDS},
                            "verdicts": [
                                {"reviewer": v["reviewer"], "verdict": v["verdict"]}
                                for v in verdicts.get((d.id, e.text), [])
                            ],
                        }
                        for e in d.evidence
                    ],
                }
            )
        hallmarks.append(
            {
                "id": h.id,
                "title": hallmark_title(rubric, h.id),
                "suggested_level": h.level,
                "confidence": h.confidence,
                "needs_review": h.needs_review,
                "final_level": final.level if final else h.level,
                "source": final.source if final else "suggested",
                "disputed": final.disputed if final else False,
                "reviewers": list(final.reviewers) if final else [],
                "decision": None
                if last is None
                else {
                    "id": last.id,
                    "reviewer": last.reviewer,
                    "action": last.action,
                    "level": last.level,
                    "reason": last.reason,
                    "note": last.note,
                    "created_at": last.created_at,
                    "on_earlier_suggestion": last.assessment_id != stored.id,
                },
                "decisions": len(mine),
                "consensus": None
                if c is None
                else {
                    "level": c["level"],
                    "recorded_by": c["recorded_by"],
                    "reason": c["reason"],
                    "note": c["note"],
                    "created_at": c["created_at"],
                },
                "descriptors": descriptors,
            }
        )
    return {
        "export_schema_version": EXPORT_SCHEMA,
        "document": {**a.document.model_dump(), "path": stored.path},
        "assessment_id": stored.id,
        "provenance": a.provenance.model_dump(),
        "hallmarks": hallmarks,
    }


def export_records(ws: Workspace) -> list[dict]:
    rubric = ws.rubric()
    reviews = dec.all_reviews(ws)
    return [
        final_assessment(ws, s, rubric, reviews.get(s.sha256, dec.Reviews()))
        for s in ws.current_assessments()
    ]


# -------------------------------------------------------------------- writers


def write_json(out: Path, records: list[dict]) -> None:
    payload = {"exported_at": utc_now(), "tool_version": __version__, "documents": records}
    out.write_text(json.dumps(payload, indent=2, ensure_ascii=False), encoding="utf-8")


def csv_rows(records: list[dict]) -> list[dict]:
    rows = []
    for r in records:
        for h in r["hallmarks"]:
            d = h["decision"] or {}
            c = h["consensus"] or {}
            rows.append(
                {
                    "sha256": r["document"]["sha256"],
                    "title": r["document"]["title"],
                    "path": r["document"]["path"],
                    "hallmark": h["id"],
                    "suggested_level": h["suggested_level"],
                    "confidence": f"{h['confidence']:.3f}",
                    "needs_review": h["needs_review"],
                    "final_level": h["final_level"],
                    "source": h["source"],
                    "disputed": h["disputed"],
                    "reviewer": d.get("reviewer", ""),
                    "action": d.get("action", ""),
                    "reason": d.get("reason", ""),
                    "note": d.get("note", ""),
                    "decided_at": d.get("created_at", ""),
                    "consensus_level": c.get("level", ""),
                    "consensus_recorded_by": c.get("recorded_by", ""),
                    "consensus_reason": c.get("reason", ""),
                    "consensus_at": c.get("created_at", ""),
                }
            )
    return rows


def write_csv(out: Path, records: list[dict]) -> None:
    write_csv_rows(out, CSV_FIELDS, csv_rows(records))


def _sheet_name(index: int, title: str, taken: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", " ", f"{index} {title}").strip()[:31] or str(index)
    name, n = base, 2
    while name.lower() in taken:
        name, n = f"{base[:27]} ({n})", n + 1
    taken.add(name.lower())
    return name


def _grid_cell(descriptors: list[dict]) -> str:
    lines = []
    for d in descriptors:
        line = f"{d['id']} [{d['status']}]"
        if d["text"]:
            line += f" {d['text']}"
        if d.get("searched"):
            line += f"\n  {d['searched']}"
            lines.append(line)
            continue
        for e in d["evidence"][:2]:
            kind = f"[{e['kind']}] " if e.get("kind") else ""
            page = f"p.{e['page']} {kind}" if e["page"] else kind
            if e.get("document"):  # in an area: which of its documents
                page = f"{e['document']} {page}"
            line += f'\n  {page}"{e["text"]}"'
        lines.append(line)
    return "\n".join(lines)


def write_xlsx(out: Path, records: list[dict]) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    summary = wb.active
    summary.title = "Summary"
    hallmark_ids = [h["id"] for h in records[0]["hallmarks"]] if records else []
    append_row(
        summary,
        [
            "Document",
            "Path",
            "sha256",
            *[f"Hallmark {h}" for h in hallmark_ids],
            *[f"Source {h}" for h in hallmark_ids],
            "Sheet",
        ],
    )
    taken = {"summary"}
    wrap = Alignment(wrap_text=True, vertical="top")
    for i, r in enumerate(records, start=1):
        doc = r["document"]
        name = _sheet_name(i, doc["title"] or Path(doc["path"]).stem, taken)
        by_id = {h["id"]: h for h in r["hallmarks"]}
        append_row(
            summary,
            [
                doc["title"],
                doc["path"],
                doc["sha256"],
                *[by_id[h]["final_level"] if h in by_id else "" for h in hallmark_ids],
                *[by_id[h]["source"] if h in by_id else "" for h in hallmark_ids],
                name,
            ],
        )
        ws = wb.create_sheet(name)
        append_row(
            ws,
            [
                "Hallmark",
                *[lvl.capitalize() for lvl in RUBRIC_LEVELS],
                "Suggested level",
                "Confidence",
                "Final level",
                "Source",
                "Reviewer",
                "Decision",
                "Reason",
                "Note",
                "Consensus",
                "Consensus by",
                "Consensus reason",
            ],
        )
        for h in r["hallmarks"]:
            d = h["decision"] or {}
            c = h["consensus"] or {}
            append_row(
                ws,
                [
                    f"{h['id']} {h['title']}".strip(),
                    *[
                        _grid_cell([x for x in h["descriptors"] if x["level"] == lvl])
                        for lvl in RUBRIC_LEVELS
                    ],
                    h["suggested_level"],
                    round(h["confidence"], 3),
                    h["final_level"],
                    h["source"],
                    d.get("reviewer", ""),
                    f"{d['action']} {d['level']}" if d else "",
                    d.get("reason", ""),
                    d.get("note", ""),
                    f"{c['level']} ({c['recorded_by']})" if c else "",
                    c.get("recorded_by", ""),
                    c.get("reason", ""),
                ],
            )
        for row in ws.iter_rows(min_row=2):
            for cell in row:
                cell.alignment = wrap
        for col, width in zip(
            "ABCDEFGHIJKLMNO", (18, 60, 60, 60, 12, 10, 12, 10, 14, 18, 30, 24, 18, 14, 30), strict=True
        ):
            ws.column_dimensions[col].width = width
        for cell in ws[1]:
            cell.font = Font(bold=True)
    for cell in summary[1]:
        cell.font = Font(bold=True)
    wb.save(out)


def _thumbnails(ws: Workspace, records: list[dict], stored: dict[str, StoredAssessment]) -> dict:
    """base64 PNG per (sha256, descriptor id, evidence index) for met/partial evidence with a box."""
    images: dict[tuple[str, str, int], str] = {}
    for r in records:
        sha = r["document"]["sha256"]
        sources = {d.id: d.sha256 for d in stored[sha].assessment.documents}  # an area's documents
        for h in r["hallmarks"]:
            for d in h["descriptors"]:
                if d["status"] == "not_met":
                    continue
                for i, e in enumerate(d["evidence"][:2]):
                    source = e.get("document", "")
                    try:
                        path = ws.document_file(stored[sha], source)
                    except KeyError:
                        continue
                    if not (e["page"] and e["bbox"]) or not path.is_file():
                        continue
                    try:
                        png = page_image(
                            path,
                            e["page"],
                            [e["bbox"]],
                            resolution=72,
                            crop=True,
                            sha256=sources.get(source, sha),
                            cache_dir=ws.page_cache,
                        )
                    except EvaluatorError:
                        continue
                    images[(sha, d["id"], i)] = base64.b64encode(png).decode("ascii")
    return images


def write_html(out: Path, records: list[dict], ws: Workspace) -> None:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("evaluator.workspace", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    stored = {s.sha256: s for s in ws.current_assessments()}
    html = env.get_template("export.html").render(
        records=records,
        images=_thumbnails(ws, records, stored),
        exported_at=utc_now(),
        tool_version=__version__,
        levels=RUBRIC_LEVELS,
    )
    out.write_text(html, encoding="utf-8")


def export(ws: Workspace, fmt: str, out: str | Path) -> int:
    """Write every document's final assessment to ``out``; returns the number of documents."""
    if fmt not in FORMATS:
        raise EvaluatorError(f"Unknown export format {fmt!r}: use one of {', '.join(FORMATS)}.")
    out = Path(out)
    if not out.parent.is_dir():
        raise EvaluatorError(f"Folder {out.parent} does not exist. Create it or choose another --out.")
    with paused_gc():  # millions of acyclic dicts and cells: evaluator/bulk.py
        records = export_records(ws)
        if fmt == "json":
            write_json(out, records)
        elif fmt == "csv":
            write_csv(out, records)
        elif fmt == "xlsx":
            write_xlsx(out, records)
        else:
            write_html(out, records, ws)
    return len(records)
