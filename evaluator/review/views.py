"""What the review pages show: plain dicts built from the workspace, so templates stay logic-free."""

from __future__ import annotations

from dataclasses import asdict, fields
from statistics import mean
from urllib.parse import urlencode

from evaluator.rubric import descriptor_info, hallmark_title
from evaluator.types import HALLMARK_IDS, KINDS, LEVELS, RUBRIC_LEVELS, HallmarkResult, Rubric
from evaluator.workspace import decisions as dec
from evaluator.workspace.backend import Row
from evaluator.workspace.page_images import box_param
from evaluator.workspace.store import AssessmentSummary, StoredAssessment, Workspace

Verdicts = dict[tuple[str, str], list[Row]]
STATUS_LABEL = {"met": "met", "partial": "partial", "not_met": "not found"}


def page_link(sha256: str, page: int, boxes: list, *, png: bool, crop: bool = False, source: str = "") -> str:
    """A page of a document, or with ``source`` a page of one document of an area."""
    query = [("source", source)] if source else []
    query += [("box", box_param(b)) for b in boxes if b]
    if crop:
        query.append(("crop", "1"))
    suffix = ".png" if png else ""
    return f"/documents/{sha256}/pages/{page}{suffix}" + (f"?{urlencode(query)}" if query else "")


# ------------------------------------------------------------------ documents


def document_summary(ws: Workspace, stored: StoredAssessment) -> dict:
    return _summary(stored.summary, dec.final_levels(ws, stored.sha256))


def _summary(s: AssessmentSummary, finals: dict[str, dec.FinalLevel]) -> dict:
    decided = sum(1 for f in finals.values() if f.source != "suggested")
    total = len(s.hallmarks)
    return {
        "sha256": s.sha256,
        "title": s.title or s.path.rsplit("/", 1)[-1],
        "path": s.path,
        "pages": s.pages,
        "levels": {h.id: h.level for h in s.hallmarks},
        "finals": {hid: _fields(f) for hid, f in finals.items()},
        "decided": decided,
        "total": total,
        "status": "done" if total and decided >= total else ("in_progress" if decided else "unreviewed"),
        "confidence": mean(h.confidence for h in s.hallmarks) if s.hallmarks else 0.0,
        "needs_review": sum(1 for h in s.hallmarks if h.needs_review),
    }


def _fields(final: dec.FinalLevel) -> dict:
    """``asdict(final)`` without its deep copies, the slowest step of a list of many documents."""
    return {f.name: getattr(final, f.name) for f in fields(final)}


SORT_KEYS = {
    "title": lambda d: d["title"].lower(),
    "confidence": lambda d: d["confidence"],
    "needs_review": lambda d: d["needs_review"],
    "status": lambda d: ("unreviewed", "in_progress", "done").index(d["status"]),
}


def document_list(
    ws: Workspace,
    *,
    needs_review: str = "",
    confidence: float | None = None,
    status: str = "",
    sort: str = "title",
    order: str = "asc",
) -> list[dict]:
    """Filters: needs_review=yes|no, confidence = highest mean confidence shown, status=unreviewed|in_progress|done."""
    reviews = dec.all_reviews(ws, verdicts=False)  # no query per document, no assessment JSON read
    docs = [
        _summary(s, reviews.get(s.sha256, dec.Reviews()).final_levels(s.levels))
        for s in ws.current_summaries()
    ]
    if needs_review in ("yes", "no"):
        docs = [d for d in docs if (d["needs_review"] > 0) == (needs_review == "yes")]
    if confidence is not None:
        docs = [d for d in docs if d["confidence"] <= confidence]
    if status:
        docs = [d for d in docs if d["status"] == status]
    docs.sort(key=SORT_KEYS.get(sort, SORT_KEYS["title"]), reverse=order == "desc")
    return docs


# ------------------------------------------------------------------- document


def _evidence(sha256: str, descriptor_id: str, evidence: list, verdicts: dict) -> list[dict]:
    out = []
    for i, ev in enumerate(evidence):
        boxes = [ev.bbox] if ev.bbox else []
        out.append(
            {
                "index": i,
                "page": ev.page,
                "document": ev.document,  # in an area: which of its documents
                "text": ev.text,
                "score": ev.score,
                "headings": ev.headings,
                "kind": ev.kind,
                "thumb": page_link(sha256, ev.page, boxes, png=True, crop=True, source=ev.document)
                if ev.page
                else None,
                "full": page_link(sha256, ev.page, boxes, png=False, source=ev.document) if ev.page else None,
                "verdicts": [dict(v) for v in verdicts.get((descriptor_id, ev.text), [])],
            }
        )
    return out


def _hallmark(
    rubric: Rubric,
    stored: StoredAssessment,
    h: HallmarkResult,
    history: list[dec.Decision],
    consensus: Row | None,
    final: dec.FinalLevel | None,
    verdicts: Verdicts,
) -> dict:
    by_level: dict[str, list[dict]] = {lvl: [] for lvl in RUBRIC_LEVELS}
    for d in h.descriptors:
        level, wording = descriptor_info(rubric, d.id)
        by_level.setdefault(level, []).append(
            {
                "id": d.id,
                "text": wording,
                "status": d.status,
                "status_label": STATUS_LABEL[d.status],
                "probability": d.probability,
                "evidence": _evidence(stored.sha256, d.id, d.evidence, verdicts),
                "searched": d.searched.model_dump() if d.searched else None,
            }
        )
    latest = dec.latest_by_reviewer(history)
    return {
        "id": h.id,
        "title": hallmark_title(rubric, h.id),
        "level": h.level,
        "confidence": h.confidence,
        "needs_review": h.needs_review,
        "levels": [{"level": lvl, "descriptors": ds} for lvl, ds in by_level.items() if ds],
        "based_on": history[-1].id if history else "",
        "history": [{**asdict(d), "earlier": d.assessment_id != stored.id} for d in reversed(history)],
        "reviewers": [asdict(d) for d in latest.values()],
        "agree": len({d.level for d in latest.values()}) <= 1,
        "consensus": dict(consensus) if consensus else None,
        "final": asdict(final) if final else None,
    }


def document_detail(ws: Workspace, stored: StoredAssessment) -> dict:
    a = stored.assessment
    all_decisions = dec.decisions_for(ws, stored.sha256)
    consensus = dec.consensus_for(ws, stored.sha256)
    finals = dec.final_levels(ws, stored.sha256)
    verdicts = dec.evidence_verdicts(ws, stored.sha256)
    rubric = ws.rubric()
    order = {hid: i for i, hid in enumerate(HALLMARK_IDS)}
    hallmarks = [
        _hallmark(
            rubric,
            stored,
            h,
            [d for d in all_decisions if d.hallmark_id == h.id],
            consensus.get(h.id),
            finals.get(h.id),
            verdicts,
        )
        for h in sorted(a.hallmarks, key=lambda h: order.get(h.id, 99))
    ]
    return {
        "summary": document_summary(ws, stored),
        "assessment_id": stored.id,
        "screened_at": stored.created_at,
        "provenance": dec.provenance_string(a),
        "earlier_suggestions": len(ws.history(stored.sha256)) - 1,
        "warnings": a.warnings,
        "hallmarks": hallmarks,
        "levels": LEVELS,
        "kinds": KINDS,
    }


def conflict_banner(ws: Workspace, sha256: str, decision_id: int) -> dict | None:
    d = dec.get_decision(ws, decision_id)
    if d is None or d.sha256 != sha256:
        return None
    return {"decision": asdict(d), "conflicts": [asdict(c) for c in dec.conflicts_of(ws, d)]}


def evidence_on_page(stored: StoredAssessment, page: int, source: str = "") -> list[dict]:
    """The evidence cited on one page (of the area's document ``source``, for an area)."""
    out = []
    for h in stored.assessment.hallmarks:
        for d in h.descriptors:
            for ev in d.evidence:
                if ev.page == page and ev.document == source:
                    out.append(
                        {
                            "descriptor": d.id,
                            "status": STATUS_LABEL[d.status],
                            "text": ev.text,
                            "bbox": ev.bbox,
                        }
                    )
    return out
