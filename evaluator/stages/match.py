"""Matching: for each descriptor, score every passage and summarise the document as features.

A passage's score for a descriptor combines dense similarity (the best cosine between the passage and
the descriptor's wording or any of its queries) with lexical cues from UK practice (ONS4, WEMWBS,
WISER, anchor institutions...). The features describe how much, how strong and how well framed the
evidence is; the judge turns them into a status. Reviewers do not credit health-only content as
wellbeing evidence, so for descriptors that require it, evidence must be framed as wellbeing.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

import numpy as np

from evaluator.stages import coverage, lexical, rank
from evaluator.stages.cache import settings_digest, source_digest
from evaluator.stages.embed import Encoder
from evaluator.stages.rank import RankerModel, Signals, citable, passage_features
from evaluator.stages.segment import is_substantive
from evaluator.types import Descriptor, Passage, Rubric


@dataclass(frozen=True)
class MatchSettings:
    """The matcher's tuning values, set by hand and checked with `evaluator evaluate` (leave-one-document-out
    on ../shared/gold). They are part of MATCHER_VERSION: changing one changes the version recorded in
    every assessment made with it, and invalidates cached matches."""

    # similarity added per distinct cue term: breaks ties between near passages, never outranks a clearly
    # closer one
    cue_weight: float = 0.04
    # the same when choosing evidence without the ranker (`match(..., ranker=None)`): cue terms point at the
    # cited page
    cite_cue_weight: float = 0.12
    # cue terms counted per passage at most: a long list of terms is not better evidence than a sentence with
    # three
    max_cues: int = 3
    # a "strong" passage for the n_strong feature (hand-set on the MiniLM cosine scale)
    strong_similarity: float = 0.5
    # without the ranker, wellbeing-framed passages win ties against health-only ones (reviewers' rule)
    framed_bonus: float = 0.05
    # share of a passage's mean similarity to all descriptors taken off: generic passages close to every
    # descriptor ("hubs") stop outranking specific ones
    hub_penalty: float = 0.5
    # passages cited per descriptor: reviewers cite 1-3 pages, and page hit is measured over the top 3
    top_evidence: int = 3
    # the judge's window features (mean similarity, framing, commitment) are over the best this-many passages
    top_window: int = 5


MATCH = MatchSettings()
# the ranker's features and boilerplate rules choose the evidence: their source is part of the version too
_SOURCES = (__file__, *(str(module.__file__) for module in (rank, coverage, lexical)))
MATCHER_VERSION = f"match-{source_digest(*_SOURCES)}-{settings_digest(MATCH)}"

WELLBEING_FRAMING = re.compile(
    r"well[- ]?being|happiness|happier|life satisfaction|satisfied with (?:their|your) li(?:fe|ves)|"
    r"worthwhile|flourish|thriv|quality of life|lonel|social(?:ly)? (?:isolat|connect)|"
    r"wemwbs|warwick[- ]edinburgh|ons ?4|personal wellbeing|wellby|sense of (?:purpose|belonging)|"
    r"meaning and purpose|community connect|social capital|resilien",
    re.IGNORECASE,
)
COMMITMENT = re.compile(
    r"\bwe will\b|\bwe aim\b|\bour (?:aim|ambition|priorit|goal|vision|commitment)|\bwe are committed\b|"
    r"\bwe want\b|\bwill be (?:measured|monitored|delivered)\b|\bpriorit(?:y|ies)\b|\bobjective",
    re.IGNORECASE,
)

FEATURES: tuple[str, ...] = (
    "sim_max",
    "sim_top3",
    "sim_max_framed",
    "score_top3_framed",
    "sim_rel",
    "n_strong",
    "cue_passages",
    "cue_distinct",
    "cue_pages",
    "framed_share_top5",
    "commitment_top5",
    "level",
    "requires_wellbeing",
    # from the ranker (the similarity-and-cue citation score without one): is there a passage a
    # reviewer would cite, and are there three on different pages
    "cite_top1",
    "cite_top3",
    # the best wellbeing-framed (where required) passage in the ranker's learned space: one passage that
    # plainly does what the descriptor says, as reviewers' quotes do (0 without a ranker)
    "learned_top1",
    # document context: the share of the document's passages framed as wellbeing (a wellbeing
    # strategy, a health-only plan, an unrelated council document)
    "doc_framed",
)


@dataclass
class DescriptorMatch:
    descriptor: Descriptor
    features: dict[str, float]
    evidence: list[tuple[Passage, float]]  # best passages, best first, with a score in 0..1
    citation_scores: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))  # (n_passages,)
    considered: int = 0  # passages that could be evidence: substantive, and wellbeing-framed where required
    cues_found: tuple[str, ...] = ()  # the descriptor's cue terms found anywhere in the document

    def vector(self) -> list[float]:
        return [self.features[name] for name in FEATURES]


@dataclass(frozen=True)
class RubricIndex:
    """The rubric prepared for matching: query vectors and compiled cue patterns."""

    descriptors: tuple[Descriptor, ...]
    query_vectors: np.ndarray  # (n_queries, dim)
    query_owner: np.ndarray  # (n_queries,) index of the descriptor each query belongs to
    cue_patterns: tuple[re.Pattern | None, ...]


def index_rubric(rubric: Rubric, encoder: Encoder) -> RubricIndex:
    descriptors = tuple(rubric.descriptors)
    texts: list[str] = []
    owners: list[int] = []
    for i, d in enumerate(descriptors):
        for text in [d.text, *d.queries]:
            texts.append(text)
            owners.append(i)
    return RubricIndex(
        descriptors=descriptors,
        query_vectors=encoder.encode(texts),
        query_owner=np.asarray(owners),
        cue_patterns=tuple(_cue_pattern(tuple(d.cues)) for d in descriptors),
    )


def normalise_for_cues(text: str) -> str:
    """Lower case, straight apostrophes, hyphens as spaces: "Asset-based" and "asset based" match alike."""
    return " ".join(_CUE_FOLD.sub(lambda m: _CUE_MAP[m.group()], text.lower()).split())


_CUE_MAP = {"\u2019": "'", "\u2018": "'", "-": " ", "\u2010": " ", "\u2011": " ", "\u2013": " ", "/": " "}
_CUE_FOLD = re.compile("|".join(re.escape(k) for k in _CUE_MAP))


@functools.lru_cache(maxsize=256)
def _cue_pattern(cues: tuple[str, ...]) -> re.Pattern | None:
    folded = sorted({normalise_for_cues(c) for c in cues if c.strip()}, key=len, reverse=True)
    if not folded:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(c) for c in folded) + r")(?!\w)")


def similarity(index: RubricIndex, passage_vectors: np.ndarray, reduce: str = "max") -> np.ndarray:
    """(n_passages, n_descriptors): the best (or mean) cosine between each passage and the wording and
    queries of each descriptor."""
    n_desc = len(index.descriptors)
    if len(passage_vectors) == 0:
        return np.zeros((0, n_desc), dtype=np.float32)
    raw = passage_vectors @ index.query_vectors.T  # (n_passages, n_queries)
    best = np.full((len(passage_vectors), n_desc), -1.0, dtype=np.float32)
    for j in range(n_desc):
        own = raw[:, index.query_owner == j]
        best[:, j] = own.max(axis=1) if reduce == "max" else own.mean(axis=1)
    return np.clip(best, 0.0, 1.0)


def signals(
    passages: list[Passage],
    passage_vectors: np.ndarray,
    index: RubricIndex,
    coverage: np.ndarray | None = None,
) -> Signals:
    """Similarities, cue counts and framing of every passage, computed once per document.

    Only substantive passages have a similarity (the others are not embedded: their vector rows are
    ignored and their similarity is 0); all passages count for lexical cues."""
    n, n_desc = len(passages), len(index.descriptors)
    substantive = np.array([is_substantive(p) for p in passages], dtype=bool)
    sims = np.zeros((n, n_desc), dtype=np.float32)
    wording = np.zeros_like(sims)
    query_mean = np.zeros_like(sims)
    if (
        substantive.any()
    ):  # hubness: a passage close to every descriptor ("wellbeing services...") says little
        real = similarity(index, passage_vectors[substantive])
        sims[substantive] = np.clip(
            real - MATCH.hub_penalty * (real.mean(axis=1, keepdims=True) - real.mean()), 0.0, 1.0
        )
        first_query = np.array([np.flatnonzero(index.query_owner == j)[0] for j in range(n_desc)])
        wording[substantive] = np.clip(
            passage_vectors[substantive] @ index.query_vectors[first_query].T, 0.0, 1.0
        )
        query_mean[substantive] = similarity(index, passage_vectors[substantive], reduce="mean")
    folded = [normalise_for_cues(p.text) for p in passages]
    cue_counts = np.zeros((n, n_desc), dtype=np.float32)
    cues_found: list[frozenset[str]] = []
    for j, pattern in enumerate(index.cue_patterns):
        found = _cue_counts(pattern, folded)
        cue_counts[:, j] = [min(len(c), MATCH.max_cues) for c in found]
        cues_found.append(frozenset().union(*found))
    return Signals(
        similarity=sims,
        wording_similarity=wording,
        query_similarity=query_mean,
        cue_counts=cue_counts,
        framed=np.array([bool(WELLBEING_FRAMING.search(p.text)) for p in passages], dtype=bool),
        heading_framed=np.array(
            [bool(p.headings) and bool(WELLBEING_FRAMING.search(p.headings[-1])) for p in passages],
            dtype=bool,
        ),
        committed=np.array([bool(COMMITMENT.search(p.text)) for p in passages], dtype=bool),
        substantive=substantive,
        cues_found=tuple(cues_found),
        coverage=np.zeros((n, n_desc), dtype=np.float32) if coverage is None else coverage.astype(np.float32),
    )


def match(
    passages: list[Passage],
    passage_vectors: np.ndarray,
    index: RubricIndex,
    ranker: RankerModel | None = None,
    *,
    prepared: tuple[Signals, np.ndarray] | None = None,
    coverage: np.ndarray | None = None,
) -> list[DescriptorMatch]:
    """Features and cited evidence for every descriptor of the rubric, in rubric order.

    With a ranker, evidence is the ranker's best citable passages; without one, the similarity-and-cue
    score of earlier versions (kept as the comparison `evaluator evaluate` reports). ``prepared``: the
    document's signals and ranking features when already computed (re-matching with another ranker).
    ``coverage``: the passages' ``token_coverage`` from the embedding pass (without it, zeros).

    The evidence is ordered by the ranker's citation scores; the judge's features (``cite_top1``,
    ``cite_top3``) are read from its scores without the cite-only features (``RankerModel``)."""
    s, rank_features = (
        prepared if prepared is not None else (signals(passages, passage_vectors, index, coverage), None)
    )
    framed = s.framed | s.heading_framed
    if ranker is not None:
        if rank_features is None:
            rank_features = passage_features(passages, s, index.descriptors)
        may_cite = citable(passages, s)[:, None]
        learned = ranker.adapter.similarity(passage_vectors, index.query_vectors, index.query_owner)
        cite = np.where(may_cite, ranker.scores(rank_features, learned), 0.0)
        judged = np.where(may_cite, ranker.scores(rank_features, learned, for_judge=True), 0.0)
        learned = np.where(may_cite, learned, 0.0)
    else:  # framed passages first: a health-only passage never outranks a wellbeing one
        cite = np.where(
            s.substantive[:, None],
            s.similarity + MATCH.cite_cue_weight * s.cue_counts + MATCH.framed_bonus * framed[:, None],
            0.0,
        )
        learned = np.zeros_like(cite)
        judged = cite
    sims = s.similarity
    doc_mean_max = float(sims[s.substantive].max(axis=0).mean()) if s.substantive.any() else 0.0
    results = []
    for j, descriptor in enumerate(index.descriptors):
        results.append(
            _describe(
                descriptor,
                passages,
                sims[:, j],
                s.cue_counts[:, j],
                s.cues_found[j],
                framed & s.substantive,
                s.substantive,
                s.committed,
                doc_mean_max,
                cite[:, j] if len(passages) else np.zeros(0),
                judged[:, j] if len(passages) else np.zeros(0),
                learned[:, j] if len(passages) else np.zeros(0),
            )
        )
    return results


def _cue_counts(pattern: re.Pattern | None, folded: list[str]) -> list[set[str]]:
    if pattern is None:
        return [set() for _ in folded]
    return [set(pattern.findall(text)) for text in folded]


def _describe(
    descriptor: Descriptor,
    passages: list[Passage],
    sim: np.ndarray,
    n_cues: np.ndarray,
    cue_found: frozenset[str],
    framed: np.ndarray,
    substantive: np.ndarray,
    committed: np.ndarray,
    doc_mean_max: float,
    cite_scores: np.ndarray,
    judged_scores: np.ndarray,
    learned: np.ndarray,
) -> DescriptorMatch:
    score = np.clip(sim + MATCH.cue_weight * n_cues, 0.0, 1.0) if len(passages) else np.zeros(0)
    eligible = framed if descriptor.requires_wellbeing else substantive
    eligible_scores = np.where(eligible, score, 0.0)
    order = np.argsort(-eligible_scores, kind="stable")
    top5 = order[: MATCH.top_window]
    has_cue = n_cues > 0
    features = {
        "sim_max": _top_mean(sim[substantive], 1),
        "sim_top3": _top_mean(sim[substantive], 3),
        "sim_max_framed": _top_mean(sim[eligible], 1),
        "score_top3_framed": _top_mean(score[eligible], 3),
        "sim_rel": _top_mean(sim[substantive], 1) - doc_mean_max,
        "n_strong": float(np.log1p((sim[eligible] >= MATCH.strong_similarity).sum())),
        "cue_passages": float(np.log1p((has_cue & eligible).sum())),
        "cue_distinct": len(cue_found) / max(len(descriptor.cues), 1),
        "cue_pages": float(np.log1p(len({passages[i].page for i in np.flatnonzero(has_cue)}))),
        "framed_share_top5": float(framed[np.argsort(-score, kind="stable")[: MATCH.top_window]].mean())
        if len(passages)
        else 0.0,
        "commitment_top5": float(committed[top5].mean()) if len(passages) else 0.0,
        "level": float(("assuring", "optimising", "maximising").index(descriptor.level)),
        "requires_wellbeing": float(descriptor.requires_wellbeing),
    }
    spread = _spread(np.argsort(-cite_scores, kind="stable"), cite_scores, passages)
    judged = _spread(np.argsort(-judged_scores, kind="stable"), judged_scores, passages)
    features["cite_top1"] = float(judged_scores.max()) if len(judged_scores) else 0.0
    features["cite_top3"] = float(judged_scores[judged].sum()) / MATCH.top_evidence if judged else 0.0
    features["learned_top1"] = float(learned[eligible].max()) if eligible.any() else 0.0
    features["doc_framed"] = float(framed[substantive].mean()) if substantive.any() else 0.0
    evidence = [(passages[i], float(min(cite_scores[i], 1.0))) for i in spread]
    return DescriptorMatch(
        descriptor=descriptor,
        features=features,
        evidence=evidence,
        citation_scores=cite_scores,
        considered=int(eligible.sum()),
        cues_found=tuple(sorted(cue_found)),
    )


def _spread(order: np.ndarray, scores: np.ndarray, passages: list[Passage]) -> list[int]:
    """The best passages, at most one per page, so the reviewer sees where else the document says it."""
    chosen: list[int] = []
    pages: set[int | None] = set()
    for i in order:
        if scores[i] <= 0 or len(chosen) == MATCH.top_evidence:
            break
        if passages[i].page in pages and passages[i].page is not None:
            continue
        chosen.append(int(i))
        pages.add(passages[i].page)
    return chosen


def _top_mean(values: np.ndarray, k: int) -> float:
    if len(values) == 0:
        return 0.0
    k = min(k, len(values))
    return float(np.sort(values)[-k:].mean())
