"""The pipeline: extract -> segment -> embed -> match -> judge -> Assessment.

``Pipeline`` holds the loaded components (rubric, encoder, spaCy, judge model) so a worker loads them
once and assesses many documents. With a cache folder, extraction and passage embeddings are re-used
for unchanged files (keyed by file hash and component versions); a rubric or judge change only
re-scores.
"""

from __future__ import annotations

import gc
import hashlib
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from evaluator import __version__
from evaluator.rubric import load_rubric, rubric_hash, wording_hash
from evaluator.stages.cache import Cache, CachedEncoder, read_document
from evaluator.stages.coverage import COVERAGE_VERSION, QueryTokens, query_tokens, token_coverage
from evaluator.stages.embed import Encoder, TokenEncoder, load_encoder
from evaluator.stages.extract import EXTRACTOR_VERSION, check_file, document_version, extract
from evaluator.stages.judge import (
    JUDGE,
    JudgeModel,
    JudgeSettings,
    credit_explicit,
    judge_descriptors,
    judge_hallmark,
    load_judge,
    settings_version,
)
from evaluator.stages.kinds import KINDS_VERSION, DocumentKinds, classify_passages, load_parser
from evaluator.stages.match import MATCHER_VERSION, DescriptorMatch, RubricIndex, index_rubric, match
from evaluator.stages.rank import RankerModel, load_ranker
from evaluator.stages.segment import SEGMENTER_VERSION, is_substantive, load_nlp, segment
from evaluator.types import (
    Assessment,
    Closest,
    DescriptorResult,
    Document,
    DocumentInfo,
    HallmarkResult,
    Kind,
    Passage,
    Provenance,
    Rubric,
    Searched,
)

# oneDNN (torch's CPU kernels) keeps up to 1,024 compiled kernels, one per input shape, and batches of
# passages come in many shapes, so a process's memory crept with each new one over a long screen. Set
# here, before torch runs anything, so every process that embeds (screen workers, an inline screen,
# `assess`, the review app) gets it; an explicit $ONEDNN_PRIMITIVE_CACHE_CAPACITY wins. Eight: about
# 90-100 MB less after embedding the 16 shared documents, same CPU (`python benchmarks/bench_onednn.py`).
ONEDNN_CACHE_CAPACITY = "8"
os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", ONEDNN_CACHE_CAPACITY)

# The kinds of the passages at some indices, each read in its document's context (kinds.DocumentKinds.of).
KindsOf = Callable[[Iterable[int]], dict[int, Kind]]


@dataclass
class Analysis:
    """Everything the pipeline computed for one document, before judging."""

    document: Document
    passages: list[Passage]
    vectors: np.ndarray
    matches: list[DescriptorMatch]
    coverage: np.ndarray | None = None  # (passages, descriptors) coverage.token_coverage; None: not known


@dataclass
class Pipeline:
    rubric: Rubric = field(default_factory=load_rubric)
    encoder: Encoder = field(default_factory=load_encoder)
    judge: JudgeModel | None = field(default_factory=load_judge)  # None: analyse only (calibration)
    ranker: RankerModel | None = field(default_factory=load_ranker)  # None: cite by similarity and cues
    cache: Cache | None = None
    max_pages: int | None = None
    extractor: Callable[..., Document] = (
        extract  # evaluator.limits.extract_isolated: in a memory-capped child
    )
    # Load the model and spaCy in a thread while the extractor reads the file: only worth it when the
    # extractor works in other processes (extract_isolated), and only once per process.
    warm_up_while_reading: bool = False
    # hallmarks whose confidence is below this are flagged needs_review (the team's trade between
    # reviewers' time and certainty: `evaluator evaluate` prints the agreement of unflagged hallmarks at
    # each threshold)
    review_below: float = JUDGE.review_confidence
    _index: RubricIndex | None = field(default=None, init=False, repr=False)
    _query_tokens: tuple[QueryTokens | None] | None = field(default=None, init=False, repr=False)
    _loading: threading.RLock = field(default_factory=threading.RLock, init=False, repr=False)

    @property
    def index(self) -> RubricIndex:
        """The rubric prepared for matching (query vectors from the cache when there is one)."""
        with self._loading:
            if self._index is None:
                encoder = CachedEncoder(self.encoder, self.cache) if self.cache else self.encoder
                self._index = index_rubric(self.rubric, encoder)
            return self._index

    @index.setter
    def index(self, value: RubricIndex) -> None:
        self._index = value

    @property
    def query_tokens(self) -> QueryTokens | None:
        """The rubric's content words as token vectors, for ``token_coverage`` (built when first needed:
        only documents that are embedded need them, and then the model is loaded anyway)."""
        with self._loading:  # reentrant: the index is built under it too
            if self._query_tokens is None:
                self._query_tokens = (self._cached_query_tokens(),)
            return self._query_tokens[0]

    def _cached_query_tokens(self) -> QueryTokens | None:
        """``query_tokens`` from the cache when there is one (embedding the rubric's 3,000 content words
        costs each process seconds; reading them, milliseconds)."""
        encoder = self.encoder
        key = "|".join(
            [
                wording_hash(self.rubric),
                COVERAGE_VERSION,
                encoder.weights_hash,
                encoder.precision,
                encoder.version,
            ]
        )
        stored = self.cache.arrays("query-tokens", key) if self.cache else None
        if stored is not None and {"vectors", "query", "weight"} <= stored.keys():
            return QueryTokens(stored["vectors"], stored["query"], stored["weight"])
        tokens = query_tokens(self.index, encoder)
        if tokens is not None and self.cache:
            self.cache.put_arrays(
                "query-tokens", key, vectors=tokens.vectors, query=tokens.query, weight=tokens.weight
            )
        return tokens

    def warm_up(self) -> None:
        """Load everything assessing needs (encoder weights, rubric vectors and content words, spaCy
        models) now, then take what was loaded out of the cyclic garbage collector's sight (``gc.freeze``).

        These half a million objects live as long as the process, yet every full collection while a
        document is read and judged rescanned them all: over the 16 shared documents, collections took
        8.2-11.9 s unfrozen and 2.6-3.0 s frozen (`python benchmarks/bench_gc.py`). Nothing is lost:
        frozen objects are still freed by reference counting, only cycles among them would outlive
        their use.
        """
        self.encoder.encode(["wellbeing"])  # the weights load on the first encode
        self.index  # noqa: B018
        self.query_tokens  # noqa: B018
        load_nlp()
        load_parser()
        gc.freeze()

    def _extract_warming_up(self, path: str | os.PathLike, **options) -> Document:
        """``self.extractor``, loading the models in a thread meanwhile if ``warm_up_while_reading``."""
        loader = None
        if self.warm_up_while_reading:
            self.warm_up_while_reading = False
            loader = threading.Thread(target=self._warm_up_quietly, name="evaluator-warm-up", daemon=True)
            loader.start()
        try:
            return self.extractor(path, **options)
        finally:
            if loader is not None:
                loader.join()

    def _warm_up_quietly(self) -> None:
        try:
            self.warm_up()
        except Exception:  # noqa: BLE001  (the same step fails again where it is needed, with its message)
            pass

    @property
    def judge_settings(self) -> JudgeSettings:
        return replace(JUDGE, review_confidence=self.review_below)

    def passages_key(self) -> str:
        """Identifies segmented + embedded passages of a file in the cache."""
        encoder = self.encoder
        return (
            f"{document_version(self.max_pages)}|{SEGMENTER_VERSION}|{encoder.weights_hash}|{encoder.precision}"
            f"|{encoder.version}"
            f"|{COVERAGE_VERSION}|{wording_hash(self.rubric)}"  # token coverage of the descriptors' wording
        )

    def cache_key(self, sha256: str) -> str:
        """Identifies a suggestion: same file, same components -> same key (used to resume batches)."""
        parts = [
            sha256,
            __version__,
            EXTRACTOR_VERSION,
            SEGMENTER_VERSION,
            MATCHER_VERSION,
            self.encoder.weights_hash[:16],
            self.encoder.precision,
            self.encoder.version,
            rubric_hash(self.rubric),
            self.judge.version if self.judge else "",
            settings_version(self.judge_settings),
            str(self.max_pages),
            self.ranker.version if self.ranker else "",
            KINDS_VERSION,
        ]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]

    def analyse(self, path: str | os.PathLike, sha256: str | None = None) -> Analysis:
        """Extract, segment, embed and match one document (cached when a cache is set). ``sha256``: the
        file's hash when the caller has it already (a screen hashes each file once, to plan)."""
        document = read_document(
            path, self.cache, max_pages=self.max_pages, sha256=sha256, extractor=self._extract_warming_up
        )
        document.path, sha = str(path), document.sha256
        passages_key = self.passages_key()
        cached = self.cache.passages(sha, passages_key) if self.cache else None
        if cached is None:
            passages = segment(document)
            vectors, coverage = embed_and_cover(self.encoder, passages, self.index, self.query_tokens)
            if self.cache:
                self.cache.put_passages(sha, passages_key, passages, vectors, coverage)
        else:
            passages, vectors, coverage = cached
        matches = match(passages, vectors, self.index, self.ranker, coverage=coverage)
        return Analysis(document, passages, vectors, matches, coverage)

    def assess(self, path: str | os.PathLike, sha256: str | None = None) -> Assessment:
        analysis = self.analyse(path, sha256)
        return self.judge_analysis(analysis)

    def judge_matches(
        self, matches: list[DescriptorMatch], passages: list[Passage], kinds_of: KindsOf | None = None
    ) -> list[HallmarkResult]:
        """Descriptor statuses and hallmark levels from matched evidence (one document or an area), each
        cited passage's kind (from ``kinds_of``, else parsed), and for descriptors not met what was searched."""
        if self.judge is None:
            raise ValueError("this pipeline has no judge model; pass judge=load_judge()")
        results, p_met = judge_descriptors(matches, self.judge)
        credit_explicit(results, p_met, passages, [m.descriptor for m in matches])
        describe_evidence(results, passages, matches, kinds_of)
        return [
            judge_hallmark(
                h, [r for r in results if r.id in {d.id for d in h.descriptors}], p_met, self.review_below
            )
            for h in self.rubric.hallmarks
        ]

    def judge_analysis(self, analysis: Analysis) -> Assessment:
        document = analysis.document
        kinds = DocumentKinds(analysis.passages, document.sha256, self.cache)
        hallmarks = self.judge_matches(analysis.matches, analysis.passages, kinds.of)
        targets = kinds.targets()
        kinds.save()
        return Assessment(
            document=DocumentInfo(
                path=document.path,
                sha256=document.sha256,
                pages=document.page_count,
                title=document.title or Path(document.path).stem,
            ),
            provenance=self.provenance(),
            hallmarks=hallmarks,
            warnings=list(document.warnings),
            targets=targets,
        )

    def provenance(self) -> Provenance:
        return Provenance(
            tool_version=__version__,
            rubric_id=self.rubric.id,
            rubric_version=self.rubric.version,
            model_name=self.encoder.name,
            model_hash=self.encoder.weights_hash,
            model_precision=self.encoder.precision,
            extractor=EXTRACTOR_VERSION,
            judge=self.judge.version if self.judge else "",
            judge_settings=settings_version(self.judge_settings),
            ranker=self.ranker.version if self.ranker else "",
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            rubric_hash=rubric_hash(self.rubric),
            segmenter=SEGMENTER_VERSION,
            matcher=MATCHER_VERSION,
            kinds=KINDS_VERSION,
            embedder=self.encoder.version,
        )


def assess(path: str | os.PathLike, *, pipeline: Pipeline | None = None) -> Assessment:
    """Assess one strategy (PDF, text or Markdown) with the shipped rubric, model and judge."""
    return (pipeline or Pipeline()).assess(path)


def describe_evidence(
    results: list[DescriptorResult],
    passages: list[Passage],
    matches: list[DescriptorMatch],
    kinds_of: KindsOf | None = None,
) -> None:
    """Set each cited passage's kind, and for descriptors judged not met what was searched: the queries,
    cues, how many passages were considered and the closest ones (marked as not evidence)."""
    index = {p.id: i for i, p in enumerate(passages)}
    cited = {index[e.passage_id] for r in results for e in r.evidence if e.passage_id in index}
    kinds = kinds_of(cited) if kinds_of else classify_passages(passages, cited)
    by_id = {m.descriptor.id: m for m in matches}
    for r in results:
        for e in r.evidence:
            if e.passage_id in index:
                e.kind = kinds[index[e.passage_id]]
        m = by_id.get(r.id)
        if r.status != "not_met" or m is None:
            continue
        r.searched = Searched(
            queries=[m.descriptor.text, *m.descriptor.queries],
            cues=list(m.descriptor.cues),
            cues_found=list(m.cues_found),
            passages_considered=m.considered,
            passages_total=len(passages),
            closest=[
                Closest(page=e.page, text=e.text, score=e.score, passage_id=e.passage_id) for e in r.evidence
            ],
        )


def embed_passages(encoder: Encoder, passages: list[Passage]) -> np.ndarray:
    """One vector per passage; passages too short to be evidence are not embedded (their row is zero)."""
    keep = [i for i, p in enumerate(passages) if is_substantive(p)]
    real = encoder.encode([passages[i].text for i in keep])
    vectors = np.zeros((len(passages), real.shape[1]), dtype=np.float32)
    if keep:
        vectors[keep] = real
    return vectors


def embed_and_cover(
    encoder: Encoder, passages: list[Passage], index: RubricIndex, tokens: QueryTokens | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """``embed_passages``, and from the same forward pass each passage's ``token_coverage`` of every
    descriptor (None for an encoder without token vectors)."""
    if tokens is None or not isinstance(encoder, TokenEncoder):
        return embed_passages(encoder, passages), None
    keep = [i for i, p in enumerate(passages) if is_substantive(p)]
    real, best = encoder.encode_matching([passages[i].text for i in keep], tokens.vectors)
    vectors = np.zeros((len(passages), real.shape[1]), dtype=np.float32)
    coverage = np.zeros((len(passages), len(index.descriptors)), dtype=np.float32)
    if keep:
        vectors[keep] = real
        coverage[keep] = token_coverage(best, tokens, index)
    return vectors, coverage


def file_sha256(path: str | os.PathLike) -> str:
    """The file's sha256; a one-line InputError if it cannot be a document (missing, empty...)."""
    return check_file(path)[2]
