"""Metric functions against hand-computed cases, and the all-"none" predictor on the real gold."""

from __future__ import annotations

import json

import pytest
from sklearn.metrics import cohen_kappa_score
from support import SHARED

from evaluator.evaluation.metrics import (
    BOOTSTRAP_FIGURES,
    DocPrediction,
    Scores,
    bootstrap,
    confusion,
    descriptor_scores,
    headline_figures,
    interval,
    kappa,
    level_agreement,
    level_scores,
    page_hit_rate,
    score,
)
from evaluator.types import LEVELS, STATUSES


def test_kappa_of_identical_ratings_is_one():
    levels = ["none", "assuring", "optimising", "maximising", "none"]
    assert kappa(levels, levels, LEVELS) == pytest.approx(1.0)
    assert kappa(levels, levels, LEVELS, weights="quadratic") == pytest.approx(1.0)


def test_kappa_known_two_by_two():
    # confusion [[20, 5], [10, 15]]: po = 35/50 = 0.7, pe = (25*30 + 25*20)/50^2 = 0.5, kappa = 0.4
    y_true = ["yes"] * 25 + ["no"] * 25
    y_pred = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert kappa(y_true, y_pred, ["no", "yes"]) == pytest.approx(0.4)


def test_quadratic_kappa_matches_sklearn_on_ordinal_codes():
    y_true = ["none", "assuring", "optimising", "maximising", "assuring", "none"]
    y_pred = ["assuring", "assuring", "maximising", "optimising", "none", "none"]
    codes = {level: i for i, level in enumerate(LEVELS)}
    expected = cohen_kappa_score([codes[y] for y in y_true], [codes[y] for y in y_pred], weights="quadratic")
    assert kappa(y_true, y_pred, LEVELS, weights="quadratic") == pytest.approx(expected)


@pytest.mark.parametrize(
    "y_true, y_pred",
    [
        (["none", "assuring", "none"], ["none", "none", "none"]),  # predictions constant
        (["none", "none"], ["none", "none"]),  # both constant: undefined, sklearn gives nan
        ([], []),
    ],
)
def test_kappa_with_a_constant_rater_is_zero(y_true, y_pred):
    assert kappa(y_true, y_pred, LEVELS, weights="quadratic") == 0.0


def test_level_agreement_exact_and_within_one():
    exact, within = level_agreement(
        ["none", "assuring", "maximising", "optimising"], ["none", "optimising", "assuring", "optimising"]
    )
    assert exact == pytest.approx(0.5)
    assert within == pytest.approx(0.75)


def test_confusion_has_fixed_label_order_rows_gold():
    matrix = confusion(["met", "not_met", "not_met"], ["partial", "not_met", "met"], STATUSES)
    assert matrix == [[1, 0, 1], [0, 0, 0], [0, 1, 0]]
    assert level_scores([], []).confusion == [[0] * 4 for _ in range(4)]


def test_descriptor_scores_binary_and_three_class():
    y_true = ["met", "partial", "not_met", "not_met"]
    y_pred = ["partial", "partial", "met", "not_met"]
    s = descriptor_scores(y_true, y_pred)
    # met-or-partial: true [1,1,0,0], pred [1,1,1,0] -> precision 2/3, recall 1, F1 0.8
    assert (s.precision, s.recall, s.f1) == pytest.approx((2 / 3, 1.0, 0.8))
    # binary kappa: po = 3/4, pe = (2*3 + 2*1)/16 = 0.5 -> 0.5
    assert s.kappa_binary == pytest.approx(0.5)
    assert s.kappa == pytest.approx(cohen_kappa_score(y_true, y_pred))
    assert s.accuracy == pytest.approx(0.5)


def test_page_hit_rate_uses_top_k_cited_pages():
    gold = [[3], [5, 9], [12], [1]]
    cited = [[3, 4, 5], [1, 2, 9], [1, 2, 3, 12], []]  # hit, hit at rank 3, miss (rank 4), nothing cited
    assert page_hit_rate(gold, cited) == pytest.approx(0.5)
    assert page_hit_rate(gold, cited, k=4) == pytest.approx(0.75)
    assert page_hit_rate([], []) == 0.0


class _Label:  # the two attributes score() reads from a GoldLabel
    def __init__(self, levels, judgements, pages):
        self.hallmarks = {h: type("H", (), {"level": v}) for h, v in levels.items()}
        self.descriptors = {
            d: type("D", (), {"judgement": j, "pages": pages.get(d, [])}) for d, j in judgements.items()
        }


def test_score_pools_documents_and_serialises():
    gold = {
        "a": _Label({"1": "assuring", "2": "none"}, {"1.A.1": "met", "1.A.2": "not_met"}, {"1.A.1": [4]}),
        "b": _Label({"1": "none", "2": "none"}, {"1.A.1": "partial", "1.A.2": "not_met"}, {"1.A.1": [2]}),
    }
    predictions = {
        "a": DocPrediction(
            levels={"1": "assuring", "2": "none"},
            statuses={"1.A.1": "met", "1.A.2": "not_met"},
            pages={"1.A.1": [4]},
        ),
        "b": {
            "levels": {"1": "assuring", "2": "none"},
            "statuses": {"1.A.1": "not_met", "1.A.2": "not_met"},
            "pages": {},
        },
    }
    s = score(predictions, gold)
    assert s.documents == ["a", "b"]
    assert s.hallmarks.n == 4 and s.hallmarks.exact == pytest.approx(0.75)
    assert s.per_hallmark["2"].exact == 1.0 and s.per_hallmark["2"].kappa_quadratic == 0.0
    assert s.descriptors.n == 4 and s.descriptors.recall == pytest.approx(0.5)
    assert (s.evidence.n, s.evidence.page_hit_rate) == (2, pytest.approx(0.5))
    assert Scores.model_validate(json.loads(s.model_dump_json())) == s


def test_score_requires_a_prediction_for_every_gold_item():
    gold = {"a": _Label({"1": "none"}, {"1.A.1": "met"}, {})}
    with pytest.raises(ValueError, match="no prediction for document a"):
        score({}, gold)
    with pytest.raises(ValueError, match="descriptor 1.A.1"):
        score({"a": DocPrediction(levels={"1": "none"}, statuses={})}, gold)


@pytest.mark.skipif(not (SHARED / "gold").is_dir(), reason="shared gold labels not present")
def test_all_none_on_real_gold_has_high_exact_agreement_and_zero_kappa():
    from evaluator.evaluation.gold import load_gold

    gold = load_gold(SHARED / "gold")
    predictions = {
        doc_id: DocPrediction(
            levels={h: "none" for h in label.hallmarks}, statuses={d: "not_met" for d in label.descriptors}
        )
        for doc_id, label in gold.items()
    }
    s = score(predictions, gold)
    assert s.hallmarks.exact > 0.75  # most gold levels are "none"
    assert s.hallmarks.kappa_quadratic == 0.0
    assert s.descriptors.kappa == 0.0 and s.descriptors.kappa_binary == 0.0
    assert s.descriptors.f1 == 0.0 and s.evidence.page_hit_rate == 0.0


def test_the_level_rule_on_the_reviewers_own_judgements_is_reported_as_the_ceiling():
    """Issue 11's hallmark target is read against what the level rule allows: a judge that called every
    descriptor exactly as the reviewers did still misses a hallmark where they weighed it otherwise
    (here assuring on one met and one not met, which the rule's mean of 0.75 does not reach)."""
    from evaluator.evaluation.evaluate import level_rule_scores
    from evaluator.evaluation.gold import GoldLabel

    label = GoldLabel.model_validate(
        {
            "doc_id": "a",
            "descriptors": {
                "1.A.1": {"judgement": "met"},
                "1.A.2": {"judgement": "partial"},
                "2.A.1": {"judgement": "met"},
                "2.A.2": {"judgement": "not_met"},
            },
            "hallmarks": {"1": {"level": "assuring"}, "2": {"level": "assuring"}},
        }
    )
    levels = {"1.A.1": "assuring", "1.A.2": "assuring", "2.A.1": "assuring", "2.A.2": "assuring"}
    ceiling = level_rule_scores({"a": label}, levels)
    assert ceiling.n == 2 and ceiling.exact == pytest.approx(0.5)
    assert ceiling.confusion[1] == [1, 1, 0, 0]  # gold assuring: the rule says none once, assuring once


def _noisy_predictions(gold, flip_every: int):
    """Every hallmark and descriptor as the reviewers judged it, except every ``flip_every``-th one, and the
    gold's first page cited for every evidenced descriptor."""
    out = {}
    for n, (doc_id, label) in enumerate(sorted(gold.items())):
        levels = {h: v.level for h, v in label.hallmarks.items()}
        statuses = {d: v.judgement for d, v in label.descriptors.items()}
        for i, d in enumerate(statuses):
            if (i + n) % flip_every == 0:
                statuses[d] = "partial" if statuses[d] == "not_met" else "not_met"
        for i, h in enumerate(levels):
            if (i + n) % flip_every == 0:
                levels[h] = "assuring" if levels[h] == "none" else "none"
        pages = {d: v.pages[:1] for d, v in label.descriptors.items() if v.pages}
        out[doc_id] = DocPrediction(levels=levels, statuses=statuses, pages=pages, quote_ranks={})
    return out


@pytest.mark.skipif(not (SHARED / "gold").is_dir(), reason="shared gold labels not present")
def test_bootstrap_intervals_say_how_far_a_figure_moves_with_other_documents():
    """Resampling whole documents: the interval holds the figure on all documents, is wider for a
    kappa made of fewer items (hallmarks, 7 a document) than for one made of more (descriptors, 57),
    comes out the same for the same seed, and a difference between two systems is paired: a system
    against itself differs by exactly 0 on every draw, however wide its own interval."""
    from evaluator.evaluation.gold import load_gold

    gold = load_gold(SHARED / "gold")
    noisy = _noisy_predictions(gold, flip_every=5)
    s = score(noisy, gold)
    assert headline_figures(
        noisy, gold
    ) == pytest.approx(  # the resampled figures are the report's own figures
        {
            "hallmark_kappa": s.hallmarks.kappa_quadratic,
            "hallmark_exact": s.hallmarks.exact,
            "descriptor_kappa": s.descriptors.kappa,
            "met_or_partial_kappa": s.descriptors.kappa_binary,
            "page_hit_rate": s.evidence.page_hit_rate,
            "mrr": float("nan"),
        },
        nan_ok=True,
    )
    draws = bootstrap({"a": noisy, "b": noisy}, gold, resamples=300, seed=1)
    assert set(draws["a"]) == set(BOOTSTRAP_FIGURES) and len(draws["a"]["descriptor_kappa"]) == 300
    for figure, value in (
        ("hallmark_kappa", s.hallmarks.kappa_quadratic),
        ("hallmark_exact", s.hallmarks.exact),
        ("descriptor_kappa", s.descriptors.kappa),
        ("met_or_partial_kappa", s.descriptors.kappa_binary),
    ):
        span = interval(draws["a"][figure])
        assert span.low < value < span.high, figure
        assert interval(draws["a"][figure] - draws["b"][figure]) == interval(draws["a"][figure] * 0.0)
    assert interval(draws["a"]["page_hit_rate"]).low == 1.0  # the gold's own page is always a hit
    assert interval(draws["a"]["mrr"]).low is None  # nothing ranked passages: no MRR, not 0
    width = {f: interval(draws["a"][f]).high - interval(draws["a"][f]).low for f in draws["a"] if f != "mrr"}
    assert width["hallmark_kappa"] > 2 * width["descriptor_kappa"]
    again = bootstrap({"a": noisy}, gold, resamples=300, seed=1)
    assert (again["a"]["descriptor_kappa"] == draws["a"]["descriptor_kappa"]).all()
