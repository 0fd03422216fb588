"""Keyword matching: does a passage use the descriptor's own words, and words that are rare in the document?

A reviewer searching a strategy for a descriptor types its words into the PDF viewer's search box and
reads the passages that use most of them, the rarer in the document the better. BM25 (Okapi) scores
exactly that, with each document's passages as the collection: a word in every passage of a wellbeing
strategy ("wellbeing", "health") counts little there, a word in three passages ("treasury", "anchor")
counts much. The query is the bag of the descriptor's wording and its queries, each word once.

The ranker reads it as its feature ``keywords`` (cite-only: ``rank.CITE_ONLY_FEATURES``), each
descriptor's scores divided by its best passage in the document, so the feature says how a passage
compares with the document's best keyword match, whatever the query's length. The embedding features say what a passage is about, token
coverage whether it says what the descriptor says in other words; this one rewards the descriptor's
exact words, which is what a quote of a named measure ("ONS4", "WEMWBS") or institution has.

The scores equal ``rank_bm25.BM25Okapi(...).get_scores(query)`` (``tests/test_lexical.py``), computed
for every descriptor at once from a sparse term matrix, where rank_bm25 loops over the passages in
Python for every query word: 23 ms for an 89-page document (`python benchmarks/bench_stages.py`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from scipy import sparse  # scikit-learn's own dependency
from sklearn.feature_extraction.text import CountVectorizer

from evaluator.types import Descriptor

STOPWORDS = frozenset(
    """a about above after all also an and any are as at be been being between both but by can could
    did do does each for from had has have how if in into is it its itself may more most no not of on
    or other our out over own same should so such than that the their them then there these they this
    those through to too under up very was we were what when where which while who will with within
    would you your e g i.e eg""".split()
)
_TOKEN = re.compile(r"[a-z0-9]+")

# rank_bm25.BM25Okapi's defaults: term-frequency saturation, length normalisation, and the floor (a share
# of the mean idf) given to words in more than half of the passages, whose Okapi idf is negative
K1, B, EPSILON = 1.5, 0.75, 0.25


def tokenize(text: str) -> list[str]:
    """Lowercase word tokens without stopwords and single characters."""
    return [t for t in _TOKEN.findall(text.lower()) if len(t) > 1 and t not in STOPWORDS]


def descriptor_terms(descriptor: Descriptor) -> list[str]:
    """The words of the descriptor's wording and queries, each once: what a reviewer would search for."""
    return sorted(set(tokenize(" ".join([descriptor.text, *descriptor.queries]))))


def bm25_matrix(texts: Sequence[str], queries: Sequence[Sequence[str]]) -> np.ndarray:
    """(len(texts), len(queries)) BM25 Okapi scores of each text against each query's distinct words, the
    texts being the collection."""
    scores = np.zeros((len(texts), len(queries)))
    if not texts or not queries:
        return scores
    counter = CountVectorizer(analyzer=tokenize)
    try:
        tf = counter.fit_transform(texts).tocsc().astype(float)
    except ValueError:  # no text has a word: nothing matches
        return scores
    n = len(texts)
    lengths = np.asarray(tf.sum(axis=1)).ravel()
    df = np.diff(tf.indptr)  # passages with each word (columns of the CSC matrix)
    idf = np.log(n - df + 0.5) - np.log(df + 0.5)
    idf[idf < 0] = EPSILON * idf.mean()
    norm = K1 * (1 - B + B * lengths / max(lengths.mean(), 1e-9))
    bm25 = tf.tocoo()
    bm25.data = bm25.data * (K1 + 1) / (bm25.data + norm[bm25.row]) * idf[bm25.col]
    vocabulary = counter.vocabulary_
    rows, cols = [], []
    for j, query in enumerate(queries):
        for term in set(query):
            if term in vocabulary:
                rows.append(vocabulary[term])
                cols.append(j)
    if not rows:
        return scores
    chosen = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(tf.shape[1], len(queries)))
    return np.asarray((bm25.tocsr() @ chosen).todense())


def keyword_scores(texts: Sequence[str], descriptors: Sequence[Descriptor]) -> np.ndarray:
    """(len(texts), len(descriptors)) BM25 of each passage against each descriptor's words, divided by the
    document's best passage for that descriptor (0 where no passage uses any of its words)."""
    scores = np.maximum(bm25_matrix(texts, [descriptor_terms(d) for d in descriptors]), 0.0)
    best = scores.max(axis=0, keepdims=True) if len(texts) else np.zeros((1, len(descriptors)))
    return np.divide(scores, best, out=np.zeros_like(scores), where=best > 0)
