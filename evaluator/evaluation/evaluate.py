"""Evaluation against reviewer labels, leave-one-document-out, with two baselines in the same run.

For every gold document that has a file in the docs folder, the pipeline analyses it once (cached);
then for each held-out document the judge is fitted on the other documents only, and the held-out
one is judged. The keyword (BM25) and dense (MiniLM) baselines score 500-character chunks with their
thresholds fitted on the same training folds. Every figure is chance-corrected as well as raw.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel

from evaluator import __version__
from evaluator.errors import EvaluatorError
from evaluator.evaluation.baselines import BM25Scorer, DenseScorer, loo_predictions
from evaluator.evaluation.calibrate import fit_judge, reviewer_labels, training_set
from evaluator.evaluation.gold import GoldLabel, find_document, load_gold
from evaluator.evaluation.metrics import DocPrediction, Scores, score
from evaluator.pipeline import Analysis, Pipeline
from evaluator.stages.cache import Cache, default_cache_dir
from evaluator.stages.judge import JudgeModel
from evaluator.types import Assessment
from evaluator.workspace.store import Workspace

TOOL = "evaluator"
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


def _analysis_pipeline() -> Pipeline:
    """No judge (each fold fits its own) and the user's extraction/embedding cache ($EVALUATOR_CACHE)."""
    return Pipeline(judge=None, cache=Cache(default_cache_dir()))


def prediction_of(assessment: Assessment) -> DocPrediction:
    return DocPrediction(
        levels={h.id: h.level for h in assessment.hallmarks},
        statuses={d.id: d.status for h in assessment.hallmarks for d in h.descriptors},
        pages={d.id: [e.page for e in d.evidence] for h in assessment.hallmarks for d in h.descriptors},
    )


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
        raise EvaluatorError(f"None of the {len(gold)} gold documents is in {docs_dir}. Point --docs at the PDFs.")
    return analyses, missing


def loo_tool_predictions(
    analyses: Mapping[str, Analysis],
    gold: Mapping[str, GoldLabel],
    pipeline: Pipeline,
    extra: Mapping[str, tuple[Analysis, dict[str, str]]] | None = None,
) -> dict[str, DocPrediction]:
    """Judge each document with a judge fitted on every other document's labels (plus ``extra``
    reviewer-labelled documents, which are always training data)."""
    labels = {**gold_labels(gold), **{k: v[1] for k, v in (extra or {}).items()}}
    matches = {doc_id: a.matches for doc_id, a in analyses.items()}
    matches.update({k: v[0].matches for k, v in (extra or {}).items()})
    predictions = {}
    for held_out, analysis in analyses.items():
        train = {k: v for k, v in matches.items() if k != held_out}
        fold = Pipeline(rubric=pipeline.rubric, encoder=pipeline.encoder,
                        judge=fit_judge(*training_set(train, labels)[:2], trained_on=list(train)))
        fold.index = pipeline.index
        predictions[held_out] = prediction_of(fold.judge_analysis(analysis))
    return predictions


def reviewer_analyses(
    workspaces: Sequence[str | os.PathLike], pipeline: Pipeline, exclude_sha256: set[str]
) -> tuple[dict[str, tuple[Analysis, dict[str, str]]], list[str]]:
    """Reviewer-labelled documents of the workspaces, analysed; and the paths that could not be read."""
    out, unreadable = {}, []
    for folder in workspaces:
        for sha, (path, labels) in reviewer_labels(Workspace(folder, create=False)).items():
            if sha in exclude_sha256 or sha in out:
                continue
            try:
                out[sha] = (pipeline.analyse(path), labels)
            except EvaluatorError:
                unreadable.append(path)
    return out, unreadable


class Calibration(BaseModel):
    model: JudgeModel
    scores: Scores  # leave-one-document-out on the gold documents
    gold_documents: list[str]
    reviewer_documents: int
    missing: list[str]  # gold documents not found, reviewer documents no longer readable


def calibrate(
    gold_dir: str | os.PathLike,
    docs_dir: str | os.PathLike,
    *,
    pipeline: Pipeline | None = None,
    workspaces: Sequence[str | os.PathLike] = (),
) -> Calibration:
    """Fit the judge on the gold labels and reviewers' decisions; score it leave-one-document-out."""
    gold = load_gold(gold_dir)
    pipeline = pipeline or _analysis_pipeline()
    analyses, missing = analyse_gold(gold, docs_dir, pipeline)
    scored = {doc_id: gold[doc_id] for doc_id in analyses}
    extra, unreadable = reviewer_analyses(workspaces, pipeline, {a.document.sha256 for a in analyses.values()})
    labels = {**gold_labels(scored), **{k: v[1] for k, v in extra.items()}}
    matches = {**{k: a.matches for k, a in analyses.items()}, **{k: v[0].matches for k, v in extra.items()}}
    train, statuses, _ = training_set(matches, labels)
    return Calibration(
        model=fit_judge(train, statuses, trained_on=sorted(matches)),
        scores=score(loo_tool_predictions(analyses, scored, pipeline, extra), scored),
        gold_documents=sorted(analyses),
        reviewer_documents=len(extra),
        missing=missing + unreadable,
    )


def baseline_predictions(
    analyses: Mapping[str, Analysis], gold: Mapping[str, GoldLabel], pipeline: Pipeline
) -> dict[str, dict[str, DocPrediction]]:
    descriptors = pipeline.rubric.descriptors
    scorers = {BASELINE_KEYWORD: BM25Scorer(descriptors), BASELINE_DENSE: DenseScorer(descriptors, pipeline.encoder)}
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
) -> EvaluationReport:
    """Leave-one-document-out scores of the tool (and the baselines) against the gold labels."""
    gold = load_gold(gold_dir)
    pipeline = pipeline or _analysis_pipeline()
    analyses, missing = analyse_gold(gold, docs_dir, pipeline, progress)
    scored = {doc_id: gold[doc_id] for doc_id in analyses}
    predictions = {TOOL: loo_tool_predictions(analyses, scored, pipeline)}
    if baselines:
        predictions.update(baseline_predictions(analyses, scored, pipeline))
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
    )


# ---------------------------------------------------------------------- reports

_HEADLINE = [
    ("Hallmark level, quadratic-weighted kappa", lambda s: s.hallmarks.kappa_quadratic),
    ("Hallmark level, exact agreement", lambda s: s.hallmarks.exact),
    ("Hallmark level, within one level", lambda s: s.hallmarks.within_one),
    ("Descriptor 3-class kappa", lambda s: s.descriptors.kappa),
    ("Descriptor met-or-partial kappa", lambda s: s.descriptors.kappa_binary),
    ("Descriptor met-or-partial F1", lambda s: s.descriptors.f1),
    ("Evidence page hit rate (top 3)", lambda s: s.evidence.page_hit_rate),
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
    for label, get in _HEADLINE:
        lines.append(f"| {label} | " + " | ".join(f"{get(report.systems[s]):.2f}" for s in systems) + " |")
    tool = report.systems[TOOL]
    lines += ["", f"## {TOOL}: per hallmark", "", "| Hallmark | n | exact | within one | kappa (quadratic) |",
              "|---|---:|---:|---:|---:|"]
    for hallmark_id, s in tool.per_hallmark.items():
        lines.append(f"| {hallmark_id} | {s.n} | {s.exact:.2f} | {s.within_one:.2f} | {s.kappa_quadratic:.2f} |")
    lines += ["", f"## {TOOL}: hallmark level confusion (rows gold, columns suggested)", "",
              "| gold \\ suggested | " + " | ".join(tool.hallmarks.labels) + " |",
              "|---|" + "---:|" * len(tool.hallmarks.labels)]
    for label, row in zip(tool.hallmarks.labels, tool.hallmarks.confusion, strict=True):
        lines.append(f"| {label} | " + " | ".join(str(v) for v in row) + " |")
    lines += ["", f"## {TOOL}: descriptor status confusion (rows gold, columns suggested)", "",
              "| gold \\ suggested | " + " | ".join(tool.descriptors.labels) + " |",
              "|---|" + "---:|" * len(tool.descriptors.labels)]
    for label, row in zip(tool.descriptors.labels, tool.descriptors.confusion, strict=True):
        lines.append(f"| {label} | " + " | ".join(str(v) for v in row) + " |")
    hallmarks = list(tool.per_hallmark)
    lines += ["", "## Levels per document (suggested / gold)", "",
              "| Document | " + " | ".join(hallmarks) + " |", "|---|" + "---|" * len(hallmarks)]
    for doc_id in report.documents:
        pred, gold = report.predictions[TOOL][doc_id].levels, report.gold_levels[doc_id]
        cells = [f"{pred[h][:3]} / {gold[h][:3]}" if pred[h] != gold[h] else pred[h][:3] for h in hallmarks]
        lines.append(f"| {doc_id} | " + " | ".join(cells) + " |")
    if report.missing:
        lines += ["", f"Gold documents not found in the docs folder: {', '.join(report.missing)}"]
    return "\n".join(lines) + "\n"


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
