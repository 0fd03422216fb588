"""Evaluation against reviewer labels, leave-one-document-out, with two baselines in the same run.

For every gold document that has a file in the docs folder, the pipeline analyses it once (cached);
then for each held-out document the evidence ranker and the judge are fitted on the other documents
only, and the held-out one is ranked and judged. The previous method (evidence ranked by similarity
and cues, the same judge) is refitted and scored in the same run, so every gain is visible. The keyword (BM25) and dense (MiniLM) baselines score 500-character chunks with their
thresholds fitted on the same training folds. Every figure is chance-corrected as well as raw.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from evaluator import __version__
from evaluator.errors import EvaluatorError
from evaluator.evaluation.areas import AreaReport, AreaSpec, area_lines, evaluate_areas
from evaluator.evaluation.baselines import BM25Scorer, DenseScorer, loo_predictions
from evaluator.evaluation.calibrate import fit_judge, ranking_example, rematch, reviewer_labels, training_set
from evaluator.evaluation.gold import GoldLabel, find_document, load_gold
from evaluator.evaluation.metrics import (
    BOOTSTRAP_RESAMPLES,
    DocPrediction,
    Interval,
    LevelScores,
    Scores,
    bootstrap,
    interval,
    level_scores,
    review_figures,
    score,
)
from evaluator.pipeline import Analysis, Pipeline
from evaluator.stages.cache import Cache, default_cache_dir
from evaluator.stages.judge import JudgeModel, level_from_statuses
from evaluator.stages.rank import RankerModel, RankingExample, fit_ranker
from evaluator.types import Assessment
from evaluator.workspace.store import Workspace

TOOL = "evaluator"
TOOL_PREVIOUS = "similarity-cited"  # the method before the learned ranker: evidence by similarity and cues
LENGTH_BANDS = ((1, 15, "1-15 pages"), (16, 30, "16-30 pages"), (31, 10_000, "over 30 pages"))
BASELINE_KEYWORD = "keyword-bm25"
BASELINE_DENSE = "dense-minilm"


class EvaluationReport(BaseModel):
    created_at: str
    tool_version: str
    rubric: str
    model: str
    documents: list[str]
    missing: list[str]  # gold documents with no file in the docs folder
    systems: dict[str, Scores]  # system name -> leave-one-document-out scores
    predictions: dict[str, dict[str, DocPrediction]]  # system -> doc_id -> prediction
    gold_levels: dict[str, dict[str, str]]  # doc_id -> hallmark -> reviewers' level
    pages: dict[str, int] = {}  # doc_id -> page count
    bands: dict[str, dict[str, Scores]] = {}  # system -> length band -> scores
    page_hits: dict[str, dict[str, float | None]] = {}  # system -> doc_id -> evidence page hit rate
    areas: AreaReport | None = None  # with evaluate(..., areas=...): area-level agreement
    # the level rule on the reviewers' own descriptor judgements: the most a descriptor judge can reach
    rule_on_reviewers: LevelScores | None = None
    # 95% intervals over documents resampled with replacement (``metrics.bootstrap``): figure ->
    # interval, for the tool and for its difference from the method before the learned ranker (paired);
    # and for the tool's exact agreement on hallmarks not flagged, per needs-review threshold
    intervals: dict[str, dict[str, Interval]] = {}


def _analysis_pipeline() -> Pipeline:
    """No judge or ranker (each fold fits its own) and the user's extraction/embedding cache."""
    return Pipeline(judge=None, ranker=None, cache=Cache(default_cache_dir()))


def prediction_of(assessment: Assessment, quote_ranks: Mapping[str, int] | None = None) -> DocPrediction:
    return DocPrediction(
        levels={h.id: h.level for h in assessment.hallmarks},
        statuses={d.id: d.status for h in assessment.hallmarks for d in h.descriptors},
        pages={d.id: [e.page for e in d.evidence] for h in assessment.hallmarks for d in h.descriptors},
        quote_ranks=dict(quote_ranks or {}),
        probabilities={d.id: d.probability for h in assessment.hallmarks for d in h.descriptors},
        confidence={h.id: h.confidence for h in assessment.hallmarks},
    )


def quote_ranks(analysis: Analysis, example: RankingExample) -> dict[str, int]:
    """Descriptor id -> 1-based rank of the first passage its reviewers quoted, among the passages in
    the order the document's matches would cite them (0: that passage cannot be cited at all)."""
    out = {}
    for j, passages in example.relied_on.items():
        m = analysis.matches[j]
        scores = np.where(example.citable, m.citation_scores, -np.inf)
        order = np.argsort(-scores, kind="stable")
        position = {int(i): r + 1 for r, i in enumerate(order) if np.isfinite(scores[i])}
        out[m.descriptor.id] = min((position.get(i, 0) for i in passages if position.get(i)), default=0)
    return out


def level_rule_scores(
    gold: Mapping[str, GoldLabel],
    descriptor_levels: Mapping[str, str],
    statuses: Mapping[str, Mapping[str, str]] | None = None,
    rule: Callable[[dict[str, list[str]]], str] = level_from_statuses,
) -> LevelScores:
    """The level ``rule`` applied to the reviewers' own descriptor judgements (or to ``statuses``:
    doc_id -> descriptor id -> status), scored against the reviewers' own hallmark levels. With their
    judgements it is what a judge that called every descriptor as they did would reach: reviewers weigh
    a hallmark as a whole, so where they depart from the rule no better descriptor call can follow
    them. ``descriptor_levels``: descriptor id -> its level in the rubric."""
    statuses = gold_labels(gold) if statuses is None else statuses
    true, suggested = [], []
    for doc_id, label in gold.items():
        for hallmark_id, hallmark in label.hallmarks.items():
            by_level: dict[str, list[str]] = {}
            for descriptor_id, status in statuses[doc_id].items():
                if descriptor_id.split(".")[0] == hallmark_id:
                    by_level.setdefault(descriptor_levels[descriptor_id], []).append(status)
            true.append(hallmark.level)
            suggested.append(rule(by_level))
    return level_scores(true, suggested)


def gold_labels(gold: Mapping[str, GoldLabel]) -> dict[str, dict[str, str]]:
    return {doc_id: {k: v.judgement for k, v in label.descriptors.items()} for doc_id, label in gold.items()}


def analyse_gold(
    gold: Mapping[str, GoldLabel],
    docs_dir: str | os.PathLike,
    pipeline: Pipeline,
    progress: Callable[[str], None] | None = None,
) -> tuple[dict[str, Analysis], list[str]]:
    analyses, missing = {}, []
    for doc_id in sorted(gold):
        path = find_document(docs_dir, doc_id)
        if path is None:
            missing.append(doc_id)
            continue
        if progress:
            progress(doc_id)
        analyses[doc_id] = pipeline.analyse(path)
    if not analyses:
        raise EvaluatorError(
            f"None of the {len(gold)} gold documents is in {docs_dir}. Point --docs at the PDFs."
        )
    return analyses, missing


def ranking_examples(
    analyses: Mapping[str, Analysis], gold: Mapping[str, GoldLabel], pipeline: Pipeline
) -> dict[str, RankingExample]:
    return {
        doc_id: ranking_example(doc_id, a.passages, a.vectors, pipeline.index, gold.get(doc_id), a.coverage)
        for doc_id, a in analyses.items()
    }


@dataclass(frozen=True)
class CrossFit:
    """Per document: the ranker fitted without it, and the document re-matched with that ranker."""

    rankers: dict[str, RankerModel]
    analyses: dict[str, Analysis]


def cross_fit(
    analyses: Mapping[str, Analysis], examples: Mapping[str, RankingExample], pipeline: Pipeline
) -> CrossFit:
    """For every document, the ranker fitted on the other documents' quotes, and the document
    re-matched with it: evidence and judge features as `assess` would give them on a new document.

    The judge learns from these out-of-fold features, so it is fitted on scores made the way `assess`
    makes them on a document whose quotes the ranker never saw (`benchmarks/bench_adapter.py` prints
    how far in-sample and out-of-fold scores differ)."""
    rankers, matched = {}, {}
    for held_out in analyses:
        rankers[held_out] = fit_ranker(
            [e for k, e in examples.items() if k != held_out],
            pipeline.index.query_vectors,
            pipeline.index.query_owner,
        )
        matched[held_out] = rematch(analyses[held_out], pipeline, rankers[held_out], examples.get(held_out))
    return CrossFit(rankers, matched)


def loo_tool_predictions(
    analyses: Mapping[str, Analysis],
    gold: Mapping[str, GoldLabel],
    pipeline: Pipeline,
    extra: Mapping[str, tuple[Analysis, dict[str, str]]] | None = None,
    examples: Mapping[str, RankingExample] | None = None,
    crossfit: CrossFit | None = None,
) -> dict[str, DocPrediction]:
    """Judge each document with a judge fitted on every other document's labels (plus ``extra``
    reviewer-labelled documents, which are always training data).

    With ranking ``examples``, each document's evidence comes from a ranker fitted on the other
    documents' quotes, and the judge learns from the other documents' out-of-fold features
    (``cross_fit``, passed as ``crossfit`` when already computed). Those features come from rankers
    that saw the held-out document's quotes; its own evidence and features never do. Without
    ``examples``, evidence and features come from similarity (the method before the ranker)."""
    labels = {**gold_labels(gold), **{k: v[1] for k, v in (extra or {}).items()}}
    if examples is not None and crossfit is None:
        crossfit = cross_fit(analyses, examples, pipeline)
    predictions = {}
    for held_out in analyses:
        ranker: RankerModel | None = None
        fold_analyses = dict(analyses)
        fold_extra = {k: v[0] for k, v in (extra or {}).items()}
        if crossfit is not None:
            ranker, fold_analyses = crossfit.rankers[held_out], crossfit.analyses
            fold_extra = {k: rematch(a, pipeline, ranker, None) for k, a in fold_extra.items()}
        train = {k: a.matches for k, a in {**fold_analyses, **fold_extra}.items() if k != held_out}
        fold = Pipeline(
            rubric=pipeline.rubric,
            encoder=pipeline.encoder,
            ranker=ranker,
            judge=fit_judge(*training_set(train, labels)[:2], trained_on=list(train)),
        )
        fold.index = pipeline.index
        analysis = fold_analyses[held_out]
        example = (examples or {}).get(held_out) or ranking_example(
            held_out,
            analysis.passages,
            analysis.vectors,
            pipeline.index,
            gold.get(held_out),
            analysis.coverage,
        )
        predictions[held_out] = prediction_of(fold.judge_analysis(analysis), quote_ranks(analysis, example))
    return predictions


def reviewer_analyses(
    workspaces: Sequence[str | os.PathLike | Workspace], pipeline: Pipeline, exclude_sha256: set[str]
) -> tuple[dict[str, tuple[Analysis, dict[str, str]]], list[str]]:
    """Reviewer-labelled documents of the workspaces (folders, or opened workspaces on any backend),
    analysed; and the paths that could not be read."""
    out, unreadable = {}, []
    for folder in workspaces:
        ws = folder if isinstance(folder, Workspace) else Workspace(folder, create=False)
        for sha, (path, labels) in reviewer_labels(ws).items():
            if sha in exclude_sha256 or sha in out:
                continue
            try:
                out[sha] = (pipeline.analyse(path), labels)
            except EvaluatorError:
                unreadable.append(path)
    return out, unreadable


class Calibration(BaseModel):
    model: JudgeModel
    ranker: RankerModel
    scores: Scores  # leave-one-document-out on the gold documents
    gold_documents: list[str]
    reviewer_documents: int
    missing: list[str]  # gold documents not found, reviewer documents no longer readable


def calibrate(
    gold_dir: str | os.PathLike,
    docs_dir: str | os.PathLike,
    *,
    pipeline: Pipeline | None = None,
    workspaces: Sequence[str | os.PathLike | Workspace] = (),
) -> Calibration:
    """Fit the judge on the gold labels and reviewers' decisions; score it leave-one-document-out."""
    gold = load_gold(gold_dir)
    pipeline = pipeline or _analysis_pipeline()
    analyses, missing = analyse_gold(gold, docs_dir, pipeline)
    scored = {doc_id: gold[doc_id] for doc_id in analyses}
    extra, unreadable = reviewer_analyses(
        workspaces, pipeline, {a.document.sha256 for a in analyses.values()}
    )
    labels = {**gold_labels(scored), **{k: v[1] for k, v in extra.items()}}
    examples = ranking_examples(analyses, scored, pipeline)
    ranker = fit_ranker(list(examples.values()), pipeline.index.query_vectors, pipeline.index.query_owner)
    # the judge learns from features as the shipped ranker gives them on documents it has not seen: each
    # gold document re-matched by the ranker fitted without it (reviewers' documents never train a ranker)
    crossfit = cross_fit(analyses, examples, pipeline)
    matches = {k: a.matches for k, a in crossfit.analyses.items()}
    matches.update({k: rematch(v[0], pipeline, ranker, None).matches for k, v in extra.items()})
    train, statuses, _ = training_set(matches, labels)
    return Calibration(
        model=fit_judge(train, statuses, trained_on=sorted(matches)),
        ranker=ranker,
        scores=score(loo_tool_predictions(analyses, scored, pipeline, extra, examples, crossfit), scored),
        gold_documents=sorted(analyses),
        reviewer_documents=len(extra),
        missing=missing + unreadable,
    )


def baseline_predictions(
    analyses: Mapping[str, Analysis], gold: Mapping[str, GoldLabel], pipeline: Pipeline
) -> dict[str, dict[str, DocPrediction]]:
    descriptors = pipeline.rubric.descriptors
    scorers = {
        BASELINE_KEYWORD: BM25Scorer(descriptors),
        BASELINE_DENSE: DenseScorer(descriptors, pipeline.encoder, cache=pipeline.cache),
    }
    out = {}
    for name, scorer in scorers.items():
        raw = {
            doc_id: scorer.score_document([(p.number, p.text) for p in a.document.pages if not p.image_only])
            for doc_id, a in analyses.items()
        }
        out[name] = loo_predictions(raw, gold, descriptors)
    return out


def evaluate(
    gold_dir: str | os.PathLike,
    docs_dir: str | os.PathLike,
    *,
    pipeline: Pipeline | None = None,
    baselines: bool = True,
    progress: Callable[[str], None] | None = None,
    areas: Sequence[AreaSpec] = (),
) -> EvaluationReport:
    """Leave-one-document-out scores of the tool (and the baselines) against the gold labels; with
    ``areas`` (``evaluator.evaluation.areas.load_areas``), leave-area-out scores of each area too."""
    gold = load_gold(gold_dir)
    pipeline = pipeline or _analysis_pipeline()
    analyses, missing = analyse_gold(gold, docs_dir, pipeline, progress)
    scored = {doc_id: gold[doc_id] for doc_id in analyses}
    examples = ranking_examples(analyses, scored, pipeline)
    crossfit = cross_fit(analyses, examples, pipeline)
    predictions = {
        TOOL: loo_tool_predictions(analyses, scored, pipeline, examples=examples, crossfit=crossfit),
        TOOL_PREVIOUS: loo_tool_predictions(analyses, scored, pipeline),
    }
    if baselines:
        predictions.update(baseline_predictions(analyses, scored, pipeline))
    pages = {doc_id: a.document.page_count for doc_id, a in analyses.items()}
    return EvaluationReport(
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        tool_version=__version__,
        rubric=f"{pipeline.rubric.id} {pipeline.rubric.version}",
        model=pipeline.encoder.name,
        documents=sorted(analyses),
        missing=missing,
        systems={name: score(preds, scored) for name, preds in predictions.items()},
        predictions=predictions,
        gold_levels={d: {h: v.level for h, v in scored[d].hallmarks.items()} for d in scored},
        pages=pages,
        bands={
            name: _band_scores(preds, scored, pages)
            for name, preds in predictions.items()
            if name in (TOOL, TOOL_PREVIOUS)
        },
        page_hits={
            name: _page_hits(preds, scored)
            for name, preds in predictions.items()
            if name in (TOOL, TOOL_PREVIOUS)
        },
        areas=evaluate_areas(areas, analyses, scored, pipeline, examples, crossfit.analyses)
        if areas
        else None,
        rule_on_reviewers=level_rule_scores(scored, {d.id: d.level for d in pipeline.rubric.descriptors}),
        intervals=_intervals(predictions, scored),
    )


DIFFERENCE = f"{TOOL} - {TOOL_PREVIOUS}"
REVIEW = f"{TOOL}: exact agreement when not flagged"  # keyed by needs-review threshold, "0.80"


def _intervals(
    predictions: Mapping[str, Mapping[str, DocPrediction]], gold: Mapping[str, GoldLabel]
) -> dict[str, dict[str, Interval]]:
    draws = bootstrap({name: predictions[name] for name in (TOOL, TOOL_PREVIOUS)}, gold)
    tool, previous = draws[TOOL], draws[TOOL_PREVIOUS]
    review = bootstrap({TOOL: predictions[TOOL]}, gold, figures=review_figures())[TOOL]
    return {
        TOOL: {figure: interval(values) for figure, values in tool.items()},
        DIFFERENCE: {figure: interval(values - previous[figure]) for figure, values in tool.items()},
        REVIEW: {threshold: interval(values) for threshold, values in review.items()},
    }


def _page_hits(
    predictions: Mapping[str, DocPrediction], gold: Mapping[str, GoldLabel]
) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for doc_id in gold:
        evidence = score({doc_id: predictions[doc_id]}, {doc_id: gold[doc_id]}).evidence
        out[doc_id] = evidence.page_hit_rate if evidence.n else None
    return out


def _band_scores(
    predictions: Mapping[str, DocPrediction], gold: Mapping[str, GoldLabel], pages: Mapping[str, int]
) -> dict[str, Scores]:
    out = {}
    for low, high, name in LENGTH_BANDS:
        docs = [d for d in gold if low <= pages[d] <= high]
        if docs:
            out[name] = score({d: predictions[d] for d in docs}, {d: gold[d] for d in docs})
    return out


# ---------------------------------------------------------------------- reports

# (label, figure, its name in ``metrics.BOOTSTRAP_FIGURES`` where the report gives it an interval)
_HEADLINE: list[tuple[str, Callable[[Scores], float | None], str | None]] = [
    ("Hallmark level, quadratic-weighted kappa", lambda s: s.hallmarks.kappa_quadratic, "hallmark_kappa"),
    ("Hallmark level, exact agreement", lambda s: s.hallmarks.exact, "hallmark_exact"),
    ("Hallmark level, within one level", lambda s: s.hallmarks.within_one, None),
    ("Descriptor 3-class kappa", lambda s: s.descriptors.kappa, "descriptor_kappa"),
    ("Descriptor met-or-partial kappa", lambda s: s.descriptors.kappa_binary, "met_or_partial_kappa"),
    ("Descriptor met-or-partial F1", lambda s: s.descriptors.f1, None),
    ("Evidence page hit rate (top 3)", lambda s: s.evidence.page_hit_rate, "page_hit_rate"),
    ("Quoted passage, mean reciprocal rank", lambda s: s.ranking.mrr if s.ranking else None, "mrr"),
    ("Quoted passage among the top 10", lambda s: s.ranking.recall_at_10 if s.ranking else None, None),
    (
        "Descriptor probability, expected calibration error",
        lambda s: s.calibration.ece if s.calibration else None,
        None,
    ),
]


def _cell(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _interval_lines(report: EvaluationReport) -> list[str]:
    if TOOL not in report.intervals:
        return []
    tool, difference = report.intervals[TOOL], report.intervals[DIFFERENCE]
    lines = [
        "",
        "## How far these figures could move with other documents (95% intervals)",
        "",
        f"The {len(report.documents)} documents drawn with replacement {BOOTSTRAP_RESAMPLES:,} times, the "
        f"same draws for both methods. Where the interval of the difference from {TOOL_PREVIOUS} includes 0, "
        "the gain is within the spread between documents.",
        "",
        f"| Figure | {TOOL} | interval | {TOOL} minus {TOOL_PREVIOUS} | interval |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, get, name in _HEADLINE:
        if name is None:
            continue
        value, previous = get(report.systems[TOOL]), get(report.systems[TOOL_PREVIOUS])
        gain = None if value is None or previous is None else value - previous
        lines.append(
            f"| {label} | {_cell(value)} | {_span(tool[name])} | {_cell(gain)} | {_span(difference[name])} |"
        )
    return lines


def _span(i: Interval) -> str:
    return "–" if i.low is None or i.high is None else f"{i.low:.2f} to {i.high:.2f}"


# per length band and system: evidence page hit @3, the quoted passage's MRR and recall@10 (among the
# top 10), descriptor 3-class kappa, hallmark exact agreement
BAND_FIGURES = ("page hit", "MRR", "quote in top 10", "descriptor kappa", "hallmark exact")


def _band_lines(report: EvaluationReport) -> list[str]:
    systems = list(report.bands)
    lines = [
        "",
        "## By document length",
        "",
        "| Length | documents | " + " | ".join(f"{s}: {f}" for s in systems for f in BAND_FIGURES) + " |",
        "|---|---:|" + "---:|" * len(BAND_FIGURES) * len(systems),
    ]
    for _, _, band in LENGTH_BANDS:
        if band not in report.bands.get(TOOL, {}):
            continue
        cells = []
        for system in systems:
            b = report.bands[system][band]
            cells += [
                _cell(b.evidence.page_hit_rate),
                _cell(b.ranking.mrr if b.ranking else None),
                _cell(b.ranking.recall_at_10 if b.ranking else None),
                _cell(b.descriptors.kappa),
                _cell(b.hallmarks.exact),
            ]
        lines.append(f"| {band} | {len(report.bands[TOOL][band].documents)} | " + " | ".join(cells) + " |")
    return lines


def _calibration_lines(tool: Scores, review: Mapping[str, Interval]) -> list[str]:
    lines: list[str] = []
    if tool.calibration:
        lines += [
            "",
            f"## {TOOL}: reliability of P(met-or-partial) (ECE {tool.calibration.ece:.3f})",
            "",
            "| Probability | calls | mean probability | credited by reviewers |",
            "|---|---:|---:|---:|",
        ]
        lines += [
            f"| {b.low:.1f}-{b.high:.1f} | {b.n} | {b.mean_probability:.2f} | {b.observed:.2f} |"
            for b in tool.calibration.bins
        ]
    if tool.review:
        lines += [
            "",
            f"## {TOOL}: needs-review threshold (hallmarks below it are flagged)",
            "",
            "| Threshold | flagged | exact agreement when not flagged | 95% interval | not flagged |",
            "|---:|---:|---:|---:|---:|",
        ]
        none = Interval(low=None, high=None)
        lines += [
            f"| {r.threshold:.2f} | {r.flagged:.2f} | {r.exact_unflagged:.2f} | "
            f"{_span(review.get(f'{r.threshold:.2f}', none))} | {r.n_unflagged} |"
            for r in tool.review
        ]
    return lines


def _confusion_lines(title: str, labels: Sequence[str], confusion: Sequence[Sequence[int]]) -> list[str]:
    lines = ["", f"## {title} confusion (rows gold, columns suggested)", ""]
    lines += ["| gold \\ suggested | " + " | ".join(labels) + " |", "|---|" + "---:|" * len(labels)]
    return lines + [
        f"| {label} | " + " | ".join(str(v) for v in row) + " |"
        for label, row in zip(labels, confusion, strict=True)
    ]


def to_markdown(report: EvaluationReport) -> str:
    systems = list(report.systems)
    lines = [
        "# Evaluation against reviewer labels (leave-one-document-out)",
        "",
        f"{len(report.documents)} documents · evaluator {report.tool_version} · rubric {report.rubric} · "
        f"{report.model} · {report.created_at}",
        "",
        "| Figure | " + " | ".join(systems) + " |",
        "|---|" + "---:|" * len(systems),
    ]
    for label, get, _ in _HEADLINE:
        lines.append(f"| {label} | " + " | ".join(_cell(get(report.systems[s])) for s in systems) + " |")
    tool = report.systems[TOOL]
    if tool.ranking:
        lines += [
            "",
            f"The passage a reviewer quoted was found among the document's passages for {tool.ranking.n} of "
            f"the {tool.evidence.n} descriptors they credited with pages; the quote MRR and top 10 are over "
            "those (page hit is over all).",
        ]
    if report.rule_on_reviewers:
        ceiling = report.rule_on_reviewers
        lines += [
            "",
            "The level rule on the reviewers' own descriptor judgements (a judge that called every descriptor "
            f"as they did) reaches hallmark kappa {ceiling.kappa_quadratic:.2f}, exact {ceiling.exact:.2f}: "
            "where reviewers weighed a hallmark otherwise than the rule, no better descriptor call follows them.",
        ]
    lines += (
        _interval_lines(report)
        + _band_lines(report)
        + _calibration_lines(tool, report.intervals.get(REVIEW, {}))
    )
    lines += [
        "",
        f"## {TOOL}: per hallmark",
        "",
        "| Hallmark | n | exact | within one | kappa (quadratic) |",
        "|---|---:|---:|---:|---:|",
    ]
    for hallmark_id, s in tool.per_hallmark.items():
        lines.append(
            f"| {hallmark_id} | {s.n} | {s.exact:.2f} | {s.within_one:.2f} | {s.kappa_quadratic:.2f} |"
        )
    lines += _confusion_lines(f"{TOOL}: hallmark level", tool.hallmarks.labels, tool.hallmarks.confusion)
    lines += _confusion_lines(
        f"{TOOL}: descriptor status", tool.descriptors.labels, tool.descriptors.confusion
    )
    hallmarks = list(tool.per_hallmark)
    lines += [
        "",
        "## Levels per document (suggested / gold), and the document's evidence page hit",
        "",
        "| Document | pages | " + " | ".join(hallmarks) + " | page hit | before |",
        "|---|---:|" + "---|" * len(hallmarks) + "---:|---:|",
    ]
    for doc_id in report.documents:
        pred, gold = report.predictions[TOOL][doc_id].levels, report.gold_levels[doc_id]
        cells = [f"{pred[h][:3]} / {gold[h][:3]}" if pred[h] != gold[h] else pred[h][:3] for h in hallmarks]
        hits = [_doc_page_hit(report, system, doc_id) for system in (TOOL, TOOL_PREVIOUS)]
        lines.append(
            f"| {doc_id} | {report.pages.get(doc_id, '')} | "
            + " | ".join(cells)
            + " | "
            + " | ".join(hits)
            + " |"
        )
    if report.areas:
        lines += area_lines(report.areas)
    if report.missing:
        lines += ["", f"Gold documents not found in the docs folder: {', '.join(report.missing)}"]
    return "\n".join(lines) + "\n"


def _doc_page_hit(report: EvaluationReport, system: str, doc_id: str) -> str:
    return _cell(report.page_hits.get(system, {}).get(doc_id))


def write_report(report: EvaluationReport, out: str | os.PathLike) -> list[Path]:
    """Write OUT.json (machine-readable), OUT.md and OUT.html; returns the paths."""
    import markdown_it

    base = Path(out)
    base = base.with_suffix("") if base.suffix in {".json", ".md", ".html"} else base
    base.parent.mkdir(parents=True, exist_ok=True)
    md = to_markdown(report)
    paths = [base.with_suffix(".json"), base.with_suffix(".md"), base.with_suffix(".html")]
    paths[0].write_text(report.model_dump_json(indent=1))
    paths[1].write_text(md)
    html = markdown_it.MarkdownIt("commonmark").enable("table").render(md)
    paths[2].write_text(
        "<!doctype html><meta charset='utf-8'><title>Evaluation</title>"
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}td,th{padding:.2em .6em;"
        "border-bottom:1px solid #ddd}</style>" + html
    )
    return paths
