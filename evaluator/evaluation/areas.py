"""Area-level agreement: a board's labelled documents assessed together, against gold derived from theirs.

Reviewers label documents, not areas, so an area's gold is derived from its documents' gold labels:

* a descriptor's judgement is the best of its documents' judgements (met > partial > not_met): the
  area has the evidence if any of its documents has it;
* its evidence pages are those of every document with that best judgement (none when not met), each
  moved past the pages of the documents listed before it in the areas file, as the area's citations
  are for scoring (so page 3 of the JSNA and page 3 of the strategy stay apart);
* a hallmark's level is the higher of (a) the DESIGN.md level rule (``level_from_statuses``) applied
  to the derived judgements and (b) the best of the documents' gold levels: a reviewer's holistic level
  for one document holds for a set that contains it, and the rule lifts it when the documents'
  evidence together reaches a level that no single document does.

The area is judged leave-area-out: the judge and the evidence ranker are fitted on every gold document
except the area's own. Beside it, "best document" combines the same fold's per-document suggestions
exactly as the gold is combined from per-document labels, so the gain of matching the documents
together shows; and the per-document scores of the same documents are reported too.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from pydantic import BaseModel

from evaluator.area import judge_area
from evaluator.errors import EvaluatorError
from evaluator.evaluation.calibrate import fit_judge, training_set
from evaluator.evaluation.gold import GoldDescriptor, GoldHallmark, GoldLabel
from evaluator.evaluation.metrics import DocPrediction, Scores, score
from evaluator.pipeline import Analysis, Pipeline
from evaluator.stages.judge import level_from_statuses
from evaluator.stages.match import match
from evaluator.stages.rank import RankerModel, RankingExample, fit_ranker
from evaluator.types import LEVELS, RUBRIC_LEVELS, STATUSES, Assessment, Level, Rubric, SourceDocument

AREA_JOINT = "area (documents matched together)"
AREA_BEST_DOCUMENT = "best document (per-document suggestions combined like the gold)"
AREA_MEMBERS = "the same documents, one by one"


@dataclass(frozen=True)
class AreaSpec:
    name: str
    doc_ids: tuple[str, ...]
    roles: tuple[str, ...]


class AreaReport(BaseModel):
    areas: dict[str, list[str]]  # area name -> doc ids, in the areas file's order
    systems: dict[str, Scores]  # AREA_JOINT, AREA_BEST_DOCUMENT (over areas), AREA_MEMBERS (over documents)
    predictions: dict[str, dict[str, DocPrediction]]  # system -> area -> prediction
    gold_levels: dict[str, dict[str, str]]  # area -> hallmark -> derived gold level
    skipped: list[str] = []  # areas not scored, with the reason


def load_areas(path: str | os.PathLike) -> list[AreaSpec]:
    """A TSV file with columns ``area`` and ``doc_id`` (and optionally ``role``), one row per document.
    A bad file is a one-line ``EvaluatorError`` naming the file, the line and what to write."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
            fields = set(rows[0]) if rows else set()
    except (OSError, UnicodeDecodeError) as exc:
        raise EvaluatorError(f"Cannot read the areas file {path}: {exc}.") from None
    if not {"area", "doc_id"} <= fields:
        raise EvaluatorError(
            f"{path} needs tab-separated columns area and doc_id (and optionally role), one row per document."
        )
    areas: dict[str, list[tuple[str, str]]] = {}
    for line, row in enumerate(rows, start=2):
        name, doc_id = (row.get("area") or "").strip(), (row.get("doc_id") or "").strip()
        if not name or not doc_id:
            raise EvaluatorError(f"{path}:{line}: both area and doc_id are needed.")
        areas.setdefault(name, []).append((doc_id, (row.get("role") or "").strip()))
    return [
        AreaSpec(name, tuple(d for d, _ in members), tuple(r for _, r in members))
        for name, members in areas.items()
    ]


def page_offsets(doc_ids: Sequence[str], pages: Mapping[str, int]) -> dict[str, int]:
    """How far each document's pages are moved in an area: past the pages of the documents before it."""
    offsets, total = {}, 0
    for doc_id in doc_ids:
        offsets[doc_id] = total
        total += max(pages[doc_id], 1)
    return offsets


def _level(rubric: Rubric, hallmark_id: str, statuses: Mapping[str, str], floor: str) -> str:
    rule = level_from_statuses(
        {lv: [statuses[d.id] for d in rubric.hallmark(hallmark_id).at_level(lv)] for lv in RUBRIC_LEVELS}
    )
    return rule if LEVELS.index(rule) >= LEVELS.index(floor) else floor


def derive_gold(
    name: str, labels: Sequence[GoldLabel], offsets: Mapping[str, int], rubric: Rubric
) -> GoldLabel:
    """The area's gold from its documents' (see the module's docstring for the rule)."""
    descriptors = {}
    for d in rubric.descriptors:
        best = max((label.descriptors[d.id].judgement for label in labels), key=STATUSES.index)
        sources = [label for label in labels if label.descriptors[d.id].judgement == best]
        pages = (
            sorted(offsets[s.doc_id] + p for s in sources for p in s.descriptors[d.id].pages)
            if best != "not_met"
            else []
        )
        descriptors[d.id] = GoldDescriptor(
            judgement=best, pages=pages, quote=sources[0].descriptors[d.id].quote
        )
    statuses = {k: v.judgement for k, v in descriptors.items()}
    hallmarks = {
        h.id: GoldHallmark(
            level=cast(
                Level,
                _level(
                    rubric,
                    h.id,
                    statuses,
                    max((label.hallmarks[h.id].level for label in labels), key=LEVELS.index),
                ),
            ),
            rationale="derived: best document per descriptor; level rule, at least the best document's level",
        )
        for h in rubric.hallmarks
    }
    return GoldLabel(
        doc_id=name, kind="area", labelled_by="derived", descriptors=descriptors, hallmarks=hallmarks
    )


def _prediction(assessment: Assessment, offsets: Mapping[str, int], doc_id: str = "") -> DocPrediction:
    """Statuses, levels and cited pages (moved by the document's offset) of an area or member document."""

    def page(document: str, number: int | None) -> int:
        return offsets[document or doc_id] + (number or 1)

    return DocPrediction(
        levels={h.id: h.level for h in assessment.hallmarks},
        statuses={d.id: d.status for h in assessment.hallmarks for d in h.descriptors},
        pages={
            d.id: [page(e.document, e.page) for e in d.evidence]
            for h in assessment.hallmarks
            for d in h.descriptors
        },
        probabilities={d.id: d.probability for h in assessment.hallmarks for d in h.descriptors},
        confidence={h.id: h.confidence for h in assessment.hallmarks},
    )


def best_document(members: Mapping[str, DocPrediction], rubric: Rubric) -> DocPrediction:
    """Per-document suggestions combined exactly as the gold is: per descriptor the best document's
    status (ties: the higher probability) with its citations; levels by ``derive_gold``'s rule."""
    statuses, pages, probabilities = {}, {}, {}
    for d in rubric.descriptors:
        chosen = max(
            members.values(), key=lambda p: (STATUSES.index(p.statuses[d.id]), p.probabilities.get(d.id, 0.0))
        )
        statuses[d.id], pages[d.id] = chosen.statuses[d.id], chosen.pages[d.id]
        probabilities[d.id] = max(p.probabilities.get(d.id, 0.0) for p in members.values())
    levels = {
        h.id: _level(
            rubric, h.id, statuses, max((p.levels[h.id] for p in members.values()), key=LEVELS.index)
        )
        for h in rubric.hallmarks
    }
    return DocPrediction(levels=levels, statuses=statuses, pages=pages, probabilities=probabilities)


def evaluate_areas(
    specs: Sequence[AreaSpec],
    analyses: Mapping[str, Analysis],
    gold: Mapping[str, GoldLabel],
    pipeline: Pipeline,
    examples: Mapping[str, RankingExample],
    out_of_fold: Mapping[str, Analysis],
) -> AreaReport:
    """Leave-area-out agreement of every area whose documents are all labelled and readable.

    ``out_of_fold``: every document re-matched by a ranker fitted without it (``evaluate.cross_fit``):
    the judge learns from these, as the shipped judge does."""
    from evaluator.evaluation.evaluate import gold_labels  # evaluate imports this module

    labels = gold_labels(gold)
    rubric = pipeline.rubric
    predictions: dict[str, dict[str, DocPrediction]] = {AREA_JOINT: {}, AREA_BEST_DOCUMENT: {}}
    member_predictions: dict[str, DocPrediction] = {}
    area_gold: dict[str, GoldLabel] = {}
    skipped = []
    for spec in specs:
        absent = [d for d in spec.doc_ids if d not in analyses]
        if absent:
            skipped.append(f"{spec.name}: no labelled, readable document {', '.join(absent)}")
            continue
        members = {d: analyses[d] for d in spec.doc_ids}
        ranker: RankerModel = fit_ranker(
            [e for k, e in examples.items() if k not in members],
            pipeline.index.query_vectors,
            pipeline.index.query_owner,
        )
        # the judge learns from out-of-fold features (see evaluate.cross_fit); the members' evidence and
        # features come from a ranker that never saw their quotes
        train = {k: a.matches for k, a in out_of_fold.items() if k not in members}
        fold = Pipeline(
            rubric=rubric,
            encoder=pipeline.encoder,
            ranker=ranker,
            judge=fit_judge(*training_set(train, labels)[:2], trained_on=sorted(train)),
        )
        fold.index = pipeline.index
        reranked = {
            d: Analysis(
                a.document,
                a.passages,
                a.vectors,
                match(a.passages, a.vectors, fold.index, ranker, coverage=a.coverage),
                a.coverage,
            )
            for d, a in members.items()
        }
        offsets = page_offsets(spec.doc_ids, {d: a.document.page_count for d, a in members.items()})
        sources = [
            SourceDocument(
                id=d, path=a.document.path, sha256=a.document.sha256, pages=a.document.page_count, role=r
            )
            for (d, a), r in zip(members.items(), spec.roles, strict=True)
        ]
        area = judge_area(spec.name, sources, reranked, fold)
        singles = {d: _prediction(fold.judge_analysis(a), offsets, d) for d, a in reranked.items()}
        predictions[AREA_JOINT][spec.name] = _prediction(area, offsets)
        predictions[AREA_BEST_DOCUMENT][spec.name] = best_document(singles, rubric)
        area_gold[spec.name] = derive_gold(spec.name, [gold[d] for d in spec.doc_ids], offsets, rubric)
        member_predictions.update({d: _unshift(p, offsets[d]) for d, p in singles.items()})
    systems = {name: score(preds, area_gold) for name, preds in predictions.items() if preds}
    if member_predictions:
        systems[AREA_MEMBERS] = score(member_predictions, {d: gold[d] for d in member_predictions})
    return AreaReport(
        areas={s.name: list(s.doc_ids) for s in specs},
        systems=systems,
        predictions=predictions,
        gold_levels={name: {h: v.level for h, v in g.hallmarks.items()} for name, g in area_gold.items()},
        skipped=skipped,
    )


def _unshift(prediction: DocPrediction, offset: int) -> DocPrediction:
    """A member's prediction with its own page numbers again (for its own gold)."""
    pages = {d: [None if p is None else p - offset for p in ps] for d, ps in prediction.pages.items()}
    return prediction.model_copy(update={"pages": pages})


def area_lines(report: AreaReport) -> list[str]:
    """The Markdown section of the evaluation report on areas."""
    from evaluator.evaluation.evaluate import _HEADLINE, _cell

    if not report.systems:
        return ["", "## Areas", "", *[f"- not scored: {s}" for s in report.skipped]]
    systems = list(report.systems)
    lines = [
        "",
        "## Areas (leave-area-out; gold derived from the documents' labels)",
        "",
        *[f"- {name}: {', '.join(docs)}" for name, docs in report.areas.items()],
        "",
        "| Figure | " + " | ".join(systems) + " |",
        "|---|" + "---:|" * len(systems),
    ]
    for label, get, _ in _HEADLINE[:7]:
        lines.append(f"| {label} | " + " | ".join(_cell(get(report.systems[s])) for s in systems) + " |")
    hallmarks = list(next(iter(report.gold_levels.values())))
    lines += [
        "",
        "| Area | system | " + " | ".join(hallmarks) + " |",
        "|---|---|" + "---|" * len(hallmarks),
    ]
    for name, gold in report.gold_levels.items():
        lines.append(f"| {name} | gold (derived) | " + " | ".join(gold[h][:3] for h in hallmarks) + " |")
        for system in (AREA_JOINT, AREA_BEST_DOCUMENT):
            pred = report.predictions[system][name].levels
            lines.append(f"| | {system} | " + " | ".join(pred[h][:3] for h in hallmarks) + " |")
    lines += [f"- not scored: {s}" for s in report.skipped]
    return lines
