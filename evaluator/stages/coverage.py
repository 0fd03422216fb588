"""Token coverage: how much of a descriptor's wording a passage states, word by word.

Each content word of the descriptor's wording and queries (stop words and punctuation left out) is
matched to its closest MiniLM token of the passage, in context, in the same forward pass that embeds the
passage (``MiniLMEncoder.encode_matching``); the matches are averaged over each query, as BERTScore's
recall is, each word weighted by how specific it is to its descriptor (its idf over the rubric's
descriptors: "wellbeing", in most of them, counts least; "Treasury" most), and the descriptor's best
query counts. It is a ranker feature (``rank.CITE_ONLY_FEATURES``).

Coverage is stored with the passages' vectors, so ``COVERAGE_VERSION`` is part of the passages' cache key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from spacy.lang.en.stop_words import STOP_WORDS

from evaluator.stages.cache import source_digest
from evaluator.stages.embed import Encoder, TokenEncoder

if TYPE_CHECKING:
    from evaluator.stages.match import RubricIndex

COVERAGE_VERSION = f"coverage-{source_digest(__file__)}"


@dataclass(frozen=True)
class QueryTokens:
    """The content words of every descriptor's wording and queries as MiniLM token vectors (stop words
    and punctuation left out): what ``token_coverage`` looks for in a passage."""

    vectors: np.ndarray  # (m, dim) unit token vectors
    query: np.ndarray  # (m,) the row of ``RubricIndex.query_vectors`` each token belongs to
    weight: np.ndarray  # (m,) how specific the word is to its descriptor (idf over the rubric's descriptors)


def content_pieces(pieces: list[str]) -> list[bool]:
    """Which word pieces carry the descriptor's meaning: letters or digits, and not a stop word. Judged
    piece by piece, as the model reads them (whole words were measured: ARCHITECTURE "Tried and not kept")."""
    return [piece.removeprefix("##").isalnum() and piece not in STOP_WORDS for piece in pieces]


def query_tokens(index: RubricIndex, encoder: Encoder) -> QueryTokens | None:
    """The rubric's content-word token vectors; None for an encoder without token vectors (the unit
    tests' fake), whose passages then have no coverage."""
    if not isinstance(encoder, TokenEncoder):
        return None
    texts = [t for d in index.descriptors for t in [d.text, *d.queries]]  # the order of query_vectors
    tokens = encoder.encode_tokens(texts)
    vectors: list[np.ndarray] = []
    owner: list[int] = []
    pieces: list[str] = []
    for row, (text, t) in enumerate(zip(texts, tokens, strict=True)):
        words = encoder.word_pieces(text)[: len(t)]
        keep = content_pieces(words)
        vectors.append(t[: len(keep)][np.asarray(keep, dtype=bool)])
        owner.extend([row] * int(sum(keep)))
        pieces.extend(w for w, k in zip(words, keep, strict=True) if k)
    owner_descriptor = index.query_owner[np.asarray(owner, dtype=int)]
    used_by: dict[str, set[int]] = {}
    for piece, d in zip(pieces, owner_descriptor.tolist(), strict=True):
        used_by.setdefault(piece, set()).add(d)
    n = len(index.descriptors)  # smoothed idf, as scikit-learn's TfidfVectorizer: 1 for a word all share
    weight = np.array([np.log((1 + n) / (1 + len(used_by[p]))) + 1.0 for p in pieces], dtype=np.float32)
    return QueryTokens(np.concatenate(vectors).astype(np.float32), np.asarray(owner, dtype=int), weight)


def token_coverage(best: np.ndarray, tokens: QueryTokens, index: RubricIndex) -> np.ndarray:
    """(n_passages, n_descriptors): how much of the descriptor's wording a passage covers, word by word.

    ``best``: (n_passages, len(tokens.query)), each content word's closest token of the passage (cosine
    of MiniLM's token vectors in context, ``MiniLMEncoder.encode_matching``). Averaged over each query's
    words, weighted by ``QueryTokens.weight`` (BERTScore's recall with idf), then the best query of the
    descriptor. A passage that says what the descriptor says, in its own words, covers most of it; one
    that shares only the topic ("wellbeing services") covers the topic words, which weigh least."""
    n_queries = len(index.query_owner)
    words = np.bincount(tokens.query, weights=tokens.weight, minlength=n_queries)
    one_hot = np.zeros((len(tokens.query), n_queries), dtype=np.float32)
    one_hot[np.arange(len(tokens.query)), tokens.query] = tokens.weight
    per_query = np.where(words > 0, (best @ one_hot) / np.maximum(words, 1e-9), 0.0)
    starts = np.flatnonzero(np.r_[True, np.diff(index.query_owner) != 0])  # queries grouped by descriptor
    if len(best) == 0:
        return np.zeros((0, len(index.descriptors)), dtype=np.float32)
    return np.clip(np.maximum.reduceat(per_query, starts, axis=1), 0.0, 1.0).astype(np.float32)
