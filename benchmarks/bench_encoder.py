"""The encoder's cost per page: batching by token count against the character-sorted batches before it.

    .venv/bin/python benchmarks/bench_encoder.py [--corpus ../shared/corpus] [--repeat 3] [--int8] [--coverage]

One process with one torch thread, as a screening worker runs. Every document is extracted (cached) and
segmented; then, interleaved in each repeat (the order alternating), its passages are embedded as the
pipeline does (``embed_passages``: one call per document, batches of similar token count) and as before
(one sentence-transformers call, which sorts by characters). Prints seconds (CPU time of this process,
and wall time) per page and per embedded passage, the tokens each way pushes through the model with
its padding, and how far the vectors moved (cosine). Also prints what share of the passages and
tokens the other candidates would save (never-citable boilerplate), and with ``--int8`` the cost and
cosine of torch's dynamic int8 quantization of the same weights, and with ``--coverage`` the pipeline's
pass that also measures each passage's token coverage of the descriptors (``embed_and_cover``).
"""

from __future__ import annotations

import os
import time

from common import corpus_parser, segmented_corpus


def main() -> None:
    parser = corpus_parser(__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="interleaved runs of each way (3)")
    parser.add_argument("--int8", action="store_true", help="also time dynamic int8 quantization")
    parser.add_argument(
        "--coverage", action="store_true", help="also time the pipeline's pass with token coverage"
    )
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = "1"
    import numpy as np
    import torch

    torch.set_num_threads(1)
    from evaluator.pipeline import embed_passages
    from evaluator.stages.embed import MiniLMEncoder, token_batches
    from evaluator.stages.rank import is_boilerplate
    from evaluator.stages.segment import is_substantive

    documents = [(document.page_count, passages) for document, passages in segmented_corpus(args.corpus)]
    pages = sum(n for n, _ in documents)
    encoder = MiniLMEncoder()
    model = encoder.model
    encoder.encode(["warm up the model outside the timing"])

    def token_counts(texts: list[str]) -> list[int]:
        return model.tokenizer(texts, truncation=True, max_length=model.max_seq_length, return_length=True)[
            "length"
        ]

    def embedded_texts(passages) -> list[str]:
        return list(dict.fromkeys(p.text for p in passages if is_substantive(p)))

    # the candidates: what the pipeline embeds, and what of it is never citable
    passages = [p for _, ps in documents for p in ps]
    texts = [t for _, ps in documents for t in embedded_texts(ps)]
    boilerplate = [t for _, ps in documents for t in embedded_texts([p for p in ps if is_boilerplate(p)])]
    tokens, boilerplate_tokens = sum(token_counts(texts)), sum(token_counts(boilerplate))
    print(
        f"{len(documents)} documents, {pages} pages, {len(passages)} passages; {len(texts)} embedded (6 words "
        f"or more, repeats once), {tokens} tokens (max {model.max_seq_length} each); of them boilerplate "
        f"(never cited): {len(boilerplate)} passages ({100 * len(boilerplate) / len(texts):.1f}%), "
        f"{boilerplate_tokens} tokens ({100 * boilerplate_tokens / tokens:.1f}%)"
    )

    def by_characters(passages) -> np.ndarray:
        """The encoder before: one sentence-transformers call, batches of 16 sorted by character count."""
        unique = embedded_texts(passages)
        if not unique:
            return np.zeros((0, encoder.dim), dtype=np.float32)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=encoder.precision == "bfloat16"):
            vectors = model.encode(unique, batch_size=16, convert_to_tensor=True, show_progress_bar=False)
        return torch.nn.functional.normalize(vectors.float(), dim=1).numpy()

    def first_rows(vectors: np.ndarray, passages) -> np.ndarray:
        """One row per distinct embedded text, as ``embedded_texts`` lists them."""
        first: dict[str, int] = {}
        for i, p in enumerate(passages):
            if is_substantive(p):
                first.setdefault(p.text, i)
        return vectors[list(first.values())]

    def by_tokens(passages) -> np.ndarray:
        """The encoder now, through the pipeline's own call."""
        return first_rows(embed_passages(encoder, passages), passages)

    ways = {"before: batches by characters": by_characters, "after: batches by tokens": by_tokens}
    padded = {"before: batches by characters": 0, "after: batches by tokens": 0}
    for _, ps in documents:
        unique = embedded_texts(ps)
        lengths = np.asarray(token_counts(unique))
        by_chars = np.argsort([-len(t) for t in unique], kind="stable")
        for i in range(0, len(unique), 16):
            padded["before: batches by characters"] += (
                len(by_chars[i : i + 16]) * lengths[by_chars[i : i + 16]].max()
            )
        for batch in token_batches(list(lengths), encoder.batch_size):
            padded["after: batches by tokens"] += len(batch) * lengths[batch].max()
    if args.int8:
        quantized = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)

        def int8(passages) -> np.ndarray:
            unique = embedded_texts(passages)
            if not unique:
                return np.zeros((0, encoder.dim), dtype=np.float32)
            vectors = quantized.encode(unique, batch_size=16, convert_to_tensor=True, show_progress_bar=False)
            return torch.nn.functional.normalize(vectors.float(), dim=1).numpy()

        ways["int8 dynamic, float32 elsewhere (characters)"] = int8

    if args.coverage:
        from evaluator.pipeline import Pipeline, embed_and_cover

        pipeline = Pipeline(encoder=encoder)
        index, query_tokens = pipeline.index, pipeline.query_tokens

        def with_coverage(passages) -> np.ndarray:
            """What the pipeline runs: the same vectors, and each passage's token coverage of every descriptor."""
            return first_rows(embed_and_cover(encoder, passages, index, query_tokens)[0], passages)

        ways["after, with token coverage (the pipeline)"] = with_coverage

    cpu: dict[str, list[float]] = {name: [] for name in ways}
    wall: dict[str, list[float]] = {name: [] for name in ways}
    vectors: dict[str, np.ndarray] = {}
    for repeat in range(args.repeat):
        names = list(ways) if repeat % 2 == 0 else list(reversed(ways))
        for name in names:
            started, started_cpu = time.perf_counter(), time.process_time()
            vectors[name] = np.concatenate([ways[name](ps) for _, ps in documents])
            cpu[name].append(time.process_time() - started_cpu)
            wall[name].append(time.perf_counter() - started)
        print(
            f"run {repeat + 1}: " + ", ".join(f"{name.split(':')[0]} {cpu[name][-1]:.1f} s" for name in ways)
        )

    reference = vectors["before: batches by characters"]
    print(
        f"\nencoder over {pages} pages, {len(texts)} passages; 1 thread, {encoder.precision}; best of {args.repeat}"
    )
    print(
        f"{'':46s} {'CPU s':>7s} {'s/page':>7s} {'ms/passage':>10s} {'wall s':>7s} {'tokens+pad':>10s} {'cos min':>8s}"
    )
    for name in ways:
        best = min(cpu[name])
        cosine = (vectors[name] * reference).sum(axis=1).min()
        pad = f"{padded[name]:>10d}" if name in padded else f"{'':>10s}"
        print(
            f"{name:46s} {best:7.1f} {best / pages:7.3f} {1000 * best / len(texts):10.2f} "
            f"{min(wall[name]):7.1f} {pad} {cosine:8.5f}"
        )
    ratio = min(cpu["after: batches by tokens"]) / min(cpu["before: batches by characters"])
    print(
        f"after / before (CPU s per page): {ratio:.2f}; padding: before {padded['before: batches by characters'] / tokens - 1:.0%}, after {padded['after: batches by tokens'] / tokens - 1:.0%}"
    )


if __name__ == "__main__":
    main()
