"""Calibration: fit the judge (two logistic heads) and the evidence ranker on labelled documents.

Labels come from gold files (``../shared/gold/<doc_id>.json``) and from reviewers' decisions in
workspaces (``reviewer_labels``). Figures are only ever reported leave-one-document-out: no document
is scored by a model that saw its labels.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from evaluator.evaluation.gold import GoldLabel, relied_on
from evaluator.pipeline import Analysis, Pipeline
from evaluator.stages.judge import JUDGE_FEATURES, RELATIVE_FEATURES, STATUS_VALUE, JudgeModel, LogisticHead
from evaluator.stages.match import DescriptorMatch, RubricIndex, match, signals
from evaluator.stages.rank import RankerModel, RankingExample, citable, passage_features
from evaluator.types import Passage
from evaluator.workspace.decisions import Decision
from evaluator.workspace.store import Workspace

# inverse strength of an L1 penalty: hundreds of rows and 25 correlated features, so each head keeps the
# features that carry weight and sets the rest to zero. Against the same C under L2 (2026-12-07,
# `python benchmarks/bench_judge.py`): one document held out descriptor kappa 0.462 -> 0.465, hallmark
# kappa 0.529 -> 0.633; one place held out 0.355 -> 0.371, hallmark 0.371 -> 0.446. C = 0.1 was too sparse
# (one place held out descriptor kappa 0.30, hallmark 0.06)
REGULARISATION_C = 0.5
PRIOR_WEIGHT = 10  # a descriptor's prior counts as many pseudo-documents at its level's mean
# "met" is the minority status (about one descriptor in eight) and the one a level needs: weigh it twice
# when fitting P(met), so the judge calls a fully evidenced descriptor met rather than hedging at partial.
MET_WEIGHT = 2.0


def training_set(
    matches_by_doc: Mapping[str, list[DescriptorMatch]], labels_by_doc: Mapping[str, Mapping[str, str]]
) -> tuple[list[DescriptorMatch], list[str], list[str]]:
    """The matches that carry a label, their labels and their documents."""
    matches, labels, docs = [], [], []
    for doc_id, doc_matches in sorted(matches_by_doc.items()):
        doc_labels = labels_by_doc.get(doc_id, {})
        for m in doc_matches:
            if m.descriptor.id in doc_labels:
                matches.append(m)
                labels.append(doc_labels[m.descriptor.id])
                docs.append(doc_id)
    return matches, labels, docs


def ranking_example(
    doc_id: str,
    passages: list[Passage],
    vectors: np.ndarray,
    index: RubricIndex,
    label: GoldLabel | None,
    coverage: np.ndarray | None = None,
) -> RankingExample:
    """A document's ranking features, and the passages its reviewers quoted (none without a label)."""
    s = signals(passages, vectors, index, coverage)
    position = {d.id: j for j, d in enumerate(index.descriptors)}
    quoted = relied_on(passages, label) if label else {}
    return RankingExample(
        doc_id=doc_id,
        features=passage_features(passages, s, index.descriptors),
        citable=citable(passages, s),
        relied_on={position[k]: v for k, v in quoted.items() if k in position},
        vectors=vectors,
        signals=s,
    )


def fit_judge(
    matches: Sequence[DescriptorMatch],
    labels: Sequence[str],
    *,
    trained_on: Sequence[str],
    c: float = REGULARISATION_C,
) -> JudgeModel:
    """Fit P(met-or-partial) and P(met) on standardised features plus each descriptor's prior."""
    values: dict[str, list[float]] = {}
    for m, label in zip(matches, labels, strict=True):
        values.setdefault(m.descriptor.id, []).append(STATUS_VALUE[label])
    priors = _shrunk_priors(values, {m.descriptor.id: m.descriptor.level for m in matches})
    default_prior = _r(np.mean([STATUS_VALUE[y] for y in labels])) if len(labels) else 0.0
    typical, default_typical = _typical(matches)
    unfitted = JudgeModel(
        version="unfitted",
        features=JUDGE_FEATURES,
        mean=[0.0] * len(JUDGE_FEATURES),
        scale=[1.0] * len(JUDGE_FEATURES),
        any_head=LogisticHead(coef=[], intercept=0.0),
        met_head=LogisticHead(coef=[], intercept=0.0),
        descriptor_prior=priors,
        default_prior=default_prior,
        descriptor_typical=typical,
        default_typical=default_typical,
    )
    rows = unfitted.rows(list(matches))
    scaler = StandardScaler().fit(rows)
    x = scaler.transform(rows)
    heads = []
    for positive in ({"partial", "met"}, {"met"}):
        y = np.isin(labels, list(positive)).astype(int)
        if y.min() == y.max():  # one class only (tiny training sets): a constant head
            p = float(np.clip(y.mean(), 0.01, 0.99))
            heads.append(LogisticHead(coef=[0.0] * rows.shape[1], intercept=float(np.log(p / (1 - p)))))
            continue
        weight = {0: 1.0, 1: MET_WEIGHT} if positive == {"met"} else None
        clf = LogisticRegression(
            C=c, l1_ratio=1.0, solver="liblinear", max_iter=5000, class_weight=weight, random_state=0
        )
        clf.fit(x, y)
        heads.append(LogisticHead(coef=[_r(v) for v in clf.coef_[0]], intercept=_r(clf.intercept_[0])))
    payload: dict[str, Any] = {
        "features": JUDGE_FEATURES,
        "mean": [_r(v) for v in scaler.mean_],
        "scale": [_r(v) if v > 0 else 1.0 for v in scaler.scale_],
        "any_head": heads[0].model_dump(),
        "met_head": heads[1].model_dump(),
        "descriptor_prior": priors,
        "default_prior": default_prior,
        "descriptor_typical": typical,
        "default_typical": default_typical,
        "trained_on": sorted(set(trained_on)),
    }
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:10]
    return JudgeModel(
        version=f"judge-{digest}", notes=f"logistic, L1, C={c}, {len(labels)} labelled descriptors", **payload
    )


def _typical(matches: Sequence[DescriptorMatch]) -> tuple[dict[str, list[float]], list[float]]:
    """Each descriptor's mean of the judge's RELATIVE_FEATURES over the training documents, and the mean
    over every descriptor (for descriptors the training set never saw)."""
    by_descriptor: dict[str, list[list[float]]] = {}
    for m in matches:
        by_descriptor.setdefault(m.descriptor.id, []).append([m.features[k] for k in RELATIVE_FEATURES])
    typical = {i: [_r(v) for v in np.mean(rows, axis=0)] for i, rows in sorted(by_descriptor.items())}
    if not typical:
        return {}, [0.0] * len(RELATIVE_FEATURES)
    return typical, [_r(v) for v in np.mean(list(typical.values()), axis=0)]


def _shrunk_priors(values: dict[str, list[float]], level_of: dict[str, str]) -> dict[str, float]:
    """Each descriptor's mean label, shrunk toward the mean of its level (assuring / optimising /
    maximising): a handful of documents says something about one descriptor, not everything."""
    by_level: dict[str, list[float]] = {}
    for descriptor_id, v in values.items():
        by_level.setdefault(level_of[descriptor_id], []).extend(v)
    return {
        i: _r((sum(v) + PRIOR_WEIGHT * np.mean(by_level[level_of[i]])) / (len(v) + PRIOR_WEIGHT))
        for i, v in sorted(values.items())
    }


def _r(value: float | np.floating) -> float:
    """Fitted numbers rounded so that refitting on the same labels gives the same file and version."""
    return round(float(value), 5)


def reviewer_labels(ws: Workspace) -> dict[str, tuple[str, dict[str, str]]]:
    """Descriptor labels implied by reviewers' decisions: sha256 -> (document path, {descriptor: status}).

    - A hallmark whose latest decision *accepts* the suggestion endorses the suggested status of each of
      its descriptors (on the suggestion that decision answered).
    - A confirmed evidence passage makes its descriptor at least partial; a descriptor whose cited
      passages were all rejected, and none confirmed, is not met.
    - An override changes a level without saying which descriptors were wrong, so it labels nothing.
    """
    from evaluator.workspace.decisions import decisions_for, evidence_verdicts

    out: dict[str, tuple[str, dict[str, str]]] = {}
    for stored in ws.current_assessments():
        labels: dict[str, str] = {}
        latest: dict[str, Decision] = {}
        for decision in decisions_for(ws, stored.sha256):
            latest[decision.hallmark_id] = decision
        for hallmark_id, decision in latest.items():
            answered = ws.assessment(decision.assessment_id)
            if decision.action != "accept" or answered is None:
                continue
            for d in answered.assessment.hallmark(hallmark_id).descriptors:
                labels[d.id] = d.status
        verdicts: dict[str, set[str]] = {}
        for (descriptor_id, _text), rows in evidence_verdicts(ws, stored.sha256).items():
            verdicts.setdefault(descriptor_id, set()).add(rows[-1]["verdict"])
        for descriptor_id, kinds in verdicts.items():
            if "confirm" in kinds:
                labels[descriptor_id] = "met" if labels.get(descriptor_id) == "met" else "partial"
            else:
                labels[descriptor_id] = "not_met"
        if labels:
            out[stored.sha256] = (str(ws.document_file(stored)), labels)
    return out


def rematch(
    analysis: Analysis, pipeline: Pipeline, ranker: RankerModel, example: RankingExample | None
) -> Analysis:
    """The analysis with evidence and judge features from ``ranker`` (signals re-used from ``example``)."""
    prepared = (example.signals, example.features) if example and example.signals is not None else None
    matches = match(
        analysis.passages,
        analysis.vectors,
        pipeline.index,
        ranker,
        prepared=prepared,
        coverage=analysis.coverage,
    )
    return Analysis(analysis.document, analysis.passages, analysis.vectors, matches, analysis.coverage)
