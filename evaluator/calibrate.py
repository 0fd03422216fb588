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

from evaluator.judge import JudgeModel, LogisticHead
from evaluator.match import FEATURES, DescriptorMatch

REGULARISATION_C = 0.5  # inverse L2 strength: small data (hundreds of rows), keep the heads smooth


def training_rows(
    matches_by_doc: Mapping[str, list[DescriptorMatch]], labels_by_doc: Mapping[str, Mapping[str, str]]
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Feature rows, status labels and the document of each row, for descriptors that carry a label."""
    rows, labels, docs = [], [], []
    for doc_id, matches in sorted(matches_by_doc.items()):
        doc_labels = labels_by_doc.get(doc_id, {})
        for m in matches:
            if m.descriptor.id in doc_labels:
                rows.append(m.vector())
                labels.append(doc_labels[m.descriptor.id])
                docs.append(doc_id)
    return np.array(rows, dtype=float).reshape(-1, len(FEATURES)), np.array(labels), docs


def fit_judge(rows: np.ndarray, labels: Sequence[str], *, trained_on: Sequence[str], c: float = REGULARISATION_C) -> JudgeModel:
    """Fit P(met-or-partial) and P(met) on standardised features."""
    labels = np.asarray(labels)
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
    scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    payload = {
        "features": list(FEATURES),
        "mean": [float(v) for v in scaler.mean_],
        "scale": [float(v) for v in scale],
        "any_head": heads[0].model_dump(),
        "met_head": heads[1].model_dump(),
        "trained_on": sorted(set(trained_on)),
    }
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:10]
    return JudgeModel(version=f"judge-{digest}", notes=f"logistic, C={c}, {len(labels)} labelled descriptors", **payload)
