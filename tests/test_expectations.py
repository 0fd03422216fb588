"""Evidence expectations as data (tests/expectations/evidence.yaml), checked with the real pipeline on
the real documents (and the sample corpus): the passage a reviewer would cite is among the top three,
a misleading one is not, and a plainly stated descriptor gets the status a reviewer would give.
Known failures are strict xfails, so an improvement is noticed."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from support import SAMPLE_CORPUS, SHARED_GOLD, shared_file

pytestmark = pytest.mark.model

EXPECTATIONS = yaml.safe_load((Path(__file__).parent / "expectations" / "evidence.yaml").read_text())


def _fold(text: str) -> str:
    for curly in "‘’":
        text = text.replace(curly, "'")
    return " ".join(text.lower().split())


def _case(item: dict):
    kind = next(k for k in ("cite", "not_cite", "status") if k in item)
    marks = [pytest.mark.xfail(strict=True, reason=item["known_failure"])] if "known_failure" in item else []
    return pytest.param(item, id=f"{item['doc']}:{item['descriptor']}:{kind}", marks=marks)


@pytest.fixture(scope="module")
def assessments(real_pipeline):
    cache = {}

    def get(doc_id: str):
        if doc_id not in cache:
            sample = SAMPLE_CORPUS / f"{doc_id}.pdf"
            cache[doc_id] = real_pipeline.assess(sample if sample.exists() else shared_file(f"{doc_id}.pdf"))
        return cache[doc_id]

    return get


@pytest.mark.parametrize("item", [_case(i) for i in EXPECTATIONS])
def test_evidence_expectation(item, assessments):
    result = assessments(item["doc"]).descriptor_results()[item["descriptor"]]
    cited = [_fold(e.text) for e in result.evidence]
    if "status" in item:
        assert result.status == item["status"], (item["why"], result.status, cited)
    elif "cite" in item:
        assert any(_fold(item["cite"]) in c or c in _fold(item["cite"]) for c in cited), (item["why"], cited)
    else:
        assert not any(_fold(item["not_cite"]) in c for c in cited), (item["why"], cited)


def test_explicit_statements_fire_only_where_reviewers_credited_met(real_pipeline):
    """A rubric `met_when` pattern makes a descriptor met outright, so it must be as sure as a reviewer:
    in every gold document (new ones included), a descriptor's explicit statement is found only where
    the reviewers judged that descriptor met."""
    from evaluator.evaluation.gold import load_gold
    from evaluator.stages.judge import explicit_statement

    if not SHARED_GOLD.exists():
        pytest.skip("../shared/gold not available")
    with_patterns = [d for d in real_pipeline.rubric.descriptors if d.met_when]
    assert with_patterns, "the shipped rubric names explicit statements"
    found = 0
    for doc_id, labels in load_gold(SHARED_GOLD).items():
        passages = real_pipeline.analyse(shared_file(f"{doc_id}.pdf")).passages
        for descriptor in with_patterns:
            statement = explicit_statement(descriptor, passages)
            if statement is None:
                continue
            found += 1
            label = labels.descriptors[descriptor.id]
            assert label.judgement == "met", (doc_id, descriptor.id, label.judgement, statement.text)
    assert found, "the patterns find the gold document's own definition of wellbeing"
