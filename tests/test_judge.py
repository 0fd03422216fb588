"""Judging promises: the cumulative level rule of DESIGN.md, an exact level distribution that gives the
suggested level a confidence, and a needs-review flag when the call is close."""

from pathlib import Path

import pytest
import yaml

from evaluator.stages.judge import level_distribution, level_from_statuses

M, P, N = "met", "partial", "not_met"


@pytest.mark.parametrize(
    ("statuses", "level"),
    [
        ({"assuring": [M, M], "optimising": [M], "maximising": [M, M]}, "maximising"),
        ({"assuring": [M, P], "optimising": [M], "maximising": [M, M]}, "maximising"),  # mean 0.75 passes
        ({"assuring": [P, P], "optimising": [M], "maximising": [M, M]}, "none"),  # all-partial never awards
        (
            {"assuring": [M, M], "optimising": [P], "maximising": [M, M]},
            "assuring",
        ),  # cumulative: a gap stops
        ({"assuring": [M, M, N], "optimising": [M]}, "none"),  # 2/3 < 0.75
        ({"assuring": [M, M, M, P], "optimising": [M, N]}, "assuring"),
        ({"assuring": [M, M, P, N]}, "none"),  # mean 0.625
        ({"assuring": [M, M, M, P], "optimising": [M]}, "optimising"),
        ({"assuring": [N], "optimising": [M], "maximising": [M]}, "none"),  # only when every lower one is
        ({"assuring": [M], "optimising": [], "maximising": [M]}, "assuring"),  # a level with no descriptors
    ],
)
def test_level_rule_is_cumulative_and_needs_substantial_evidence(statuses, level):
    assert level_from_statuses(statuses) == level


def test_level_distribution_is_exact_for_certain_statuses():
    certain = {"assuring": [(0, 0, 1), (0, 1, 0)], "optimising": [(1, 0, 0)], "maximising": [(0, 0, 1)]}
    dist = level_distribution(certain)
    assert dist["assuring"] == pytest.approx(1.0)
    assert sum(dist.values()) == pytest.approx(1.0)


def test_level_distribution_reflects_uncertain_descriptors():
    # two assuring descriptors each met with p=0.5 else not_met: reach needs both met -> 0.25
    dist = level_distribution({"assuring": [(0.5, 0, 0.5), (0.5, 0, 0.5)], "optimising": [(1, 0, 0)]})
    assert dist["assuring"] == pytest.approx(0.25)
    assert dist["none"] == pytest.approx(0.75)


# --------------------------------------------- explicit statements (rubric met_when)


def _definition_results():
    from evaluator.rubric import load_rubric
    from evaluator.types import DescriptorResult, Evidence, Passage

    rubric = load_rubric()
    descriptors = [d for h in rubric.hallmarks for d in h.descriptors if d.id in ("1.A.1", "1.A.2")]
    passages = [
        Passage(
            id="p1-b0-s0",
            page=1,
            text="This is a fictional sample document. By wellbeing we mean nothing here.",
        ),
        Passage(
            id="p3-b1-s0", page=3, text="Improving wellbeing means helping everyone in the borough to thrive."
        ),
        Passage(
            id="p4-b0-s0",
            page=4,
            text="In this strategy, wellbeing means how people feel their lives are going; it is not the same as health.",
        ),
    ]
    partial = DescriptorResult(
        id="1.A.1",
        status="partial",
        probability=0.62,
        evidence=[Evidence(page=3, text=passages[1].text, score=0.7, passage_id="p3-b1-s0")],
    )
    other = DescriptorResult(id="1.A.2", status="not_met", probability=0.2)
    return [partial, other], {"1.A.1": 0.3, "1.A.2": 0.05}, passages, descriptors


def test_a_plain_definition_of_wellbeing_is_met_and_cited_first():
    """Issue 11: 'In this strategy, wellbeing means ...' does what 1.A.1 says, so a reviewer reads it
    as met, whatever the learned judge's prior; not a disclaimer, not 'improving wellbeing means'."""
    from evaluator.stages.judge import JUDGE, credit_explicit

    results, p_met, passages, descriptors = _definition_results()
    credit_explicit(results, p_met, passages, descriptors)
    definition, other = results
    assert definition.status == "met"
    assert definition.probability >= JUDGE.explicit_probability
    assert p_met["1.A.1"] >= JUDGE.explicit_probability
    assert definition.evidence[0].passage_id == "p4-b0-s0" and definition.evidence[0].page == 4
    assert "fictional sample document" not in " ".join(e.text for e in definition.evidence)
    assert other.status == "not_met" and p_met["1.A.2"] == 0.05  # no statement of it: left to the judge


def test_without_a_definition_the_judges_call_stands():
    from evaluator.stages.judge import credit_explicit

    results, p_met, passages, descriptors = _definition_results()
    credit_explicit(results, p_met, passages[:2], descriptors)  # the disclaimer and "improving ... means"
    assert results[0].status == "partial" and results[0].probability == 0.62 and p_met["1.A.1"] == 0.3


EXPLICIT_SENTENCES = yaml.safe_load((Path(__file__).parent / "expectations" / "explicit.yaml").read_text())
EXPLICIT = [
    pytest.param(descriptor_id, text, call == "met", id=f"{descriptor_id}:{call}:{n}")
    for descriptor_id, calls in EXPLICIT_SENTENCES.items()
    for call, texts in calls.items()
    for n, text in enumerate(texts)
]


def test_every_explicit_statement_pattern_has_sentences_either_side():
    """A rubric author who adds ``met_when`` patterns to a descriptor also says, in explicit.yaml, what
    they must find and what they must not."""
    from evaluator.rubric import load_rubric

    with_patterns = {d.id for d in load_rubric().descriptors if d.met_when}
    assert set(EXPLICIT_SENTENCES) == with_patterns
    assert all(calls.get("met") and calls.get("not_met") for calls in EXPLICIT_SENTENCES.values())


@pytest.mark.parametrize(("descriptor_id", "text", "explicit"), EXPLICIT)
def test_explicit_statements_are_what_a_reviewer_reads_as_met(descriptor_id, text, explicit):
    """Issue 11 (sentences in tests/expectations/explicit.yaml): a goal to increase healthy life
    expectancy, WELLBYs, a Treasury wellbeing appraisal, anchor institutions pulling a lever, wellbeing
    set apart from mental ill health: stated plainly, each is met; a figure, a bare name or a definition
    of health is not."""
    from evaluator.rubric import load_rubric
    from evaluator.stages.judge import explicit_statement
    from evaluator.types import Passage

    descriptor = load_rubric().descriptor(descriptor_id)
    found = explicit_statement(descriptor, [Passage(id="p1-b0-s0", page=1, text=text)])
    assert (found is not None) == explicit
