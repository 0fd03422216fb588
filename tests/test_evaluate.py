"""`evaluator evaluate`: leave-one-document-out agreement with the reviewers' labels in ../shared/gold,
scored beside the keyword and dense baselines in the same run. The set grows between sessions: every
test here counts what ../shared holds instead of assuming a number. The floors sit just under the
figures measured on all the labelled documents (issue #11's table)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest
from support import REPO, SHARED_CORPUS, SHARED_GOLD

from evaluator.evaluation import BASELINE_DENSE, BASELINE_KEYWORD, TOOL, TOOL_PREVIOUS
from evaluator.stages.judge import JUDGE

pytestmark = pytest.mark.model


FLOORS = {  # figure -> the floor it must reach
    "hallmark kappa": 0.5,
    "descriptor kappa": 0.4,
    "met-or-partial kappa": 0.5,
    "page hit rate": 0.6,
}


def _gold_ids() -> set[str]:
    return {path.stem for path in SHARED_GOLD.glob("*.json")}


def _negative_controls() -> list[str]:
    with (SHARED_CORPUS / "MANIFEST.tsv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [row["doc_id"] for row in rows if row["kind"] == "negative" and row["doc_id"] in _gold_ids()]


def _figures(scores: dict) -> dict[str, float]:
    return {
        "hallmark kappa": scores["hallmarks"]["kappa_quadratic"],
        "descriptor kappa": scores["descriptors"]["kappa"],
        "met-or-partial kappa": scores["descriptors"]["kappa_binary"],
        "page hit rate": scores["evidence"]["page_hit_rate"],
    }


@pytest.fixture(scope="module")
def report(gold_report):
    output, out = gold_report
    assert "| Hallmark level, quadratic-weighted kappa |" in output
    assert "## Evidence kinds" in output and "| target |" in output
    # per length band, beside page hit and MRR: how often the quoted passage is among the top 10
    assert "| evaluator: quote in top 10 |" in output
    assert "## How far these figures could move with other documents (95% intervals)" in output
    assert out.with_suffix(".md").exists() and out.with_suffix(".html").exists()
    data = json.loads(out.with_suffix(".json").read_text())
    # how many reviewers' quotes could be found at all: what an extraction change moves
    tool = data["systems"][TOOL]
    found = f"for {tool['ranking']['n']} of the {tool['evidence']['n']} descriptors they credited"
    assert found in " ".join(output.split())
    return data


def test_every_gold_document_is_scored(report):
    assert set(report["documents"]) == _gold_ids() and not report["missing"]
    assert set(report["systems"]) == {TOOL, TOOL_PREVIOUS, BASELINE_KEYWORD, BASELINE_DENSE}


@pytest.mark.parametrize("figure", FLOORS)
def test_reaches_the_floor_and_beats_both_baselines(report, figure):
    tool = _figures(report["systems"][TOOL])[figure]
    assert tool >= FLOORS[figure]
    for baseline in (BASELINE_KEYWORD, BASELINE_DENSE):
        assert tool > _figures(report["systems"][baseline])[figure], baseline


def test_the_report_says_how_far_the_level_rule_itself_lets_a_judge_go(report):
    """The hallmark figures are read beside the level rule applied to the reviewers' own descriptor
    judgements, computed from every gold document (new ones included)."""
    ceiling = report["rule_on_reviewers"]
    assert ceiling["n"] == len(_gold_ids()) * 7
    assert 0.0 < ceiling["exact"] <= 1.0 and -1.0 <= ceiling["kappa_quadratic"] <= 1.0
    assert sum(map(sum, ceiling["confusion"])) == ceiling["n"]


def test_negative_controls_stay_none(report):
    assert _negative_controls(), "MANIFEST.tsv names no labelled negative control"
    for doc_id in _negative_controls():
        assert set(report["predictions"][TOOL][doc_id]["levels"].values()) == {"none"}


def test_area_agreement_is_reported_beside_the_same_documents_one_by_one(report):
    """The West Sussex area is scored against gold derived from its four documents' labels, beside the
    per-document suggestions combined like the gold and the same documents scored one by one."""
    from evaluator.evaluation.areas import AREA_BEST_DOCUMENT, AREA_JOINT, AREA_MEMBERS

    areas = report["areas"]
    assert not areas["skipped"], areas["skipped"]
    (name,) = areas["areas"]
    assert set(areas["systems"]) == {AREA_JOINT, AREA_BEST_DOCUMENT, AREA_MEMBERS}
    assert areas["systems"][AREA_JOINT]["documents"] == [name]
    assert sorted(areas["systems"][AREA_MEMBERS]["documents"]) == sorted(areas["areas"][name])
    levels = areas["predictions"][AREA_JOINT][name]["levels"]
    assert set(levels) == set(areas["gold_levels"][name])
    for figure in ("hallmarks", "descriptors"):
        assert areas["systems"][AREA_JOINT][figure]["n"] > 0


def test_learned_ranker_finds_the_reviewers_passages_at_least_as_well_as_similarity(report):
    """The evidence a reviewer reads: the ranker learned from the gold quotes, scored leave-one-out,
    against the similarity-and-cue ranking it replaced (same judge, same documents)."""
    now, before = report["systems"][TOOL], report["systems"][TOOL_PREVIOUS]
    assert now["evidence"]["page_hit_rate"] >= before["evidence"]["page_hit_rate"]
    assert now["ranking"]["mrr"] > before["ranking"]["mrr"]
    assert now["ranking"]["recall_at_10"] > before["ranking"]["recall_at_10"]


def test_confidence_is_calibrated_and_flags_what_to_review(report):
    tool = report["systems"][TOOL]
    assert tool["calibration"]["ece"] < 0.1  # descriptor probabilities mean what they say
    row = next(r for r in tool["review"] if r["threshold"] == JUDGE.review_confidence)
    # hallmarks not flagged for review agree with gold more often than hallmarks overall
    assert row["exact_unflagged"] > tool["hallmarks"]["exact"] and row["flagged"] < 0.5
    # ... with how far that could move with other documents, at every threshold in the table
    span = report["intervals"][f"{TOOL}: exact agreement when not flagged"][f"{JUDGE.review_confidence:.2f}"]
    assert span["low"] <= row["exact_unflagged"] <= span["high"] <= 1.0


def test_each_figure_comes_with_how_far_other_documents_could_move_it(report):
    """A reader weighs a figure, or a gain over the method before, by its 95% interval over the labelled
    documents resampled; the report gives one for every headline figure of the tool and for its
    difference from similarity-cited evidence, and each holds the figure it qualifies."""
    intervals, now, before = report["intervals"], report["systems"][TOOL], report["systems"][TOOL_PREVIOUS]
    for figure, get in (
        ("hallmark_kappa", lambda s: s["hallmarks"]["kappa_quadratic"]),
        ("descriptor_kappa", lambda s: s["descriptors"]["kappa"]),
        ("page_hit_rate", lambda s: s["evidence"]["page_hit_rate"]),
        ("mrr", lambda s: s["ranking"]["mrr"]),
    ):
        span, gain = intervals[TOOL][figure], intervals[f"{TOOL} - {TOOL_PREVIOUS}"][figure]
        assert span["low"] <= get(now) <= span["high"], figure
        assert gain["low"] <= get(now) - get(before) <= gain["high"], figure


def test_two_saved_reports_are_compared_on_the_same_draws(report, tmp_path):
    """`benchmarks/compare_reports.py BEFORE AFTER` gives a change's gain with its interval: the report's
    similarity-cited predictions as "before" and its own as "after" give the report's own difference."""
    before = {**report, "predictions": {**report["predictions"], TOOL: report["predictions"][TOOL_PREVIOUS]}}
    (tmp_path / "before.json").write_text(json.dumps(before))
    (tmp_path / "after.json").write_text(json.dumps(report))
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "compare_reports.py"), "--gold", str(SHARED_GOLD)]
        + [str(tmp_path / "before.json"), str(tmp_path / "after.json")],
        capture_output=True,
        text=True,
        check=True,
    )
    gain = report["intervals"][f"{TOOL} - {TOOL_PREVIOUS}"]["page_hit_rate"]
    line = next(row for row in done.stdout.splitlines() if row.split()[:1] == ["page_hit_rate"])
    assert f"({gain['low']:+.3f} to {gain['high']:+.3f})" in line
