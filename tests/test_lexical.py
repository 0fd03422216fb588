"""Keyword matching promises: a passage that uses a descriptor's own words, rare ones above all, is the
best keyword match in its document; a word that every passage uses counts for little; and the scores are
BM25 exactly as rank_bm25 computes it, on a real document's passages."""

from __future__ import annotations

import numpy as np
from rank_bm25 import BM25Okapi
from support import SAMPLE_CORPUS

from evaluator.stages.lexical import bm25_matrix, descriptor_terms, keyword_scores, tokenize
from evaluator.types import Descriptor


def _descriptor(text: str, *queries: str) -> Descriptor:
    return Descriptor(id="4.M.3", hallmark="4", level="maximising", text=text, queries=list(queries))


TREASURY = _descriptor(
    "Wellbeing appraisal in line with HM Treasury Green Book guidance",
    "we appraise options for their wellbeing value",
)


def test_the_passage_using_the_descriptors_rare_words_is_the_best_match() -> None:
    texts = [
        "Wellbeing matters to everyone in the borough and wellbeing is our priority.",
        "We will appraise every capital option against the HM Treasury Green Book wellbeing guidance.",
        "Our wellbeing strategy sets out how partners will work together on wellbeing.",
        "Parks and libraries open longer hours this summer.",
    ]
    scores = keyword_scores(texts, [TREASURY])[:, 0]
    assert scores[1] == 1.0  # each descriptor's best passage scores 1
    assert scores[1] > scores[0] > scores[3] == 0.0
    assert scores[1] > scores[2]


def test_a_word_in_every_passage_counts_less_than_a_word_in_one() -> None:
    texts = [
        "wellbeing for children",
        "wellbeing for older people",
        "wellbeing and the treasury",
        "wellbeing at work",
    ]
    common, rare = bm25_matrix(texts, [["wellbeing"], ["treasury"]]).T
    assert rare[2] > common[2] > 0


def test_a_descriptor_whose_words_are_nowhere_scores_zero_not_nan() -> None:
    scores = keyword_scores(["Parks open longer.", ""], [TREASURY])
    assert scores.tolist() == [[0.0], [0.0]]
    assert keyword_scores([], [TREASURY]).shape == (0, 1)


def test_the_query_is_the_descriptors_wording_and_queries_without_stop_words() -> None:
    assert descriptor_terms(TREASURY) == sorted(
        {
            "wellbeing",
            "appraisal",
            "line",
            "hm",
            "treasury",
            "green",
            "book",
            "guidance",
            "appraise",
            "options",
            "value",
        }
    )


def test_scores_equal_rank_bm25_on_a_real_documents_passages(real_pipeline) -> None:
    analysis = real_pipeline.analyse(SAMPLE_CORPUS / "saltmarsh-bay-connection-2024.pdf")
    texts = [p.text for p in analysis.passages]
    descriptors = real_pipeline.rubric.descriptors
    queries = [descriptor_terms(d) for d in descriptors]
    reference = BM25Okapi([tokenize(t) for t in texts])
    expected = np.array([reference.get_scores(q) for q in queries]).T
    assert len(texts) > 50 and expected.max() > 0
    np.testing.assert_allclose(bm25_matrix(texts, queries), expected, rtol=1e-9, atol=1e-12)


def test_editing_the_keyword_code_changes_the_matcher_version() -> None:
    """Cached matches and the provenance of every assessment name the matcher version: a change to how
    keywords are scored must not reuse matches made by the old code."""
    from evaluator.stages import lexical, match

    assert str(lexical.__file__) in match._SOURCES
