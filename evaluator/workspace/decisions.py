"""Reviewer decisions: accept or override a suggested level, judge evidence, record consensus.

Suggestions (``assessments``) and human decisions are different records. Every decision is appended,
never updated or deleted (triggers refuse it, in SQLite and PostgreSQL), so the history is an audit trail. A decision
points at the suggestion it answered; a re-screen supersedes the suggestion but keeps the decision.

Concurrency is optimistic: a form carries ``based_on``, the id of the latest decision on that
document+hallmark when the page was loaded. If someone decided since, the new decision is stored
anyway (nothing is lost) and comes back with the decisions it crossed, so the app can show both.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import combinations

from evaluator.errors import EvaluatorError
from evaluator.types import HALLMARK_IDS, LEVELS, Assessment
from evaluator.workspace import audit
from evaluator.workspace.backend import Row
from evaluator.workspace.store import StoredAssessment, Workspace, utc_now

ACTIONS = ("accept", "override")
VERDICTS = ("confirm", "reject")
MAX_NAME = 100  # characters in a reviewer's name
MAX_TEXT = 2000  # characters in a reason or a note


class DecisionError(EvaluatorError):
    """A decision cannot be recorded as given (unknown document, missing reason, bad level...)."""


@dataclass(frozen=True)
class Decision:
    id: int
    assessment_id: int
    sha256: str
    hallmark_id: str
    reviewer: str
    action: str
    level: str
    reason: str
    note: str
    suggested_level: str
    provenance: str
    based_on_decision_id: int | None
    created_at: str
    entry_hash: str | None = None  # chained to the previous decision (evaluator.workspace.audit)

    @classmethod
    def from_row(cls, row: Row) -> Decision:
        return cls(**{k: row[k] for k in row.keys()})


@dataclass(frozen=True)
class RecordedDecision:
    decision: Decision
    conflicts: list[Decision]  # decisions on the same document+hallmark made since ``based_on``

    @property
    def conflicted(self) -> bool:
        return bool(self.conflicts)


@dataclass(frozen=True)
class FinalLevel:
    hallmark_id: str
    level: str
    source: str  # 'reviewed' | 'consensus' | 'suggested'
    suggested_level: str | None
    reviewers: tuple[str, ...] = ()
    decision_id: int | None = None
    disputed: bool = False  # reviewers' latest decisions disagree and no consensus is recorded


@dataclass
class Agreement:
    """Weighted (quadratic) Cohen's kappa over level ordinals, with raw agreement and item count."""

    a: str
    b: str
    n: int
    kappa: float | None  # None when undefined (fewer than 2 items, or no variation at all)
    percent: float | None
    items: list[tuple[str, str, str, str]] = field(default_factory=list)  # sha256, hallmark, level a, level b


# ------------------------------------------------------------------ decisions


def _current_for(ws: Workspace, sha256: str, assessment_id: int | None) -> StoredAssessment:
    stored = ws.assessment(assessment_id) if assessment_id is not None else ws.current(sha256)
    if stored is None or stored.sha256 != sha256:
        raise DecisionError(
            f"No suggestion {assessment_id or ''} for document {sha256[:12]}. Reload the page."
        )
    return stored


def _check_lengths(reviewer: str, **texts: str) -> None:
    if len(reviewer) > MAX_NAME:
        raise DecisionError(f"The reviewer name is {len(reviewer)} characters; keep it under {MAX_NAME}.")
    for name, text in texts.items():
        if len(text) > MAX_TEXT:
            raise DecisionError(
                f"The {name} is {len(text):,} characters; keep it under {MAX_TEXT:,} "
                "(put a longer text elsewhere and refer to it)."
            )


def provenance_string(assessment: Assessment) -> str:
    p = assessment.provenance
    return (
        f"evaluator {p.tool_version}; judge {p.judge}; model {p.model_name}@{p.model_hash[:12]}; "
        f"rubric {p.rubric_id} {p.rubric_version}{f' ({p.rubric_hash})' if p.rubric_hash else ''}; "
        f"screened {p.created_at}"
    )


def record_decision(
    ws: Workspace,
    sha256: str,
    hallmark_id: str,
    *,
    reviewer: str,
    action: str,
    level: str | None = None,
    reason: str = "",
    note: str = "",
    based_on: int | None = None,
    assessment_id: int | None = None,
) -> RecordedDecision:
    """Append a decision. ``accept`` takes the suggested level; ``override`` needs a level and a reason."""
    reviewer, reason, note = reviewer.strip(), reason.strip(), note.strip()
    if not reviewer:
        raise DecisionError("Enter your name as reviewer before deciding.")
    _check_lengths(reviewer, reason=reason, note=note)
    if action not in ACTIONS:
        raise DecisionError(f"Unknown action {action!r}: use one of {', '.join(ACTIONS)}.")
    stored = _current_for(ws, sha256, assessment_id)
    try:
        suggested = stored.assessment.hallmark(hallmark_id).level
    except KeyError:
        raise DecisionError(
            f"Unknown hallmark {hallmark_id!r}: use one of {', '.join(HALLMARK_IDS)}."
        ) from None
    if action == "accept":
        level = suggested
    elif level not in LEVELS:
        raise DecisionError(f"Choose a level to override with: one of {', '.join(LEVELS)}.")
    elif not reason:
        raise DecisionError("An override needs a reason: say what the suggestion missed.")
    with ws.connect() as conn:
        conn.lock("decisions")  # check based_on and append atomically
        if (
            based_on is not None
            and not conn.execute(
                "SELECT 1 FROM decisions WHERE id = ? AND sha256 = ? AND hallmark_id = ?",
                (based_on, sha256, hallmark_id),
            ).fetchone()
        ):
            based_on = None  # a stale or foreign id: treat as "saw no decision", so any decision conflicts
        new_id = audit.append(
            conn,
            "decisions",
            {
                "assessment_id": stored.id,
                "sha256": sha256,
                "hallmark_id": hallmark_id,
                "reviewer": reviewer,
                "action": action,
                "level": level,
                "reason": reason,
                "note": note,
                "suggested_level": suggested,
                "provenance": provenance_string(stored.assessment),
                "based_on_decision_id": based_on,
                "created_at": utc_now(),
            },
        )
    decision = get_decision(ws, new_id)
    assert decision is not None  # just appended
    return RecordedDecision(decision, conflicts_of(ws, decision))


def get_decision(ws: Workspace, decision_id: int) -> Decision | None:
    with ws.connect() as conn:
        row = conn.execute("SELECT * FROM decisions WHERE id = ?", (decision_id,)).fetchone()
    return Decision.from_row(row) if row else None


def conflicts_of(ws: Workspace, decision: Decision) -> list[Decision]:
    """Decisions on the same document+hallmark made after ``based_on`` and before this one."""
    with ws.connect() as conn:
        rows = conn.execute(
            "SELECT * FROM decisions WHERE sha256 = ? AND hallmark_id = ? AND id > ? AND id < ? ORDER BY id",
            (decision.sha256, decision.hallmark_id, decision.based_on_decision_id or 0, decision.id),
        ).fetchall()
    return [Decision.from_row(r) for r in rows]


def decisions_for(ws: Workspace, sha256: str, hallmark_id: str | None = None) -> list[Decision]:
    """Every decision on a document (optionally one hallmark), oldest first."""
    sql, params = "SELECT * FROM decisions WHERE sha256 = ?", [sha256]
    if hallmark_id is not None:
        sql, params = sql + " AND hallmark_id = ?", [*params, hallmark_id]
    with ws.connect() as conn:
        return [Decision.from_row(r) for r in conn.execute(sql + " ORDER BY id", params).fetchall()]


def latest_decision(
    ws: Workspace, sha256: str, hallmark_id: str, reviewer: str | None = None
) -> Decision | None:
    rows = [d for d in decisions_for(ws, sha256, hallmark_id) if reviewer is None or d.reviewer == reviewer]
    return rows[-1] if rows else None


def latest_by_reviewer(decisions: list[Decision]) -> dict[str, Decision]:
    """Each reviewer's latest decision (input oldest first)."""
    return {d.reviewer: d for d in decisions}


# -------------------------------------------------------- evidence, consensus


def record_evidence_verdict(
    ws: Workspace,
    sha256: str,
    descriptor_id: str,
    *,
    passage_index: int,
    verdict: str,
    reviewer: str,
    assessment_id: int | None = None,
) -> int:
    """Confirm or reject one evidence passage of a descriptor (by its position in the suggestion)."""
    reviewer = reviewer.strip()
    if not reviewer:
        raise DecisionError("Enter your name as reviewer before judging evidence.")
    _check_lengths(reviewer)
    if verdict not in VERDICTS:
        raise DecisionError(f"Unknown verdict {verdict!r}: use one of {', '.join(VERDICTS)}.")
    stored = _current_for(ws, sha256, assessment_id)
    result = stored.assessment.descriptor_results().get(descriptor_id)
    if result is None or not 0 <= passage_index < len(result.evidence):
        raise DecisionError(f"No evidence passage {passage_index} for {descriptor_id}. Reload the page.")
    ev = result.evidence[passage_index]
    with ws.connect() as conn:
        return audit.append(
            conn,
            "evidence_decisions",
            {
                "assessment_id": stored.id,
                "sha256": sha256,
                "descriptor_id": descriptor_id,
                "passage_id": ev.passage_id,
                "text": ev.text,
                "page": ev.page,
                "verdict": verdict,
                "reviewer": reviewer,
                "created_at": utc_now(),
            },
        )


def evidence_verdicts(ws: Workspace, sha256: str) -> dict[tuple[str, str], list[Row]]:
    """Verdicts keyed by (descriptor id, passage text), oldest first."""
    with ws.connect() as conn:
        rows = conn.execute(
            "SELECT * FROM evidence_decisions WHERE sha256 = ? ORDER BY id", (sha256,)
        ).fetchall()
    out: dict[tuple[str, str], list[Row]] = {}
    for r in rows:
        out.setdefault((r["descriptor_id"], r["text"]), []).append(r)
    return out


def record_consensus(
    ws: Workspace, sha256: str, hallmark_id: str, *, level: str, recorded_by: str, reason: str, note: str = ""
) -> int:
    """Record the level reviewers agreed on; it settles the hallmark, so it needs a recorder and a reason."""
    recorded_by, reason, note = recorded_by.strip(), reason.strip(), note.strip()
    if not recorded_by:
        raise DecisionError("Enter your name before recording a consensus.")
    if not reason:
        raise DecisionError("A consensus needs a reason: say what the reviewers agreed and why.")
    _check_lengths(recorded_by, reason=reason, note=note)
    if level not in LEVELS:
        raise DecisionError(f"Choose a consensus level: one of {', '.join(LEVELS)}.")
    if hallmark_id not in HALLMARK_IDS:
        raise DecisionError(f"Unknown hallmark {hallmark_id!r}: use one of {', '.join(HALLMARK_IDS)}.")
    if ws.current(sha256) is None:
        raise DecisionError(f"No document {sha256[:12]} in this workspace.")
    with ws.connect() as conn:
        return audit.append(
            conn,
            "consensus",
            {
                "sha256": sha256,
                "hallmark_id": hallmark_id,
                "level": level,
                "recorded_by": recorded_by,
                "reason": reason,
                "note": note,
                "created_at": utc_now(),
            },
        )


def consensus_for(ws: Workspace, sha256: str) -> dict[str, Row]:
    """The latest consensus per hallmark."""
    with ws.connect() as conn:
        rows = conn.execute("SELECT * FROM consensus WHERE sha256 = ? ORDER BY id", (sha256,)).fetchall()
    return {r["hallmark_id"]: r for r in rows}


# ---------------------------------------------------------------- final level


@dataclass
class Reviews:
    """One document's reviewer records: decisions (oldest first), the latest consensus per hallmark, and
    evidence verdicts keyed by (descriptor id, passage text), oldest first."""

    decisions: list[Decision] = field(default_factory=list)
    consensus: dict[str, Row] = field(default_factory=dict)
    verdicts: dict[tuple[str, str], list[Row]] = field(default_factory=dict)

    def final_levels(self, suggested: Mapping[str, str]) -> dict[str, FinalLevel]:
        """``final_levels`` given the current suggestion's level per hallmark."""
        out: dict[str, FinalLevel] = {}
        for hid in HALLMARK_IDS:
            mine = [d for d in self.decisions if d.hallmark_id == hid]
            latest = latest_by_reviewer(mine)
            c = self.consensus.get(hid)
            if c is not None:
                out[hid] = FinalLevel(hid, c["level"], "consensus", suggested.get(hid), (c["recorded_by"],))
            elif latest:
                last = mine[-1]
                disputed = len({d.level for d in latest.values()}) > 1
                out[hid] = FinalLevel(
                    hid, last.level, "reviewed", suggested.get(hid), tuple(latest), last.id, disputed
                )
            elif hid in suggested:
                out[hid] = FinalLevel(hid, suggested[hid], "suggested", suggested[hid])
        return out


def reviews_for(ws: Workspace, sha256: str) -> Reviews:
    return Reviews(decisions_for(ws, sha256), consensus_for(ws, sha256), evidence_verdicts(ws, sha256))


def all_reviews(ws: Workspace, *, verdicts: bool = True) -> dict[str, Reviews]:
    """Every document's reviewer records by sha256 (``verdicts=False``: without evidence verdicts), in
    three queries however many documents: what lists and exports of a whole workspace read."""
    out: dict[str, Reviews] = {}
    with ws.connect() as conn:
        for r in conn.execute("SELECT * FROM decisions ORDER BY id"):
            out.setdefault(r["sha256"], Reviews()).decisions.append(Decision.from_row(r))
        for r in conn.execute("SELECT * FROM consensus ORDER BY id"):
            out.setdefault(r["sha256"], Reviews()).consensus[r["hallmark_id"]] = r
        rows = conn.execute("SELECT * FROM evidence_decisions ORDER BY id") if verdicts else ()
        for r in rows:
            by_passage = out.setdefault(r["sha256"], Reviews()).verdicts
            by_passage.setdefault((r["descriptor_id"], r["text"]), []).append(r)
    return out


def final_levels(ws: Workspace, sha256: str) -> dict[str, FinalLevel]:
    """Per hallmark: the latest consensus if one is recorded, else the reviewers' level, else the suggestion.

    A consensus settles the hallmark until a newer consensus is recorded. With several reviewers who
    disagree and no consensus, the most recent decision is used and the result is marked ``disputed``.
    """
    stored = ws.current(sha256)
    suggested = {h.id: h.level for h in stored.assessment.hallmarks} if stored else {}
    return Reviews(decisions_for(ws, sha256), consensus_for(ws, sha256)).final_levels(suggested)


# ------------------------------------------------------------------ agreement


def weighted_kappa(a: list[str], b: list[str]) -> float | None:
    """Quadratic-weighted Cohen's kappa over level ordinals; None when undefined."""
    if len(a) < 2:
        return None
    from sklearn.metrics import cohen_kappa_score  # heavy import, only when asked

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined kappa (no variation) -> nan -> None
        value = cohen_kappa_score(
            [LEVELS.index(x) for x in a],
            [LEVELS.index(x) for x in b],
            labels=list(range(len(LEVELS))),
            weights="quadratic",
        )
    return None if math.isnan(value) else float(value)


def _agreement(a: str, b: str, items: list[tuple[str, str, str, str]]) -> Agreement:
    la, lb = [i[2] for i in items], [i[3] for i in items]
    percent = sum(x == y for x, y in zip(la, lb, strict=True)) / len(items) if items else None
    return Agreement(a, b, len(items), weighted_kappa(la, lb), percent, items)


def _latest_per_item(ws: Workspace) -> dict[tuple[str, str], dict[str, Decision]]:
    with ws.connect() as conn:
        rows = conn.execute("SELECT * FROM decisions ORDER BY id").fetchall()
    items: dict[tuple[str, str], dict[str, Decision]] = {}
    for r in rows:
        d = Decision.from_row(r)
        items.setdefault((d.sha256, d.hallmark_id), {})[d.reviewer] = d
    return items


def reviewer_agreement(ws: Workspace) -> list[Agreement]:
    """Every pair of reviewers, over the document+hallmarks both decided (each one's latest decision)."""
    items = _latest_per_item(ws)
    reviewers = sorted({r for by in items.values() for r in by})
    out = []
    for a, b in combinations(reviewers, 2):
        both = [
            (sha, hid, by[a].level, by[b].level)
            for (sha, hid), by in sorted(items.items())
            if a in by and b in by
        ]
        if both:
            out.append(_agreement(a, b, both))
    return out


def tool_agreement(ws: Workspace) -> list[Agreement]:
    """The tool's suggestion (the one each reviewer answered) against each reviewer, and against all pooled."""
    items = _latest_per_item(ws)
    per: dict[str, list[tuple[str, str, str, str]]] = {}
    for (sha, hid), by in sorted(items.items()):
        for reviewer, d in by.items():
            per.setdefault(reviewer, []).append((sha, hid, d.suggested_level, d.level))
    out = [_agreement("tool", r, rows) for r, rows in sorted(per.items())]
    pooled = [row for rows in per.values() for row in rows]
    if len(per) > 1:
        out.append(_agreement("tool", "all reviewers", pooled))
    return out
