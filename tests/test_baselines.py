"""Keyword-only and dense-only baselines on tiny texts, with a fake encoder (no model)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from evaluator.evaluation.baselines import (
    BM25Scorer,
    DenseScorer,
    DocScores,
    Thresholds,
    _fast_kappa,
    chunk_pages,
    fit_thresholds,
    loo_predictions,
    predict,
    tokenize,
)
from evaluator.types import Descriptor


def _d(id_: str, level: str, text: str) -> Descriptor:
    return Descriptor(id=id_, hallmark=id_.split(".")[0], level=level, text=text)


DESCRIPTORS = [
    _d("1.A.1", "assuring", "Wellbeing defined as distinct from health."),
    _d("1.O.1", "optimising", "The strategy describes wellbeing at community level."),
    _d("5.A.1", "assuring", "Subjective wellbeing measured with ONS4 indicators."),
]

PAGES = [
    (1, "Our budget for roads and bridges is set out in the capital programme for the year."),
    (2, "Wellbeing is defined here as distinct from health: it is how people feel about their lives."),
    (3, "We measure subjective wellbeing with the ONS4 indicators in an annual residents survey."),
    (4, ""),
]


class WordEncoder:
    """Fake encoder: unit bag-of-words vectors over a hashed vocabulary."""

    name = "word-fake"

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), 64), dtype=np.float32)
        for i, text in enumerate(texts):
            for token in tokenize(text):
                out[i, sum(map(ord, token)) % 64] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)


def test_tokenize_lowercases_and_drops_stopwords():
    assert tokenize("The Wellbeing of the area, e.g. ONS4!") == ["wellbeing", "area", "ons4"]


def test_chunk_pages_splits_on_whitespace_within_pages():
    words = " ".join(f"word{i:03d}" for i in range(200))  # 200 x 8 chars
    chunks = chunk_pages([(1, words), (2, "short page"), (3, "   "), (None, "x" * 30)], size=100)
    assert all(len(c.text) <= 100 for c in chunks if c.page != None)  # noqa: E711
    assert " ".join(c.text for c in chunks if c.page == 1) == words  # nothing lost, words whole
    assert [c.text for c in chunks if c.page == 2] == ["short page"]
    assert not [c for c in chunks if c.page == 3]
    assert chunk_pages([(1, "y" * 30)], size=10)[0].text == "y" * 30  # an over-long word stays whole


def test_bm25_ranks_the_chunk_with_the_query_words_first():
    doc = BM25Scorer(DESCRIPTORS).score_document(PAGES)
    assert doc.pages["1.A.1"][0] == 2
    assert doc.pages["5.A.1"][0] == 3
    assert doc.scores["1.A.1"] > doc.scores["1.O.1"]


def test_max_normalisation_scales_the_best_descriptor_to_one():
    raw = BM25Scorer(DESCRIPTORS).score_document(PAGES)
    scaled = BM25Scorer(DESCRIPTORS, normalise="max").score_document(PAGES)
    top = max(raw.scores.values())
    assert scaled.scores == pytest.approx({k: v / top for k, v in raw.scores.items()})
    assert scaled.pages == raw.pages
    with pytest.raises(ValueError, match="normalise"):
        BM25Scorer(DESCRIPTORS, normalise="zscore")


def test_dense_scorer_with_fake_encoder_cites_the_matching_page():
    doc = DenseScorer(DESCRIPTORS, encoder=WordEncoder()).score_document(PAGES)
    assert doc.pages["1.A.1"][0] == 2 and doc.pages["5.A.1"][0] == 3
    assert all(-1.0 <= s <= 1.0 + 1e-6 for s in doc.scores.values())  # raw cosines
    assert len(doc.pages["1.A.1"]) == len(set(doc.pages["1.A.1"])) <= 3


def test_dense_baseline_embeds_a_document_once_per_cache(tmp_path):
    """`evaluator evaluate` run again (after a judge or rubric-cue change) does not embed the baseline's
    chunks again: they come from the cache, with the same scores. Other text is embedded."""
    from evaluator.stages.cache import Cache

    class Counting(WordEncoder):
        weights_hash, precision, version = "fake-weights", "float32", "1"

        def __init__(self) -> None:
            self.texts: list[str] = []

        def encode(self, texts: list[str]) -> np.ndarray:
            self.texts += texts
            return super().encode(texts)

    cache = Cache(tmp_path / "cache")
    first_encoder, again_encoder = Counting(), Counting()
    first = DenseScorer(DESCRIPTORS, first_encoder, cache=cache).score_document(PAGES)
    again = DenseScorer(DESCRIPTORS, again_encoder, cache=cache).score_document(PAGES)
    assert len(first_encoder.texts) > len(DESCRIPTORS) and again_encoder.texts == []
    assert (again.scores, again.pages) == (first.scores, first.pages)
    edited = [(1, "A new page about anchor institutions.")]
    DenseScorer(DESCRIPTORS, again_encoder, cache=cache).score_document(edited)
    assert again_encoder.texts == ["A new page about anchor institutions."]


def test_empty_document_scores_zero():
    doc = BM25Scorer(DESCRIPTORS).score_document([(1, ""), (2, "  ")])
    assert doc.scores == {d.id: 0.0 for d in DESCRIPTORS} and doc.pages["1.A.1"] == []


def test_fast_kappa_matches_sklearn():
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 3, 50), rng.integers(0, 3, 50)
    assert _fast_kappa(a, b, 3) == pytest.approx(cohen_kappa_score(a, b))
    assert _fast_kappa(np.zeros(5, int), np.zeros(5, int), 3) == 0.0


def test_fit_thresholds_reproduces_a_separable_training_set():
    scores = [0.05, 0.1, 0.2, 0.45, 0.5, 0.6, 0.85, 0.9, 1.0]
    statuses = ["not_met"] * 3 + ["partial"] * 3 + ["met"] * 3
    t = fit_thresholds(scores, statuses)
    assert [t.status(s) for s in scores] == statuses
    assert 0.2 < t.partial < 0.45 and 0.6 < t.met < 0.85


def test_fit_thresholds_can_switch_a_class_off():
    t = fit_thresholds([0.1, 0.2, 0.8, 0.9], ["not_met", "not_met", "partial", "partial"])
    assert t.met == np.inf and [t.status(s) for s in (0.1, 0.9)] == ["not_met", "partial"]


def test_predict_derives_levels_by_the_cumulative_rule():
    doc = DocScores({"1.A.1": 0.9, "1.O.1": 0.9, "5.A.1": 0.1}, {"1.A.1": [2], "1.O.1": [5]})
    pred = predict(doc, Thresholds(0.5, 0.8), DESCRIPTORS)
    assert pred.statuses == {"1.A.1": "met", "1.O.1": "met", "5.A.1": "not_met"}
    assert pred.levels == {"1": "optimising", "5": "none"}
    assert pred.pages["1.A.1"] == [2] and pred.pages["5.A.1"] == []


class _Gold:
    def __init__(self, judgements):
        self.descriptors = {d: type("D", (), {"judgement": j}) for d, j in judgements.items()}


def test_loo_predictions_fit_on_the_other_documents_only():
    raw = {
        "a": DocScores({"1.A.1": 0.9, "1.O.1": 0.5, "5.A.1": 0.1}),
        "b": DocScores({"1.A.1": 0.8, "1.O.1": 0.6, "5.A.1": 0.2}),
        "c": DocScores({"1.A.1": 0.95, "1.O.1": 0.55, "5.A.1": 0.15}),
    }
    judgements = {"1.A.1": "met", "1.O.1": "partial", "5.A.1": "not_met"}
    gold = {doc: _Gold(judgements) for doc in raw}
    predictions = loo_predictions(raw, gold, DESCRIPTORS)
    assert sorted(predictions) == ["a", "b", "c"]
    assert all(p.statuses == judgements for p in predictions.values())
    # the held-out document's own labels never reach its thresholds
    gold["c"] = _Gold({"1.A.1": "not_met", "1.O.1": "not_met", "5.A.1": "met"})
    assert loo_predictions(raw, gold, DESCRIPTORS)["c"].statuses == judgements
