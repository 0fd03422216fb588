"""Wellbeing strategy evaluator: rate Health and Wellbeing Strategies against the What Works Centre for
Wellbeing maturity model, with cited evidence for a human reviewer.

The public API (imported lazily, so ``import evaluator`` stays cheap)::

    evaluator.assess(path) -> Assessment                 one document, shipped rubric/model/judge
    evaluator.Pipeline(...)                              load components once, assess many documents
    evaluator.assess_area(members, name, pipeline)       a board's documents as one area (evaluator.area)
    evaluator.compare(old, new, rubric) -> Comparison    two assessments: what moved up and down
    evaluator.screen(paths, workspace, workers=2)        batch-screen into a SQLite workspace
    evaluator.Workspace(path)                            read a workspace's assessments
    evaluator.load_rubric(path=None) -> Rubric           the maturity model as data
    evaluator.load_gold(dir) -> {doc_id: GoldLabel}      reviewer labels
    evaluator.evaluate(gold_dir, docs_dir) -> EvaluationReport   leave-one-document-out agreement
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_API = {
    "assess": "evaluator.pipeline",
    "Pipeline": "evaluator.pipeline",
    "assess_area": "evaluator.area",
    "compare": "evaluator.compare",
    "screen": "evaluator.workspace.batch",
    "Workspace": "evaluator.workspace.store",
    "load_rubric": "evaluator.rubric",
    "load_gold": "evaluator.evaluation.gold",
    "evaluate": "evaluator.evaluation",
    "Assessment": "evaluator.types",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'evaluator' has no attribute {name!r}")
