"""Judging promises: the cumulative level rule of DESIGN.md, an exact level distribution that gives the
suggested level a confidence, and a needs-review flag when the call is close."""

import pytest

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
