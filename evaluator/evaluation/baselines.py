"""The two baselines the evaluate command scores beside the tool, so every gain is visible.

- keyword-only: BM25 (rank_bm25.BM25Okapi) of the descriptor text against 500-character chunks.
- dense-only: all-MiniLM-L6-v2 cosine between the descriptor text and the same chunks (the
  retrieval that LLM report-analysis tools use).

Scores are used raw by default. Dividing a document's best-chunk scores by their maximum over
descriptors (``normalise="max"``) measured worse leave-one-document-out on the 10 gold documents
(BM25 3-class kappa 0.055 vs 0.195 raw; dense 0.114 vs 0.141): it gives every document, the
negative controls included, a descriptor at 1.0 and erases "this document barely mentions it".

Per descriptor the best chunk score becomes a status by two thresholds (partial, met) fitted on the
training documents by grid search for the 3-class kappa; the cited pages are those of the top-3
chunks; hallmark levels follow from the statuses by the tool's cumulative level rule.

    scorer = BM25Scorer(rubric.descriptors)
    raw = {doc_id: scorer.score_document(pages) for doc_id, pages in pages_by_doc.items()}
    predictions = loo_predictions(raw, gold, rubric)   # doc_id -> metrics.DocPrediction
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from rank_bm25 import BM25Okapi

from evaluator.evaluation.metrics import STATUS_INDEX, DocPrediction
from evaluator.stages.cache import Cache, encode_stored
from evaluator.stages.judge import level_from_statuses
from evaluator.stages.lexical import tokenize
from evaluator.types import STATUSES, Descriptor, Rubric

if TYPE_CHECKING:
    from evaluator.stages.embed import Encoder

TOP_K = 3
MAX_GRID = 64  # candidate thresholds per side

# ---------------------------------------------------------------------- chunks


@dataclass(frozen=True)
class Chunk:
    page: int | None
    text: str


def chunk_pages(pages: Iterable[tuple[int | None, str]], size: int = 500) -> list[Chunk]:
    """Split each page's text on whitespace into chunks of at most ``size`` characters.

    Chunks never cross a page, so each has one page; a single word longer than ``size`` is a chunk
    of its own; empty pages give no chunks.
    """
    chunks: list[Chunk] = []
    for number, text in pages:
        current: list[str] = []
        length = 0
        for word in (text or "").split():
            if current and length + 1 + len(word) > size:
                chunks.append(Chunk(number, " ".join(current)))
                current, length = [], 0
            length += len(word) + (1 if current else 0)
            current.append(word)
        if current:
            chunks.append(Chunk(number, " ".join(current)))
    return chunks


# --------------------------------------------------------------------- scoring


@dataclass
class DocScores:
    """Per descriptor: the best chunk score (raw unless the scorer normalises) and the top chunks' pages."""

    scores: dict[str, float]
    pages: dict[str, list[int]] = field(default_factory=dict)


class BaselineScorer:
    """Scores each descriptor against a document's chunks, once per document."""

    def __init__(self, descriptors: Sequence[Descriptor], chunk_size: int = 500, normalise: str = "none"):
        if normalise not in ("none", "max"):
            raise ValueError(f"normalise must be 'none' or 'max', not {normalise!r}")
        self.descriptors = list(descriptors)
        self.chunk_size = chunk_size
        self.normalise = normalise  # "max": divide by the document's largest descriptor score

    def chunk_scores(self, chunks: list[Chunk]) -> np.ndarray:
        """(descriptors, chunks) similarity matrix."""
        raise NotImplementedError

    def score_document(self, pages: Iterable[tuple[int | None, str]]) -> DocScores:
        chunks = chunk_pages(pages, self.chunk_size)
        if not chunks:
            return DocScores({d.id: 0.0 for d in self.descriptors}, {d.id: [] for d in self.descriptors})
        matrix = self.chunk_scores(chunks)
        best = matrix.max(axis=1)
        if self.normalise == "max" and best.max() > 0:
            best = best / best.max()
        scores, cited = {}, {}
        for row, descriptor in enumerate(self.descriptors):
            top = np.argsort(-matrix[row], kind="stable")[:TOP_K]
            scores[descriptor.id] = float(best[row])
            cited[descriptor.id] = _unique(chunks[i].page for i in top if chunks[i].page is not None)
        return DocScores(scores, cited)


class BM25Scorer(BaselineScorer):
    """Keyword-only: BM25Okapi over the document's chunks, query = tokenised descriptor text."""

    def chunk_scores(self, chunks: list[Chunk]) -> np.ndarray:
        corpus = [tokenize(c.text) for c in chunks]
        if not any(corpus):
            return np.zeros((len(self.descriptors), len(chunks)))
        bm25 = BM25Okapi(corpus)
        return np.array([bm25.get_scores(tokenize(d.text)) for d in self.descriptors])


class DenseScorer(BaselineScorer):
    """Dense-only: cosine between descriptor text and chunk embeddings from ``encoder``."""

    def __init__(
        self,
        descriptors: Sequence[Descriptor],
        encoder: Encoder,
        chunk_size: int = 500,
        normalise: str = "none",
        cache: Cache | None = None,
    ):
        super().__init__(descriptors, chunk_size, normalise)
        self.encoder, self.cache = encoder, cache  # with a cache, a document's chunks are embedded once
        self._queries = _unit(encode_stored(encoder, [d.text for d in self.descriptors], cache))

    def chunk_scores(self, chunks: list[Chunk]) -> np.ndarray:
        return self._queries @ _unit(encode_stored(self.encoder, [c.text for c in chunks], self.cache)).T


# ------------------------------------------------------------------ thresholds


@dataclass(frozen=True)
class Thresholds:
    partial: float
    met: float

    def status(self, value: float) -> str:
        return "met" if value >= self.met else "partial" if value >= self.partial else "not_met"


def fit_thresholds(train_scores: Sequence[float], train_statuses: Sequence[str]) -> Thresholds:
    """The (partial <= met) pair that maximises 3-class Cohen's kappa on the training items.

    Candidates are the midpoints between consecutive distinct training scores (of at most
    ``MAX_GRID`` quantiles), plus -inf ("always") and +inf ("never"); ties keep the first pair
    found (lowest thresholds).
    """
    scores = np.asarray(train_scores, dtype=float)
    gold = np.array([STATUS_INDEX[s] for s in train_statuses])
    values = np.unique(scores)
    if len(values) > MAX_GRID:
        values = np.unique(np.quantile(scores, np.linspace(0, 1, MAX_GRID), method="nearest"))
    candidates = np.concatenate([[-np.inf], (values[:-1] + values[1:]) / 2, [np.inf]])
    best, best_kappa = Thresholds(np.inf, np.inf), -np.inf
    for i, t_partial in enumerate(candidates):
        for t_met in candidates[i:]:
            pred = (scores >= t_partial).astype(int) + (scores >= t_met)
            value = _fast_kappa(gold, pred, len(STATUSES))
            if value > best_kappa + 1e-12:
                best, best_kappa = Thresholds(float(t_partial), float(t_met)), value
    return best


def _fast_kappa(a: np.ndarray, b: np.ndarray, n_classes: int) -> float:
    """Unweighted Cohen's kappa of two integer-coded label arrays (0.0 when undefined)."""
    matrix = np.bincount(a * n_classes + b, minlength=n_classes * n_classes).reshape(n_classes, n_classes)
    total = matrix.sum()
    observed = np.trace(matrix) / total
    expected = (matrix.sum(axis=1) @ matrix.sum(axis=0)) / total**2
    return 0.0 if expected >= 1.0 else float((observed - expected) / (1.0 - expected))


# ----------------------------------------------------------------- prediction


def predict(doc: DocScores, thresholds: Thresholds, descriptors: Sequence[Descriptor]) -> DocPrediction:
    """Statuses, cited pages and hallmark levels for one document."""
    statuses = {d.id: thresholds.status(doc.scores[d.id]) for d in descriptors}
    by_hallmark: dict[str, dict[str, list[str]]] = {}
    for d in descriptors:
        by_hallmark.setdefault(d.hallmark, {}).setdefault(d.level, []).append(statuses[d.id])
    levels: dict[str, str] = {h: level_from_statuses(by_level) for h, by_level in by_hallmark.items()}
    return DocPrediction(
        levels=levels, statuses=statuses, pages={d.id: list(doc.pages.get(d.id, [])) for d in descriptors}
    )


def loo_predictions(
    raw_scores_by_doc: Mapping[str, DocScores],
    gold_by_doc: Mapping[str, Any],
    rubric: Rubric | Sequence[Descriptor],
) -> dict[str, DocPrediction]:
    """Leave-one-document-out: for each document, thresholds fitted on all the other documents."""
    descriptors = rubric.descriptors if isinstance(rubric, Rubric) else list(rubric)
    doc_ids = sorted(set(raw_scores_by_doc) & set(gold_by_doc))
    predictions = {}
    for held_out in doc_ids:
        scores, statuses = [], []
        for doc_id in doc_ids:
            if doc_id == held_out:
                continue
            for d in descriptors:
                if d.id in gold_by_doc[doc_id].descriptors:
                    scores.append(raw_scores_by_doc[doc_id].scores[d.id])
                    statuses.append(gold_by_doc[doc_id].descriptors[d.id].judgement)
        thresholds = fit_thresholds(scores, statuses) if scores else Thresholds(np.inf, np.inf)
        predictions[held_out] = predict(raw_scores_by_doc[held_out], thresholds, descriptors)
    return predictions


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)


def _unique(pages: Iterable[int]) -> list[int]:
    return list(dict.fromkeys(pages))
