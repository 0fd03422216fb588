"""Calibration: fit the judge (two logistic heads) on labelled documents.

Labels come from gold files (``../shared/gold/<doc_id>.json``) and, when a workspace is given, from
reviewers' evidence verdicts (a confirmed passage makes its descriptor at least partial, a descriptor
whose every cited passage was rejected is not met). Figures are only ever reported leave-one-document-
out: no document is scored by a model that saw its labels.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from evaluator.judge import JUDGE_FEATURES, JudgeModel, LogisticHead
from evaluator.match import DescriptorMatch

REGULARISATION_C = 0.5  # inverse L2 strength: small data (hundreds of rows), keep the heads smooth


STATUS_VALUE = {"not_met": 0.0, "partial": 0.5, "met": 1.0}


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


def fit_judge(
    matches: Sequence[DescriptorMatch], labels: Sequence[str], *, trained_on: Sequence[str], c: float = REGULARISATION_C
) -> JudgeModel:
    """Fit P(met-or-partial) and P(met) on standardised features plus each descriptor's prior."""
    labels = np.asarray(labels)
    values: dict[str, list[float]] = {}
    for m, label in zip(matches, labels, strict=True):
        values.setdefault(m.descriptor.id, []).append(STATUS_VALUE[label])
    priors = {k: float(np.mean(v)) for k, v in sorted(values.items())}
    default_prior = float(np.mean([STATUS_VALUE[y] for y in labels])) if len(labels) else 0.0
    unfitted = JudgeModel(version="unfitted", features=JUDGE_FEATURES, mean=[0.0] * len(JUDGE_FEATURES),
                          scale=[1.0] * len(JUDGE_FEATURES), any_head=LogisticHead(coef=[], intercept=0.0),
                          met_head=LogisticHead(coef=[], intercept=0.0), descriptor_prior=priors,
                          default_prior=default_prior)
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
        clf = LogisticRegression(C=c, max_iter=2000).fit(x, y)
        heads.append(LogisticHead(coef=[float(v) for v in clf.coef_[0]], intercept=float(clf.intercept_[0])))
    payload = {
        "features": JUDGE_FEATURES,
        "mean": [float(v) for v in scaler.mean_],
        "scale": [float(v) if v > 0 else 1.0 for v in scaler.scale_],
        "any_head": heads[0].model_dump(),
        "met_head": heads[1].model_dump(),
        "descriptor_prior": priors,
        "default_prior": default_prior,
        "trained_on": sorted(set(trained_on)),
    }
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:10]
    return JudgeModel(version=f"judge-{digest}", notes=f"logistic, C={c}, {len(labels)} labelled descriptors", **payload)
