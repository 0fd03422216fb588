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
from dataclasses import dataclass

import numpy as np

from evaluator.stages.cache import source_digest
from evaluator.stages.embed import Encoder
from evaluator.stages.segment import is_substantive
from evaluator.types import Descriptor, Passage, Rubric

MATCHER_VERSION = f"match-{source_digest(__file__)}"

CUE_WEIGHT = 0.04  # added to the similarity per distinct cue in the passage, up to MAX_CUES
CITE_CUE_WEIGHT = 0.12  # the same, when choosing which passages to cite: cues point at the right page
MAX_CUES = 3
STRONG_SIMILARITY = 0.5
FRAMED_BONUS = 0.05
HUB_PENALTY = 0.5
TOP_EVIDENCE = 3

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
)


@dataclass
class DescriptorMatch:
    descriptor: Descriptor
    features: dict[str, float]
    evidence: list[tuple[Passage, float]]  # best passages, best first, with a score in 0..1

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


def similarity(index: RubricIndex, passage_vectors: np.ndarray) -> np.ndarray:
    """(n_passages, n_descriptors): best cosine between each passage and any query of each descriptor."""
    n_desc = len(index.descriptors)
    if len(passage_vectors) == 0:
        return np.zeros((0, n_desc), dtype=np.float32)
    raw = passage_vectors @ index.query_vectors.T  # (n_passages, n_queries)
    best = np.full((len(passage_vectors), n_desc), -1.0, dtype=np.float32)
    for j in range(n_desc):
        best[:, j] = raw[:, index.query_owner == j].max(axis=1)
    return np.clip(best, 0.0, 1.0)


def match(passages: list[Passage], passage_vectors: np.ndarray, index: RubricIndex) -> list[DescriptorMatch]:
    """Features and best evidence for every descriptor of the rubric, in rubric order.

    Only substantive passages have a similarity (the others are not embedded: their vector rows are
    ignored and their similarity is 0); all passages count for lexical cues."""
    substantive = np.array([is_substantive(p) for p in passages], dtype=bool)
    sims = np.zeros((len(passages), len(index.descriptors)), dtype=np.float32)
    if substantive.any():  # hubness: a passage close to every descriptor ("wellbeing services...") says little
        real = similarity(index, passage_vectors[substantive])
        sims[substantive] = np.clip(real - HUB_PENALTY * (real.mean(axis=1, keepdims=True) - real.mean()), 0.0, 1.0)
    framed = np.array([_is_framed(p) for p in passages], dtype=bool)
    folded = [normalise_for_cues(p.text) for p in passages]
    committed = np.array([bool(COMMITMENT.search(p.text)) for p in passages], dtype=bool)
    doc_mean_max = float(sims[substantive].max(axis=0).mean()) if substantive.any() else 0.0
    results = []
    for j, descriptor in enumerate(index.descriptors):
        cue_counts = _cue_counts(index.cue_patterns[j], folded)
        results.append(
            _describe(descriptor, passages, sims[:, j], cue_counts, framed & substantive, substantive, committed,
                      doc_mean_max)
        )
    return results


def _is_framed(passage: Passage) -> bool:
    return bool(WELLBEING_FRAMING.search(passage.text)) or any(
        WELLBEING_FRAMING.search(h) for h in passage.headings
    )


def _cue_counts(pattern: re.Pattern | None, folded: list[str]) -> list[set[str]]:
    if pattern is None:
        return [set() for _ in folded]
    return [set(pattern.findall(text)) for text in folded]


def _describe(
    descriptor: Descriptor,
    passages: list[Passage],
    sim: np.ndarray,
    cue_counts: list[set[str]],
    framed: np.ndarray,
    substantive: np.ndarray,
    committed: np.ndarray,
    doc_mean_max: float,
) -> DescriptorMatch:
    n_cues = np.array([min(len(c), MAX_CUES) for c in cue_counts], dtype=np.float32)
    score = np.clip(sim + CUE_WEIGHT * n_cues, 0.0, 1.0) if len(passages) else np.zeros(0)
    eligible = framed if descriptor.requires_wellbeing else substantive
    eligible_scores = np.where(eligible, score, 0.0)
    order = np.argsort(-eligible_scores, kind="stable")
    top5 = order[:5]
    has_cue = n_cues > 0
    cue_found: set[str] = set().union(*cue_counts) if cue_counts else set()
    features = {
        "sim_max": _top_mean(sim[substantive], 1),
        "sim_top3": _top_mean(sim[substantive], 3),
        "sim_max_framed": _top_mean(sim[eligible], 1),
        "score_top3_framed": _top_mean(score[eligible], 3),
        "sim_rel": _top_mean(sim[substantive], 1) - doc_mean_max,
        "n_strong": float(np.log1p((sim[eligible] >= STRONG_SIMILARITY).sum())),
        "cue_passages": float(np.log1p((has_cue & eligible).sum())),
        "cue_distinct": len(cue_found) / max(len(descriptor.cues), 1),
        "cue_pages": float(np.log1p(len({passages[i].page for i in np.flatnonzero(has_cue)}))),
        "framed_share_top5": float(framed[np.argsort(-score, kind="stable")[:5]].mean()) if len(passages) else 0.0,
        "commitment_top5": float(committed[top5].mean()) if len(passages) else 0.0,
        "level": float(("assuring", "optimising", "maximising").index(descriptor.level)),
        "requires_wellbeing": float(descriptor.requires_wellbeing),
    }
    # Cite the best substantive passages, framed ones first: a health-only passage is still the place a
    # reviewer should look (it often explains a "partial"), but it never outranks a wellbeing one.
    cite_scores = np.where(substantive, sim + CITE_CUE_WEIGHT * n_cues + FRAMED_BONUS * framed, 0.0)
    cite_order = np.argsort(-cite_scores, kind="stable")
    evidence = [(passages[i], float(min(cite_scores[i], 1.0))) for i in _spread(cite_order, cite_scores, passages)]
    return DescriptorMatch(descriptor=descriptor, features=features, evidence=evidence)


def _spread(order: np.ndarray, scores: np.ndarray, passages: list[Passage]) -> list[int]:
    """The best passages, at most one per page, so the reviewer sees where else the document says it."""
    chosen: list[int] = []
    pages: set[int | None] = set()
    for i in order:
        if scores[i] <= 0 or len(chosen) == TOP_EVIDENCE:
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
