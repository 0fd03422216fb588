"""Ranking promises: boilerplate (disclaimers, contents entries, reference lists) is never cited,
whatever it scores, while body text that merely mentions references or cites a study stays citable;
and the shipped ranker is what the real pipeline uses to choose evidence."""

from __future__ import annotations

import pytest
from support import SAMPLE_CORPUS

from evaluator.stages.rank import is_boilerplate, load_ranker
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
