"""Recording a screen's results as they arrive: each assessment saved (JSON file, then one SQLite
transaction), each failure logged with its one-line reason, each outcome reported."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from evaluator.files import atomic_write
from evaluator.types import Assessment
from evaluator.workspace.progress import ProgressBar, Work
from evaluator.workspace.store import StoredAssessment, Workspace


@dataclass(frozen=True)
class Outcome:
    """What happened to one input file."""

    path: str
    status: str  # "ok" | "skipped" | "failed"
    sha256: str = ""
    pages: int = 0
    reason: str = ""  # failure message, or why it was skipped
    assessment_id: int | None = None
    levels: dict[str, str] = field(default_factory=dict)
    confidence: float | None = None  # mean hallmark confidence
    warnings: tuple[str, ...] = ()  # the assessment's warnings (pages not read, no text layer...)


class Recorder:
    """Records outcomes as they arrive: saves assessments, logs failures, advances the progress bar."""

    def __init__(self, ws: Workspace, run_id: int, progress: Callable[[Outcome], None] | None):
        self.ws, self.run_id, self.progress = ws, run_id, progress
        self.outcomes: list[Outcome] = []
        self.rss: list[float] = []  # the workers' peak memory (MB), as they stop
        # each worker's resident memory when ready, then after each document
        self.resident: list[list[float]] = []
        self.replaced = 0  # workers replaced because their memory grew (pool.RECYCLE_GROWTH_MB)
        self.bar: ProgressBar | None = None

    def worker_stopped(self, peak_mb: float, resident_mb: list[float]) -> None:
        self.rss.append(peak_mb)
        self.resident.append(list(resident_mb))

    def summary_of(self, status: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == status]

    def add(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        if self.progress:
            self.progress(outcome)

    def skip(self, path: Path, current: StoredAssessment) -> None:
        json_path = _json_path(self.ws, path, current.sha256)
        if not json_path.exists():  # the file went missing: restore it from the database
            atomic_write(json_path, current.assessment.model_dump_json(indent=2))
        self.add(_outcome(str(path), "skipped", current.assessment, current.id, "unchanged"))

    def fail(self, path: str, reason: str) -> None:
        self.ws.record_failure(self.run_id, path, reason)
        self.add(Outcome(path, "failed", reason=reason))

    def finish(self, item: Work, kind: str, payload: list[str]) -> None:
        """``kind`` "ok" with payload [assessment JSON, cache key], or "failed" with [reason]."""
        path, estimate, _ = item
        pages = estimate
        if kind == "ok":
            assessment = Assessment.model_validate_json(payload[0])
            atomic_write(
                _json_path(self.ws, path, assessment.document.sha256), assessment.model_dump_json(indent=2)
            )
            self.ws.store_document_file(assessment.document.sha256, path)
            new_id = self.ws.save_assessment(assessment, cache_key=payload[1], run_id=self.run_id)
            pages = assessment.document.pages
            self.add(_outcome(str(path), "ok", assessment, new_id))
        else:
            self.fail(str(path), payload[0])
        if self.bar is not None:
            self.bar.done(pages, estimate)


def _outcome(path: str, status: str, assessment: Assessment, assessment_id: int, reason: str = "") -> Outcome:
    confidences = [h.confidence for h in assessment.hallmarks]
    return Outcome(
        path,
        status,
        assessment.document.sha256,
        assessment.document.pages,
        reason,
        assessment_id,
        {h.id: h.level for h in assessment.hallmarks},
        sum(confidences) / len(confidences) if confidences else None,
        tuple(assessment.warnings),
    )


def _json_path(ws: Workspace, path: Path, sha256: str) -> Path:
    return ws.folder("assessments") / f"{path.stem}-{sha256[:12]}.json"
