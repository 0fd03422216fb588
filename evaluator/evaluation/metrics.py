"""Agreement between predictions and reviewer gold labels. Pure functions, no I/O.

Hallmark levels are ordinal (none=0 < assuring=1 < optimising=2 < maximising=3): exact and
within-one agreement, quadratic-weighted Cohen's kappa and a confusion matrix in that fixed order,
pooled over all (document, hallmark) pairs and per hallmark.
Descriptor statuses (not_met=0 < partial=1 < met=2): precision/recall/F1 of "met-or-partial"
against not_met, 3-class Cohen's kappa (unweighted and linear-weighted) and binary kappa.
Evidence: the share of evidenced gold descriptors whose top-3 cited pages include a gold page; where
the prediction ranks passages, the reciprocal rank of the first passage a reviewer quoted (MRR) and
how often one is among the top 10.
Calibration: a reliability table of descriptor probabilities (P(met-or-partial) in 10 bins: how often
calls made at that probability were right) and its expected calibration error.
Routing: for each needs-review threshold, the share of hallmarks flagged and the exact agreement on
the ones not flagged.
Uncertainty: the headline figures on documents resampled with replacement (``bootstrap``), for 95%
intervals of a figure and of the paired difference between two systems.

Kappa is undefined when a rater is constant (expected agreement 1); those cases return 0.0,
so an all-"none" predictor scores kappa 0 however high its exact agreement.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import BaseModel, Field
from sklearn.metrics import cohen_kappa_score, confusion_matrix, precision_recall_fscore_support

from evaluator.types import LEVELS, STATUSES

LEVEL_INDEX = {level: i for i, level in enumerate(LEVELS)}
STATUS_INDEX = {status: i for i, status in enumerate(STATUSES)}


# ----------------------------------------------------------------- primitives


def kappa(
    y_true: Sequence[Any], y_pred: Sequence[Any], labels: Sequence[Any], weights: str | None = None
) -> float:
    """Cohen's kappa over ``labels`` (in ordinal order when weighted: None, "linear" or "quadratic").

    Returns 0.0 for empty input and when kappa is undefined or nan (a constant rater makes
    sklearn return 0 or nan): chance-level agreement, never better.
    """
    if len(set(y_true)) <= 1 or len(set(y_pred)) <= 1:
        return 0.0
    index = {label: i for i, label in enumerate(labels)}
    value = cohen_kappa_score(
        [index[y] for y in y_true],
        [index[y] for y in y_pred],
        labels=list(range(len(labels))),
        weights=weights,
    )
    return 0.0 if math.isnan(value) else float(value)


def confusion(y_true: Sequence[Any], y_pred: Sequence[Any], labels: Sequence[Any]) -> list[list[int]]:
    """Rows are gold, columns are predictions, both in ``labels`` order."""
    if len(y_true) == 0:
        return [[0] * len(labels) for _ in labels]
    return confusion_matrix(y_true, y_pred, labels=list(labels)).tolist()


def level_agreement(y_true: Sequence[str], y_pred: Sequence[str]) -> tuple[float, float]:
    """(exact, within-one) agreement of level lists; (0.0, 0.0) when empty."""
    if len(y_true) == 0:
        return 0.0, 0.0
    diff = np.abs(np.array([LEVEL_INDEX[y] for y in y_true]) - np.array([LEVEL_INDEX[y] for y in y_pred]))
    return float(np.mean(diff == 0)), float(np.mean(diff <= 1))


def page_hit_rate(
    gold_pages: Sequence[Sequence[int]], cited_pages: Sequence[Sequence[int | None]], k: int = 3
) -> float:
    """Share of items whose first ``k`` cited pages include one of that item's gold pages.

    Pass only evidenced items (gold judgement != not_met, non-empty pages); 0.0 when there are none.
    """
    if len(gold_pages) == 0:
        return 0.0
    hits = [
        bool(set(gold) & set(list(cited)[:k])) for gold, cited in zip(gold_pages, cited_pages, strict=True)
    ]
    return float(np.mean(hits))


# ----------------------------------------------------------------- score models


class LevelScores(BaseModel):
    n: int
    exact: float
    within_one: float
    kappa_quadratic: float
    labels: list[str] = Field(default_factory=lambda: list(LEVELS))
    confusion: list[list[int]]  # rows gold, columns predicted


class DescriptorScores(BaseModel):
    n: int
    accuracy: float
    precision: float  # of met-or-partial vs not_met
    recall: float
    f1: float
    kappa: float  # 3-class, unweighted
    kappa_linear: float
    kappa_binary: float  # met-or-partial vs not_met
    labels: list[str] = Field(default_factory=lambda: list(STATUSES))
    confusion: list[list[int]]


class EvidenceScores(BaseModel):
    n: int  # gold descriptors with judgement != not_met and non-empty pages
    k: int = 3
    page_hit_rate: float


class RankingScores(BaseModel):
    n: int  # evidenced gold descriptors whose quote was found among the document's passages
    mrr: float  # mean reciprocal rank of the first quoted passage (0 when not ranked)
    recall_at_10: float  # share with a quoted passage among the top 10


class ReliabilityBin(BaseModel):
    low: float
    high: float
    n: int
    mean_probability: float
    observed: float  # share of these calls where the reviewers credited the descriptor


class CalibrationScores(BaseModel):
    n: int
    ece: float  # expected calibration error of P(met-or-partial), 10 equal-width bins
    bins: list[ReliabilityBin]


class ReviewThreshold(BaseModel):
    threshold: float
    flagged: float  # share of hallmarks flagged needs_review
    exact_unflagged: float  # exact agreement on the others
    n_unflagged: int


class DocPrediction(BaseModel):
    levels: dict[str, str]  # hallmark id -> level
    statuses: dict[str, str]  # descriptor id -> status
    pages: dict[str, list[int | None]] = Field(
        default_factory=dict
    )  # descriptor id -> cited pages, top first
    quote_ranks: dict[str, int] = Field(
        default_factory=dict
    )  # descriptor -> rank of first quoted passage, 0 = none
    probabilities: dict[str, float] = Field(default_factory=dict)  # descriptor -> P(met-or-partial)
    confidence: dict[str, float] = Field(default_factory=dict)  # hallmark -> confidence in its level


class Scores(BaseModel):
    documents: list[str]
    hallmarks: LevelScores
    per_hallmark: dict[str, LevelScores]
    descriptors: DescriptorScores
    evidence: EvidenceScores
    ranking: RankingScores | None = None  # systems that rank passages
    calibration: CalibrationScores | None = None  # systems with descriptor probabilities
    review: list[ReviewThreshold] = Field(default_factory=list)  # systems with level confidences


def level_scores(y_true: Sequence[str], y_pred: Sequence[str]) -> LevelScores:
    exact, within_one = level_agreement(y_true, y_pred)
    return LevelScores(
        n=len(y_true),
        exact=exact,
        within_one=within_one,
        kappa_quadratic=kappa(y_true, y_pred, LEVELS, weights="quadratic"),
        confusion=confusion(y_true, y_pred, LEVELS),
    )


def descriptor_scores(y_true: Sequence[str], y_pred: Sequence[str]) -> DescriptorScores:
    bin_true = [y != "not_met" for y in y_true]
    bin_pred = [y != "not_met" for y in y_pred]
    if y_true:
        p, r, f, _ = precision_recall_fscore_support(
            bin_true, bin_pred, average="binary", pos_label=True, zero_division=0.0
        )
    else:
        p = r = f = 0.0
    return DescriptorScores(
        n=len(y_true),
        accuracy=float(np.mean([t == p_ for t, p_ in zip(y_true, y_pred, strict=True)])) if y_true else 0.0,
        precision=float(p),
        recall=float(r),
        f1=float(f),
        kappa=kappa(y_true, y_pred, STATUSES),
        kappa_linear=kappa(y_true, y_pred, STATUSES, weights="linear"),
        kappa_binary=kappa(bin_true, bin_pred, [False, True]),
        confusion=confusion(y_true, y_pred, STATUSES),
    )


@dataclass(frozen=True)
class DocItems:
    """One document's scored items, in the order ``score`` pools them."""

    hallmarks: list[str] = field(default_factory=list)
    level_true: list[str] = field(default_factory=list)
    level_pred: list[str] = field(default_factory=list)
    status_true: list[str] = field(default_factory=list)
    status_pred: list[str] = field(default_factory=list)
    gold_pages: list[list[int]] = field(default_factory=list)  # evidenced gold descriptors: their gold pages
    cited_pages: list[list[int | None]] = field(default_factory=list)  # ... and the pages cited for them
    ranks: list[int] = field(default_factory=list)  # rank of the first quoted passage, per ranked descriptor
    confident: list[tuple[float, bool]] = field(default_factory=list)  # per hallmark: (confidence, right)


def pooled(items: Sequence[DocItems], name: str) -> list[Any]:
    """One field of several documents' items, concatenated in document order."""
    return [y for item in items for y in getattr(item, name)]


def doc_items(doc_id: str, pred: DocPrediction, label: Any) -> DocItems:
    """A document's items; raises ``ValueError`` when the prediction lacks a gold hallmark or descriptor."""
    out = DocItems(
        ranks=[pred.quote_ranks[d] for d in pred.quote_ranks],
        confident=[
            (pred.confidence[h], pred.levels[h] == label.hallmarks[h].level)
            for h in pred.confidence
            if h in label.hallmarks
        ],
    )
    for hallmark_id, hallmark in label.hallmarks.items():
        if hallmark_id not in pred.levels:
            raise ValueError(f"{doc_id}: no predicted level for hallmark {hallmark_id}")
        out.hallmarks.append(hallmark_id)
        out.level_true.append(hallmark.level)
        out.level_pred.append(pred.levels[hallmark_id])
    for descriptor_id, descriptor in label.descriptors.items():
        if descriptor_id not in pred.statuses:
            raise ValueError(f"{doc_id}: no predicted status for descriptor {descriptor_id}")
        out.status_true.append(descriptor.judgement)
        out.status_pred.append(pred.statuses[descriptor_id])
        if descriptor.judgement != "not_met" and descriptor.pages:
            out.gold_pages.append(descriptor.pages)
            out.cited_pages.append(pred.pages.get(descriptor_id, []))
    return out


def score(
    predictions: Mapping[str, DocPrediction | Mapping[str, Any]], gold: Mapping[str, Any], k: int = 3
) -> Scores:
    """Score predictions for every gold document (``gold``: doc_id -> ``evaluator.gold.GoldLabel``).

    Each prediction is a ``DocPrediction`` (or a dict with keys levels, statuses, pages).
    A gold document, hallmark or descriptor without a prediction raises ``ValueError``.
    """
    preds: dict[str, DocPrediction] = {}
    items: list[DocItems] = []
    for doc_id, label in sorted(gold.items()):
        if doc_id not in predictions:
            raise ValueError(f"no prediction for document {doc_id}")
        preds[doc_id] = DocPrediction.model_validate(predictions[doc_id])
        items.append(doc_items(doc_id, preds[doc_id], label))
    level_true: dict[str, list[str]] = {}
    level_pred: dict[str, list[str]] = {}
    for item in items:
        for hallmark_id, true, pred in zip(item.hallmarks, item.level_true, item.level_pred, strict=True):
            level_true.setdefault(hallmark_id, []).append(true)
            level_pred.setdefault(hallmark_id, []).append(pred)
    status_true, status_pred = pooled(items, "status_true"), pooled(items, "status_pred")
    gold_pages, cited_pages = pooled(items, "gold_pages"), pooled(items, "cited_pages")
    ranks = pooled(items, "ranks")
    probabilities = [
        (pred.probabilities[d], gold[doc_id].descriptors[d].judgement != "not_met")
        for doc_id, pred in preds.items()
        for d in pred.probabilities
        if d in gold[doc_id].descriptors
    ]
    confident = pooled(items, "confident")
    pooled_true = [y for h in sorted(level_true) for y in level_true[h]]
    pooled_pred = [y for h in sorted(level_true) for y in level_pred[h]]
    return Scores(
        documents=sorted(gold),
        hallmarks=level_scores(pooled_true, pooled_pred),
        per_hallmark={h: level_scores(level_true[h], level_pred[h]) for h in sorted(level_true)},
        descriptors=descriptor_scores(status_true, status_pred),
        evidence=EvidenceScores(
            n=len(gold_pages), k=k, page_hit_rate=page_hit_rate(gold_pages, cited_pages, k)
        ),
        ranking=ranking_scores(ranks) if ranks else None,
        calibration=(
            calibration_scores([q for q, _ in probabilities], [o for _, o in probabilities])
            if probabilities
            else None
        ),
        review=review_thresholds(confident) if confident else [],
    )


def ranking_scores(ranks: Sequence[int]) -> RankingScores:
    """From the 1-based rank of the first quoted passage per item (0: not ranked at all)."""
    r = np.asarray(ranks, dtype=float)
    return RankingScores(
        n=len(r),
        mrr=float(np.mean(np.where(r > 0, 1.0 / np.maximum(r, 1), 0.0))),
        recall_at_10=float(np.mean((r > 0) & (r <= 10))),
    )


def calibration_scores(
    probabilities: Sequence[float], outcomes: Sequence[bool], n_bins: int = 10
) -> CalibrationScores:
    """Reliability bins of equal width and the expected calibration error (bin-size weighted gap)."""
    p, y = np.asarray(probabilities, dtype=float), np.asarray(outcomes, dtype=float)
    which = np.minimum((p * n_bins).astype(int), n_bins - 1)
    bins, ece = [], 0.0
    for b in range(n_bins):
        inside = which == b
        if not inside.any():
            continue
        mean_p, observed = float(p[inside].mean()), float(y[inside].mean())
        ece += inside.sum() / len(p) * abs(mean_p - observed)
        bins.append(
            ReliabilityBin(
                low=b / n_bins,
                high=(b + 1) / n_bins,
                n=int(inside.sum()),
                mean_probability=mean_p,
                observed=observed,
            )
        )
    return CalibrationScores(n=len(p), ece=float(ece), bins=bins)


REVIEW_THRESHOLDS = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)


def exact_unflagged(confident: Sequence[tuple[float, bool]], threshold: float) -> list[bool]:
    """Whether each hallmark at or above ``threshold`` (not flagged for review) has the right level."""
    return [right for confidence, right in confident if confidence >= threshold]


def review_figures() -> dict[str, Callable[[Sequence[DocItems]], float]]:
    """For ``bootstrap``: per threshold (its name "0.80"), the exact agreement of hallmarks not flagged."""

    def figure(threshold: float) -> Callable[[Sequence[DocItems]], float]:
        def exact(items: Sequence[DocItems]) -> float:
            kept = exact_unflagged(pooled(items, "confident"), threshold)
            return float(np.mean(kept)) if kept else float("nan")

        return exact

    return {f"{t:.2f}": figure(t) for t in REVIEW_THRESHOLDS}


def review_thresholds(confident: Sequence[tuple[float, bool]]) -> list[ReviewThreshold]:
    """Per threshold: hallmarks below it are flagged; how right are the levels of the rest?"""
    out = []
    for t in REVIEW_THRESHOLDS:
        kept = exact_unflagged(confident, t)
        out.append(
            ReviewThreshold(
                threshold=t,
                flagged=1 - len(kept) / len(confident),
                exact_unflagged=float(np.mean(kept)) if kept else 0.0,
                n_unflagged=len(kept),
            )
        )
    return out


# ----------------------------------------------------------------- uncertainty

# the headline figures resampled by ``bootstrap``: name -> the figure from a document sample's items
BOOTSTRAP_FIGURES: dict[str, Callable[[Sequence[DocItems]], float]] = {
    "hallmark_kappa": lambda items: kappa(
        pooled(items, "level_true"), pooled(items, "level_pred"), LEVELS, "quadratic"
    ),
    "hallmark_exact": lambda items: level_agreement(pooled(items, "level_true"), pooled(items, "level_pred"))[
        0
    ],
    "descriptor_kappa": lambda items: kappa(
        pooled(items, "status_true"), pooled(items, "status_pred"), STATUSES
    ),
    "met_or_partial_kappa": lambda items: kappa(
        [y != "not_met" for y in pooled(items, "status_true")],
        [y != "not_met" for y in pooled(items, "status_pred")],
        [False, True],
    ),
    "page_hit_rate": lambda items: page_hit_rate(pooled(items, "gold_pages"), pooled(items, "cited_pages")),
    "mrr": lambda items: ranking_scores(ranks).mrr if (ranks := pooled(items, "ranks")) else float("nan"),
}
BOOTSTRAP_RESAMPLES = 1000


class Interval(BaseModel):
    """A percentile interval of a figure over document resamples (None: the figure was never defined)."""

    low: float | None
    high: float | None


def bootstrap(
    systems: Mapping[str, Mapping[str, DocPrediction | Mapping[str, Any]]],
    gold: Mapping[str, Any],
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
    figures: Mapping[str, Callable[[Sequence[DocItems]], float]] | None = None,
) -> dict[str, dict[str, np.ndarray]]:
    """System -> figure -> its value on each of ``resamples`` samples of the gold documents, drawn with
    replacement (the same samples for every system, so differences between systems are paired).
    ``figures``: name -> figure of a sample's items (default ``BOOTSTRAP_FIGURES``).

    Documents, not descriptors, are resampled: a document's calls share its writing, its length and its
    reviewers, so the spread between documents is what a new document's figures vary by."""
    docs = sorted(gold)
    items = {name: _all_items(preds, gold) for name, preds in systems.items()}
    picks = np.random.default_rng(seed).integers(0, len(docs), size=(resamples, len(docs)))
    return {
        name: {
            figure: np.array([get([doc[i] for i in pick]) for pick in picks])
            for figure, get in (figures or BOOTSTRAP_FIGURES).items()
        }
        for name, doc in items.items()
    }


def headline_figures(
    predictions: Mapping[str, DocPrediction | Mapping[str, Any]], gold: Mapping[str, Any]
) -> dict[str, float]:
    """The ``BOOTSTRAP_FIGURES`` on the gold documents as they are (each once)."""
    items = _all_items(predictions, gold)
    return {figure: get(items) for figure, get in BOOTSTRAP_FIGURES.items()}


def _all_items(
    predictions: Mapping[str, DocPrediction | Mapping[str, Any]], gold: Mapping[str, Any]
) -> list[DocItems]:
    missing = sorted(set(gold) - set(predictions))
    if missing:
        raise ValueError(f"no prediction for document {missing[0]}")
    return [doc_items(d, DocPrediction.model_validate(predictions[d]), gold[d]) for d in sorted(gold)]


def interval(draws: np.ndarray, level: float = 0.95) -> Interval:
    """The central ``level`` percentile interval of ``draws`` (NaN draws left out)."""
    kept = draws[~np.isnan(draws)]
    if len(kept) == 0:
        return Interval(low=None, high=None)
    low, high = np.quantile(kept, [(1 - level) / 2, (1 + level) / 2])
    return Interval(low=float(low), high=float(high))
