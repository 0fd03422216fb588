"""What the ranker's learned adapter adds: evidence page hit and quote MRR, held-out, with and without it.

    .venv/bin/python benchmarks/bench_adapter.py [--rank 16] [--gold ../shared/gold] [--docs ../shared/corpus]

Two ways of holding out, both over every labelled document in ../shared/gold:
- one document: the ranker is fitted on all the others (as `evaluator evaluate` does);
- one place: also without the documents from the same place (ids sharing their first word, e.g. the ten
  ws-* West Sussex documents, whose quotes echo each other), a stricter test of new documents.
"Unfitted" is the same ranker with the adapter left at the identity (its learned feature is then plain
cosine to the descriptor): the difference is what learning the space adds. Also printed: the seconds a
fit takes, and the mean citation scores (best, top three) of credited descriptors when a document's own quotes
trained the ranker (in-sample) and when they did not (out-of-fold): why the judge is fitted on
out-of-fold features (`evaluate.cross_fit`). Analyses come from the user's cache as `evaluate` leaves it.
"""

from __future__ import annotations

import statistics
import time
from unittest import mock

import numpy as np
from common import SHARED, corpus_parser

from evaluator.evaluation.calibrate import rematch
from evaluator.evaluation.evaluate import _analysis_pipeline, analyse_gold, quote_ranks, ranking_examples
from evaluator.evaluation.gold import load_gold
from evaluator.evaluation.metrics import page_hit_rate, ranking_scores
from evaluator.stages import rank

LONG_PAGES = 30


def place(doc_id: str) -> str:
    return doc_id.split("-")[0]


def main() -> None:
    parser = corpus_parser(__doc__)
    parser.add_argument("--gold", default=SHARED / "gold", help="gold label folder (../shared/gold)")
    parser.add_argument("--rank", type=int, default=rank.ADAPTER_RANK, help="adapter rank (shipped: 16)")
    args = parser.parse_args()
    gold = load_gold(args.gold)
    pipeline = _analysis_pipeline()
    analyses, _missing = analyse_gold(gold, args.corpus, pipeline)
    examples = ranking_examples(analyses, gold, pipeline)
    queries = pipeline.index.query_vectors, pipeline.index.query_owner
    fit_seconds: list[float] = []

    def fit(train: list, learned: bool) -> rank.RankerModel:
        epochs = rank.ADAPTER_EPOCHS if learned else 0
        with (
            mock.patch.object(rank, "ADAPTER_RANK", args.rank),
            mock.patch.object(rank, "ADAPTER_EPOCHS", epochs),
        ):
            start = time.perf_counter()
            model = rank.fit_ranker(train, *queries)
        if learned:
            fit_seconds.append(time.perf_counter() - start)
        return model

    def held_out_scores(strict: bool, learned: bool) -> tuple[float, float, float, dict]:
        gold_pages: list[list[int]] = []
        cited: list[list[int | None]] = []
        long: list[bool] = []
        ranks: list[int] = []
        matched = {}
        for doc_id, analysis in analyses.items():
            train = [
                e for k, e in examples.items() if k != doc_id and not (strict and place(k) == place(doc_id))
            ]
            a = rematch(analysis, pipeline, fit(train, learned), examples[doc_id])
            matched[doc_id] = a
            for m in a.matches:
                g = gold[doc_id].descriptors.get(m.descriptor.id)
                if g is not None and g.judgement != "not_met" and g.pages:
                    gold_pages.append(g.pages)
                    cited.append([p.page for p, _ in m.evidence])
                    long.append(analysis.document.page_count > LONG_PAGES)
            ranks.extend(quote_ranks(a, examples[doc_id]).values())
        long_hit = page_hit_rate(
            [g for g, k in zip(gold_pages, long, strict=True) if k],
            [c for c, k in zip(cited, long, strict=True) if k],
        )
        return page_hit_rate(gold_pages, cited), long_hit, ranking_scores(ranks).mrr, matched

    print(
        f"{len(analyses)} documents, adapter rank {args.rank}; page hit @3 (over {LONG_PAGES} pages), quote MRR"
    )
    out_of_fold = {}
    for strict, name in ((False, "one document held out"), (True, "one place held out")):
        for learned in (False, True):
            hit, long_hit, mrr, matched = held_out_scores(strict, learned)
            label = "learned adapter" if learned else "unfitted adapter"
            print(f"  {name:22s} {label:17s} page hit {hit:.3f} ({long_hit:.3f})  MRR {mrr:.3f}")
            if learned and not strict:
                out_of_fold = matched
    print(
        f"fit_ranker with the adapter: median {statistics.median(fit_seconds):.1f} s over {len(fit_seconds)} fits"
    )

    everything = fit(list(examples.values()), learned=True)
    in_sample = {k: rematch(a, pipeline, everything, examples[k]) for k, a in analyses.items()}

    def credited_mean(matched: dict, feature: str) -> float:
        return float(
            np.mean(
                [
                    m.features[feature]
                    for k, a in matched.items()
                    for m in a.matches
                    if (g := gold[k].descriptors.get(m.descriptor.id)) is not None
                    and g.judgement != "not_met"
                ]
            )
        )

    for feature in ("cite_top1", "cite_top3"):
        print(
            f"{feature} of credited descriptors: in-sample {credited_mean(in_sample, feature):.3f}, "
            f"out-of-fold {credited_mean(out_of_fold, feature):.3f}"
        )


if __name__ == "__main__":
    main()
