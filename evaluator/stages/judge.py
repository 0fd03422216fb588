"""Judging: match features -> descriptor status and probability -> hallmark level and confidence.

Descriptors: two logistic heads fitted by ``evaluator calibrate`` (scikit-learn), an ordinal pair
P(met-or-partial) and P(met). The shipped model (``evaluator/models/judge.json``) is plain JSON, so it
is versioned, diffable and loads without pickle.

Hallmarks: the cumulative rule of DESIGN.md. A level is reached when the mean over its descriptors of
met = 1, partial = 0.5, not_met = 0 is at least ``LEVEL_THRESHOLD`` and every lower level is reached.
The level distribution is computed exactly from the descriptor probabilities (independence assumed),
so the suggested level comes with a confidence and a needs-review flag when the call is close.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from evaluator.errors import EvaluatorError
from evaluator.stages.cache import settings_digest
from evaluator.stages.match import FEATURES, DescriptorMatch
from evaluator.stages.rank import is_boilerplate
from evaluator.stages.segment import is_substantive
from evaluator.types import (
    LEVELS,
    RUBRIC_LEVELS,
    Descriptor,
    DescriptorResult,
    Evidence,
    Hallmark,
    HallmarkResult,
    Level,
    Passage,
    Status,
)


@dataclass(frozen=True)
class JudgeSettings:
    """The judge's fixed values (the fitted ones are in models/judge.json). Their digest is recorded in
    every assessment's provenance (``judge_settings``) and is part of the cache key."""

    # the model's cumulative rule with met = 1, partial = 0.5: at 0.75 the gold hallmark levels follow
    # from the gold descriptor statuses in 101 of 112 hallmarks (16 documents)
    level_threshold: float = 0.75
    # below this confidence a hallmark is flagged for review. From the needs-review table of `evaluator
    # evaluate` (16 gold documents, leave-one-out): at 0.8 a fifth of hallmarks are flagged and the
    # unflagged ones agree exactly with gold 0.91 of the time (0.86 at 0.6). A team sets its own with
    # `--review-below` (``Pipeline.review_below``)
    review_confidence: float = 0.8
    # a passage that plainly does what a descriptor says (its rubric ``met_when`` patterns): the
    # descriptor is met with at least this P(met) and P(met-or-partial). In the 16 gold documents the
    # shipped patterns match one passage, the one reviewers quoted for their only met 1.A.1
    explicit_probability: float = 0.95


def settings_version(settings: JudgeSettings) -> str:
    """What provenance records of the settings an assessment was judged with (part of the cache key)."""
    return f"judge-settings-{settings_digest(settings)}"


JUDGE = JudgeSettings()
LEVEL_THRESHOLD = JUDGE.level_threshold  # the name the evaluation and baselines use for the cumulative rule
STATUS_VALUE = {"not_met": 0.0, "partial": 0.5, "met": 1.0}
# evidence-strength features the judge also sees relative to the descriptor's typical value
RELATIVE_FEATURES = (
    "sim_max",
    "sim_top3",
    "sim_max_framed",
    "score_top3_framed",
    "cite_top1",
    "cite_top3",
    "learned_top1",
)


class LogisticHead(BaseModel):
    coef: list[float]
    intercept: float

    def probability(self, x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(x @ np.asarray(self.coef) + self.intercept)))


class JudgeModel(BaseModel):
    """A fitted judge: feature scaling, two ordinal logistic heads, and where it came from.

    Besides the match features, each row carries:
    - the evidence strength against what is typical for that descriptor (``RELATIVE_FEATURES``, each
      minus its mean for the descriptor over the training documents): some descriptors' wording is close
      to almost any strategy text ("improving wellbeing"), others' to almost none ("HM Treasury Green
      Book"), so the same similarity means more for one than for the other;
    - the descriptor's prior: how often reviewers credited that descriptor in the training documents
      (met = 1, partial = 0.5), so a descriptor that reviewers seldom award (e.g. appraisal in line with
      HM Treasury guidance) needs stronger evidence.
    Descriptors the training labels never saw (a custom rubric) get the mean typical score and prior.
    """

    version: str
    features: list[str]  # JUDGE_FEATURES
    mean: list[float]
    scale: list[float]
    any_head: LogisticHead  # P(status >= partial)
    met_head: LogisticHead  # P(status == met)
    descriptor_prior: dict[str, float] = Field(default_factory=dict)
    default_prior: float = 0.0
    descriptor_typical: dict[str, list[float]] = Field(default_factory=dict)  # RELATIVE_FEATURES means
    default_typical: list[float] = Field(default_factory=lambda: [0.0] * len(RELATIVE_FEATURES))
    partial_threshold: float = 0.5
    met_threshold: float = 0.5
    trained_on: list[str] = Field(default_factory=list)
    notes: str = ""

    def rows(self, matches: list[DescriptorMatch]) -> np.ndarray:
        out = []
        for m in matches:
            typical = self.descriptor_typical.get(m.descriptor.id, self.default_typical)
            relative = [m.features[name] - t for name, t in zip(RELATIVE_FEATURES, typical, strict=True)]
            out.append(
                [*m.vector(), *relative, self.descriptor_prior.get(m.descriptor.id, self.default_prior)]
            )
        return np.array(out, dtype=float).reshape(len(matches), len(JUDGE_FEATURES))

    def probabilities(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(P(met-or-partial), P(met)) per row, with P(met) <= P(met-or-partial)."""
        x = (rows - np.asarray(self.mean)) / np.asarray(self.scale)
        p_any = self.any_head.probability(x)
        p_met = np.minimum(self.met_head.probability(x), p_any)
        return p_any, p_met

    def status(self, p_any: float, p_met: float) -> Status:
        if p_met >= self.met_threshold:
            return "met"
        if p_any >= self.partial_threshold:
            return "partial"
        return "not_met"


JUDGE_FEATURES = [*FEATURES, *(f"{name}_vs_typical" for name in RELATIVE_FEATURES), "descriptor_prior"]


def default_model_path() -> Path:
    return Path(str(importlib.resources.files("evaluator") / "models" / "judge.json"))


@functools.lru_cache(maxsize=8)
def load_judge(path: str | os.PathLike | None = None) -> JudgeModel:
    path = Path(path) if path else default_model_path()
    try:
        model = JudgeModel.model_validate(json.loads(path.read_text()))
    except FileNotFoundError:
        raise EvaluatorError(
            f"No judge model at {path}. Run `evaluator calibrate` or omit --model."
        ) from None
    except (ValueError, TypeError) as exc:
        first = str(exc).splitlines()[0]
        raise EvaluatorError(
            f"{path} is not a judge model file ({first}). Re-run `evaluator calibrate`."
        ) from None
    if model.features != JUDGE_FEATURES:
        raise EvaluatorError(
            f"{path} was fitted for another version of the matcher (features differ). Re-run `evaluator calibrate`."
        )
    return model


# ----------------------------------------------------------------- descriptors


def judge_descriptors(
    matches: list[DescriptorMatch], model: JudgeModel
) -> tuple[list[DescriptorResult], dict[str, float]]:
    """Status, P(met-or-partial) and cited evidence per descriptor; also P(met) by descriptor id."""
    if not matches:
        return [], {}
    p_any, p_met = model.probabilities(model.rows(matches))
    results = []
    for match, pa, pm in zip(matches, p_any, p_met, strict=True):
        status = model.status(float(pa), float(pm))
        evidence = [
            Evidence(
                page=p.page,
                text=p.text,
                bbox=p.bbox,
                score=round(min(max(score, 0.0), 1.0), 4),
                passage_id=p.id,
                headings=p.headings,
            )
            for p, score in match.evidence
        ]
        results.append(
            DescriptorResult(
                id=match.descriptor.id,
                status=status,
                probability=round(float(pa), 4),
                evidence=evidence,  # for not_met: the closest passages found, for the reviewer
            )
        )
    return results, {m.descriptor.id: float(pm) for m, pm in zip(matches, p_met, strict=True)}


def explicit_statement(descriptor: Descriptor, passages: list[Passage]) -> Passage | None:
    """The first body passage (substantive, not boilerplate) that matches one of the descriptor's
    ``met_when`` patterns: a statement that plainly does what the descriptor says; None without one."""
    patterns = [re.compile(p, re.IGNORECASE) for p in descriptor.met_when]
    return next(
        (
            p
            for p in passages
            if any(rx.search(p.text) for rx in patterns) and is_substantive(p) and not is_boilerplate(p)
        ),
        None,
    )


def credit_explicit(
    results: list[DescriptorResult],
    p_met: dict[str, float],
    passages: list[Passage],
    descriptors: list[Descriptor],
) -> None:
    """Explicit statements are met: a descriptor whose ``explicit_statement`` is found is met, with at
    least ``explicit_probability``, and that passage is cited first (score 1.0; other citations of its
    page give way).

    The learned judge weighs how often reviewers credit a descriptor, so a seldom-met one such as a
    definition of wellbeing stayed partial even when the strategy defines wellbeing in a sentence.
    A reviewer reads such a sentence as met; this is that reading, written in the rubric where a
    policy reviewer can check it."""
    by_id = {d.id: d for d in descriptors if d.met_when}
    for result in results:
        found = explicit_statement(by_id[result.id], passages) if result.id in by_id else None
        if found is None:
            continue
        floor = JUDGE.explicit_probability
        result.status = "met"
        result.probability = max(result.probability, floor)
        p_met[result.id] = max(p_met.get(result.id, 0.0), floor)
        cited = Evidence(
            page=found.page,
            text=found.text,
            bbox=found.bbox,
            score=1.0,
            passage_id=found.id,
            headings=found.headings,
        )
        others = [e for e in result.evidence if e.passage_id != found.id and e.page != found.page]
        result.evidence = [cited, *others][: max(len(result.evidence), 1)]


# -------------------------------------------------------------------- hallmarks


def level_from_statuses(statuses_by_level: dict[str, list[str]], threshold: float = LEVEL_THRESHOLD) -> Level:
    """The cumulative rule on known statuses: the highest level whose own and lower levels all pass."""
    reached: Level = "none"
    for level in RUBRIC_LEVELS:
        statuses = statuses_by_level.get(level, [])
        if not statuses or np.mean([STATUS_VALUE[s] for s in statuses]) < threshold:
            break
        reached = level
    return reached


def _reach_probability(probs: list[tuple[float, float, float]], threshold: float) -> float:
    """P(mean score >= threshold) for independent descriptors with P(not_met), P(partial), P(met).

    Scores are counted in half-points so the distribution of the sum is exact.
    """
    dist = np.zeros(2 * len(probs) + 1)
    dist[0] = 1.0
    for p_not, p_partial, p_met in probs:
        new = dist * p_not
        new[1:] += dist[:-1] * p_partial
        new[2:] += dist[:-2] * p_met
        dist = new
    needed = int(np.ceil(threshold * 2 * len(probs) - 1e-9))
    return float(dist[needed:].sum())


def level_distribution(
    probs_by_level: dict[str, list[tuple[float, float, float]]], threshold: float = LEVEL_THRESHOLD
) -> dict[str, float]:
    """P(hallmark level = L) for L in none..maximising under the cumulative rule."""
    at_least = [1.0]
    for level in RUBRIC_LEVELS:
        probs = probs_by_level.get(level, [])
        reach = _reach_probability(probs, threshold) if probs else 0.0
        at_least.append(at_least[-1] * reach)
    at_least.append(0.0)
    return {level: max(at_least[i] - at_least[i + 1], 0.0) for i, level in enumerate(LEVELS)}


def judge_hallmark(
    hallmark: Hallmark,
    results: list[DescriptorResult],
    p_met: dict[str, float],
    review_below: float = JUDGE.review_confidence,
) -> HallmarkResult:
    """Level by the cumulative rule on the judged statuses; confidence from the level distribution,
    flagged for review below ``review_below``."""
    by_id = {r.id: r for r in results}
    statuses: dict[str, list[str]] = {}
    probs: dict[str, list[tuple[float, float, float]]] = {}
    for d in hallmark.descriptors:
        r = by_id[d.id]
        statuses.setdefault(d.level, []).append(r.status)
        pm = min(p_met[d.id], r.probability)
        probs.setdefault(d.level, []).append((1.0 - r.probability, r.probability - pm, pm))
    distribution = level_distribution(probs)
    level = level_from_statuses(statuses)
    confidence = distribution[level]
    return HallmarkResult(
        id=hallmark.id,
        level=level,
        confidence=round(confidence, 4),
        needs_review=confidence < review_below,
        descriptors=[by_id[d.id] for d in hallmark.descriptors],
    )
