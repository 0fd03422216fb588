"""How the hallmark level rule shapes the hallmark figures: the rule on the reviewers' own descriptor
judgements and on the tool's, as shipped and with other thresholds.

    python benchmarks/level_rule.py --report eval/report.json [--gold ../shared/gold]

``--report`` is the JSON that `evaluator evaluate ... --report eval/report` writes (its
leave-one-document-out statuses are reused, nothing is re-run). The shipped rule (DESIGN.md) is
cumulative: a level is reached when its descriptors average at least 0.75 (met 1, partial 0.5) and
every lower level is reached. The variants are questions for the rubric's owners, not settings.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
from common import SHARED

from evaluator.evaluation.evaluate import level_rule_scores
from evaluator.evaluation.gold import load_gold
from evaluator.rubric import load_rubric
from evaluator.stages.judge import STATUS_VALUE, level_from_statuses
from evaluator.types import LEVELS, RUBRIC_LEVELS


def variant(assuring: float, above: float, needs_met: bool) -> Callable[[dict[str, list[str]]], str]:
    """The cumulative rule with its own threshold at assuring and above it; ``needs_met``: assuring also
    needs one descriptor met."""

    def level(by_level: dict[str, list[str]]) -> str:
        reached = "none"
        for name in RUBRIC_LEVELS:
            statuses = by_level.get(name, [])
            threshold = assuring if name == "assuring" else above
            if not statuses or np.mean([STATUS_VALUE[s] for s in statuses]) < threshold:
                break
            if name == "assuring" and needs_met and "met" not in statuses:
                break
            reached = name
        return reached

    return level


RULES: dict[str, Callable[[dict[str, list[str]]], str]] = {
    "shipped: 0.75 at every level": level_from_statuses,
    "assuring at 0.6": variant(0.6, 0.75, False),
    "assuring at 0.5 with one met": variant(0.5, 0.75, True),
    "assuring at 0.5 with one met, above it 0.8": variant(0.5, 0.8, True),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", type=Path, required=True, help="evaluate's report JSON")
    parser.add_argument("--gold", type=Path, default=SHARED / "gold")
    args = parser.parse_args()
    gold = load_gold(args.gold)
    predictions = json.loads(args.report.read_text())["predictions"]["evaluator"]
    levels = {d.id: d.level for d in load_rubric().descriptors}
    sources = {
        "reviewers' statuses": None,
        "tool's statuses": {d: p["statuses"] for d, p in predictions.items()},
    }
    print(f"{len(predictions)} documents; hallmark levels against the reviewers' own")
    print(f"{'rule':45} {'statuses':20} {'exact':>6} {'kappa':>6}")
    scored = {doc_id: gold[doc_id] for doc_id in predictions}
    for name, rule in RULES.items():
        for source, statuses in sources.items():
            s = level_rule_scores(scored, levels, statuses, rule)
            print(f"{name:45} {source:20} {s.exact:6.3f} {s.kappa_quadratic:6.3f}")
    shipped = level_rule_scores(scored, levels)
    print("\nthe shipped rule on the reviewers' statuses (rows: their level, columns: the rule's)")
    print(" " * 11 + "".join(f"{name:>11}" for name in LEVELS))
    for name, row in zip(LEVELS, shipped.confusion, strict=True):
        print(f"{name:>11}" + "".join(f"{n:11d}" for n in row))


if __name__ == "__main__":
    main()
