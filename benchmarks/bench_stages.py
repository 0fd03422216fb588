"""Where a screening worker's time goes: start-up, then each pipeline stage over a whole corpus.

    .venv/bin/python benchmarks/bench_stages.py [--corpus ../shared/corpus]

One process with one torch thread, as a screening worker runs, no cache: start-up (importing torch, the
evaluator and sentence-transformers, loading spaCy and the model, embedding the rubric's queries and
its content words for token coverage, the latter also as read from a cache), then per stage summed over
the documents: extraction (pdfplumber), segmentation (spaCy), embedding with token coverage
(MiniLM), matching (with the shipped ranker, as `assess` does; the keyword scores it computes are also
timed on their own, the longest document's apart), judging with the kind of each cited
passage, and the targets table (both parse with spaCy's en_core_web_sm).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import Counter

from common import corpus_parser


def main() -> None:
    parser = corpus_parser(__doc__)
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = "1"
    started = time.perf_counter()
    import torch

    torch.set_num_threads(1)
    from evaluator.pipeline import Pipeline, embed_and_cover
    from evaluator.stages.cache import Cache
    from evaluator.stages.extract import extract
    from evaluator.stages.kinds import find_targets, load_parser
    from evaluator.stages.lexical import keyword_scores
    from evaluator.stages.match import match
    from evaluator.stages.segment import load_nlp, segment
    from evaluator.workspace.batch import find_documents

    imported = time.perf_counter()
    pipeline = Pipeline()
    load_nlp()
    load_parser()
    pipeline.index  # noqa: B018  (loads the model and embeds the rubric's queries)
    ready = time.perf_counter()
    pipeline.query_tokens  # noqa: B018  (the rubric's content words, embedded)
    words = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        Pipeline(encoder=pipeline.encoder, cache=Cache(tmp)).query_tokens  # noqa: B018  (embedded and stored)
        cached = Pipeline(encoder=pipeline.encoder, cache=Cache(tmp))
        cached.index  # noqa: B018
        reading = time.perf_counter()
        cached.query_tokens  # noqa: B018
        read = time.perf_counter() - reading
    print(
        f"start-up: imports {imported - started:.1f} s, spaCy (both models) + model + rubric queries {ready - imported:.1f} s, "
        f"rubric content words {words - ready:.1f} s (from a cache {read:.2f} s) ({pipeline.encoder.precision})"
    )

    totals: Counter[str] = Counter()
    pages = 0
    keywords: list[tuple[float, int, int]] = []  # (seconds, passages, pages) per document
    for path in find_documents([args.corpus]):
        clock = time.perf_counter()

        def lap(stage: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            totals[stage] += now - clock
            clock = now

        document = extract(path)
        lap("extract (pdfplumber)")
        passages = segment(document)
        lap("segment (spaCy)")
        vectors, coverage = embed_and_cover(pipeline.encoder, passages, pipeline.index, pipeline.query_tokens)
        lap("embed (MiniLM)")
        matches = match(
            passages, vectors, pipeline.index, pipeline.ranker, coverage=coverage
        )  # as `assess` does
        lap("match")
        keyword_scores([p.text for p in passages], pipeline.rubric.descriptors)  # again, on their own
        keywords.append((time.perf_counter() - clock, len(passages), document.page_count))
        clock = time.perf_counter()  # not a stage: match computed them already
        pipeline.judge_matches(matches, passages)  # as judge_analysis does, in its two parts:
        lap("judge + cited kinds")  # statuses and levels, each cited passage's kind (spaCy parse)
        find_targets(passages)
        lap("targets (spaCy parse)")
        pages += document.page_count
    print(f"{pages} pages; per stage, summed over the corpus:")
    for stage, seconds in totals.items():
        print(f"  {stage:22s} {seconds:6.1f} s")
    longest = max(keywords, key=lambda k: k[1])
    print(
        f"  of match, keyword scores (BM25) {sum(k[0] for k in keywords):.2f} s; the longest document, "
        f"{longest[2]} pages and {longest[1]} passages, {longest[0] * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
