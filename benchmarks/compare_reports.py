"""Is a change's gain more than the spread between documents? Two evaluate reports, paired.

    python benchmarks/compare_reports.py BEFORE.json AFTER.json [--gold ../shared/gold] [--system evaluator]

BEFORE and AFTER are the JSON files `evaluator evaluate ... --report NAME` writes, one from before a
change and one from after, over the same gold documents (nothing is re-run). The documents are drawn
with replacement (`metrics.bootstrap`, 1,000 times by default), the same draws for both reports, and
for each headline figure the script prints before, after, the difference and its 95% interval. An
interval that includes 0 means the change moved the figure by less than which documents happen to be
labelled does.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from common import SHARED

from evaluator.evaluation.evaluate import TOOL
from evaluator.evaluation.gold import load_gold
from evaluator.evaluation.metrics import (
    BOOTSTRAP_FIGURES,
    BOOTSTRAP_RESAMPLES,
    bootstrap,
    headline_figures,
    interval,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="report JSON from before the change")
    parser.add_argument("after", type=Path, help="report JSON from after the change")
    parser.add_argument(
        "--gold", type=Path, default=SHARED / "gold", help="gold label folder (../shared/gold)"
    )
    parser.add_argument("--system", default=TOOL, help=f"which system of the reports to compare ({TOOL})")
    parser.add_argument("--resamples", type=int, default=BOOTSTRAP_RESAMPLES)
    args = parser.parse_args()
    reports = {}
    for name, path in (("before", args.before), ("after", args.after)):
        try:
            reports[name] = json.loads(path.read_text())
        except (OSError, ValueError) as err:
            parser.error(
                f"cannot read {path} ({err}): give the .json that `evaluator evaluate --report` writes"
            )
        if args.system not in reports[name].get("predictions", {}):
            parser.error(f"{path} has no predictions of {args.system}: is it an `evaluator evaluate` report?")
    documents = [set(r["documents"]) for r in reports.values()]
    if documents[0] != documents[1]:
        parser.error(f"the reports cover different documents: {sorted(documents[0] ^ documents[1])}")
    gold = {k: v for k, v in load_gold(args.gold).items() if k in documents[0]}
    systems = {name: r["predictions"][args.system] for name, r in reports.items()}
    draws = bootstrap(systems, gold, resamples=args.resamples)
    before, after = headline_figures(systems["before"], gold), headline_figures(systems["after"], gold)
    print(
        f"{len(gold)} documents, {args.resamples:,} resamples; {args.system}: before -> after, difference (95% interval)"
    )
    for figure in BOOTSTRAP_FIGURES:
        span = interval(draws["after"][figure] - draws["before"][figure])
        if span.low is None or span.high is None:
            continue
        print(
            f"  {figure:22s} {before[figure]:.3f} -> {after[figure]:.3f}  "
            f"{after[figure] - before[figure]:+.3f} ({span.low:+.3f} to {span.high:+.3f})"
        )


if __name__ == "__main__":
    main()
