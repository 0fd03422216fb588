"""Token coverage: how much of a descriptor's wording a passage states, word by word.

Each content word of the descriptor's wording and queries (stop words and punctuation left out) is
matched to its closest MiniLM token of the passage, in context, in the same forward pass that embeds the
passage (``MiniLMEncoder.encode_matching``); the matches are averaged over each query, as BERTScore's
recall is, and the descriptor's best query counts. It is a ranker feature (``rank.CITE_ONLY_FEATURES``).

Coverage is stored with the passages' vectors, so ``COVERAGE_VERSION`` is part of the passages' cache key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from evaluator.stages.cache import source_digest
from evaluator.stages.embed import Encoder

if TYPE_CHECKING:
    from evaluator.stages.match import RubricIndex

COVERAGE_VERSION = f"coverage-{source_digest(__file__)}"


@dataclass(frozen=True)
class QueryTokens:
    """The content words of every descriptor's wording and queries as MiniLM token vectors (stop words
    and punctuation left out): what ``token_coverage`` looks for in a passage."""

    vectors: np.ndarray  # (m, dim) unit token vectors
    query: np.ndarray  # (m,) the row of ``RubricIndex.query_vectors`` each token belongs to


def query_tokens(index: RubricIndex, encoder: Encoder) -> QueryTokens | None:
    """The rubric's content-word token vectors; None for an encoder without token vectors (the unit
    tests' fake), whose passages then have no coverage."""
    encode_tokens = getattr(encoder, "encode_tokens", None)
    word_pieces = getattr(encoder, "word_pieces", None)
    if encode_tokens is None or word_pieces is None:
        return None
    from spacy.lang.en.stop_words import STOP_WORDS

    texts = [t for d in index.descriptors for t in [d.text, *d.queries]]  # the order of query_vectors
    tokens = encode_tokens(texts)
    vectors, owner = [], []
    for row, (text, t) in enumerate(zip(texts, tokens, strict=True)):
        keep = [w.removeprefix("##").isalnum() and w not in STOP_WORDS for w in word_pieces(text)][: len(t)]
        vectors.append(t[: len(keep)][np.asarray(keep, dtype=bool)])
        owner.extend([row] * int(sum(keep)))
    return QueryTokens(np.concatenate(vectors).astype(np.float32), np.asarray(owner, dtype=int))


def token_coverage(best: np.ndarray, tokens: QueryTokens, index: RubricIndex) -> np.ndarray:
    """(n_passages, n_descriptors): how much of the descriptor's wording a passage covers, word by word.

    ``best``: (n_passages, len(tokens.query)), each content word's closest token of the passage (cosine
    of MiniLM's token vectors in context, ``MiniLMEncoder.encode_matching``). Averaged over each query's
    words (BERTScore's recall), then the best query of the descriptor. A passage that says what the
    descriptor says, in its own words, covers most of it; one that shares only the topic ("wellbeing
    services") covers the topic words."""
    n_queries = len(index.query_owner)
    words = np.bincount(tokens.query, minlength=n_queries)
    one_hot = np.zeros((len(tokens.query), n_queries), dtype=np.float32)
    one_hot[np.arange(len(tokens.query)), tokens.query] = 1.0
    per_query = np.where(words > 0, (best @ one_hot) / np.maximum(words, 1), 0.0)
    starts = np.flatnonzero(np.r_[True, np.diff(index.query_owner) != 0])  # queries grouped by descriptor
    if len(best) == 0:
        return np.zeros((0, len(index.descriptors)), dtype=np.float32)
    return np.clip(np.maximum.reduceat(per_query, starts, axis=1), 0.0, 1.0).astype(np.float32)
