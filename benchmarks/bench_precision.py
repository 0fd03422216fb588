"""Embedding precision: float32 against bfloat16 autocast on the passages the pipeline embeds.

    .venv/bin/python benchmarks/bench_precision.py [--corpus ../shared/corpus]

Extracts and segments every document (cached), counts and keeps the passages the pipeline embeds
(substantive, unique), and embeds them at both precisions in this process with 1 torch thread, as a screening worker
does. Prints seconds, passages/s, and how close the bfloat16 vectors are to the float32 ones (cosine)
and whether each passage's best-matching rubric descriptor stays the same. Accuracy against the gold
labels at each precision: ``EVALUATOR_PRECISION=float32 evaluator evaluate ...``.
"""

from __future__ import annotations

import os
import time

from common import corpus_parser, segmented_corpus


def main() -> None:
    parser = corpus_parser(__doc__)
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = "1"
    import numpy as np
    import torch

    torch.set_num_threads(1)
    from evaluator.rubric import load_rubric
    from evaluator.stages.embed import MiniLMEncoder, native_bfloat16
    from evaluator.stages.segment import is_substantive

    passages = [p for _, document_passages in segmented_corpus(args.corpus) for p in document_passages]
    substantive = [p.text for p in passages if is_substantive(p)]
    texts = list(dict.fromkeys(substantive))
    print(
        f"{len(passages)} passages: {len(passages) - len(substantive)} "
        f"({100 * (1 - len(substantive) / len(passages)):.0f}%) under 6 words and "
        f"{len(substantive) - len(texts)} repeats are not embedded"
    )
    rubric = load_rubric()
    descriptors = [d.text for d in rubric.descriptors]
    native = native_bfloat16() or ["none"]
    print(f"{len(texts)} passages from {args.corpus}; CPU bfloat16 support: {', '.join(native)}")

    results = {}
    for precision in ("float32", "bfloat16"):
        encoder = MiniLMEncoder(precision=precision)
        encoder.encode(texts[:16])  # load the model and warm up outside the timing
        started = time.perf_counter()
        vectors = encoder.encode(texts)
        seconds = time.perf_counter() - started
        results[precision] = (vectors, encoder.encode(descriptors))
        print(f"{precision}: {seconds:.1f} s, {len(texts) / seconds:.0f} passages/s (1 thread)")

    (exact, exact_d), (fast, fast_d) = results["float32"], results["bfloat16"]
    cosine = (exact * fast).sum(axis=1)
    same_best = ((exact @ exact_d.T).argmax(axis=1) == (fast @ fast_d.T).argmax(axis=1)).mean()
    print(
        f"cosine(float32, bfloat16) per passage: min {cosine.min():.5f}, 1st percentile "
        f"{np.percentile(cosine, 1):.5f}, median {np.median(cosine):.5f}"
    )
    print(f"same best-matching descriptor for {100 * same_best:.1f}% of passages")


if __name__ == "__main__":
    main()
