"""What kind of passage reviewers relied on (mention, commitment, target, data, method), for descriptors
they judged met and for those they judged partial.

    .venv/bin/python benchmarks/quoted_kinds.py [--gold ../shared/gold] [--corpus ../shared/corpus]

The passages are those a reviewer's quote points at (`gold.relied_on`), each classified as `assess`
classifies a cited passage (`kinds.classify_passages`); a descriptor counts once per kind among its
quoted passages. If met and partial quotes differ in kind (a met resting on a commitment or target,
a partial on a mention), the kind of the cited passages could help the judge tell them apart.
Analyses come from the user's cache as `evaluator evaluate` leaves it.
"""

from __future__ import annotations

from collections import Counter

from common import SHARED, corpus_parser

from evaluator.evaluation.evaluate import _analysis_pipeline, analyse_gold
from evaluator.evaluation.gold import load_gold, relied_on
from evaluator.stages.kinds import classify_passages


def main() -> None:
    parser = corpus_parser(__doc__)
    parser.add_argument("--gold", default=SHARED / "gold", help="gold label folder (../shared/gold)")
    args = parser.parse_args()
    gold = load_gold(args.gold)
    analyses, _missing = analyse_gold(gold, args.corpus, _analysis_pipeline())
    counts: Counter[tuple[str, str]] = Counter()
    for doc_id, analysis in analyses.items():
        quoted = relied_on(analysis.passages, gold[doc_id])
        kinds = classify_passages(analysis.passages, {i for ids in quoted.values() for i in ids})
        for descriptor_id, ids in quoted.items():
            judgement = gold[doc_id].descriptors[descriptor_id].judgement
            counts.update((judgement, kind) for kind in {kinds[i] for i in ids})
    kinds_seen = sorted({kind for _, kind in counts})
    print(f"{len(analyses)} documents; share of each judgement's quoted descriptors by passage kind")
    print(f"{'judgement':10s} {'n':>4s} " + " ".join(f"{k:>10s}" for k in kinds_seen))
    for judgement in ("met", "partial"):
        n = sum(v for (j, _), v in counts.items() if j == judgement)
        shares = " ".join(f"{counts[judgement, k] / max(n, 1):10.2f}" for k in kinds_seen)
        print(f"{judgement:10s} {n:4d} {shares}")


if __name__ == "__main__":
    main()
