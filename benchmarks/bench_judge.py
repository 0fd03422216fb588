"""What reading evidence against each descriptor's typical strength adds to the judge, held out.

    .venv/bin/python benchmarks/bench_judge.py [--gold ../shared/gold] [--docs ../shared/corpus] [--one-weight-set]
        [--regularisation 0.3 0.5 1.0]

The judge sees seven evidence features twice: as they are, and minus their mean for the descriptor over
the training documents (`JudgeModel.descriptor_typical`). "Without" sets every typical value to zero,
so the second copy repeats the first and the judge has nothing new. Each document's evidence and
features come from a ranker fitted without it (`evaluate.cross_fit`, as `evaluator evaluate` does);
the judge is fitted two ways:
- one document held out: on all the others (as `evaluator evaluate` does);
- one place held out: also without the documents from the same place (ids sharing their first word,
  e.g. the ten ws-* West Sussex documents), a stricter test of a new place's documents.
Prints descriptor 3-class and met-or-partial kappa, hallmark quadratic kappa and exact agreement.
With ``--one-weight-set`` the rankers are fitted with one weight set, token coverage and keywords
included, so the judge's ``cite_top1``/``cite_top3`` read the same scores that order the citations (what the shipped
ranker avoids with ``rank.CITE_ONLY_FEATURES``). With ``--regularisation C ...`` the judge (with the
typical strengths, as shipped) is fitted at each L1 strength C instead (the shipped
``calibrate.REGULARISATION_C`` is 0.5), on the same out-of-fold features.
Analyses come from the user's cache as `evaluate` leaves it.
"""

from __future__ import annotations

import importlib
from contextlib import nullcontext
from unittest import mock

from bench_adapter import place
from common import SHARED, corpus_parser

from evaluator.evaluation.evaluate import (
    _analysis_pipeline,
    analyse_gold,
    cross_fit,
    gold_labels,
    prediction_of,
    ranking_examples,
)
from evaluator.evaluation.gold import load_gold
from evaluator.evaluation.metrics import score
from evaluator.pipeline import Pipeline
from evaluator.stages import rank
from evaluator.stages.judge import RELATIVE_FEATURES


def main() -> None:
    parser = corpus_parser(__doc__)
    parser.add_argument("--gold", default=SHARED / "gold", help="gold label folder (../shared/gold)")
    parser.add_argument(
        "--one-weight-set",
        action="store_true",
        help="one ranker weight set: the judge reads scores with token coverage and keywords",
    )
    parser.add_argument(
        "--regularisation",
        type=float,
        nargs="+",
        metavar="C",
        help="fit the shipped judge at each of these L1 strengths C instead of with and without typical values",
    )
    args = parser.parse_args()
    gold = load_gold(args.gold)
    pipeline = _analysis_pipeline()
    analyses, _missing = analyse_gold(gold, args.corpus, pipeline)
    one_set = mock.patch.object(rank, "CITE_ONLY_FEATURES", ()) if args.one_weight_set else nullcontext()
    with one_set:
        crossfit = cross_fit(analyses, ranking_examples(analyses, gold, pipeline), pipeline)
    labels = gold_labels(gold)
    # the module itself: the package re-exports a function named `calibrate`
    calibrate = importlib.import_module("evaluator.evaluation.calibrate")

    def no_typical(_matches: object) -> tuple[dict, list[float]]:
        return {}, [0.0] * len(RELATIVE_FEATURES)

    def predictions(strict: bool, typical: bool, c: float = calibrate.REGULARISATION_C) -> dict:
        out = {}
        for doc_id, analysis in crossfit.analyses.items():
            train = {
                k: a.matches
                for k, a in crossfit.analyses.items()
                if k != doc_id and not (strict and place(k) == place(doc_id))
            }
            patch = nullcontext() if typical else mock.patch.object(calibrate, "_typical", no_typical)
            with patch:
                judge = calibrate.fit_judge(
                    *calibrate.training_set(train, labels)[:2], trained_on=list(train), c=c
                )
            fold = Pipeline(rubric=pipeline.rubric, encoder=pipeline.encoder, ranker=None, judge=judge)
            fold.index = pipeline.index
            out[doc_id] = prediction_of(fold.judge_analysis(analysis))
        return out

    print(f"{len(analyses)} documents; descriptor kappa 3-class / met-or-partial, hallmark kappa / exact")
    runs = [(True, c, f"C {c:g}") for c in args.regularisation or ()] or [
        (typical, calibrate.REGULARISATION_C, "with typical" if typical else "without")
        for typical in (False, True)
    ]
    for strict, name in ((False, "one document held out"), (True, "one place held out")):
        for typical, c, label in runs:
            s = score(predictions(strict, typical, c), gold)
            print(
                f"  {name:22s} {label:13s} descriptor {s.descriptors.kappa:.3f} / {s.descriptors.kappa_binary:.3f}"
                f"  hallmark {s.hallmarks.kappa_quadratic:.3f} / {s.hallmarks.exact:.3f}"
            )


if __name__ == "__main__":
    main()
