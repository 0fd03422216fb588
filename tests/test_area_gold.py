"""Area gold: derived from the documents' reviewer labels (a descriptor is as met as its best document),
and the areas file `evaluator evaluate --areas` reads."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import REPO, SHARED_GOLD

from evaluator.errors import EvaluatorError
from evaluator.evaluation.areas import best_document, derive_gold, load_areas, page_offsets
from evaluator.evaluation.gold import load_gold
from evaluator.evaluation.metrics import DocPrediction
from evaluator.rubric import load_rubric
from evaluator.types import LEVELS, STATUSES

WEST_SUSSEX = ["ws-jhws-2019", "ws-jhws-consultation-2019", "ws-jhws-eir-2019", "ws-jsna-summary-2018"]


@pytest.fixture(scope="module")
def labels():
    if not SHARED_GOLD.exists():
        pytest.skip("../shared/gold not available")
    gold = load_gold(SHARED_GOLD)
    return [gold[d] for d in WEST_SUSSEX]


def test_a_descriptor_is_as_met_as_its_best_document(labels) -> None:
    rubric = load_rubric()
    offsets = {d: 100 * i for i, d in enumerate(WEST_SUSSEX)}
    area = derive_gold("West Sussex HWB 2019", labels, offsets, rubric)
    for d in rubric.descriptors:
        judgements = [label.descriptors[d.id].judgement for label in labels]
        best = max(judgements, key=STATUSES.index)
        assert area.descriptors[d.id].judgement == best
        expected = sorted(
            offsets[label.doc_id] + p
            for label in labels
            if label.descriptors[d.id].judgement == best != "not_met"
            for p in label.descriptors[d.id].pages
        )
        assert area.descriptors[d.id].pages == expected
    for h in rubric.hallmarks:  # never below any document's own gold level
        best_level = max((label.hallmarks[h.id].level for label in labels), key=LEVELS.index)
        assert LEVELS.index(area.hallmarks[h.id].level) >= LEVELS.index(best_level)


def test_the_need_evidence_of_the_west_sussex_area_comes_from_the_jsna_summary(labels) -> None:
    """What the reviewers' own labels say: the JSNA summary is the best document for some 3a descriptor."""
    rubric = load_rubric()
    jsna = next(label for label in labels if label.doc_id == "ws-jsna-summary-2018")
    others = [label for label in labels if label is not jsna]
    lifted = [
        d.id
        for d in rubric.hallmark("3a").descriptors
        if STATUSES.index(jsna.descriptors[d.id].judgement)
        > max(STATUSES.index(o.descriptors[d.id].judgement) for o in others)
    ]
    assert lifted, "the JSNA summary adds nothing to 3a in the gold labels"


def test_evaluated_levels_combine_like_the_gold() -> None:
    rubric = load_rubric()
    ids = [d.id for d in rubric.descriptors]

    def prediction(status: str, level: str, page: int) -> DocPrediction:
        return DocPrediction(
            levels={h.id: level for h in rubric.hallmarks},
            statuses=dict.fromkeys(ids, status),
            pages={i: [page] for i in ids},
            probabilities=dict.fromkeys(ids, 0.5),
        )

    combined = best_document(
        {"a": prediction("partial", "none", 1), "b": prediction("met", "none", 7)}, rubric
    )
    assert set(combined.statuses.values()) == {"met"} and combined.pages[ids[0]] == [7]
    assert set(combined.levels.values()) == {"maximising"}  # every descriptor met: the rule lifts it
    assert page_offsets(["a", "b", "c"], {"a": 3, "b": 0, "c": 5}) == {"a": 0, "b": 3, "c": 4}


def test_the_shipped_areas_file_names_labelled_documents() -> None:
    (area,) = load_areas(REPO / "benchmarks" / "shared-areas.tsv")
    assert area.name == "West Sussex HWB 2019" and list(area.doc_ids) == WEST_SUSSEX
    assert area.roles[-1] == "jsna"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name\tdoc\nx\ty\n", "needs tab-separated columns area and doc_id"),
        ("area\tdoc_id\nWest Sussex\t\n", ":2: both area and doc_id are needed"),
    ],
)
def test_a_bad_areas_file_is_a_one_line_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "areas.tsv"
    path.write_text(text)
    with pytest.raises(EvaluatorError, match=message) as caught:
        load_areas(path)
    assert "\n" not in str(caught.value)
