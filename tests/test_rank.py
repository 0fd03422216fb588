"""Ranking promises: boilerplate (disclaimers, contents entries, reference lists) is never cited,
whatever it scores, while body text that merely mentions references or cites a study stays citable;
the learned space brings the passages reviewers quote closer to their descriptor; the ranker learns
which passage of a document a reviewer picks, whatever sets documents apart; and the shipped
ranker is what the real pipeline uses to choose evidence."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from support import SAMPLE_CORPUS

from evaluator.stages.rank import (
    PASSAGE_FEATURES,
    RANK_FEATURES,
    Adapter,
    RankerModel,
    RankingExample,
    _pairwise_weights,
    fit_adapter,
    fit_ranker,
    is_boilerplate,
    load_ranker,
)
from evaluator.types import Passage


def _p(text: str, *headings: str) -> Passage:
    return Passage(id="p1-b0-s0", page=1, text=text, headings=list(headings))


@pytest.mark.parametrize(
    "passage",
    [
        _p("This is a fictional sample document written for the project."),
        _p("© 2023 Eastbridge Council. All rights reserved."),
        _p("This document is available in large print and other alternative formats on request."),
        _p("Our vision ..................... 4"),
        _p("Marmot M, Allen J, Boyce T (2020). Health equity in England: the Marmot Review 10 years on."),
        _p("Smith, J. et al. (2019) Loneliness and wellbeing. Journal of Public Health."),
        _p("Available at https://doi.org/10.1000/182 [online], accessed 3 May 2021."),
        _p("West Sussex County Council. (2013). West Sussex Carers Health and Social Needs Assessment."),
        _p("7 Buckinghamshire Council. (2024). Joint Strategic Needs Assessment: Data Profile."),
        _p("53 Anti-Bullying Alliance (2016). Wellbeing Indicators: Wave one report."),
        _p(
            "26 Health Survey for England 2015, NHS Digital. http://www.content.digital.nhs.uk/catalogue/PUB22610."
        ),
        _p("Wellbeing: how people feel their lives are going.", "Strategy", "Glossary"),
        _p("The five ways to wellbeing", "References"),
    ],
    ids=lambda p: p.text[:30],
)
def test_boilerplate_is_recognised(passage: Passage) -> None:
    assert is_boilerplate(passage)


@pytest.mark.parametrize(
    "passage",
    [
        _p("A review by Smith et al. (2019) found that social prescribing improves wellbeing."),
        _p("We will publish our references and data on the council website."),
        _p("Public Health England (2019) found that loneliness is most common among young adults."),
        _p("1 in 4 adults feel lonely some of the time (www.ons.gov.uk)."),
        _p("Life satisfaction in West Sussex (2019). The mean score was 7.7 out of 10."),
        _p(
            "Life satisfaction rose from 7.4 to 7.6 between 2019 and 2023.",
            "Glossary of success",
            "Our measures",
        ),
        _p("Wellbeing is how people feel their lives are going.", "Glossary", "What we mean by wellbeing"),
    ],
    ids=lambda p: p.text[:30],
)
def test_body_text_stays_citable(passage: Passage) -> None:
    assert not is_boilerplate(passage)


def test_shipped_ranker_is_fitted_on_reviewer_quotes() -> None:
    ranker = load_ranker()
    assert ranker.version.startswith("ranker-") and len(ranker.trained_on) >= 10
    assert "relied-on passages" in ranker.notes
    assert ranker.features[-1] == "learned_similarity" and np.abs(ranker.adapter.u).max() > 0


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def test_an_unfitted_adapter_is_plain_cosine_to_the_descriptor() -> None:
    rng = np.random.default_rng(0)
    passages, queries, owner = (
        _unit(rng.normal(size=(5, 8))),
        _unit(rng.normal(size=(4, 8))),
        np.array([0, 0, 1, 1]),
    )
    adapter = Adapter(u=np.zeros((8, 2)).tolist(), v=rng.normal(size=(8, 2)).tolist())
    descriptors = _unit(np.stack([queries[:2].sum(0), queries[2:].sum(0)]))
    assert np.allclose(adapter.similarity(passages, queries, owner), passages @ descriptors.T, atol=1e-6)


def _synthetic_document(rng: np.random.Generator, doc_id: str, hidden: np.ndarray) -> RankingExample:
    """40 passages; the one reviewers quote for descriptor 0 leans along a direction plain cosine to the
    descriptor's wording does not see (as a strategy's own words for "a definition of wellbeing" might)."""
    vectors = rng.normal(size=(40, hidden.size))
    vectors[7] += 3.0 * hidden
    return RankingExample(
        doc_id=doc_id,
        features=np.zeros((40, 2, len(PASSAGE_FEATURES)), dtype=np.float32),
        citable=np.ones(40, dtype=bool),
        relied_on={0: [7]},
        vectors=_unit(vectors).astype(np.float32),
    )


def test_the_learned_space_ranks_the_quoted_passage_higher_in_an_unseen_document() -> None:
    rng = np.random.default_rng(1)
    queries, owner = _unit(rng.normal(size=(4, 32))).astype(np.float32), np.array([0, 0, 1, 1])
    hidden = _unit(rng.normal(size=32))
    hidden = _unit(hidden - (hidden @ _unit(queries[:2].sum(0))) * _unit(queries[:2].sum(0)))
    adapter = fit_adapter([_synthetic_document(rng, f"d{i}", hidden) for i in range(8)], queries, owner)
    unseen = _synthetic_document(rng, "unseen", hidden)
    plain = Adapter(u=np.zeros_like(adapter.u).tolist(), v=adapter.v)

    def rank_of_quote(a: Adapter) -> int:
        return int(
            (
                a.similarity(unseen.vectors, queries, owner)[:, 0]
                > a.similarity(unseen.vectors, queries, owner)[7, 0]
            ).sum()
        )

    assert rank_of_quote(adapter) < rank_of_quote(plain)
    assert rank_of_quote(adapter) <= 2


def test_a_ranker_read_back_from_json_scores_the_same() -> None:
    shipped = load_ranker()
    rng = np.random.default_rng(2)
    features = rng.normal(size=(6, 3, len(PASSAGE_FEATURES)))
    learned = rng.uniform(size=(6, 3))
    again = RankerModel.model_validate_json(shipped.model_dump_json())
    assert np.array_equal(again.scores(features, learned), shipped.scores(features, learned))


@pytest.mark.model
def test_no_assessment_of_the_sample_corpus_cites_boilerplate(real_pipeline) -> None:
    for pdf in sorted(SAMPLE_CORPUS.glob("*.pdf")):
        assessment = real_pipeline.assess(pdf)
        assert assessment.provenance.ranker == load_ranker().version
        cited = [(i, e.text) for i, r in assessment.descriptor_results().items() for e in r.evidence]
        assert cited, pdf.name
        boiler = [
            (d, t)
            for d, t in cited
            if is_boilerplate(Passage(id="x", page=1, text=t)) or "fictional sample" in t.lower()
        ]
        assert not boiler, (pdf.name, boiler[:3])


def _documents_of_two_lengths(rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per (document, descriptor): two features of each candidate and which one a reviewer quoted.
    Feature 0 marks the quote within its document. Feature 1 is higher in every passage of the short
    documents (where one candidate in 6 is quoted) than in the long ones (one in 120), and within a
    document slightly lower for the quote, like a passage's length or its page position might be."""
    groups = []
    for doc in range(12):
        n, level = (6, 2.0) if doc % 2 else (120, -2.0)
        features = np.column_stack([rng.normal(size=n), level + 0.3 * rng.normal(size=n)])
        relied = np.zeros(n, dtype=bool)
        relied[0] = True
        features[0] = [features[:, 0].max() + 0.2, level - 0.6]
        groups.append((features, relied))
    return groups


def test_the_ranker_learns_which_passage_a_reviewer_picks_within_a_document() -> None:
    """What differs between documents (short ones have few candidates per quote, long ones hundreds)
    must not decide which passage of a document is cited: the quote ranks first in each document."""
    groups = _documents_of_two_lengths(np.random.default_rng(3))
    weights = _pairwise_weights(groups, c=0.1)
    for features, relied in groups:
        assert np.argmax(features @ weights) == np.flatnonzero(relied)[0]
    unseen = _documents_of_two_lengths(np.random.default_rng(4))
    assert all(np.argmax(f @ weights) == 0 for f, _ in unseen)


def test_a_feature_the_same_for_a_whole_document_carries_no_ranking_weight() -> None:
    groups = [
        (np.column_stack([f[:, 0], np.full(len(f), float(i))]), relied)
        for i, (f, relied) in enumerate(_documents_of_two_lengths(np.random.default_rng(5)))
    ]
    weights = _pairwise_weights(groups, c=0.1)
    assert weights[0] > 0 and abs(weights[1]) < 1e-6


def _stacked_weights(groups: list[tuple[np.ndarray, np.ndarray]], c: float) -> np.ndarray:
    """The textbook reduction: every difference and its negative, stacked (twice the memory)."""
    d = np.concatenate(
        [(f[relied][:, None, :] - f[~relied][None, :, :]).reshape(-1, f.shape[1]) for f, relied in groups]
    )
    clf = LogisticRegression(C=c, fit_intercept=False, max_iter=3000)
    clf.fit(np.concatenate([d, -d]), np.repeat([1, 0], len(d)))
    return clf.coef_[0]


def test_the_ranker_holds_each_pair_once_and_learns_what_the_stacked_pairs_teach() -> None:
    """Pairs grow with every labelled document (188,000 for the 16 gold ones), so each is held once,
    every other one negated; the weights are those of stacking each pair with its negative."""
    groups = _documents_of_two_lengths(np.random.default_rng(6))
    np.testing.assert_allclose(_pairwise_weights(groups, c=0.1), _stacked_weights(groups, 0.1), atol=1e-4)
    lone = [(np.array([[1.0, 0.5], [0.2, 0.9]]), np.array([True, False]))]  # a single pair
    np.testing.assert_allclose(_pairwise_weights(lone, c=0.1), _stacked_weights(lone, 0.1), atol=1e-4)


def test_the_judge_reads_scores_without_the_cite_only_features() -> None:
    """Token coverage orders the passages cited, but the scores the judge reads (cite_top1...) are a
    ranker fitted without it: the same judge features whatever the passages' coverage."""
    rng = np.random.default_rng(7)
    n_features = len(RANK_FEATURES) - 1  # all but the learned similarity, which the examples' vectors give
    coverage = list(RANK_FEATURES).index("token_coverage")
    examples = []
    for doc in range(6):
        features = rng.normal(size=(40, 1, n_features)).astype(np.float32)
        features[0, 0, coverage] += 3.0  # the quoted passage covers the descriptor's wording
        features[0, 0, 0] += 1.0
        vectors = rng.normal(size=(40, 8)).astype(np.float32)
        examples.append(
            RankingExample(
                doc_id=f"doc{doc}",
                features=features,
                citable=np.ones(40, dtype=bool),
                relied_on={0: [0]},
                vectors=vectors / np.linalg.norm(vectors, axis=1, keepdims=True),
            )
        )
    queries = rng.normal(size=(2, 8)).astype(np.float32)
    model = fit_ranker(examples, queries / np.linalg.norm(queries, axis=1, keepdims=True), np.array([0, 0]))
    assert model.coef[coverage] > 0 and model.judge_coef[coverage] == 0
    features, learned = examples[0].features, np.zeros((40, 1), dtype=np.float32)
    more = features.copy()
    more[:, 0, coverage] += 1.0
    assert np.allclose(
        model.scores(features, learned, for_judge=True), model.scores(more, learned, for_judge=True)
    )
    assert not np.allclose(model.scores(features, learned), model.scores(more, learned))
